// SPDX-License-Identifier: MIT OR Apache-2.0
// The golden archive of each format version (tests/data/golden/README.md): today's binary
// must still read it, verify it clean, hydrate it to its input, and give the same keys when
// it packs that input again. A change that breaks any of these is a format change.
#include "support/archive_fixture.hpp"
#include "support/report_schema.hpp"
#include "support/run_pagable.hpp"
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

#include <pagable/version.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

using test::run_pagable;

namespace {

const std::string k_golden_dir = std::string(PAGABLE_SOURCE_DIR) + "/tests/data/golden";

nlohmann::ordered_json parse_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  return nlohmann::ordered_json::parse(in);
}

// One golden archive, copied into `dir`: lists, verifies, hydrates to its input (`input`.json,
// by default the archive's own name) and packs that input again to `key` with no new nodes
// (keys never change within a format). Returns the copy's path.
std::string check_golden(const test::TempDir& dir, const std::string& name, const std::string& key,
                         const std::string& input_name = "")
{
  const auto archive = dir.file(name + ".pagable");
  test::write_file(archive, test::read_file(k_golden_dir + "/" + name + ".pagable"));
  const auto input = k_golden_dir + "/" + (input_name.empty() ? name : input_name) + ".json";

  const auto ls = run_pagable({"--json", "ls", archive});
  REQUIRE(ls.exit_code == 0);
  const auto roots = test::check_report(PAGABLE_SOURCE_DIR, ls.out, "ls")["roots"];
  REQUIRE(roots.size() == 1);
  CHECK(roots[0]["name"] == "golden");
  CHECK(roots[0]["key"] == key);
  CHECK(roots[0]["labels"]["made-by"] == "make_input.py");

  const auto verify = run_pagable({"--json", "verify", archive});
  CHECK(verify.exit_code == 0);
  CHECK(test::check_report(PAGABLE_SOURCE_DIR, verify.out, "verify")["problems"].empty());

  const auto hydrated = run_pagable({"hydrate", archive, "golden"});
  REQUIRE(hydrated.exit_code == 0);
  CHECK(nlohmann::ordered_json::parse(hydrated.out) == parse_file(input));
  // Exact bytes where the canonical form is exact: big integers, 1.0 and -0.0.
  const auto& back = hydrated.out;
  CHECK_THAT(back, Catch::Contains("123456789012345678901234567890") &&
                       Catch::Contains("1.0") && Catch::Contains("-0.0"));

  // Packing the same input again, with the archive's own boundary settings, must give the
  // same root key and store nothing new: keys are stable within a format.
  const auto again = run_pagable({"--json", "pack", archive, input, "--name", "again"});
  REQUIRE(again.exit_code == 0);
  const auto report = test::check_report(PAGABLE_SOURCE_DIR, again.out, "pack");
  CHECK(report["key"] == key);
  CHECK(report["new_nodes"] == 0);
  return archive;
}

std::int64_t format_of(const std::string& archive)
{
  const auto stat = run_pagable({"--json", "stat", archive});
  REQUIRE(stat.exit_code == 0);
  return test::report_of(stat, "stat")["format_version"].get<std::int64_t>();
}

std::int64_t wide_fingerprints_from(const std::string& archive)
{
  return test::archive::sql_int(archive, "SELECT CAST(value AS INTEGER) FROM settings "
                                         "WHERE name = 'pack.route_wide_members'");
}

std::int64_t route_members_of(const std::string& archive)
{
  return test::archive::sql_int(archive, "SELECT CAST(value AS INTEGER) FROM settings "
                                         "WHERE name = 'pack.route_members'");
}

// The fingerprint setting as `stat --json` reports it (1 for an archive from before format 3,
// which has none recorded until it is packed into).
std::int64_t fingerprint_of(const std::string& archive)
{
  const auto stat = run_pagable({"--json", "stat", archive});
  REQUIRE(stat.exit_code == 0);
  return test::report_of(stat, "stat")["boundaries"]["fingerprint"].get<std::int64_t>();
}

std::string key_of_pack(const std::vector<std::string>& args)
{
  const auto r = run_pagable(args);
  REQUIRE(r.exit_code == 0);
  return test::report_of(r, "pack")["key"].get<std::string>();
}

