// SPDX-License-Identifier: MIT OR Apache-2.0
// End-to-end: `pagable validate` exit codes, error lines and its --json report (checked
// against schemas/report-validate.schema.json with our own validator).
#include <pagable/schema.hpp>

#include "support/run_pagable.hpp"
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>

using test::run_pagable;
using nlohmann::json;

namespace {

struct Fixture {
  test::TempDir dir;
  std::string schema = dir.file("schema.json");
  std::string good = dir.file("good.json");
  std::string bad = dir.file("bad.json");
  std::string broken = dir.file("broken.json");
  Fixture()
  {
    test::write_file(dir.file("common.json"), R"({"$defs": {"name": {"type": "string", "minLength": 1}}})");
    // common.json is found beside the schema by its URI's last segment.
    test::write_file(schema, R"({"$id": "https://example.com/s/schema.json", "type": "object",
      "required": ["name"], "properties": {"name": {"$ref": "https://example.com/elsewhere/common.json#/$defs/name"},
      "when": {"format": "date"}}})");
    test::write_file(good, R"({"name": "x", "when": "2024-02-30"})");
    test::write_file(bad, R"({"name": ""})");
    test::write_file(broken, R"({"name": )");
  }
};

} // namespace

TEST_CASE("cli: validate exits 0 when every file is valid and 1 when any is not", "[cli][validate]")
{
  Fixture f;
  const auto ok = run_pagable({"validate", "--schema", f.schema, f.good});
  CHECK(ok.exit_code == 0);
  CHECK_THAT(ok.out, Catch::Contains("1 of 1 file valid"));

  const auto bad = run_pagable({"validate", "--schema", f.schema, f.good, f.bad});
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.out, Catch::Contains(f.bad + ": /name: string is shorter than 1 characters (schema "
                                      "https://example.com/elsewhere/common.json#/$defs/name/minLength)"));
  CHECK_THAT(bad.out, !Catch::Contains(f.good + ":"));

  // Formats are asserted only on request.
  const auto formats = run_pagable({"validate", "--validate-formats", "--schema", f.schema, f.good});
  CHECK(formats.exit_code == 1);
  CHECK_THAT(formats.out, Catch::Contains("/when: string \"2024-02-30\" is not a valid date"));

  const auto not_json = run_pagable({"validate", "--schema", f.schema, f.broken});
  CHECK(not_json.exit_code == 1);
  CHECK_THAT(not_json.out, Catch::Contains("not valid JSON"));
  CHECK_THAT(not_json.out, !Catch::Contains("(schema )")); // no schema location to name
}

TEST_CASE("cli: validate usage errors and unusable schemas", "[cli][validate]")
{
  Fixture f;
  CHECK(run_pagable({"validate", f.good}).exit_code == 2);                              // no --schema
  CHECK(run_pagable({"validate", "--schema", f.schema}).exit_code == 2);                // no FILE
  CHECK(run_pagable({"validate", "--schema", f.dir.file("none.json"), f.good}).exit_code == 2);
  CHECK(run_pagable({"validate", "--schema", f.schema, "--max-errors", "0", f.good}).exit_code == 2);
  test::write_file(f.dir.file("dangling.json"), R"({"$ref": "nowhere.json"})");
  const auto dangling = run_pagable({"validate", "--schema", f.dir.file("dangling.json"), f.good});
  CHECK(dangling.exit_code == 1);
  CHECK_THAT(dangling.err, Catch::Contains("nowhere.json"));
  // --schema-path makes the missing file findable.
  std::filesystem::create_directories(f.dir.file("lib"));
  test::write_file(f.dir.file("lib/nowhere.json"), R"({"type": "object"})");
  CHECK(run_pagable({"validate", "--schema", f.dir.file("dangling.json"), "--schema-path", f.dir.file("lib"), f.good})
            .exit_code == 0);
}

