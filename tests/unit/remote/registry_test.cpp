// SPDX-License-Identifier: MIT OR Apache-2.0
// The OCI distribution client (pagable/remote.hpp's Registry) against the real registry
// (Debian's Distribution, started by the test): blobs monolithic and chunked, manifests by
// tag and digest, tags, cross-repository mount, retries, failures that name the host,
// basic auth, the bearer-token flow, TLS with a private CA, and where credentials come from.
#include <pagable/remote.hpp>

#include "remote/auth.hpp"
#include "remote/mapping.hpp"
#include "support/registry_fixture.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdlib>

using namespace pagable;
using namespace pagable::remote;

namespace {

Bytes pattern(std::size_t n, unsigned seed)
{
  Bytes b(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : b) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<std::uint8_t>(x >> 24);
  }
  return b;
}

std::unique_ptr<Registry> open_registry(const std::string& url, RemoteOptions o = {})
{
  auto where = parse_location(url);
  INFO((where ? std::string() : where.error().message()));
  REQUIRE(where);
  auto r = Registry::open(*where, o);
  REQUIRE(r);
  return std::move(r).value();
}

// Sets an environment variable for the scope, restoring it after.
class ScopedEnv {
public:
  ScopedEnv(const char* name, const std::string& value) : m_name(name)
  {
    if (const char* old = std::getenv(name)) {
      m_old = old;
    }
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv()
  {
    if (m_old) {
      ::setenv(m_name, m_old->c_str(), 1);
    } else {
      ::unsetenv(m_name);
    }
  }

private:
  const char* m_name;
  std::optional<std::string> m_old;
};

} // namespace

TEST_CASE("remote: a remote URL is oci:// (HTTPS) or oci+http://, and never shows its user-info", "[remote]")
{
  auto https = parse_location("oci://ghcr.io/team/archive");
  REQUIRE(https);
  CHECK_FALSE(https->plain_http);
  CHECK(https->host == "ghcr.io");
  CHECK(https->repository == "team/archive");
  CHECK(https->base_url() == "https://ghcr.io");
  auto plain = parse_location("oci+http://alice:s3cret@127.0.0.1:5000/a/b");
  REQUIRE(plain);
  CHECK(plain->plain_http);
  CHECK(plain->host == "127.0.0.1:5000");
  CHECK(plain->username == "alice");
  CHECK(plain->password == "s3cret");
  CHECK(plain->display() == "oci+http://127.0.0.1:5000/a/b");
  CHECK(is_remote_url("oci://x/y"));
  CHECK_FALSE(is_remote_url("archive.pagable"));
  for (const char* bad : {"http://h/r", "oci://h", "oci://h/", "oci://h/Upper", "oci://h/a//b", "oci://h/-a"}) {
    INFO(bad);
    CHECK(parse_location(bad).error().code() == Errc::invalid_argument);
  }
  const auto e = parse_location("oci://bob:hunter2@h/Bad");
  REQUIRE_FALSE(e);
  CHECK(e.error().message().find("hunter2") == std::string::npos);
}

TEST_CASE("remote: blobs go up monolithic and chunked, come back checked, and HEAD finds them", "[remote]")
{
  test::TempDir dir;
  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), {});
  RemoteOptions o;
  o.chunk_bytes = 64 * 1024;
  auto r = open_registry(reg->url("t/blobs"), o);
  const Bytes small = pattern(1000, 1);
  const Bytes big = pattern(300 * 1024 + 7, 2); // five chunks, the last short
  const Bytes other = pattern(5000, 3);
  REQUIRE(r->put_blobs({&small}, UploadMode::monolithic));
  REQUIRE(r->put_blobs({&big}, UploadMode::chunked));
  CHECK(r->counters().blobs_uploaded == 2);
  const auto sizes = r->blob_sizes({sha256_of(small), sha256_of(big), sha256_of(other)});
  REQUIRE(sizes);
  CHECK((*sizes)[0] == small.size());
  CHECK((*sizes)[1] == big.size());
  CHECK_FALSE((*sizes)[2].has_value());
  const auto got = r->get_blobs({sha256_of(big), sha256_of(small)});
  REQUIRE(got);
  CHECK((*got)[0] == big);
  CHECK((*got)[1] == small);
  CHECK(r->get_blobs({sha256_of(other)}).error().code() == Errc::not_found);
  // automatic: above chunk_bytes in chunks (the registry takes both; the bytes are the same)
  const Bytes mid = pattern(100 * 1024, 4);
  REQUIRE(r->put_blobs({&mid, &other}));
  CHECK(r->get_blobs({sha256_of(mid)}).value().front() == mid);
}