// How the blob table finds keys: format 4's index on their first 8 bytes, or the UNIQUE index
// of formats 0 to 3 (which an older archive keeps when today's pagable packs into it).
std::string key_index_of(const std::string& archive)
{
  const bool prefix = test::archive::sql_int(archive, "SELECT count(*) FROM pragma_index_list"
                                                      "('blobs') WHERE name = 'blobs_key_prefix'") == 1;
  const bool unique = test::archive::sql_int(archive, "SELECT count(*) FROM pragma_index_list"
                                                      "('blobs') WHERE \"unique\"") == 1;
  return prefix && !unique ? "prefix" : unique && !prefix ? "unique" : "other";
}

// /outputs (350 kB, 4,200 members) is chunked into parts. Scanning for its last member reads
// them all (341 kB with format 0's encoding); its fingerprints lead to the one part that holds
// it (23 kB read in all).
void check_routed_lookup(const std::string& archive)
{
  const auto at = run_pagable({"hydrate", archive, "golden", "--at", "/outputs/out-04199", "--stats"});
  REQUIRE(at.exit_code == 0);
  CHECK(at.out == R"("value 050885 of the routed map, long enough to be worth a fingerprint")");
  CHECK(nlohmann::json::parse(at.err)["bytes_read"].get<int>() < 64 * 1024);
}

} // namespace

TEST_CASE("golden: the format 0 archive still reads, verifies and hydrates", "[cli][golden]")
{
  test::TempDir dir;
  // Commands that store no blob leave its format as it is, failing ones included.
  const auto untouched = dir.file("untouched.pagable");
  test::write_file(untouched, test::read_file(k_golden_dir + "/format-0.pagable"));
  CHECK(format_of(untouched) == 0);
  CHECK(run_pagable({"rm", untouched, "no-such-root"}).exit_code != 0);
  CHECK(run_pagable({"gc", untouched}).exit_code == 0);
  test::write_file(dir.file("bad.json"), "{\"truncated\": ");
  CHECK(run_pagable({"pack", untouched, dir.file("bad.json")}).exit_code != 0);
  CHECK(format_of(untouched) == 0);
  // The pack in check_golden stores blobs, so it marks the archive with today's format.
  const auto copy =
      check_golden(dir, "format-0", "1285e8e9712d5688507fe5fc81dcf9b2d1791f55df2f24d09d237ee8928d0bed");
  CHECK(format_of(copy) == pagable::k_format_version);
  CHECK(fingerprint_of(copy) == 1);
  // Routing came with format 1, at 4,096 members: what this archive gets, not today's default.
  CHECK(route_members_of(copy) == 4096);
  CHECK(run_pagable({"verify", copy}).exit_code == 0);
}

TEST_CASE("golden: an unreadable format version stays refused after a write attempt", "[cli][golden]")
{
  test::TempDir dir;
  // "0x1" and "1 " start like a version a lenient parse would accept.
  for (const std::string garbled : {"garbage", "0x1", "1 "}) {
    INFO(garbled);
    const auto archive = dir.file("garbled.pagable");
    test::write_file(archive, test::read_file(k_golden_dir + "/format-0.pagable"));
    test::archive::sql(archive, "UPDATE meta SET value = '" + garbled + "' WHERE name = 'format_version'");
    CHECK(run_pagable({"ls", archive}).exit_code == 5);
    CHECK(run_pagable({"pack", archive, k_golden_dir + "/format-0.json", "--name", "x"}).exit_code == 5);
    CHECK(run_pagable({"ls", archive}).exit_code == 5);
  }
}

TEST_CASE("golden: the format 1 archive reads, verifies, hydrates and finds a routed member "
          "without a scan",
          "[cli][golden]")
{
  test::TempDir dir;
  test::write_file(dir.file("untouched.pagable"), test::read_file(k_golden_dir + "/format-1.pagable"));
  CHECK(format_of(dir.file("untouched.pagable")) == 1);
  // Packing its input again gives the same keys: /outputs (4,200 members) is below the
  // threshold of wide fingerprints that format 2 adds to the archive's settings.
  const auto copy =
      check_golden(dir, "format-1", "247f588a31bfb275f5550768d902da0357cea5639bc65eb510159281b50def99");
  CHECK(format_of(copy) == pagable::k_format_version);
  CHECK(wide_fingerprints_from(copy) == 131072);
  CHECK(fingerprint_of(copy) == 1);
  check_routed_lookup(copy);
}

