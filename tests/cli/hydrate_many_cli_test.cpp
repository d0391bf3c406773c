// SPDX-License-Identifier: MIT OR Apache-2.0
// End-to-end: many reads in one process (issue 22): hydrate --at P1 --at P2 ... and
// --at-file write one value a line in the given order; a pointer with no value fails the
// command after the others unless --missing null; --indent is refused with several.
#include "support/run_pagable.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

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
