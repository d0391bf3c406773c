// SPDX-License-Identifier: MIT OR Apache-2.0
// End-to-end: pack --schema (node-by-node validation, the schema stored with the root),
// hydrate --types and verify --deep, through the built binary.
#include <pagable/store.hpp>

#include "store/sqlite_store.hpp"

#include "support/archive_fixture.hpp"
#include "support/report_schema.hpp"
#include "support/run_pagable.hpp"
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>

using test::run_pagable;
using test::report_of;
using nlohmann::json;

namespace {

constexpr const char* k_schema = R"({
  "$defs": {
    "Pet": {"type": "object", "required": ["name"],
            "properties": {"name": {"type": "string"}, "tags": {"$ref": "#/$defs/Tags"}}},
    "Tags": {"type": "array", "items": {"type": "string"}}
  },
  "type": "object",
  "properties": {"pets": {"type": "array", "items": {"$ref": "#/$defs/Pet"}}}
})";

struct Files {
  std::string archive, schema, good, bad;
};

Files write_files(const test::TempDir& dir)
{
  Files f{dir.file("a.pagable"), dir.file("pets.schema.json"), dir.file("good.json"), dir.file("bad.json")};
  test::write_file(f.schema, k_schema);
  test::write_file(f.good, R"({"pets": [{"name": "rex", "tags": ["dog"]}, {"name": "tom"}]})");
  test::write_file(f.bad, R"({"pets": [{"name": "rex", "tags": ["dog", 7]}, {"nom": "tom"}]})");
  return f;
}

std::vector<json> roots_of(const std::string& archive)
{
  const auto r = run_pagable({"--json", "ls", archive});
  REQUIRE(r.exit_code == 0);
  const json ls = report_of(r, "ls");
  return {ls["roots"].begin(), ls["roots"].end()};
}

} // namespace

TEST_CASE("cli pack --schema: a valid document is stored with its schema", "[cli][schema]")
{
  test::TempDir dir;
  const auto f = write_files(dir);
  const auto r = run_pagable({"--json", "pack", f.archive, "--schema", f.schema, f.good});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json report = report_of(r, "pack");
  const auto roots = roots_of(f.archive);
  REQUIRE(roots.size() == 1);
  CHECK(roots[0]["schema_key"].is_string());
  CHECK(report["documents"][0]["schema_key"] == roots[0]["schema_key"]);
  const auto stat = run_pagable({"--json", "stat", f.archive});
  CHECK(report_of(stat, "stat")["roots_with_schema"] == 1);
  // Without --schema a root has none.
  REQUIRE(run_pagable({"pack", f.archive, "--name", "plain", f.good}).exit_code == 0);
  for (const auto& root : roots_of(f.archive)) {
    CHECK(root["schema_key"].is_null() == (root["name"] == "plain"));
  }
}

TEST_CASE("cli pack --schema: an invalid document is refused, names its errors, leaves no root",
          "[cli][schema]")
{
  test::TempDir dir;
  const auto f = write_files(dir);
  REQUIRE(run_pagable({"pack", f.archive, "--name", "before", f.good}).exit_code == 0);
  const auto before = roots_of(f.archive);
  const auto r = run_pagable({"pack", f.archive, "--schema", f.schema, f.bad});
  CHECK(r.exit_code == 1); // bad input (cli/exit_codes.cpp)
  CHECK_THAT(r.err, Catch::Contains("/pets/0/tags/1: expected string, got integer (schema #/$defs/Tags/items/type)"));
  CHECK_THAT(r.err, Catch::Contains("/pets/1: required property \"name\" missing (schema #/$defs/Pet/required)"));
  CHECK(roots_of(f.archive) == before);
  CHECK(run_pagable({"verify", f.archive}).exit_code == 0);

  SECTION("other files of the same pack still commit")
  {
    const auto both = run_pagable({"--json", "pack", f.archive, "--schema", f.schema, f.bad, f.good});
    CHECK(both.exit_code == 1);
    const json report = report_of(both, "pack");
    CHECK(report["documents"][0].contains("error"));
    CHECK(report["documents"][1]["root"] == "good");
    const auto roots = roots_of(f.archive);
    REQUIRE(roots.size() == 2);
    CHECK(roots[1]["name"] == "good");
    CHECK(roots[1]["schema_key"].is_string());
  }
  SECTION("a schema file that does not compile is an error before anything is packed")
  {
    test::write_file(f.schema, R"({"$ref": "missing.schema.json"})");
    const auto bad_schema = run_pagable({"pack", f.archive, "--schema", f.schema, f.good});
    CHECK(bad_schema.exit_code == 1);
    CHECK_THAT(bad_schema.err, Catch::Contains("missing.schema.json"));
    CHECK(roots_of(f.archive) == before);
  }
}