TEST_CASE("golden: the format 2 archive reads, verifies, hydrates and finds a member through wide "
          "fingerprints",
          "[cli][golden]")
{
  test::TempDir dir;
  // Made from format 1's input with pack.route_wide_members = 4096 (README.md here), so that
  // /outputs (4,200 members) has 24-bit fingerprints.
  const auto copy = check_golden(dir, "format-2",
                                 "3d8a825c7e346e1f8e81803f3bafa5a3fe6a5c0964b5c152d2f1986cfed80a09",
                                 "format-1");
  CHECK(format_of(copy) == pagable::k_format_version);
  CHECK(wide_fingerprints_from(copy) == 4096);
  CHECK(fingerprint_of(copy) == 1);
  check_routed_lookup(copy);
  const auto absent = run_pagable({"hydrate", copy, "golden", "--at", "/outputs/out-99999"});
  CHECK(absent.exit_code != 0);
}

TEST_CASE("golden: the format 3 archive reads, verifies and hydrates, its array chunked by "
          "fingerprint 2",
          "[cli][golden]")
{
  test::TempDir dir;
  const std::string key = "f98144ea1a97a222954cd305f289c3494b21bd4f364318d039ed97e8c94fb26d";
  const auto copy = check_golden(dir, "format-3", key);
  CHECK(format_of(copy) == pagable::k_format_version);
  CHECK(fingerprint_of(copy) == 2);
  CHECK(wide_fingerprints_from(copy) == 131072);
  check_routed_lookup(copy);
  // /log (6,000 strings, 269 kB) is chunked where fingerprint 2 says: fingerprint 1 gives
  // other parts, so another key.
  const auto input = k_golden_dir + "/format-3.json";
  // (The format 1 archive below records route_members 4096, the default then: so does this.)
  const auto fnv_key = key_of_pack({"--json", "pack", dir.file("fnv.pagable"), input, "--setting",
                                    "fingerprint=1", "--setting", "route_members=4096"});
  CHECK(fnv_key != key);
  const auto at = run_pagable({"hydrate", copy, "golden", "--at", "/log/2999"});
  REQUIRE(at.exit_code == 0);
  CHECK(at.out == R"("run 02999: step 0081329 finished in 547 ms")");

  // An archive from before format 3 keeps fingerprint 1 when today's pagable packs into it:
  // the same input gets the keys fingerprint 1 gives in a new archive, so a new version of a
  // document it holds shares the old one's unchanged parts.
  const auto old = dir.file("format-1.pagable");
  test::write_file(old, test::read_file(k_golden_dir + "/format-1.pagable"));
  CHECK(fingerprint_of(old) == 1);
  CHECK(key_of_pack({"--json", "pack", old, input, "--name", "update"}) == fnv_key);
  CHECK(fingerprint_of(old) == 1);
  CHECK(format_of(old) == pagable::k_format_version);
  // ...and a --setting it does not have is refused, naming the setting and its value.
  const auto refused = run_pagable({"pack", old, input, "--name", "again", "--setting", "fingerprint=2"});
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("pack.fingerprint = 1"));
}

