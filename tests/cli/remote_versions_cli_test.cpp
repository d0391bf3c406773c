// SPDX-License-Identifier: MIT OR Apache-2.0
// A remote's versions as the local commands show an archive's: `ls REMOTE`, `log REMOTE
// NAME`, and selectors on push and pull, numbered by (time, key) on the remote
// (docs/FORMAT.md "Remote stores"). The built binary against the real registry.
#include "support/registry_fixture.hpp"
#include "support/run_pagable.hpp"
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <pagable/remote.hpp>

#include <chrono>
#include <filesystem>
#include <set>
#include <csignal>
#include <cstdio>
#include <thread>

using test::run_pagable;

namespace {

// Packs a small document `{"v": seed, ...}` as `name` at `time` into `archive`.
void pack_at(const test::TempDir& dir, const std::string& archive, const std::string& name, int seed,
             const std::string& time, const std::vector<std::string>& extra = {})
{
  const std::string file = dir.file(name + std::to_string(seed) + ".json");
  std::string doc = "{\"v\":" + std::to_string(seed) + ",\"items\":[";
  for (int i = 0; i < 50; ++i) {
    doc += std::string(i ? "," : "") + "{\"i\":" + std::to_string(i) + ",\"s\":\"" + std::to_string(seed * 1000 + i) +
           "\"}";
  }
  test::write_file(file, doc + "]}");
  std::vector<std::string> args{"pack", archive, file, "--name", name, "--time", time};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = run_pagable(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

struct Made {
  std::string name;
  int seed;
  std::string time;
};

// Packs each of `versions` into `archive`, in order.
void pack_all(const test::TempDir& dir, const std::string& archive, const std::vector<Made>& versions)
{
  for (const auto& v : versions) {
    pack_at(dir, archive, v.name, v.seed, v.time);
  }
}

// `roots` without what each version cost (a remote records none).
nlohmann::json without_cost(nlohmann::json roots)
{
  for (auto& r : roots) {
    r.erase("bytes_added");
  }
  return roots;
}

nlohmann::json json_of(const std::vector<std::string>& args)
{
  const auto r = run_pagable(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

std::string key_of(const std::string& archive, const std::string& selector)
{
  const auto log = json_of({"--json", "log", archive, selector});
  REQUIRE(!log["versions"].empty());
  return log["versions"][0]["key"].get<std::string>();
}

} // namespace

TEST_CASE("remote CLI: ls and log REMOTE show what ls and log show of the archive pushed, numbered by "
          "(time, key)",
          "[cli][remote]")
{
  test::TempDir dir;
  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), {});
  const std::string a = dir.file("a.pagable");
  pack_at(dir, a, "doc", 1, "2026-01-01T10:00:00Z");
  pack_at(dir, a, "doc", 2, "2026-01-02T10:00:00Z", {"--label", "stage=beta"});
  pack_at(dir, a, "other", 3, "2026-01-03T10:00:00Z");
  const std::string url = reg->url("ci/versions");
  REQUIRE(run_pagable({"push", a, url}).exit_code == 0);

  // The same schema and the same versions (less what each cost the archive).
  const auto ls = test::report_of(run_pagable({"--json", "ls", url}), "ls");
  CHECK(ls["remote"] == url);
  CHECK(without_cost(ls["roots"]) == without_cost(json_of({"--json", "ls", a})["roots"]));
  REQUIRE(ls["roots"].size() == 2);
  CHECK(ls["roots"][0]["versions"] == 2);
  const auto all = test::report_of(run_pagable({"--json", "ls", url, "--all"}), "ls");
  CHECK(without_cost(all["roots"]) == without_cost(json_of({"--json", "ls", a, "--all"})["roots"]));
  const auto labelled = test::report_of(run_pagable({"--json", "ls", url, "--label", "stage=beta"}), "ls");
  REQUIRE(labelled["roots"].size() == 1);
  CHECK(labelled["roots"][0]["name"] == "doc");
  CHECK(test::report_of(run_pagable({"--json", "ls", url, "--prefix", "oth"}), "ls")["roots"].size() == 1);
  const auto text = run_pagable({"ls", url});
  CHECK(text.exit_code == 0);
  CHECK(text.out.find("doc") != std::string::npos);
  CHECK(text.out.find("(2 versions)") != std::string::npos);

  const auto log = test::report_of(run_pagable({"--json", "log", url, "doc"}), "log");
  CHECK(without_cost(log["versions"]) == without_cost(json_of({"--json", "log", a, "doc"})["versions"]));
  REQUIRE(log["versions"].size() == 2);
  CHECK(log["versions"][0]["version"] == 2); // newest first
  CHECK(test::report_of(run_pagable({"--json", "log", url, "doc#1"}), "log")["versions"].size() == 1);
  CHECK(test::report_of(run_pagable({"--json", "log", url}), "log")["versions"].size() == 3);
  CHECK(run_pagable({"log", url, "nosuch"}).exit_code == 2);
  CHECK(run_pagable({"log", url, "doc#7"}).exit_code == 2);

  // Another runner pushes a version of "doc" made earlier: it takes its place by time, and
  // the numbers after it move up (registries have no compare-and-swap).
  const std::string b = dir.file("b.pagable");
  pack_at(dir, b, "doc", 4, "2025-12-31T10:00:00Z");
  REQUIRE(run_pagable({"push", b, url}).exit_code == 0);
  const auto moved = test::report_of(run_pagable({"--json", "log", url, "doc"}), "log");
  REQUIRE(moved["versions"].size() == 3);
  CHECK(moved["versions"][2]["key"] == key_of(b, "doc"));
  CHECK(moved["versions"][2]["version"] == 1);
  CHECK(moved["versions"][0]["key"] == key_of(a, "doc#2"));
  CHECK(moved["versions"][0]["version"] == 3);
  // A network failure exits 7 here too.
  CHECK(run_pagable({"ls", "oci+http://127.0.0.1:" + std::to_string(test::free_port()) + "/r"}).exit_code == 7);
}

TEST_CASE("remote CLI: push and pull take selectors: NAME#N, NAME~K, NAME@TIME and key prefixes", "[cli][remote]")
{
  test::TempDir dir;
  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), {});
  const std::string a = dir.file("a.pagable");
  pack_all(dir, a,
           {{"doc", 1, "2026-02-01T10:00:00Z"}, {"doc", 2, "2026-02-02T10:00:00Z"},
            {"doc", 3, "2026-02-03T10:00:00Z"}, {"other", 5, "2026-02-04T10:00:00Z"}});
  const std::string url = reg->url("ci/selectors");
  const auto pushed_keys = [&] {
    std::vector<std::string> keys;
    const auto log = json_of({"--json", "log", url});
    for (const auto& v : log["versions"]) {
      keys.push_back(v["key"].get<std::string>());
    }
    return keys;
  };

