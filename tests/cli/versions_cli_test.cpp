// SPDX-License-Identifier: MIT OR Apache-2.0
// Versions end to end (issue 19): packs under one name keep every version through gc;
// selectors in every command that names a version; log, diff, forget; names pack refuses;
// ls escaping; PAGABLE_ARCHIVE naming another archive; concurrent packs of one name.
#include "support/archive_fixture.hpp"
#include "support/run_pagable.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <future>
#include <set>

using test::report_of;
using test::run_pagable;
using json = nlohmann::json;

namespace {

// 600 characters that do not compress: what a version adds then takes pages of its own.
std::string noise(int seed)
{
  std::uint64_t x = 0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(seed + 1);
  std::string s;
  for (int i = 0; i < 600; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s += static_cast<char>('!' + x % 90);
  }
  return s;
}

// A document of `n` node-sized members, the `edit`-th member's number changed.
std::string doc(int edit, int n = 40)
{
  json d = json::object();
  for (int i = 0; i < n; ++i) {
    d["member-" + std::to_string(i)] = {{"text", noise(i)}, {"rev", i == edit ? 1000 + edit : i}};
  }
  return d.dump();
}

json pack_report(const std::vector<std::string>& args)
{
  std::vector<std::string> a = {"--json", "pack"};
  a.insert(a.end(), args.begin(), args.end());
  const auto r = run_pagable(a);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return report_of(r, "pack");
}

} // namespace

TEST_CASE("cli versions: three packs under one name keep three versions through gc, each "
          "hydrating to its input",
          "[cli][versions]")
{
  test::TempDir dir;
  const auto archive = dir.file("runs.pagable");
  std::vector<std::string> inputs;
  for (int v = 1; v <= 3; ++v) {
    inputs.push_back(dir.file("api" + std::to_string(v) + ".json"));
    test::write_file(inputs.back(), doc(v));
    const auto r = run_pagable({"pack", archive, inputs.back(), "--name", "api"});
    REQUIRE(r.exit_code == 0);
    // The human line says what happened: the archive, the name, the version, what it added.
    CHECK_THAT(r.out, Catch::Contains("into " + archive + ": api: version " + std::to_string(v)) &&
                          Catch::Contains("nodes new") && Catch::Contains("added"));
  }
  REQUIRE(run_pagable({"gc", archive}).exit_code == 0);
  for (int v = 1; v <= 3; ++v) {
    const auto h = run_pagable({"hydrate", archive, "api#" + std::to_string(v)});
    REQUIRE(h.exit_code == 0);
    CHECK(json::parse(h.out) == json::parse(doc(v)));
  }
  // ls: one name, its newest version, three versions; --all: every version.
  const auto ls = report_of(run_pagable({"--json", "ls", archive}), "ls");
  REQUIRE(ls["roots"].size() == 1);
  CHECK(ls["roots"][0]["version"] == 3);
  CHECK(ls["roots"][0]["versions"] == 3);
  CHECK(report_of(run_pagable({"--json", "ls", archive, "--all"}), "ls")["roots"].size() == 3);
  // log: newest first, with what each added.
  const auto log = report_of(run_pagable({"--json", "log", archive, "api"}), "log");
  REQUIRE(log["versions"].size() == 3);
  CHECK(log["versions"][0]["version"] == 3);
  CHECK(log["versions"][2]["version"] == 1);
  // The first version took pages; a one-member edit may fit in pages already there.
  CHECK(log["versions"][2]["bytes_added"].get<std::uint64_t>() > 0);
  CHECK(log["versions"][0]["bytes_added"].is_number_unsigned());
  CHECK(report_of(run_pagable({"--json", "log", archive, "api~1"}), "log")["versions"].size() == 2);
  // An identical document still makes a version, with no new node.
  const auto same = pack_report({archive, inputs.back(), "--name", "api"});
  CHECK(same["documents"][0]["version"] == 4);
  CHECK(same["new_nodes"] == 0);
}

TEST_CASE("cli versions: what pack, log and stat say a version added is one figure: the pages "
          "its transactions took",
          "[cli][versions]")
{
  test::TempDir dir;
  const auto archive = dir.file("a.pagable");
  test::write_file(dir.file("1.json"), doc(1, 200));
  test::write_file(dir.file("2.json"), doc(150, 400)); // 200 members more: new pages
  pack_report({archive, dir.file("1.json"), "--name", "d"});
  const auto size_before = std::filesystem::file_size(archive);
  const auto rep = pack_report({archive, dir.file("2.json"), "--name", "d"});
  const auto added = rep["bytes_added"].get<std::uint64_t>();
  CHECK(added > 0);
  CHECK(report_of(run_pagable({"--json", "log", archive, "d"}), "log")["versions"][0]["bytes_added"] == added);
  const auto stat = report_of(run_pagable({"--json", "stat", archive}), "stat");
  CHECK(stat["newest_version"]["bytes_added"] == added);
  CHECK(stat["names"] == 1);
  CHECK(stat["roots"] == 2);
  // With nothing else writing and no free page to reuse, the file grew by that much.
  CHECK(std::filesystem::file_size(archive) - size_before == added);
}