TEST_CASE("golden: the format 4 archive reads, verifies and hydrates, finding keys by prefix index",
          "[cli][golden]")
{
  test::TempDir dir;
  // Made from format 3's input: only the blob table's key index differs.
  const std::string key = "f98144ea1a97a222954cd305f289c3494b21bd4f364318d039ed97e8c94fb26d";
  const auto untouched = dir.file("untouched4.pagable");
  test::write_file(untouched, test::read_file(k_golden_dir + "/format-4.pagable"));
  CHECK(format_of(untouched) == 4);
  const auto copy = check_golden(dir, "format-4", key, "format-3");
  // The pack in check_golden wrote a root: the archive is upgraded in place, its one root
  // now version 1 of its name, the new one version 1 of "again".
  CHECK(format_of(copy) == pagable::k_format_version);
  CHECK(key_index_of(copy) == "prefix");
  CHECK(fingerprint_of(copy) == 2);
  check_routed_lookup(copy);
  // A key prefix names a blob through either index; so does the whole key.
  for (const auto& archive : {copy, dir.file("format-3.pagable")}) {
    if (archive != copy) {
      test::write_file(archive, test::read_file(k_golden_dir + "/format-3.pagable"));
    }
    for (const std::size_t digits : {std::size_t{6}, std::size_t{20}, std::size_t{64}}) {
      INFO(archive << " " << digits);
      const auto at = run_pagable({"hydrate", archive, key.substr(0, digits), "--at", "/log/2999"});
      CHECK(at.exit_code == 0);
      CHECK(at.out == R"("run 02999: step 0081329 finished in 547 ms")");
    }
  }
  // An older archive keeps its UNIQUE index when today's pagable packs into it, and still
  // stores each node once.
  const auto old = dir.file("format-3.pagable");
  CHECK(key_index_of(old) == "unique");
  const auto again = run_pagable({"--json", "pack", old, k_golden_dir + "/format-3.json", "--name", "again"});
  REQUIRE(again.exit_code == 0);
  CHECK(test::report_of(again, "pack")["new_nodes"] == 0);
  CHECK(format_of(old) == pagable::k_format_version);
  CHECK(key_index_of(old) == "unique");
  CHECK(run_pagable({"verify", old}).exit_code == 0);

  // gc --compact rebuilds an older archive's blob table into format 4's: same rows and ids,
  // the prefix index instead of the UNIQUE one, marked 4 even when nothing else was written.
  const auto compacted = dir.file("compacted.pagable");
  test::write_file(compacted, test::read_file(k_golden_dir + "/format-1.pagable"));
  const auto rows_before = test::archive::sql_int(compacted, "SELECT sum(id) FROM blobs");
  REQUIRE(run_pagable({"gc", compacted, "--compact"}).exit_code == 0);
  CHECK(key_index_of(compacted) == "prefix");
  CHECK(format_of(compacted) == pagable::k_format_version);
  CHECK(test::archive::sql_int(compacted, "SELECT sum(id) FROM blobs") == rows_before);
  const auto hydrated = run_pagable({"hydrate", compacted, "golden"});
  REQUIRE(hydrated.exit_code == 0);
  CHECK(nlohmann::ordered_json::parse(hydrated.out) ==
        parse_file(k_golden_dir + "/format-1.json"));
  const auto same = run_pagable({"--json", "pack", compacted, k_golden_dir + "/format-1.json", "--name", "again"});
  REQUIRE(same.exit_code == 0);
  CHECK(test::report_of(same, "pack")["new_nodes"] == 0);
  CHECK(run_pagable({"verify", compacted}).exit_code == 0);
  check_routed_lookup(compacted);
  // A second compaction finds format 4's table and leaves it.
  REQUIRE(run_pagable({"gc", compacted, "--compact"}).exit_code == 0);
  CHECK(key_index_of(compacted) == "prefix");
}

TEST_CASE("golden: a format 4 archive reads as one version a root and is upgraded in place by the "
          "first write, atomically",
          "[cli][golden][versions]")
{
  test::TempDir dir;
  const auto archive = dir.file("format-4.pagable");
  test::write_file(archive, test::read_file(k_golden_dir + "/format-4.pagable"));
  const std::string key = "f98144ea1a97a222954cd305f289c3494b21bd4f364318d039ed97e8c94fb26d";
  // Read as it is: version 1 of "golden", what it added unknown.
  const auto log = test::report_of(run_pagable({"--json", "log", archive, "golden"}), "log");
  REQUIRE(log["versions"].size() == 1);
  CHECK(log["versions"][0]["version"] == 1);
  CHECK(log["versions"][0]["bytes_added"].is_null());
  CHECK(run_pagable({"hydrate", archive, "golden#1", "--at", "/log/2999"}).exit_code == 0);
  CHECK(format_of(archive) == 4);
  // A pack that fails before committing leaves it a format 4 archive.
  test::write_file(dir.file("bad.json"), "{\"truncated\": ");
  CHECK(run_pagable({"pack", archive, dir.file("bad.json"), "--name", "golden"}).exit_code == 1);
  CHECK(format_of(archive) == 4);
  // The first version written upgrades it: golden gets its version 2.
  const auto next = run_pagable({"--json", "pack", archive, k_golden_dir + "/format-5.json", "--name", "golden"});
  REQUIRE(next.exit_code == 0);
  CHECK(test::report_of(next, "pack")["documents"][0]["version"] == 2);
  CHECK(format_of(archive) == pagable::k_format_version);
  const auto v1 = run_pagable({"hydrate", archive, "golden#1"});
  REQUIRE(v1.exit_code == 0);
  CHECK(nlohmann::ordered_json::parse(v1.out) == parse_file(k_golden_dir + "/format-3.json"));
  CHECK(run_pagable({"verify", archive}).exit_code == 0);
  CHECK(run_pagable({"--json", "ls", archive}).exit_code == 0);
  CHECK(test::report_of(run_pagable({"--json", "ls", archive}), "ls")["roots"][0]["versions"] == 2);
  CHECK(test::archive::sql_int(archive, "SELECT last_version FROM names WHERE name = 'golden'") == 2);
  (void)key;
}

