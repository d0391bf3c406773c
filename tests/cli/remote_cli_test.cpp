// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable push and pull end to end: the built binary against the real registry (Debian's
// Distribution, started by the test), with a counting proxy in front where the test counts
// what crosses the wire.
#include <pagable/remote.hpp>

#include "support/registry_fixture.hpp"
#include "support/remote_helpers.hpp"
#include "support/run_pagable.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>

using test::remote_versions;
using test::run_pagable;

namespace {

std::string hydrated(const std::string& archive, const std::string& root)
{
  const auto r = run_pagable({"hydrate", archive, root});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

// Packs `doc` as `name` into `archive` (created when missing).
void pack_into(const test::TempDir& dir, const std::string& archive, const std::string& name, const std::string& doc)
{
  const std::string file = dir.file(name + ".json");
  test::write_file(file, doc);
  const auto r = run_pagable({"pack", archive, file, "--name", name});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

// A counting proxy in front of `registry`.
std::unique_ptr<test::CountingProxy> proxy_for(const test::TestRegistry& registry)
{
  std::string why;
  auto proxy = test::CountingProxy::start(registry.port(), why);
  INFO(why);
  REQUIRE(proxy);
  return proxy;
}

} // namespace

TEST_CASE("remote CLI: push then pull into an empty archive: every root hydrates identically, verify clean",
          "[cli][remote]")
{
  test::TempDir dir;
  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), {});
  const std::string a = dir.file("a.pagable");
  test::write_file(dir.file("one.json"), test::member_document(600, 0, 1));
  REQUIRE(run_pagable({"pack", a, dir.file("one.json"), "--name", "one", "--label", "team=x"}).exit_code == 0);
  pack_into(dir, a, "two", test::member_document(300, 0, 2));
  const std::string url = reg->url("ci/archive");

  const auto pushed = run_pagable({"--json", "push", a, url});
  REQUIRE(pushed.exit_code == 0);
  const auto report = test::report_of(pushed, "push");
  CHECK(report["pushed"].size() == 2);
  CHECK(report["packs_uploaded"].get<int>() >= 2);
  CHECK(report["remote"] == url);
  const auto versions = remote_versions(url);
  REQUIRE(versions.size() == 2);
  CHECK(versions[0].name == "one");
  CHECK(versions[0].version == 1);

  // Pushing again moves no pack.
  const auto again = test::report_of(run_pagable({"--json", "push", a, url}), "push");
  CHECK(again["pushed"].empty());
  CHECK(again["present"].size() == 2);
  CHECK(again["packs_uploaded"] == 0);

  const std::string b = dir.file("b.pagable");
  const auto pulled = run_pagable({"--json", "pull", b, url});
  INFO(pulled.err);
  REQUIRE(pulled.exit_code == 0);
  const auto preport = test::report_of(pulled, "pull");
  CHECK(preport["pulled"].size() == 2);
  CHECK(hydrated(b, "one") == hydrated(a, "one"));
  CHECK(hydrated(b, "two") == hydrated(a, "two"));
  const auto verified = run_pagable({"verify", b});
  INFO(verified.out << verified.err);
  CHECK(verified.exit_code == 0);
  const auto ls = test::report_of(run_pagable({"--json", "ls", b}), "ls");
  REQUIRE(ls["roots"].size() == 2);
  CHECK(ls["roots"][0]["labels"]["team"] == "x");
  // The same versions, but for what each cost: pulled packs are imported whole, so what a
  // version added here is not what it added where it was packed.
  const auto without_cost = [](nlohmann::json roots) {
    for (auto& r : roots) {
      r.erase("bytes_added");
    }
    return roots;
  };
  CHECK(without_cost(ls["roots"]) ==
        without_cost(test::report_of(run_pagable({"--json", "ls", a}), "ls")["roots"]));
  // Pulling again fetches nothing.
  const auto repeat = test::report_of(run_pagable({"--json", "pull", b, url}), "pull");
  CHECK(repeat["pulled"].empty());
  CHECK(repeat["packs_downloaded"] == 0);
  // A name picks its versions only.
  const std::string c = dir.file("c.pagable");
  const auto only = test::report_of(run_pagable({"--json", "pull", c, url, "two"}), "pull");
  REQUIRE(only["pulled"].size() == 1);
  CHECK(only["pulled"][0]["name"] == "two");
  CHECK(run_pagable({"pull", c, url, "nosuch"}).exit_code == 2);
}

