// SPDX-License-Identifier: MIT OR Apache-2.0
// Real schemas on real documents from ../shared/corpora: GitHub's OpenAPI 3.0 description,
// CycloneDX 1.6 with its SPDX and JSF neighbours found by file name, and OpenAPI 3.1 with
// GitHub's webhooks description.
#include "stream_feed.hpp"
#include "support/temp_dir.hpp"

#include <pagable/schema.hpp>

#include <catch2/catch.hpp>

#include <filesystem>

using nlohmann::json;
using pagable::schema::load_schema_file;
using pagable::schema::SchemaOptions;

namespace {

std::string corpora()
{
  const std::string shared = test::shared_dir();
  return shared.empty() ? std::string() : shared + "/corpora";
}

json load(const std::string& path)
{
  return json::parse(test::read_file(path));
}

} // namespace

TEST_CASE("GitHub's OpenAPI description validates against the OpenAPI 3.0 schema (draft-04)", "[schema][corpora]")
{
  const std::string dir = corpora();
  if (dir.empty()) {
    PAGABLE_SKIP("../shared absent");
  }
  auto schema = load_schema_file(dir + "/openapi-3.0.schema.json", {});
  REQUIRE(schema);
  json doc = load(dir + "/github-api.openapi.json");
  const auto report = (*schema)->validate(doc);
  INFO((report.errors.empty() ? std::string() : report.errors[0].to_string()));
  CHECK(report.valid);
  pagable::schema::StreamStats stats;
  CHECK(test::stream_validate(**schema, doc, &stats).valid);
  CHECK(stats.checked_in_place > 0);

  // Break one operation: an OpenAPI 3.0 operation must have responses.
  doc["paths"]["/repos/{owner}/{repo}"]["get"].erase("responses");
  doc["info"]["version"] = 3;
  const auto broken = (*schema)->validate(doc);
  CHECK_FALSE(broken.valid);
  const auto streamed = test::stream_validate(**schema, doc);
  CHECK_FALSE(streamed.valid);
  CHECK(test::error_locations(streamed) == test::error_locations(broken));
  const bool named = std::any_of(broken.errors.begin(), broken.errors.end(), [](const auto& e) {
    return e.instance_location == "/paths/~1repos~1{owner}~1{repo}/get" &&
           e.message == "required property \"responses\" missing";
  });
  CHECK(named);
}

TEST_CASE("CycloneDX 1.6 agrees with every verdict of its test documents", "[schema][corpora]")
{
  const std::string dir = corpora();
  if (dir.empty()) {
    PAGABLE_SKIP("../shared absent");
  }
  const json manifest = load(dir + "/cyclonedx-1.6-tests/manifest.json");
  REQUIRE(manifest.size() == 70);
  for (const bool formats : {true, false}) {
    SchemaOptions options;
    options.validate_formats = formats;
    // spdx.SNAPSHOT.schema.json and jsf-0.82.SNAPSHOT.schema.json are found beside it by name.
    auto schema = load_schema_file(dir + "/bom-1.6.SNAPSHOT.schema.json", options);
    REQUIRE(schema);
    std::size_t agree = 0;
    for (const auto& entry : manifest) {
      const std::string file = entry["file"].get<std::string>();
      const json doc = load(dir + "/cyclonedx-1.6-tests/" + file);
      const auto report = (*schema)->validate(doc);
      const auto streamed = test::stream_validate(**schema, doc);
      CHECK(streamed.valid == report.valid);
      CHECK(test::error_locations(streamed) == test::error_locations(report));
      // With formats asserted the verdict is the file's name; without, it is what ajv says
      // (4 files need format checking to get their named verdict).
      const bool expected = entry[formats ? "expected_by_name" : "ajv"].get<bool>();
      INFO(file << " formats=" << formats << ": "
                << (report.errors.empty() ? std::string("valid") : report.errors[0].to_string()));
      CHECK(report.valid == expected);
      agree += report.valid == expected ? 1 : 0;
    }
    CHECK(agree == manifest.size());
  }
}

TEST_CASE("the OpenAPI 3.1 schema ($dynamicRef) validates GitHub's webhooks description", "[schema][corpora]")
{
  const std::string dir = corpora();
  if (dir.empty()) {
    PAGABLE_SKIP("../shared absent");
  }
  auto schema = load_schema_file(dir + "/openapi-3.1.schema.json", {});
  REQUIRE(schema);
  json doc = load(dir + "/github-webhooks.openapi.json");
  const auto report = (*schema)->validate(doc);
  INFO((report.errors.empty() ? std::string() : report.errors[0].to_string()));
  CHECK(report.valid);
  doc["info"].erase("title");
  doc["webhooks"].begin().value()["post"]["parameters"] = json::array({json::object({{"in", "header"}})});
  const auto broken = (*schema)->validate(doc);
  CHECK_FALSE(broken.valid);
  const bool title = std::any_of(broken.errors.begin(), broken.errors.end(), [](const auto& e) {
    return e.instance_location == "/info" && e.message == "required property \"title\" missing";
  });
  CHECK(title);
}
