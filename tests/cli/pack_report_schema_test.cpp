// SPDX-License-Identifier: MIT OR Apache-2.0
// The --json reports of pack and unpack and hydrate --stats conform to schemas/report-*.json,
// checked with pagable's own JSON Schema validator (support/report_schema.hpp).
#include "support/report_schema.hpp"
#include "support/run_pagable.hpp"
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using test::run_pagable;

TEST_CASE("reports: pack, hydrate --stats and unpack match their schemas", "[cli][pack][schema]")
{
  test::TempDir dir;
  const auto archive = dir.file("a.pagable");
  test::write_file(dir.file("x.json"), R"({"a":[1,2],"b":{"$ref":"#/a"}})");
  test::write_file(dir.file("y.json"), R"([1,{"c":null}])");
  test::write_file(dir.file("bad.json"), "[1,");

  const auto one = run_pagable({"--json", "pack", archive, dir.file("x.json")});
  REQUIRE(one.exit_code == 0);
  test::report_of(one, "pack");
  const auto several = run_pagable({"--json", "pack", archive, dir.file("y.json"), dir.file("bad.json")});
  CHECK(several.exit_code == 1);
  const auto report = test::report_of(several, "pack");
  CHECK(report["documents"][1]["error"]["code"] == "invalid_input");

  const auto h = run_pagable({"hydrate", archive, "x", "--at", "/a", "--stats"});
  REQUIRE(h.exit_code == 0);
  test::check_report(PAGABLE_SOURCE_DIR, h.err, "hydrate");

  const auto u = run_pagable({"--json", "unpack", archive, "-C", dir.file("out")});
  REQUIRE(u.exit_code == 0);
  test::report_of(u, "unpack");

  // The validator fails a report that breaks the schema.
  CHECK_FALSE(test::report_errors(PAGABLE_SOURCE_DIR,
                                  nlohmann::json::parse(R"({"archive":"a","files":[{"root":1}]})"),
                                  "unpack")
                  .empty());
}