TEST_CASE("golden: the format 5 archive reads, verifies, hydrates both versions and diffs them",
          "[cli][golden][versions]")
{
  test::TempDir dir;
  // Not format 4's key for the same input: a new archive routes objects from 512 members
  // (pack.route_members), format 4's golden archive from 4,096.
  const std::string v1 = "2f581da2269e3de14acec9a3bed9ffb37970dbb014b3279d74981e35c7eff281";
  const std::string v2 = "293879d341e1fa156433445c601d167018af0157b294334cef2d309a6ed36b5c";
  // ls shows the name's newest version; packing its input again gives the same key.
  const auto copy = check_golden(dir, "format-5", v2);
  CHECK(format_of(copy) == pagable::k_format_version);
  CHECK(test::archive::sql_int(copy, "PRAGMA auto_vacuum") == 2);
  const auto log = test::report_of(run_pagable({"--json", "log", copy, "golden"}), "log");
  REQUIRE(log["versions"].size() == 2);
  CHECK(log["versions"][1]["key"] == v1);
  CHECK(log["versions"][0]["bytes_added"].get<std::uint64_t>() > 0);
  const auto first = run_pagable({"hydrate", copy, "golden#1"});
  REQUIRE(first.exit_code == 0);
  CHECK(nlohmann::ordered_json::parse(first.out) == parse_file(k_golden_dir + "/format-3.json"));
  const auto patch = run_pagable({"diff", copy, "golden#1", "golden#2", "--format", "json-patch"});
  CHECK(patch.exit_code == 1);
  const auto applied = nlohmann::json::parse(test::read_file(k_golden_dir + "/format-3.json"))
                           .patch(nlohmann::json::parse(patch.out));
  CHECK(applied == nlohmann::json::parse(test::read_file(k_golden_dir + "/format-5.json")));
  CHECK(nlohmann::json::parse(patch.out).size() == 4);
}

namespace {

// Child lists of blob rows above `after`: how many there are, and how many are key lists
// (a multiple of 32 bytes) rather than format 6's row ids.
std::pair<std::int64_t, std::int64_t> child_lists_after(const std::string& archive, std::int64_t after)
{
  const std::string rows = " FROM blobs WHERE children IS NOT NULL AND id > " + std::to_string(after);
  return {test::archive::sql_int(archive, "SELECT count(*)" + rows),
          test::archive::sql_int(archive, "SELECT count(*)" + rows + " AND length(children) % 32 = 0")};
}

bool never_reuses_row_ids(const std::string& archive)
{
  return test::archive::sql_int(archive, "SELECT sql LIKE '%AUTOINCREMENT%' FROM sqlite_schema "
                                         "WHERE name = 'blobs'") == 1;
}

} // namespace

