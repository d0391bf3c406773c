// SPDX-License-Identifier: MIT OR Apache-2.0
// End-to-end: what hydrate writes, and where. Many reads in one process (issue 22): hydrate
// --at P1 --at P2 ... and --at-file write one value a line in the given order; a pointer with
// no value fails the command after the others unless --missing null; --indent is refused with
// several. And the newcomer trial's findings 13, 20 and 22: --output FILE appears whole or not
// at all, --raw writes strings as bare text, options out of range are refused.
#include "support/run_pagable.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <random>

using test::run_pagable;
using nlohmann::json;

namespace {

std::string packed_archive(test::TempDir& dir, const std::string& text)
{
  const auto archive = dir.file("a.pagable");
  test::write_file(dir.file("d.json"), text);
  const auto r = run_pagable({"pack", archive, dir.file("d.json"), "--name", "d"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return archive;
}

} // namespace

TEST_CASE("hydrate: several --at write one value a line, in order", "[cli][hydrate]")
{
  test::TempDir dir;
  const auto archive = packed_archive(dir, R"({"a":1,"b":{"c":[1,2]},"s":"x","e/f":true})");
  const auto r = run_pagable({"hydrate", archive, "d", "--at", "/s", "--at", "/b/c", "--at", "/a",
                              "--at", "/e~1f", "--at", ""});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "\"x\"\n[1,2]\n1\ntrue\n{\"a\":1,\"b\":{\"c\":[1,2]},\"s\":\"x\",\"e/f\":true}\n");
  // One --at writes as before: no newline added.
  CHECK(run_pagable({"hydrate", archive, "d", "--at", "/b"}).out == R"({"c":[1,2]})");
  // A pointer with no value: the others are written, then exit 2 naming it.
  const auto missing = run_pagable({"hydrate", archive, "d", "--at", "/a", "--at", "/zz", "--at", "/s"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.out == "1\n\"x\"\n");
  CHECK_THAT(missing.err, Catch::Contains("\"/zz\"") && Catch::Contains("1 of 3"));
  const auto nulls =
      run_pagable({"hydrate", archive, "d", "--at", "/a", "--at", "/zz", "--at", "/s", "--missing", "null"});
  CHECK(nulls.exit_code == 0);
  CHECK(nulls.out == "1\nnull\n\"x\"\n");
  // --indent spreads one value over lines: refused with several.
  const auto indented = run_pagable({"hydrate", archive, "d", "--at", "/a", "--at", "/s", "--indent", "2"});
  CHECK(indented.exit_code == 2);
  CHECK_THAT(indented.err, Catch::Contains("--indent"));
  CHECK(run_pagable({"hydrate", archive, "d", "--at", "/a", "--missing", "maybe"}).exit_code == 2);
}

TEST_CASE("hydrate --at-file reads pointers from a file or standard input, after --at",
          "[cli][hydrate]")
{
  test::TempDir dir;
  const auto archive = packed_archive(dir, R"({"a":1,"b":[10,20,30]})");
  const auto piped = run_pagable({"hydrate", archive, "d", "--at", "/a", "--at-file", "-"}, "/b/2\r\n/b/0\n");
  INFO(piped.err);
  CHECK(piped.exit_code == 0);
  CHECK(piped.out == "1\n30\n10\n");
  test::write_file(dir.file("ptrs"), "/b\n/a\n");
  CHECK(run_pagable({"hydrate", archive, "d", "--at-file", dir.file("ptrs")}).out == "[10,20,30]\n1\n");
  // One pointer from a file is still a line of JSON Lines.
  test::write_file(dir.file("one"), "/a\n");
  CHECK(run_pagable({"hydrate", archive, "d", "--at-file", dir.file("one")}).out == "1\n");
  const auto absent = run_pagable({"hydrate", archive, "d", "--at-file", dir.file("nope")});
  CHECK(absent.exit_code == 6);
  CHECK_THAT(absent.err, Catch::Contains("nope"));
}

TEST_CASE("hydrate: many pointers into a large document read as each would alone", "[cli][hydrate]")
{
  test::TempDir dir;
  json d = json::object();
  for (int i = 0; i < 3000; ++i) {
    d[test::cat("m", std::to_string(i))] = {{"id", i}, {"tags", {i % 7, test::cat("t", std::to_string(i % 11))}}};
  }
  const auto archive = packed_archive(dir, d.dump());
  std::mt19937 rng(22);
  std::vector<std::string> args{"hydrate", archive, "d"};
  std::string expected;
  for (int n = 0; n < 60; ++n) {
    const int i = static_cast<int>(rng() % 3000);
    const std::string p = test::cat("/m", std::to_string(i), n % 2 == 0 ? "/tags/1" : "");
    args.push_back("--at");
    args.push_back(p);
    expected += d.at(json::json_pointer(p)).dump() + "\n";
  }
  const auto r = run_pagable(args);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == expected);
}

TEST_CASE("hydrate --output writes the file whole, or leaves it as it was", "[cli][hydrate]")
{
  test::TempDir dir;
  const std::string doc = R"({"v":"23.0.2","list":[1,2,3],"name":"pagable"})";
  const auto archive = packed_archive(dir, doc);
  const auto out = dir.file("out.json");
  const auto r = run_pagable({"hydrate", archive, "d", "-o", out});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.empty());
  CHECK(test::read_file(out) == doc);
  CHECK_FALSE(std::filesystem::exists(out + ".tmp"));