TEST_CASE("cli: validate --json reports per-file results matching its schema", "[cli][validate]")
{
  Fixture f;
  const auto r = run_pagable({"--json", "validate", "--schema", f.schema, "--max-errors", "1", f.good, f.bad});
  CHECK(r.exit_code == 1);
  const json report = json::parse(r.out);
  CHECK(report["valid"] == false);
  REQUIRE(report["files"].size() == 2);
  CHECK(report["files"][0] == json{{"file", f.good}, {"valid", true}, {"errors", json::array()}, {"truncated", false}});
  CHECK(report["files"][1]["valid"] == false);
  CHECK(report["files"][1]["errors"][0]["instance_location"] == "/name");
  CHECK(report["files"][1]["errors"][0]["schema_location"] == "https://example.com/elsewhere/common.json#/$defs/name/minLength");

  auto schema = pagable::schema::load_schema_file(PAGABLE_SOURCE_DIR "/schemas/report-validate.schema.json", {});
  REQUIRE(schema);
  const auto check = (*schema)->validate(report);
  INFO((check.errors.empty() ? std::string() : check.errors[0].to_string()));
  CHECK(check.valid);
  CHECK_FALSE((*schema)->validate(json{{"valid", true}, {"files", json::array()}}).valid);
}

// Issue 20: validate read JSON with nlohmann's parser, pack with its own; they disagreed.
TEST_CASE("cli: validate reads JSON as pack does: NUL, duplicate names, numbers, compression",
          "[cli][validate]")
{
  Fixture f;
  test::write_file(f.dir.file("any.json"), "{}");
  const std::string any = f.dir.file("any.json");
  const std::string archive = f.dir.file("a.pagable");
  struct Case {
    const char* name;
    std::string content;
    std::vector<const char*> expect; // each in the error line
  };
  const std::vector<Case> refused = {
      {"NUL after the document", std::string(R"({"name": "x"})") + '\0' + R"({"name": 1})",
       {"line 1, column 14", "0x00", "expected end of input"}},
      {"duplicate names", "{\"name\": \"x\",\n \"name\": \"y\"}", {"duplicate member name \"name\"", "line 2"}},
      {"overflow", R"({"name": "x", "n": 1e400})", {"1e400", "overflows binary64", "line 1, column 25"}},
      {"rounds to zero", R"({"name": "x", "n": -1e-400})", {"-1e-400", "rounds to zero", "line 1"}},
  };
  for (const auto& c : refused) {
    INFO(c.name);
    test::write_file(f.dir.file("doc.json"), c.content);
    const auto r = run_pagable({"validate", "--schema", any, f.dir.file("doc.json")});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    for (const char* e : c.expect) {
      CHECK_THAT(r.out, Catch::Contains(e));
    }
    // pack refuses it too, with the same exit status.
    const auto packed = run_pagable({"pack", archive, f.dir.file("doc.json")});
    INFO(packed.err);
    CHECK(packed.exit_code == 1);
  }
  // What pack accepts, validate accepts: integers of any length, a zero that is written
  // small, and compressed input.
  const std::vector<std::string> accepted = {
      R"({"name": "x", "n": )" + std::string(400, '7') + "}",
      R"({"name": "x", "n": 0e-400, "m": 0.000e99999})",
      R"({"name": "x", "n": 4.9e-324})",
  };
  for (const auto& doc : accepted) {
    INFO(doc);
    test::write_file(f.dir.file("doc.json"), doc);
    const auto r = run_pagable({"validate", "--schema", f.schema, f.dir.file("doc.json")});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(run_pagable({"pack", archive, f.dir.file("doc.json")}).exit_code == 0);
  }
  test::write_file(f.dir.file("z.json"), R"({"name": ""})");
  REQUIRE(test::run_process({"/bin/sh", "-c", "gzip -c '" + f.dir.file("z.json") + "' > '" +
                                             f.dir.file("z.json.gz") + "'"})
              .exit_code == 0);
  const auto gz = run_pagable({"validate", "--schema", f.schema, f.dir.file("z.json.gz")});
  INFO(gz.out << gz.err);
  CHECK(gz.exit_code == 1);
  CHECK_THAT(gz.out, Catch::Contains("/name: string is shorter than 1 characters"));
}