TEST_CASE("remote CLI: a push of an update uploads only the new packs (counted at the registry)",
          "[cli][remote]")
{
  test::TempDir dir;
  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), {});
  auto proxy = proxy_for(*reg);
  const std::string a = dir.file("a.pagable");
  const std::string url = proxy->url("ci/update");
  test::write_file(dir.file("v1.json"), test::member_document(1500, 1500, 1)); // every member seeded 0
  test::write_file(dir.file("v2.json"), test::member_document(1500, 1480, 2)); // the last 20 members changed
  REQUIRE(run_pagable({"pack", a, dir.file("v1.json"), "--name", "doc"}).exit_code == 0);
  const auto first = test::report_of(run_pagable({"--json", "push", a, url}), "push");
  const auto at_first = proxy->figures();
  proxy->reset();
  const auto packed = run_pagable({"--json", "pack", a, dir.file("v2.json"), "--name", "doc"});
  REQUIRE(packed.exit_code == 0);
  const auto added = nlohmann::json::parse(packed.out)["bytes_added"].get<std::uint64_t>();
  const auto second = test::report_of(run_pagable({"--json", "push", a, url}), "push");
  const auto at_update = proxy->figures();
  INFO("first push: " << first.dump() << "\nupdate push: " << second.dump() << "\nbytes added " << added
                      << ", bytes up " << at_update.bytes_up);
  CHECK(second["pushed"].size() == 1);
  CHECK(second["packs_present"].get<int>() >= 1);
  CHECK(second["packs_uploaded"].get<std::uint64_t>() < first["packs_uploaded"].get<std::uint64_t>());
  // What went up is the new packs, their indexes, the record and the manifests, not the document.
  CHECK(at_update.uploads == second["packs_uploaded"].get<std::uint64_t>() * 2 + 1);
  CHECK(at_update.bytes_up < at_first.bytes_up / 4);
  CHECK(at_update.manifest_puts == 2); // the version's tag and the name's
  CHECK(at_update.blob_gets == 0);
}

TEST_CASE("remote CLI: two pushers of one name at once both keep their versions", "[cli][remote]")
{
  test::TempDir dir;
  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), {});
  const std::string url = reg->url("ci/race");
  for (const char* n : {"x", "y"}) {
    test::write_file(dir.file(std::string(n) + ".json"), test::member_document(200, 100, n[0]));
    REQUIRE(run_pagable({"pack", dir.file(std::string(n) + ".pagable"), dir.file(std::string(n) + ".json"),
                         "--name", "shared"})
                .exit_code == 0);
  }
  test::ProcessResult rx;
  test::ProcessResult ry;
  std::thread tx([&] { rx = run_pagable({"push", dir.file("x.pagable"), url}); });
  std::thread ty([&] { ry = run_pagable({"push", dir.file("y.pagable"), url}); });
  tx.join();
  ty.join();
  INFO(rx.err << ry.err);
  CHECK(rx.exit_code == 0);
  CHECK(ry.exit_code == 0);
  const auto versions = remote_versions(url);
  REQUIRE(versions.size() == 2);
  CHECK(versions[0].name == "shared");
  CHECK(versions[1].name == "shared");
  CHECK(versions[0].version == 1);
  CHECK(versions[1].version == 2);
  CHECK(versions[0].created_unix_ms <= versions[1].created_unix_ms);
}