TEST_CASE("golden: the format 6 archive names children by row id, reads, verifies and diffs",
          "[cli][golden][versions]")
{
  test::TempDir dir;
  // Format 5's inputs and keys: only the child lists' encoding changed.
  const std::string v1 = "2f581da2269e3de14acec9a3bed9ffb37970dbb014b3279d74981e35c7eff281";
  const std::string v2 = "293879d341e1fa156433445c601d167018af0157b294334cef2d309a6ed36b5c";
  const auto untouched = dir.file("untouched6.pagable");
  test::write_file(untouched, test::read_file(k_golden_dir + "/format-6.pagable"));
  CHECK(format_of(untouched) == 6);
  CHECK(never_reuses_row_ids(untouched));
  const auto [lists, key_lists] = child_lists_after(untouched, 0);
  CHECK(lists > 10);
  CHECK(key_lists == 0);
  CHECK(test::archive::sql_int(untouched, "SELECT count(*) FROM sqlite_schema WHERE name = 'dicts'") == 0);
  const auto copy = check_golden(dir, "format-6", v2, "format-5");
  const auto log = test::report_of(run_pagable({"--json", "log", copy, "golden"}), "log");
  REQUIRE(log["versions"].size() == 2);
  CHECK(log["versions"][1]["key"] == v1);
  const auto first = run_pagable({"hydrate", copy, "golden#1"});
  REQUIRE(first.exit_code == 0);
  CHECK(nlohmann::ordered_json::parse(first.out) == parse_file(k_golden_dir + "/format-3.json"));
  const auto patch = run_pagable({"diff", copy, "golden#1", "golden#2", "--format", "json-patch"});
  CHECK(patch.exit_code == 1);
  CHECK(nlohmann::json::parse(patch.out).size() == 4);
  // gc walks the ids: removing version 1 keeps everything version 2 reaches.
  REQUIRE(run_pagable({"rm", copy, "golden#1"}).exit_code == 0);
  REQUIRE(run_pagable({"gc", copy}).exit_code == 0);
  CHECK(run_pagable({"verify", copy}).exit_code == 0);
  const auto second = run_pagable({"hydrate", copy, "golden"});
  REQUIRE(second.exit_code == 0);
  CHECK(nlohmann::ordered_json::parse(second.out) == parse_file(k_golden_dir + "/format-5.json"));
}

TEST_CASE("golden: an older archive keeps key lists when written by format 6, and takes row ids "
          "after gc --compact",
          "[cli][golden]")
{
  test::TempDir dir;
  const auto archive = dir.file("format-5.pagable");
  test::write_file(archive, test::read_file(k_golden_dir + "/format-5.pagable"));
  // Its row ids may have been given twice (no AUTOINCREMENT): the new rows name children by key.
  const auto before = test::archive::sql_int(archive, "SELECT max(id) FROM blobs");
  REQUIRE(run_pagable({"pack", archive, k_golden_dir + "/format-1.json", "--name", "one"}).exit_code == 0);
  CHECK(format_of(archive) == pagable::k_format_version);
  CHECK_FALSE(never_reuses_row_ids(archive));
  const auto [lists, key_lists] = child_lists_after(archive, before);
  CHECK(lists > 0);
  CHECK(key_lists == lists);
  CHECK(run_pagable({"verify", archive}).exit_code == 0);
  // gc --compact gives it format 6's blob table, rows and ids unchanged; what is packed
  // afterwards names children by row id, and both encodings read.
  const auto ids = test::archive::sql_int(archive, "SELECT sum(id) FROM blobs");
  REQUIRE(run_pagable({"gc", archive, "--compact"}).exit_code == 0);
  CHECK(never_reuses_row_ids(archive));
  CHECK(key_index_of(archive) == "prefix");
  CHECK(test::archive::sql_int(archive, "SELECT sum(id) FROM blobs") == ids);
  const auto compacted = test::archive::sql_int(archive, "SELECT max(id) FROM blobs");
  REQUIRE(run_pagable({"pack", archive, k_golden_dir + "/format-0.json", "--name", "zero"}).exit_code == 0);
  const auto [new_lists, new_key_lists] = child_lists_after(archive, compacted);
  CHECK(new_lists > 0);
  CHECK(new_key_lists == 0);
  CHECK(run_pagable({"verify", archive}).exit_code == 0);
  for (const auto& [name, input] : {std::pair<std::string, std::string>{"zero", "format-0"},
                                    {"one", "format-1"}, {"golden", "format-5"}}) {
    const auto back = run_pagable({"hydrate", archive, name});
    REQUIRE(back.exit_code == 0);
    CHECK(nlohmann::ordered_json::parse(back.out) == parse_file(k_golden_dir + "/" + input + ".json"));
  }
}