  // A write that fails half way (past --max-output-bytes): the file keeps what it held, and
  // nothing is left beside it.
  test::write_file(out, "old");
  const auto failed = run_pagable({"hydrate", archive, "d", "--output", out, "--max-output-bytes", "5"});
  CHECK(failed.exit_code == 1);
  CHECK_THAT(failed.err, Catch::Contains("--max-output-bytes"));
  CHECK(test::read_file(out) == "old");
  CHECK_FALSE(std::filesystem::exists(out + ".tmp"));

  // A pointer with no value among several fails the command; what was found is kept.
  const auto some = run_pagable({"hydrate", archive, "d", "--at", "/v", "--at", "/zz", "-o", out});
  CHECK(some.exit_code == 2);
  CHECK(test::read_file(out) == "\"23.0.2\"\n");
  // A single pointer with no value: nothing is written.
  test::write_file(out, "old");
  CHECK(run_pagable({"hydrate", archive, "d", "--at", "/zz", "-o", out}).exit_code == 2);
  CHECK(test::read_file(out) == "old");

  // A directory that is not there, a name that is not a file's.
  const auto nodir = run_pagable({"hydrate", archive, "d", "-o", dir.file("no/such/x.json")});
  CHECK(nodir.exit_code == 6);
  CHECK_THAT(nodir.err, Catch::Contains("no/such"));
  CHECK(run_pagable({"hydrate", archive, "d", "-o", dir.path() + "/"}).exit_code == 2);
  // --types lists to standard output.
  CHECK(run_pagable({"hydrate", archive, "d", "--types", "-o", out}).exit_code == 2);
}

TEST_CASE("hydrate --raw writes strings as their text, everything else as JSON", "[cli][hydrate]")
{
  test::TempDir dir;
  const auto archive = packed_archive(dir, R"({"v":"23.0.2","q":"say \"hi\"\tnow","n":[1,{"a":null}],"x":1.5})");
  CHECK(run_pagable({"hydrate", archive, "d", "--at", "/v", "--raw"}).out == "23.0.2\n");
  CHECK(run_pagable({"hydrate", archive, "d", "--at", "/q", "--raw"}).out == "say \"hi\"\tnow\n");
  CHECK(run_pagable({"hydrate", archive, "d", "--at", "/n", "--raw"}).out == "[1,{\"a\":null}]\n");
  CHECK(run_pagable({"hydrate", archive, "d", "--at", "/x", "--raw"}).out == "1.5\n");
  // Several pointers: one value a line, strings bare; a missing one still fails after.
  const auto many = run_pagable({"hydrate", archive, "d", "--raw", "--at", "/v", "--at", "/n/0",
                                 "--at", "/zz", "--at", "/q"});
  CHECK(many.exit_code == 2);
  CHECK(many.out == "23.0.2\n1\nsay \"hi\"\tnow\n");
  CHECK(run_pagable({"hydrate", archive, "d", "--raw", "--at", "/zz"}).exit_code == 2);
  // Without --raw a single value is written as before: JSON, no newline.
  CHECK(run_pagable({"hydrate", archive, "d", "--at", "/v"}).out == "\"23.0.2\"");
}

TEST_CASE("options out of range are refused: pack -j 0, --indent -1", "[cli]")
{
  test::TempDir dir;
  const auto archive = packed_archive(dir, R"({"a":1})");
  const auto jobs = run_pagable({"pack", archive, dir.file("d.json"), "-j", "0"});
  CHECK(jobs.exit_code == 2);
  CHECK_THAT(jobs.err, Catch::Contains("--jobs"));
  const auto indent = run_pagable({"hydrate", archive, "d", "--indent", "-1"});
  CHECK(indent.exit_code == 2);
  CHECK_THAT(indent.err, Catch::Contains("--indent"));
  CHECK(run_pagable({"unpack", archive, "-C", dir.path(), "--indent", "99"}).exit_code == 2);
  CHECK(run_pagable({"hydrate", archive, "d", "--indent", "0"}).exit_code == 0);
}

TEST_CASE("an empty file is named as such, not as a database without tables", "[cli]")
{
  test::TempDir dir;
  const auto empty = dir.file("zero.pagable");
  test::write_file(empty, "");
  const auto r = run_pagable({"ls", empty});
  CHECK(r.exit_code == 5);
  CHECK_THAT(r.err, Catch::Contains("zero.pagable is an empty file"));
  CHECK_THAT(r.err, !Catch::Contains("no such table"));
}