  // A selector that names nothing moves nothing.
  CHECK(run_pagable({"push", a, url, "doc#9"}).exit_code == 2);
  CHECK(pushed_keys().empty());
  const auto one = test::report_of(run_pagable({"--json", "push", a, url, "doc#2"}), "push");
  REQUIRE(one["pushed"].size() == 1);
  CHECK(pushed_keys() == std::vector<std::string>{key_of(a, "doc#2")});
  REQUIRE(run_pagable({"push", a, url, "doc~0"}).exit_code == 0);
  REQUIRE(run_pagable({"push", a, url, key_of(a, "doc#1").substr(0, 12)}).exit_code == 0);
  CHECK(pushed_keys() == (std::vector<std::string>{key_of(a, "doc#3"), key_of(a, "doc#2"), key_of(a, "doc#1")}));

  // Pull: selectors resolved on the remote, by its numbering.
  const std::string b = dir.file("b.pagable");
  const auto at = test::report_of(run_pagable({"--json", "pull", b, url, "doc@2026-02-02"}), "pull");
  REQUIRE(at["pulled"].size() == 1);
  CHECK(at["pulled"][0]["key"] == key_of(a, "doc#2"));
  const auto back = test::report_of(run_pagable({"--json", "pull", b, url, "doc~2"}), "pull");
  REQUIRE(back["pulled"].size() == 1);
  CHECK(back["pulled"][0]["key"] == key_of(a, "doc#1"));
  const auto by_key =
      test::report_of(run_pagable({"--json", "pull", b, url, key_of(a, "doc#3").substr(0, 10)}), "pull");
  REQUIRE(by_key["pulled"].size() == 1);
  CHECK(by_key["pulled"][0]["key"] == key_of(a, "doc#3"));
  const auto numbered = test::report_of(run_pagable({"--json", "pull", b, url, "doc#2"}), "pull");
  CHECK(numbered["pulled"].empty());
  REQUIRE(numbered["present"].size() == 1);
  CHECK(numbered["present"][0]["key"] == key_of(a, "doc#2"));
  CHECK(run_pagable({"pull", b, url, "doc#4"}).exit_code == 2);
  CHECK(run_pagable({"pull", b, url, "other"}).exit_code == 2); // never pushed
  // A name still moves every version of it.
  const std::string c = dir.file("c.pagable");
  CHECK(test::report_of(run_pagable({"--json", "pull", c, url, "doc"}), "pull")["pulled"].size() == 3);
}