TEST_CASE("remote CLI: the registry killed mid-push leaves no visible version, and the next push completes",
          "[cli][remote]")
{
  test::TempDir dir;
  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), {});
  auto proxy = proxy_for(*reg);
  const std::string a = dir.file("a.pagable");
  pack_into(dir, a, "doc", test::member_document(1500, 0, 3));
  std::atomic<int> uploads{0};
  test::TestRegistry* registry = reg.get();
  proxy->on_request([&](const std::string& method, const std::string& path) {
    if (method == "PUT" && path.find("/blobs/uploads/") != std::string::npos && ++uploads == 2) {
      registry->kill_now(); // after the first blob, before the rest and the manifest
    }
  });
  const auto failed = run_pagable({"push", a, proxy->url("ci/crash")});
  CHECK(failed.exit_code == 7);
  CHECK(failed.err.find(proxy->host()) != std::string::npos);
  proxy->on_request({});
  std::string why;
  REQUIRE(reg->restart(why));
  CHECK(remote_versions(reg->url("ci/crash")).empty());
  const auto done = run_pagable({"--json", "push", a, proxy->url("ci/crash")});
  INFO(done.err);
  REQUIRE(done.exit_code == 0);
  CHECK(test::report_of(done, "push")["pushed"].size() == 1);
  CHECK(remote_versions(reg->url("ci/crash")).size() == 1);
  const auto pulled = run_pagable({"pull", dir.file("b.pagable"), reg->url("ci/crash")});
  REQUIRE(pulled.exit_code == 0);
  CHECK(hydrated(dir.file("b.pagable"), "doc") == hydrated(a, "doc"));
}

TEST_CASE("remote CLI: a blob served with wrong bytes is refused with exit 5 and nothing is stored",
          "[cli][remote]")
{
  test::TempDir dir;
  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), {});
  auto proxy = proxy_for(*reg);
  const std::string a = dir.file("a.pagable");
  pack_into(dir, a, "doc", test::member_document(300, 0, 4));
  REQUIRE(run_pagable({"push", a, reg->url("ci/flip")}).exit_code == 0);
  proxy->flip_blob_bytes(true);
  const std::string b = dir.file("b.pagable");
  const auto refused = run_pagable({"--json", "pull", b, proxy->url("ci/flip")});
  CHECK(refused.exit_code == 5);
  const auto error = test::report_of(refused, "error");
  CHECK(error["error"]["code"] == "corrupt");
  const auto stat = test::report_of(run_pagable({"--json", "stat", b}), "stat");
  CHECK(stat["blobs"] == 0);
  CHECK(stat["roots"] == 0);
  proxy->flip_blob_bytes(false);
  REQUIRE(run_pagable({"pull", b, proxy->url("ci/flip")}).exit_code == 0);
  CHECK(hydrated(b, "doc") == hydrated(a, "doc"));
}

TEST_CASE("remote CLI: a network failure exits 7 naming the host, a malformed remote exits 2, and "
          "PAGABLE_ARCHIVE stands in for the archive, never for the remote",
          "[cli][remote]")
{
  test::TempDir dir;
  const std::string a = dir.file("a.pagable");
  pack_into(dir, a, "doc", test::member_document(5, 0, 5));
  const int port = test::free_port(); // nothing listens there
  const auto down = run_pagable({"push", a, "oci+http://user:pw-secret@127.0.0.1:" + std::to_string(port) + "/r"});
  CHECK(down.exit_code == 7);
  CHECK(down.err.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
  CHECK(down.err.find("pw-secret") == std::string::npos);
  CHECK(down.err.find("user:") == std::string::npos);
  CHECK(run_pagable({"push", a, "http://127.0.0.1/r"}).exit_code == 2);
  CHECK(run_pagable({"push", a, "oci://127.0.0.1/Not_Lower"}).exit_code == 2);

  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), {});
  const auto via_env = run_pagable({"--json", "push", reg->url("ci/env")}, {}, {"PAGABLE_ARCHIVE=" + a});
  INFO(via_env.err);
  REQUIRE(via_env.exit_code == 0);
  CHECK(test::report_of(via_env, "push")["archive"] == a);
  // pull ARCHIVE REMOTE into an archive that does not exist yet, with PAGABLE_ARCHIVE set.
  const auto into_new = run_pagable({"pull", dir.file("new.pagable"), reg->url("ci/env")}, {},
                                    {"PAGABLE_ARCHIVE=" + a});
  INFO(into_new.err);
  CHECK(into_new.exit_code == 0);
  CHECK(hydrated(dir.file("new.pagable"), "doc") == hydrated(a, "doc"));
}