TEST_CASE("remote: manifests by tag and by digest, tags listed, a manifest with a missing blob refused",
          "[remote]")
{
  test::TempDir dir;
  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), {});
  auto r = open_registry(reg->url("t/manifests"));
  CHECK(r->list_tags().value().empty()); // no repository yet
  store::RootRecord root;
  root.name = "doc";
  root.key = sha256_of(pattern(10, 5));
  root.created_unix_ms = 1700000000123;
  const Bytes config = encode_root(root);
  const Bytes layer = pattern(2000, 6);
  REQUIRE(r->put_blobs({&config, &layer}));
  const auto m = encode_manifest(version_manifest(
      root, Descriptor{std::string(k_root_type), sha256_of(config), config.size()},
      {Descriptor{std::string(k_pack_type), sha256_of(layer), layer.size()}}, std::nullopt));
  const auto digest = r->put_manifest("v1", k_manifest_type, m);
  REQUIRE(digest);
  CHECK(*digest == digest_text(sha256_of(m)));
  const auto by_tag = r->get_manifest("v1");
  REQUIRE(by_tag);
  REQUIRE(by_tag->has_value());
  CHECK((*by_tag)->bytes == m);
  CHECK((*by_tag)->media_type == k_manifest_type);
  const auto by_digest = r->get_manifest(*digest);
  REQUIRE(by_digest);
  CHECK((*by_digest)->bytes == m);
  CHECK_FALSE(r->get_manifest("nope").value().has_value());
  const auto back = decode_manifest((*by_tag)->bytes);
  REQUIRE(back);
  CHECK(back->annotations.at("dev.pagable.name") == "doc");
  // The registry refuses a manifest whose blobs it lacks: no version without its packs.
  const Bytes absent = pattern(3000, 7);
  const auto dangling = encode_manifest(version_manifest(
      root, Descriptor{std::string(k_root_type), sha256_of(config), config.size()},
      {Descriptor{std::string(k_pack_type), sha256_of(absent), absent.size()}}, std::nullopt));
  const auto refused = r->put_manifest("v2", k_manifest_type, dangling);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == Errc::not_found);
  REQUIRE(r->put_manifest("v3", k_manifest_type, m));
  auto tags = r->list_tags().value();
  std::sort(tags.begin(), tags.end());
  CHECK(tags == std::vector<std::string>{"v1", "v3"});
}

TEST_CASE("remote: a blob the source repository holds is mounted, not uploaded", "[remote]")
{
  test::TempDir dir;
  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), {});
  auto a = open_registry(reg->url("t/source"));
  auto b = open_registry(reg->url("t/target"));
  const Bytes blob = pattern(4096, 8);
  REQUIRE(a->put_blobs({&blob}));
  CHECK_FALSE(b->blob_sizes({sha256_of(blob)}).value().front().has_value());
  const auto mounted = b->mount_blob(sha256_of(blob), "t/source");
  REQUIRE(mounted);
  CHECK(*mounted);
  CHECK(b->counters().blobs_mounted == 1);
  CHECK(b->blob_sizes({sha256_of(blob)}).value().front() == blob.size());
  // A blob the source lacks is not mounted (the caller uploads it).
  const Bytes missing = pattern(100, 9);
  CHECK_FALSE(b->mount_blob(sha256_of(missing), "t/source").value());
  CHECK(b->mount_blob(sha256_of(missing), "Not/A/Repo").error().code() == Errc::invalid_argument);
}