TEST_CASE("cli versions: every selector form resolves, unknown and ambiguous ones exit 2 naming "
          "the candidates",
          "[cli][versions]")
{
  test::TempDir dir;
  const auto archive = dir.file("a.pagable");
  std::vector<std::string> keys;
  const char* times[] = {"2026-01-05T10:00:00Z", "2026-02-05T10:00:00Z", "2026-03-05T10:00:00+01:00"};
  for (int v = 0; v < 3; ++v) {
    test::write_file(dir.file("in.json"), doc(v));
    keys.push_back(pack_report({archive, dir.file("in.json"), "--name", "api", "--time", times[v]})["key"]);
  }
  test::write_file(dir.file("web.json"), doc(7));
  pack_report({archive, dir.file("web.json")});
  const auto key_of = [&](const std::string& sel) {
    const auto r = run_pagable({"--json", "log", archive, sel});
    INFO(sel << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    return report_of(r, "log")["versions"][0]["key"].get<std::string>();
  };
  CHECK(key_of("api#1") == keys[0]);
  CHECK(key_of("api~0") == keys[2]);
  CHECK(key_of("api~2") == keys[0]);
  CHECK(key_of("api@2026-02-05") == keys[1]);
  CHECK(key_of("api@2026-03-05T09:00:00Z") == keys[2]);
  CHECK(key_of("api@2026-03-05T08:59") == keys[1]);
  CHECK(key_of(keys[1].substr(0, 12)) == keys[1]);
  const auto at = run_pagable({"hydrate", archive, "api~1", "--at", "/member-1/rev"});
  REQUIRE(at.exit_code == 0);
  CHECK(at.out == "1001");
  for (const auto& [sel, says] : std::vector<std::pair<std::string, std::string>>{
           {"api#9", "versions 1-3"}, {"api~5", "api~0 to api~2"}, {"apx", "names: api"},
           {"api@2025-01-01", "its oldest is api#1"}, {"api#x", "version number"}}) {
    INFO(sel);
    const auto r = run_pagable({"hydrate", archive, sel});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(says));
  }
  // --update-of takes a selector too.
  test::write_file(dir.file("in.json"), doc(2));
  CHECK(pack_report({archive, dir.file("in.json"), "--name", "api", "--update-of", "api#2"})["documents"][0]["update_of"] == keys[1]);
}

TEST_CASE("cli versions: names pack refuses, defaults that map '#~@', and ls escaping control "
          "characters",
          "[cli][versions]")
{
  test::TempDir dir;
  const auto archive = dir.file("a.pagable");
  test::write_file(dir.file("x.json"), "{}");
  for (const std::string& bad : {std::string("../x"), std::string("/abs"), std::string("a//b"),
                                 std::string("tab\there"), std::string("a#1"), std::string("b~2"),
                                 std::string("c@d"), std::string(256, 'n')}) {
    INFO(bad);
    const auto r = run_pagable({"pack", archive, dir.file("x.json"), "--name", bad});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("root name"));
  }
  test::write_file(dir.file("run#41@ci.json"), "{}");
  CHECK(pack_report({archive, dir.file("run#41@ci.json")})["root"] == "run_41_ci");
  // An archive from before these rules may hold any name: ls shows it escaped.
  test::archive::sql(archive, "INSERT INTO roots(name, version, key, schema_key, created_ms, labels, "
                              "stats) SELECT 'evil' || char(27) || '[2Jname', 1, key, NULL, 1, '{}', '{}' "
                              "FROM roots LIMIT 1");
  const auto ls = run_pagable({"ls", archive});
  REQUIRE(ls.exit_code == 0);
  CHECK_THAT(ls.out, Catch::Contains("evil\\x1b[2Jname"));
  CHECK(ls.out.find('\x1b') == std::string::npos);
}