TEST_CASE("cli hydrate --types and verify --deep need no schema file", "[cli][schema]")
{
  test::TempDir dir;
  const auto f = write_files(dir);
  REQUIRE(run_pagable({"pack", f.archive, "--schema", f.schema, f.good}).exit_code == 0);
  REQUIRE(run_pagable({"pack", f.archive, "--name", "plain", f.good}).exit_code == 0);
  std::filesystem::remove(f.schema);

  const auto types = run_pagable({"hydrate", f.archive, "good", "--types"});
  INFO(types.err);
  REQUIRE(types.exit_code == 0);
  CHECK(types.out == "/pets/0\tPet\n/pets/0/tags\tTags\n/pets/1\tPet\n");
  const auto at = run_pagable({"--json", "hydrate", f.archive, "good", "--types", "--at", "/pets/0"});
  REQUIRE(at.exit_code == 0);
  CHECK(json::parse(at.out)["types"] ==
        json::parse(R"([{"pointer": "/pets/0", "type": "Pet"}, {"pointer": "/pets/0/tags", "type": "Tags"}])"));
  // A pointer to nothing is an error, as for plain hydrate (it used to list nothing, exit 0).
  const auto nowhere = run_pagable({"hydrate", f.archive, "good", "--types", "--at", "/pets/7"});
  CHECK(nowhere.exit_code == run_pagable({"hydrate", f.archive, "good", "--at", "/pets/7"}).exit_code);
  CHECK(nowhere.exit_code != 0);
  CHECK_THAT(nowhere.err, Catch::Contains("/pets/7"));
  const auto untyped = run_pagable({"hydrate", f.archive, "plain", "--types"});
  CHECK(untyped.exit_code == 2);
  CHECK_THAT(untyped.err, Catch::Contains("without a schema"));

  const auto deep = run_pagable({"--json", "verify", "--deep", f.archive});
  CHECK(deep.exit_code == 0);
  const json report = report_of(deep, "verify");
  CHECK(report["roots_schema_checked"] == 1);
  CHECK(report["roots_without_schema"] == 1);
  CHECK(report["problems"].empty());
}

TEST_CASE("cli verify --deep reports a root that does not match its stored schema", "[cli][schema]")
{
  test::TempDir dir;
  const auto f = write_files(dir);
  const std::string other = dir.file("other.schema.json");
  test::write_file(other, R"({"properties": {"pets": {"maxItems": 1}}})");
  const std::string one = dir.file("one.json");
  test::write_file(one, R"({"pets": [{"name": "a"}]})");
  REQUIRE(run_pagable({"pack", f.archive, "--schema", f.schema, f.good}).exit_code == 0);
  REQUIRE(run_pagable({"pack", f.archive, "--schema", other, one}).exit_code == 0);
  // Give "good" the other root's schema, which it breaks (two pets, at most one).
  test::archive::sql(f.archive, "UPDATE roots SET schema_key = (SELECT schema_key FROM roots WHERE "
                                "name = 'one') WHERE name = 'good'");
  const auto deep = run_pagable({"--json", "verify", "--deep", f.archive});
  CHECK(deep.exit_code == 3);
  const json report = report_of(deep, "verify");
  REQUIRE(report["problems"].size() == 1);
  const json& p = report["problems"][0];
  CHECK(p["kind"] == "schema_violation");
  CHECK(p["roots"] == json::array({"good#1"}));
  CHECK(p["instance_location"] == "/pets");
  CHECK(p["schema_location"] == "#/properties/pets/maxItems");
  // The default level checks bytes, not schemas.
  CHECK(run_pagable({"verify", f.archive}).exit_code == 0);
}

TEST_CASE("cli pack --schema: x-pagable-arc decides node boundaries", "[cli][schema]")
{
  test::TempDir dir;
  const std::string archive = dir.file("a.pagable");
  const std::string schema = dir.file("arc.schema.json");
  const std::string doc = dir.file("doc.json");
  test::write_file(schema, R"({"properties": {"small": {"x-pagable-arc": true},
                                              "big": {"x-pagable-arc": false}}})");
  std::string big = "[";
  for (int i = 0; i < 2000; ++i) {
    big += (i == 0 ? "\"" : ",\"") + std::to_string(i * 7919) + "\"";
  }
  test::write_file(doc, R"({"small": [1, 2], "big": )" + big + "]}");
  const auto plain = run_pagable({"--json", "pack", archive, "--name", "plain", doc});
  const auto typed = run_pagable({"--json", "pack", archive, "--name", "typed", "--schema", schema, doc});
  REQUIRE(plain.exit_code == 0);
  REQUIRE(typed.exit_code == 0);
  // Without a schema the big array (over the size threshold) is a node and the small one is
  // inline; with it, the other way round. Reading a value reads the nodes on its path.
  const auto blobs_read = [&](const std::string& root, const std::string& at) {
    const auto h = run_pagable({"hydrate", archive, root, "--at", at, "--stats"});
    REQUIRE(h.exit_code == 0);
    return json::parse(h.err)["blobs_read"].get<int>();
  };
  CHECK(blobs_read("plain", "/small") == 1);
  CHECK(blobs_read("plain", "/big") == 2);
  CHECK(blobs_read("typed", "/small") == 2);
  CHECK(blobs_read("typed", "/big") == 1);
  CHECK(json::parse(typed.out)["key"] != json::parse(plain.out)["key"]);
  const auto back = run_pagable({"hydrate", archive, "typed"});
  CHECK(json::parse(back.out) == json::parse(test::read_file(doc)));
}