TEST_CASE("remote: 5xx answers are retried with backoff, and an unreachable registry is a network error "
          "naming the host and what was being done",
          "[remote]")
{
  test::TempDir dir;
  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), {});
  std::string why;
  auto proxy = test::CountingProxy::start(reg->port(), why);
  REQUIRE(proxy);
  RemoteOptions o;
  o.backoff = std::chrono::milliseconds(10);
  o.retries = 3;
  auto r = open_registry(proxy->url("t/retry"), o);
  const Bytes blob = pattern(777, 10);
  proxy->fail_next(2); // two 503s, then the real answer
  REQUIRE(r->put_blobs({&blob}));
  CHECK(r->counters().retries == 2);
  CHECK(r->get_blobs({sha256_of(blob)}).value().front() == blob);
  proxy->fail_next(10); // more than the retries
  const auto failed = r->blob_sizes({sha256_of(blob)});
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code() == Errc::network);
  CHECK(failed.error().message().find(proxy->host()) != std::string::npos);
  CHECK(failed.error().message().find("503") != std::string::npos);
  CHECK(failed.error().message().find("looking for blob") != std::string::npos);
  proxy->fail_next(0);
  reg->stop(); // connections refused: retried, then given up
  const auto gone = r->blob_sizes({sha256_of(blob)});
  REQUIRE_FALSE(gone);
  CHECK(gone.error().code() == Errc::network);
  CHECK(gone.error().message().find(proxy->host()) != std::string::npos);
}

TEST_CASE("remote: basic auth (htpasswd): 401 without credentials, 200 with them, and no error shows them",
          "[remote]")
{
  test::TempDir dir;
  std::string entry;
  if (!test::have_program("htpasswd") ||
      test::run_quietly({"htpasswd", "-Bbn", "alice", "s3cret-pw"}, &entry) != 0) {
    PAGABLE_SKIP("htpasswd (apache2-utils) is not installed");
  }
  test::write_file(dir.file("htpasswd"), entry);
  test::RegistryConfig c;
  c.htpasswd_file = dir.file("htpasswd");
  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), c);
  ScopedEnv no_docker("DOCKER_CONFIG", dir.file("no-docker-config"));
  const Bytes blob = pattern(123, 11);
  {
    auto anonymous = open_registry(reg->url("t/auth"));
    const auto refused = anonymous->put_blobs({&blob});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code() == Errc::network);
    CHECK(refused.error().message().find("401") != std::string::npos);
  }
  {
    auto wrong = open_registry("oci+http://alice:wrong-pw@" + reg->host() + "/t/auth");
    const auto refused = wrong->blob_sizes({sha256_of(blob)});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message().find("401") != std::string::npos);
    CHECK(refused.error().message().find("wrong-pw") == std::string::npos);
  }
  {
    ScopedEnv user("PAGABLE_REGISTRY_USERNAME", "alice");
    ScopedEnv pass("PAGABLE_REGISTRY_PASSWORD", "s3cret-pw");
    auto r = open_registry(reg->url("t/auth"));
    REQUIRE(r->put_blobs({&blob}));
    CHECK(r->get_blobs({sha256_of(blob)}).value().front() == blob);
  }
}

TEST_CASE("remote: the bearer-token flow: the registry's challenge, a token from its realm, then access",
          "[remote]")
{
  test::TempDir dir;
  std::string why;
  auto tokens = test::TokenServer::start(dir.path(), "bob", "token-pw", why);
  if (!tokens) {
    PAGABLE_SKIP(why);
  }
  test::RegistryConfig c;
  c.token_realm = tokens->realm();
  c.token_cert = tokens->cert_file();
  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), c);
  ScopedEnv no_docker("DOCKER_CONFIG", dir.file("no-docker-config"));
  const Bytes blob = pattern(4321, 12);
  {
    auto anonymous = open_registry(reg->url("t/token"));
    const auto refused = anonymous->put_blobs({&blob});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code() == Errc::network);
    CHECK(tokens->refused() >= 1);
  }
  auto r = open_registry("oci+http://bob:token-pw@" + reg->host() + "/t/token");
  REQUIRE(r->put_blobs({&blob}));
  CHECK(r->get_blobs({sha256_of(blob)}).value().front() == blob);
  CHECK(tokens->tokens_issued() >= 1);
}

