// SPDX-License-Identifier: MIT OR Apache-2.0
// The golden archive of each format version (tests/data/golden/README.md): today's binary
// must still read it, verify it clean, hydrate it to its input, and give the same keys when
// it packs that input again. A change that breaks any of these is a format change.
#include "support/report_schema.hpp"
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>

namespace {

test::ProcessResult pagable_run(std::vector<std::string> args)
{
  args.insert(args.begin(), PAGABLE_BINARY);
  return test::run_process(args);
}

const std::string k_golden_dir = std::string(PAGABLE_SOURCE_DIR) + "/tests/data/golden";
// The root key recorded when format-0.pagable was made; keys never change within a format.
const std::string k_format0_key = "1285e8e9712d5688507fe5fc81dcf9b2d1791f55df2f24d09d237ee8928d0bed";

nlohmann::ordered_json parse_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  return nlohmann::ordered_json::parse(in);
}

} // namespace

TEST_CASE("golden: the format 0 archive still reads, verifies and hydrates", "[cli][golden]")
{
  test::TempDir dir;
  const auto archive = dir.file("format-0.pagable");
  test::write_file(archive, test::read_file(k_golden_dir + "/format-0.pagable"));
  const auto input = k_golden_dir + "/format-0.json";

  const auto ls = pagable_run({"--json", "ls", archive});
  REQUIRE(ls.exit_code == 0);
  const auto roots = test::check_report(PAGABLE_SOURCE_DIR, ls.out, "ls")["roots"];
  REQUIRE(roots.size() == 1);
  CHECK(roots[0]["name"] == "golden");
  CHECK(roots[0]["key"] == k_format0_key);
  CHECK(roots[0]["labels"]["made-by"] == "make_input.py");

  const auto verify = pagable_run({"--json", "verify", archive});
  CHECK(verify.exit_code == 0);
  CHECK(test::check_report(PAGABLE_SOURCE_DIR, verify.out, "verify")["problems"].empty());

  const auto hydrated = pagable_run({"hydrate", archive, "golden"});
  REQUIRE(hydrated.exit_code == 0);
  CHECK(nlohmann::ordered_json::parse(hydrated.out) == parse_file(input));
  // Exact bytes where the canonical form is exact: big integers, 1.0 and -0.0.
  const auto& back = hydrated.out;
  CHECK_THAT(back, Catch::Contains("123456789012345678901234567890") &&
                       Catch::Contains("1.0") && Catch::Contains("-0.0"));

  // Packing the same input again, with the archive's own boundary settings, must give the
  // same root key and store nothing new: keys are stable within a format.
  const auto again = pagable_run({"--json", "pack", archive, input, "--name", "again"});
  REQUIRE(again.exit_code == 0);
  const auto report = test::check_report(PAGABLE_SOURCE_DIR, again.out, "pack");
  CHECK(report["key"] == k_format0_key);
  CHECK(report["new_nodes"] == 0);
}
