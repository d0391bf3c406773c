// SPDX-License-Identifier: MIT OR Apache-2.0
// docs/FORMAT.md "Remote stores" in code: tags, version numbers by (time, key), the index,
// record and manifest blobs round-trip and refuse what is malformed.
#include <pagable/remote.hpp>

#include "remote/mapping.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>


using namespace pagable;
using namespace pagable::remote;

namespace {

store::RootRecord record(std::string name, std::int64_t ms, std::string_view seed)
{
  store::RootRecord r;
  r.name = std::move(name);
  r.created_unix_ms = ms;
  r.key = sha256_of(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(seed.data()), seed.size()));
  return r;
}

// The distribution spec's tag grammar: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
bool oci_tag(const std::string& tag)
{
  const auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; };
  return !tag.empty() && tag.size() <= 128 && word(tag[0]) &&
         std::all_of(tag.begin(), tag.end(), [&](char c) { return word(c) || c == '.' || c == '-'; });
}

} // namespace

TEST_CASE("remote mapping: tags are valid OCI tags, immutable per version, and name their version", "[remote]")
{
  for (const std::string& name : std::vector<std::string>{"doc", "team/a b.json", "-x", "é", std::string(300, 'n'), std::string(200, '/')}) {
    INFO(name);
    const auto r = record(name, 1700000000123, name);
    const std::string tag = version_tag(r);
    CHECK(oci_tag(tag));
    CHECK(oci_tag(name_tag(name)));
    CHECK(name_tag(name).find('.') == std::string::npos);
    const auto versions = versions_in({tag, name_tag(name), "latest"});
    REQUIRE(versions.size() == 1);
    CHECK(versions[0].created_unix_ms == 1700000000123);
    CHECK(versions[0].key_prefix == r.key.to_hex().substr(0, 16));
    if (name.size() < 40) {
      CHECK(versions[0].name == name);
    } else {
      CHECK(versions[0].name.empty()); // shortened: the manifest names it
    }
  }
  CHECK(version_tag(record("doc", 1, "k")).substr(0, 18) == "doc.0000000000001.");
  // Different names never share a tag, even when they escape alike at first sight.
  CHECK(name_tag("a.b") != name_tag("a_2eb"));
  CHECK(name_tag(std::string(100, 'x') + "1") != name_tag(std::string(100, 'x') + "2"));
}

TEST_CASE("remote mapping: a name's versions are numbered by (time, key), whoever pushed first", "[remote]")
{
  const auto a1 = record("a", 2000, "k1");
  const auto a2 = record("a", 1000, "k2");
  const auto a3 = record("a", 2000, "k0");
  const auto b1 = record("b", 500, "k3");
  const auto versions = versions_in({version_tag(a1), version_tag(b1), version_tag(a2), version_tag(a3)});
  REQUIRE(versions.size() == 4);
  CHECK(versions[0].tag == version_tag(a2));
  CHECK(versions[0].version == 1);
  const bool a3_first = a3.key.to_hex() < a1.key.to_hex();
  CHECK(versions[1].tag == version_tag(a3_first ? a3 : a1));
  CHECK(versions[2].version == 3);
  CHECK(versions[3].name == "b");
  CHECK(versions[3].version == 1);
}

TEST_CASE("remote mapping: index, record and manifest blobs round-trip, and malformed ones are corrupt", "[remote]")
{
  store::PackImage image;
  image.data = Bytes{1, 2, 3, 4, 5, 6, 7, 8};
  image.digest = store::PackDigest{sha256_of(image.data)};
  image.codec = 3;
  image.raw_size = 100;
  image.bases = {store::PackBase{store::PackDigest{sha256_of(Bytes{9})}, 10, 20}};
  const Key k1 = sha256_of(Bytes{1});
  const Key k2 = sha256_of(Bytes{2});
  image.entries = {store::PackEntry{k2, 50, 50, {k1}}, store::PackEntry{k1, 0, 50, {}}};
  const Bytes blob = encode_index(image);
  CHECK(encode_index(image) == blob); // deterministic: one pack, one index digest
  const auto ix = decode_index(blob);
  REQUIRE(ix);
  CHECK(ix->pack == image.digest);
  CHECK(ix->codec == 3);
  CHECK(ix->raw_size == 100);
  CHECK(ix->stored_size == 8);
  CHECK(ix->bases == image.bases);
  REQUIRE(ix->entries.size() == 2);
  CHECK(ix->entries[0] == image.entries[1]); // by offset
  CHECK(ix->entries[1] == image.entries[0]);
  Bytes broken = blob;
  broken[broken.size() / 2] ^= 0xff;
  CHECK_FALSE(decode_index(broken));
  CHECK(decode_index(Bytes{1, 2, 3}).error().code() == Errc::corrupt);

  auto root = record("doc", 1234, "r");
  root.schema_key = k1;
  root.labels = {{"commit", "3f9a"}};
  root.stats_json = R"({"nodes":3})";
  const auto back = decode_root(encode_root(root));
  REQUIRE(back);
  CHECK(back->name == "doc");
  CHECK(back->key == root.key);
  CHECK(back->schema_key == root.schema_key);
  CHECK(back->created_unix_ms == 1234);
  CHECK(back->labels == root.labels);
  CHECK(back->stats_json == root.stats_json);
  CHECK(decode_root(test::bytes("{}")).error().code() == Errc::corrupt);

  const auto m = version_manifest(root, Descriptor{std::string(k_root_type), k1, 10},
                                  {Descriptor{std::string(k_pack_type), k2, 8}}, k2);
  const auto decoded = decode_manifest(encode_manifest(m));
  REQUIRE(decoded);
  CHECK(decoded->config.digest == k1);
  REQUIRE(decoded->layers.size() == 1);
  CHECK(decoded->layers[0].media_type == k_pack_type);
  CHECK(decoded->annotations.at("dev.pagable.parent") == k2.to_hex());
  CHECK(decoded->annotations.at("dev.pagable.label.commit") == "3f9a");
  CHECK(decoded->annotations.at("org.opencontainers.image.created") == "1970-01-01T00:00:01.234Z");
  CHECK(packs_per_manifest(4 * 1024 * 1024) > 10000);
}