TEST_CASE("remote: TLS is verified: a private CA passed as ca_cert is trusted, and refused without it",
          "[remote]")
{
  test::TempDir dir;
  if (!test::make_tls_material(dir.path())) {
    PAGABLE_SKIP("openssl could not make a test CA");
  }
  test::RegistryConfig c;
  c.tls_cert = dir.file("server.crt");
  c.tls_key = dir.file("server.key");
  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), c);
  REQUIRE(reg->url("t/tls").rfind("oci://", 0) == 0);
  const Bytes blob = pattern(999, 13);
  {
    auto untrusted = open_registry(reg->url("t/tls"));
    const auto refused = untrusted->put_blobs({&blob});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code() == Errc::network);
    CHECK(refused.error().message().find("TLS") != std::string::npos);
    CHECK(untrusted->counters().retries == 0); // a certificate problem is not retried
  }
  {
    // No silent fallback: plain HTTP to a TLS port fails, it does not downgrade.
    auto plain = open_registry("oci+http://" + reg->host() + "/t/tls");
    CHECK_FALSE(plain->blob_sizes({sha256_of(blob)}));
  }
  RemoteOptions o;
  o.ca_cert = dir.file("ca.crt");
  auto trusted = open_registry(reg->url("t/tls"), o);
  REQUIRE(trusted->put_blobs({&blob}));
  CHECK(trusted->get_blobs({sha256_of(blob)}).value().front() == blob);
  o.ca_cert = dir.file("no-such-ca.crt");
  CHECK(Registry::open(parse_location(reg->url("t/tls")).value(), o).error().code() == Errc::not_found);
}

TEST_CASE("remote: credentials come from the environment, the URL, then docker's config.json "
          "(credHelpers, credsStore, auths)",
          "[remote]")
{
  test::TempDir dir;
  ScopedEnv docker("DOCKER_CONFIG", dir.path());
  ScopedEnv path("PATH", dir.path() + ":" + std::string(std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin"));
  const auto where = parse_location("oci://registry.example:5000/r").value();
  CHECK_FALSE(find_credentials(where).value().has_value()); // no config.json: anonymous
  test::write_file(dir.file("config.json"),
                   R"({"auths": {"https://registry.example:5000": {"auth": ")" + base64_encode("carol:pw1") +
                       R"("}, "other.example": {"auth": ")" + base64_encode("dave:pw2") + R"("}}})");
  auto c = find_credentials(where);
  REQUIRE(c);
  REQUIRE(c->has_value());
  CHECK((*c)->username == "carol");
  CHECK((*c)->password == "pw1");
  // A credential helper named for the host wins over auths.
  test::write_file(dir.file("docker-credential-pagabletest"),
                   "#!/bin/sh\nread host\n[ \"$1\" = get ] || exit 1\n"
                   "if [ \"$host\" = registry.example:5000 ]; then\n"
                   "  echo '{\"ServerURL\":\"'$host'\",\"Username\":\"erin\",\"Secret\":\"pw3\"}'\n"
                   "else echo 'credentials not found in native keychain'; exit 1; fi\n");
  ::chmod(dir.file("docker-credential-pagabletest").c_str(), 0755);
  test::write_file(dir.file("config.json"),
                   R"({"credHelpers": {"registry.example:5000": "pagabletest"}, "auths": {"registry.example:5000": {"auth": ")" +
                       base64_encode("carol:pw1") + R"("}}})");
  c = find_credentials(where);
  REQUIRE(c);
  REQUIRE(c->has_value());
  CHECK((*c)->username == "erin");
  CHECK((*c)->password == "pw3");
  // credsStore for every host; "credentials not found" means anonymous.
  test::write_file(dir.file("config.json"), R"({"credsStore": "pagabletest"})");
  CHECK(find_credentials(where).value()->username == "erin");
  CHECK_FALSE(find_credentials(parse_location("oci://elsewhere/r").value()).value().has_value());
  // The URL's user-info, then the environment, come first.
  CHECK(find_credentials(parse_location("oci://u:p@registry.example:5000/r").value()).value()->username == "u");
  ScopedEnv user("PAGABLE_REGISTRY_USERNAME", "frank");
  ScopedEnv pass("PAGABLE_REGISTRY_PASSWORD", "pw4");
  CHECK(find_credentials(where).value()->username == "frank");
}

TEST_CASE("remote: challenges parse as RFC 7235 says", "[remote]")
{
  const auto c = parse_challenge(
      R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push")");
  REQUIRE(c);
  CHECK(c->scheme == "bearer");
  CHECK(c->params.at("realm") == "https://auth.example/token");
  CHECK(c->params.at("scope") == "repository:a/b:pull,push");
  CHECK(parse_challenge(R"(Basic realm="x")")->scheme == "basic");
  CHECK(base64_decode(base64_encode("user:pa:ss")).value() == "user:pa:ss");
  CHECK(host_of("https://u:p@h.example:443/v1/") == "h.example:443");
}