TEST_CASE("cli pack --schema: GitHub's OpenAPI description against the OpenAPI 3.0 schema",
          "[cli][schema][corpora]")
{
  const std::string shared = test::shared_dir();
  if (shared.empty()) {
    PAGABLE_SKIP("../shared absent");
  }
  test::TempDir dir;
  const std::string archive = dir.file("a.pagable");
  const std::string corpora = shared + "/corpora";
  const auto r = run_pagable({"--json", "pack", archive, "--schema", corpora + "/openapi-3.0.schema.json",
                              corpora + "/github-api.openapi.json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(report_of(r, "pack")["documents"][0]["schema_key"].is_string());
  const auto deep = run_pagable({"verify", "--deep", archive});
  CHECK(deep.exit_code == 0);
  const auto types = run_pagable({"hydrate", archive, "github-api.openapi", "--types", "--at", "/info"});
  CHECK(types.exit_code == 0);
  CHECK(types.out == "/info\tInfo\n/info/contact\tContact\n/info/license\tLicense\n");
}

TEST_CASE("cli pack --schema: the stored schema does not depend on where its file was",
          "[cli][schema]")
{
  // The same schema packed from two directories is one blob, and the archive does not hold
  // the packing machine's paths; verify --deep and hydrate --types still work from it.
  test::TempDir dir;
  const auto f = write_files(dir);
  std::filesystem::create_directories(dir.file("elsewhere/deeper"));
  const auto moved = dir.file("elsewhere/deeper/pets.schema.json");
  test::write_file(moved, k_schema);
  REQUIRE(run_pagable({"pack", f.archive, "--schema", f.schema, "--name", "one", f.good}).exit_code == 0);
  REQUIRE(run_pagable({"pack", f.archive, "--schema", moved, "--name", "two", f.good}).exit_code == 0);
  const auto roots = roots_of(f.archive);
  REQUIRE(roots.size() == 2);
  CHECK(roots[0]["schema_key"] == roots[1]["schema_key"]);
  {
    pagable::store::SqliteOptions o; // read-only
    auto store = pagable::store::open_sqlite_store(f.archive, o).value();
    const auto key = pagable::Key::parse(roots[0]["schema_key"].get<std::string>()).value();
    const auto blob = store->get(key).value();
    REQUIRE(blob);
    const std::string text(blob->data.begin(), blob->data.end());
    CHECK_THAT(text, Catch::Contains("\"file:///pets.schema.json\""));
    CHECK(text.find(dir.path()) == std::string::npos);
  }
  std::filesystem::remove(f.schema);
  std::filesystem::remove(moved);
  CHECK(run_pagable({"verify", "--deep", f.archive}).exit_code == 0);
  const auto types = run_pagable({"hydrate", "--types", f.archive, "two"});
  CHECK(types.exit_code == 0);
  CHECK_THAT(types.out, Catch::Contains("Pet"));
}

TEST_CASE("cli pack --schema: a schema referring outside its directory still loads from the archive",
          "[cli][schema]")
{
  // Regression: only URIs under the root schema's directory were made relative, so a
  // reference to "../common/defs.json" no longer matched the stored file and the bundle could
  // not be loaded (and loading it fell back to reading the disk).
  test::TempDir dir;
  std::filesystem::create_directories(dir.file("api"));
  std::filesystem::create_directories(dir.file("common"));
  const auto schema = dir.file("api/pets.schema.json");
  test::write_file(schema, R"({"type": "object", "properties": {"pets": {"$ref": "../common/defs.json"}}})");
  test::write_file(dir.file("common/defs.json"),
                   R"({"type": "array", "items": {"type": "object", "required": ["name"]}})");
  const auto doc = dir.file("good.json");
  test::write_file(doc, R"({"pets": [{"name": "rex"}]})");
  const auto archive = dir.file("a.pagable");
  REQUIRE(run_pagable({"pack", archive, "--schema", schema, doc}).exit_code == 0);
  std::filesystem::remove_all(dir.file("api"));
  std::filesystem::remove_all(dir.file("common"));
  const auto verified = run_pagable({"--json", "verify", "--deep", archive});
  INFO(verified.out);
  CHECK(verified.exit_code == 0);
  CHECK(report_of(verified, "verify")["roots_schema_checked"] == 1);
  const auto roots = roots_of(archive);
  REQUIRE(roots.size() == 1);
  pagable::store::SqliteOptions o; // read-only
  auto store = pagable::store::open_sqlite_store(archive, o).value();
  const auto blob = store->get(pagable::Key::parse(roots[0]["schema_key"].get<std::string>()).value()).value();
  REQUIRE(blob);
  const std::string text(blob->data.begin(), blob->data.end());
  CHECK_THAT(text, Catch::Contains("\"file:///common/defs.json\"") &&
                       Catch::Contains("\"file:///api/pets.schema.json\""));
  CHECK(text.find(dir.path()) == std::string::npos);
}