TEST_CASE("remote CLI: verify REMOTE reports a manifest whose blobs were deleted at the registry, or spoilt",
          "[cli][remote]")
{
  test::TempDir dir;
  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), {});
  const std::string a = dir.file("a.pagable");
  pack_all(dir, a,
           {{"doc", 1, "2026-03-01T10:00:00Z"}, {"doc", 2, "2026-03-02T10:00:00Z"},
            {"other", 3, "2026-03-03T10:00:00Z"}});
  const std::string url = reg->url("ci/verify");
  REQUIRE(run_pagable({"push", a, url}).exit_code == 0);
  const auto clean = run_pagable({"--json", "verify", url});
  INFO(clean.out << clean.err);
  REQUIRE(clean.exit_code == 0);
  const auto ok = test::report_of(clean, "verify");
  CHECK(ok["ok"] == true);
  CHECK(ok["roots_checked"] == 3);
  CHECK(ok["blobs_checked"] == ok["blobs_reached"]);
  CHECK(ok["remote"] == url);

  // Delete the blobs only "other" lists from the registry's storage, as a registry's own
  // garbage collector run wrongly would.
  std::set<std::string> of_doc;
  std::set<std::string> of_other;
  {
    auto where = pagable::remote::parse_location(url);
    REQUIRE(where);
    auto registry = pagable::remote::Registry::open(*where);
    REQUIRE(registry);
    auto catalog = pagable::remote::RemoteCatalog::read(**registry);
    REQUIRE(catalog);
    for (const auto& v : catalog->versions()) {
      auto manifest = catalog->manifest(v);
      REQUIRE(manifest);
      const auto j = nlohmann::json::parse((*manifest)->bytes.begin(), (*manifest)->bytes.end());
      for (const auto& l : j["layers"]) {
        (v.name == "other" ? of_other : of_doc).insert(l["digest"].get<std::string>().substr(7));
      }
    }
  }
  std::size_t deleted = 0;
  for (const auto& hex : of_other) {
    if (of_doc.contains(hex)) {
      continue;
    }
    const std::string blob = reg->storage() + "/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex;
    deleted += std::filesystem::remove_all(blob) > 0 ? 1 : 0;
  }
  REQUIRE(deleted > 0);
  const auto damaged = run_pagable({"--json", "verify", url});
  INFO(damaged.out << damaged.err);
  CHECK(damaged.exit_code == 3);
  const auto bad = test::report_of(damaged, "verify");
  CHECK(bad["ok"] == false);
  REQUIRE(bad["problems"].size() == deleted);
  for (const auto& p : bad["problems"]) {
    CHECK(p["kind"] == "missing_blob");
    CHECK(p["roots"] == nlohmann::json::array({"other#1"}));
  }
  // The versions that lost nothing are clean, by selector; connectivity finds the same.
  CHECK(run_pagable({"verify", url, "doc"}).exit_code == 0);
  CHECK(run_pagable({"verify", url, "doc#1"}).exit_code == 0);
  CHECK(run_pagable({"verify", "--connectivity", url}).exit_code == 3);
  CHECK(run_pagable({"verify", url, "nosuch"}).exit_code == 2);
  const auto text = run_pagable({"verify", url});
  CHECK(text.out.find("missing_blob") != std::string::npos);
  CHECK(text.out.find("other#1") != std::string::npos);
}

TEST_CASE("remote CLI: a test's registry dies with the test process that started it", "[cli][remote]")
{
  if (test::registry_binary().empty()) {
    if (const char* ci = std::getenv("CI"); ci != nullptr && std::string(ci) == "true") {
      FAIL("no registry binary, and CI=true");
    }
    PAGABLE_SKIP("no registry binary");
  }
  test::TempDir dir;
  // A child test process starts a registry, says its port, and is killed.
  const auto child = test::run_process({"/proc/self/exe", "[.registry_orphan]"}, {},
                                       {"PAGABLE_ORPHAN_DIR=" + dir.path()});
  const auto at = child.out.find("port=");
  INFO(child.out << child.err);
  REQUIRE(at != std::string::npos);
  const int port = std::stoi(child.out.substr(at + 5));
  CHECK(child.exit_code == 128 + SIGKILL);
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = !test::port_answers(port);
    if (!gone) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  CHECK(gone);
}

TEST_CASE("(the child of the test above: starts a registry and dies)", "[.registry_orphan]")
{
  const char* dir = std::getenv("PAGABLE_ORPHAN_DIR");
  REQUIRE(dir != nullptr);
  std::string why;
  auto reg = test::TestRegistry::start(dir, {}, why);
  REQUIRE(reg);
  std::printf("port=%d\n", reg->port());
  std::fflush(stdout);
  ::raise(SIGKILL);
}