TEST_CASE("cli versions: two packs of one name at once get two numbers", "[cli][versions]")
{
  test::TempDir dir;
  const auto archive = dir.file("a.pagable");
  test::write_file(dir.file("1.json"), doc(1, 300));
  test::write_file(dir.file("2.json"), doc(2, 300));
  pack_report({archive, dir.file("1.json"), "--name", "ci"});
  for (int round = 0; round < 3; ++round) {
    auto a = std::async(std::launch::async, [&] {
      return run_pagable({"--json", "pack", archive, dir.file("1.json"), "--name", "ci"});
    });
    auto b = std::async(std::launch::async, [&] {
      return run_pagable({"--json", "pack", archive, dir.file("2.json"), "--name", "ci"});
    });
    const auto ra = a.get();
    const auto rb = b.get();
    REQUIRE(ra.exit_code == 0);
    REQUIRE(rb.exit_code == 0);
    CHECK(report_of(ra, "pack")["documents"][0]["version"] != report_of(rb, "pack")["documents"][0]["version"]);
  }
  const auto log = report_of(run_pagable({"--json", "log", archive, "ci"}), "log");
  std::set<int> numbers;
  for (const auto& v : log["versions"]) {
    numbers.insert(v["version"].get<int>());
  }
  CHECK(numbers == std::set<int>{1, 2, 3, 4, 5, 6, 7});
}

TEST_CASE("cli diff: exit 0 equal, 1 different, 2 trouble, JSON Patch, merge patch and the report",
          "[cli][versions][diff]")
{
  test::TempDir dir;
  const auto archive = dir.file("a.pagable");
  test::write_file(dir.file("a.json"), R"({"list": [1, 2, 3], "s": "old", "gone": {"x": 1}})");
  test::write_file(dir.file("b.json"), R"({"list": [1, 9, 2, 3], "s": "new"})");
  pack_report({archive, dir.file("a.json"), "--name", "d"});
  pack_report({archive, dir.file("b.json"), "--name", "d"});
  const auto same = run_pagable({"diff", archive, "d#1", "d#1"});
  CHECK(same.exit_code == 0);
  CHECK(same.out.empty());
  const auto human = run_pagable({"diff", archive, "d#1", "d"});
  CHECK(human.exit_code == 1);
  CHECK_THAT(human.out, Catch::Contains("+ /list/1: 9") && Catch::Contains("~ /s: \"old\" → \"new\"") &&
                            Catch::Contains("- /gone: {\"x\":1}"));
  const auto patch = run_pagable({"diff", archive, "d~1", "d~0", "--format", "json-patch"});
  CHECK(patch.exit_code == 1);
  const json a = json::parse(test::read_file(dir.file("a.json")));
  const json b = json::parse(test::read_file(dir.file("b.json")));
  CHECK(a.patch(json::parse(patch.out)) == b);
  const auto merge = run_pagable({"diff", archive, "d#1", "d#2", "--format", "merge-patch"});
  CHECK(merge.exit_code == 1);
  json merged = a;
  merged.merge_patch(json::parse(merge.out));
  CHECK(merged == b);
  const auto report = run_pagable({"--json", "diff", archive, "d#1", "d#2"});
  CHECK(report.exit_code == 1);
  const auto r = report_of(report, "diff");
  CHECK(r["equal"] == false);
  CHECK(a.patch(r["patch"]) == b);
  CHECK(r["a"]["version"] == 1);
  // The command's own clock, its start to the patch (bench/run's in-process diff cost).
  CHECK(r["stats"]["seconds"].get<double>() > 0);
  const auto at = run_pagable({"diff", archive, "d#1", "d#2", "--at", "/s", "--format", "json-patch"});
  CHECK(json::parse(at.out) == json::parse(R"([{"op": "replace", "path": "", "value": "new"}])"));
  CHECK(run_pagable({"diff", archive, "d#1", "d#7"}).exit_code == 2);
  CHECK(run_pagable({"diff", dir.file("missing.pagable"), "d#1", "d#2"}).exit_code == 5);
}

TEST_CASE("cli forget: per-name retention, then gc, versions kept still hydrate although removed "
          "ones held their delta bases",
          "[cli][versions][forget]")
{
  test::TempDir dir;
  const auto archive = dir.file("a.pagable");
  for (int v = 1; v <= 6; ++v) {
    test::write_file(dir.file("in.json"), doc(v, 120));
    const std::string day = "2026-03-0" + std::to_string(v) + "T12:00:00Z";
    pack_report({archive, dir.file("in.json"), "--name", "api", "--time", day,
                 "--label", v == 2 ? "keep=yes" : "keep=no"});
    pack_report({archive, dir.file("in.json"), "--name", "web", "--time", day});
  }
  const auto dry = run_pagable({"--json", "forget", archive, "api", "--keep-last", "2", "--keep-label",
                                "keep=yes", "--dry-run"});
  REQUIRE(dry.exit_code == 0);
  const auto planned = report_of(dry, "forget");
  CHECK(planned["names"][0]["keep"].size() == 3);
  CHECK(planned["names"][0]["remove"].size() == 3);
  CHECK(report_of(run_pagable({"--json", "ls", archive, "--all"}), "ls")["roots"].size() == 12);
  const auto done = report_of(run_pagable({"--json", "forget", archive, "api", "--keep-last", "2",
                                           "--keep-label", "keep=yes"}),
                              "forget");
  CHECK(done["removed"] == 3);
  REQUIRE(run_pagable({"gc", archive}).exit_code == 0);
  CHECK(run_pagable({"verify", archive}).exit_code == 0);
  for (const auto& [sel, edit] : std::vector<std::pair<std::string, int>>{{"api#2", 2}, {"api#5", 5}, {"api#6", 6}, {"web#1", 1}}) {
    INFO(sel);
    const auto h = run_pagable({"hydrate", archive, sel});
    REQUIRE(h.exit_code == 0);
    CHECK(json::parse(h.out) == json::parse(doc(edit, 120)));
  }
  CHECK(run_pagable({"hydrate", archive, "api#1"}).exit_code == 2);
  // No rule: refused, nothing removed.
  CHECK(run_pagable({"forget", archive}).exit_code == 2);
  // forget over every name: web keeps its 3 newest.
  CHECK(report_of(run_pagable({"--json", "forget", archive, "--keep-daily", "3"}), "forget")["removed"] == 3);
}

TEST_CASE("cli versions: rm one version or a name, unpack --all-versions, verify NAME checks every "
          "version",
          "[cli][versions]")
{
  test::TempDir dir;
  const auto archive = dir.file("a.pagable");
  for (int v = 1; v <= 3; ++v) {
    test::write_file(dir.file("in.json"), doc(v));
    pack_report({archive, dir.file("in.json"), "--name", "api"});
  }
  const auto rm = report_of(run_pagable({"--json", "rm", archive, "api#2"}), "rm");
  CHECK(rm["removed"] == json::array({"api#2"}));
  const auto unpacked = run_pagable({"--json", "unpack", archive, "--all-versions", "-C", dir.file("out")});
  REQUIRE(unpacked.exit_code == 0);
  CHECK(json::parse(test::read_file(dir.file("out/api#1.json"))) == json::parse(doc(1)));
  CHECK(json::parse(test::read_file(dir.file("out/api#3.json"))) == json::parse(doc(3)));
  CHECK_FALSE(std::filesystem::exists(dir.file("out/api#2.json")));
  REQUIRE(run_pagable({"unpack", archive, "-C", dir.file("latest")}).exit_code == 0);
  CHECK(json::parse(test::read_file(dir.file("latest/api.json"))) == json::parse(doc(3)));
  const auto verify = run_pagable({"--json", "verify", archive, "api"});
  REQUIRE(verify.exit_code == 0);
  CHECK(report_of(verify, "verify")["roots_checked"] == 2);
  // The number of a removed version is never given again.
  CHECK(pack_report({archive, dir.file("in.json"), "--name", "api"})["documents"][0]["version"] == 4);
  CHECK(report_of(run_pagable({"--json", "rm", archive, "api"}), "rm")["versions_removed"] == 3);
}

TEST_CASE("cli versions: with PAGABLE_ARCHIVE set, pack NEW.pagable writes there and nothing to "
          "the environment's archive",
          "[cli][versions]")
{
  test::TempDir dir;
  const auto env_archive = dir.file("env.pagable");
  test::write_file(dir.file("doc.json"), doc(1));
  pack_report({env_archive, dir.file("doc.json"), "--name", "first"});
  const auto before = test::read_file(env_archive);
  const auto fresh = dir.file("new.pagable");
  const auto r = run_pagable({"pack", fresh, dir.file("doc.json")}, "", {"PAGABLE_ARCHIVE=" + env_archive});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("into " + fresh));
  CHECK(test::read_file(env_archive) == before);
  CHECK(report_of(run_pagable({"--json", "ls", fresh}), "ls")["roots"][0]["name"] == "doc");
  // Without an archive named, the environment's is used.
  const auto ls = run_pagable({"--json", "ls"}, "", {"PAGABLE_ARCHIVE=" + env_archive});
  CHECK(report_of(ls, "ls")["roots"][0]["name"] == "first");
}
