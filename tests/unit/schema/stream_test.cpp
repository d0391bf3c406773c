// SPDX-License-Identifier: MIT OR Apache-2.0
// Node-by-node validation (NodeValidator): the same verdict and error locations as
// whole-document validation, containers checked in place when their keywords allow it, the
// buffered fallback and its limit, and stored schema bundles.
#include "stream_feed.hpp"
#include "support/temp_dir.hpp"

#include <pagable/schema.hpp>

#include "compile_or_fail.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

using nlohmann::json;
using pagable::schema::compile_schema;
using pagable::schema::SchemaOptions;
using pagable::schema::StreamStats;

namespace {

using test::compile;

// Validates both ways and checks that they agree; returns the per-node report.
pagable::schema::ValidationReport both(const pagable::schema::Schema& schema, const json& doc,
                                       StreamStats* stats = nullptr)
{
  const auto whole = schema.validate(doc);
  const auto streamed = test::stream_validate(schema, doc, stats);
  INFO(doc.dump());
  CHECK(streamed.valid == whole.valid);
  CHECK(test::error_locations(streamed) == test::error_locations(whole));
  // The same messages too.
  std::multiset<std::string> a, b;
  for (const auto& e : streamed.errors) {
    a.insert(e.to_string());
  }
  for (const auto& e : whole.errors) {
    b.insert(e.to_string());
  }
  CHECK(a == b);
  return streamed;
}

const json k_catalog = json::parse(R"({
  "$defs": {
    "item": {"type": "object", "required": ["id", "tags"], "additionalProperties": false,
             "properties": {"id": {"type": "integer", "minimum": 1},
                            "tags": {"type": "array", "maxItems": 2, "items": {"type": "string", "minLength": 2}},
                            "note": {"type": "string"}},
             "propertyNames": {"pattern": "^[a-z]+$"}}
  },
  "type": "object", "required": ["items"],
  "properties": {"items": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/item"}},
                 "meta": {"type": "object", "minProperties": 1, "dependentRequired": {"a": ["b"]}}}
})");

} // namespace

TEST_CASE("per-node validation checks containers in place and agrees with validate()", "[schema][stream]")
{
  const auto schema = compile(k_catalog);
  StreamStats stats;
  const auto ok = both(*schema, json::parse(R"({"items": [{"id": 1, "tags": ["ab"]}, {"id": 2, "tags": []}]})"),
                       &stats);
  CHECK(ok.valid);
  // Nothing in this schema needs a whole value: no container was buffered.
  CHECK(stats.buffered_values == 0);
  CHECK(stats.checked_in_place == 6);
  CHECK(stats.values == 9);

  const auto bad = both(*schema, json::parse(R"({
    "items": [{"id": 0, "tags": ["a", "bb", "cc"], "extra": 1}, {"tags": 3}, {"id": 1, "tags": [], "Bad": 2}],
    "meta": {"a": 1}})"));
  CHECK_FALSE(bad.valid);
  const auto locations = test::error_locations(bad);
  CHECK(locations.count({"/items/0/id", "#/$defs/item/properties/id/minimum"}) == 1);
  CHECK(locations.count({"/items/0/tags", "#/$defs/item/properties/tags/maxItems"}) == 1);
  CHECK(locations.count({"/items/0/tags/0", "#/$defs/item/properties/tags/items/minLength"}) == 1);
  CHECK(locations.count({"/items/1", "#/$defs/item/required"}) == 1);
  CHECK(locations.count({"/items/1/tags", "#/$defs/item/properties/tags/type"}) == 1);
  CHECK(locations.count({"/items/2/Bad", "#/$defs/item/propertyNames"}) == 1);
  CHECK(locations.count({"/meta", "#/properties/meta/dependentRequired"}) == 1);
  CHECK(both(*schema, json::array()).errors.at(0).schema_location == "#/type");
}

TEST_CASE("constructs that need a whole value buffer just that value", "[schema][stream]")
{
  const auto schema = compile(json::parse(R"({
    "type": "object",
    "properties": {
      "shapes": {"type": "array", "items": {"oneOf": [
        {"type": "object", "required": ["r"], "properties": {"r": {"type": "number"}}},
        {"type": "object", "required": ["w"], "properties": {"w": {"type": "number"}}}]}},
      "set": {"type": "array", "uniqueItems": true},
      "tail": {"type": "array", "contains": {"const": 0}},
      "strict": {"properties": {"a": true}, "unevaluatedProperties": false},
      "fixed": {"const": {"a": [1, 2]}}
    }})"));
  StreamStats stats;
  CHECK(both(*schema, json::parse(R"({"shapes": [{"r": 1}, {"w": 2}], "set": [1, 2], "tail": [3, 0],
                                      "strict": {"a": 1}, "fixed": {"a": [1, 2]}})"),
             &stats)
            .valid);
  CHECK(stats.buffered_values == 6); // two shapes, set, tail, strict, fixed
  const auto bad = both(*schema, json::parse(R"({"shapes": [{"r": 1, "w": 2}, {"x": 1}], "set": [[1], [1]],
                                                  "tail": [3], "strict": {"a": 1, "b": 2}, "fixed": {"a": [2]}})"));
  CHECK_FALSE(bad.valid);
  CHECK(bad.errors.size() == 6);
}

TEST_CASE("a buffered value over the limit is one clear error naming both locations", "[schema][stream]")
{
  const auto schema = compile(json::parse(R"({"properties": {"big": {"anyOf": [{"type": "array"}, {"type": "null"}]}}})"));
  json big = json::array();
  for (int i = 0; i < 1000; ++i) {
    big.push_back("a value of some length " + std::to_string(i));
  }
  pagable::schema::StreamOptions options;
  options.max_buffer_bytes = 4096;
  StreamStats stats;
  const auto report = test::stream_validate(*schema, json{{"big", big}}, &stats, options);
  CHECK_FALSE(report.valid);
  REQUIRE(report.errors.size() == 1);
  CHECK(report.errors[0].instance_location == "/big");
  CHECK(report.errors[0].schema_location == "#/properties/big/anyOf");
  CHECK(report.errors[0].message.find("needs this whole value in memory") != std::string::npos);
  CHECK(stats.peak_buffer_bytes > 4096);
  // Within the limit the same document is valid.
  CHECK(test::stream_validate(*schema, json{{"big", big}}).valid);
}

TEST_CASE("a $ref loop and $dynamicRef fall back to whole-value validation", "[schema][stream]")
{
  const auto loop = compile(json::parse(R"({"$ref": "#"})"));
  const auto report = both(*loop, json::parse(R"({"a": 1})"));
  CHECK_FALSE(report.valid);
  const auto dynamic = compile(json::parse(R"({
    "$dynamicAnchor": "node", "type": "object",
    "properties": {"children": {"type": "array", "items": {"$dynamicRef": "#node"}}, "n": {"type": "integer"}}})"));
  StreamStats stats;
  both(*dynamic, json::parse(R"({"n": 1, "children": [{"n": 2}, {"n": "x"}]})"), &stats);
  CHECK(stats.buffered_values == 1); // the whole document, once
}

TEST_CASE("per-node verdicts carry type names and arc annotations", "[schema][stream]")
{
  const auto schema = compile(json::parse(R"({
    "$defs": {"Dep": {"type": "object", "x-pagable-arc": true}, "Blob": {"x-pagable-type": "Opaque", "x-pagable-arc": false}},
    "properties": {"dep": {"$ref": "#/$defs/Dep"}, "blob": {"$ref": "#/$defs/Blob"}}})"));
  auto v = schema->node_validator();
  v->begin_object();
  v->key("dep");
  v->begin_object();
  const auto dep = v->end_container();
  v->key("blob");
  v->begin_array();
  const auto blob = v->end_container();
  const auto top = v->end_container();
  CHECK(dep.type_name == "Dep");
  CHECK(dep.arc == std::optional<bool>(true));
  CHECK(blob.type_name == "Opaque");
  CHECK(blob.arc == std::optional<bool>(false));
  CHECK(top.type_name.empty());
  CHECK_FALSE(top.arc.has_value());
  CHECK(v->report().valid);
}

TEST_CASE("a schema bundle compiles the same schema with no file at hand", "[schema][stream]")
{
  test::TempDir dir;
  const std::string main = dir.path() + "/main.schema.json";
  test::write_file(main, R"({"type": "object", "properties": {"part": {"$ref": "part.schema.json#/$defs/p"}}})");
  test::write_file(dir.path() + "/part.schema.json", R"({"$defs": {"p": {"type": "string", "format": "date"}}})");
  SchemaOptions options;
  options.validate_formats = true;
  auto loaded = pagable::schema::load_schema_file(main, options);
  REQUIRE(loaded);
  const json bundle = (*loaded)->bundle();
  CHECK(bundle["files"].size() == 1);
  std::filesystem::remove_all(dir.path());
  auto again = pagable::schema::load_schema_bundle(bundle, {});
  REQUIRE(again);
  const json bad = json::parse(R"({"part": "not a date"})");
  const auto a = (*loaded)->validate(bad);
  const auto b = (*again)->validate(bad);
  CHECK_FALSE(b.valid); // validate_formats travelled with the bundle
  CHECK(test::error_locations(a) == test::error_locations(b));
  CHECK((*again)->bundle() == bundle);
  CHECK_FALSE(pagable::schema::load_schema_bundle(json::object(), {}));
}

TEST_CASE("node validators of one schema run in many threads at once", "[schema][stream]")
{
  const auto schema = compile(k_catalog);
  const json bad = json::parse(R"({"items": [{"id": 0, "tags": ["a"]}, {"tags": 3}]})");
  const auto expected = test::error_locations(schema->validate(bad));
  std::vector<std::thread> threads;
  std::atomic<int> agreed{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (test::error_locations(test::stream_validate(*schema, bad)) == expected) {
          ++agreed;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(agreed == 200);
}

TEST_CASE("a patternProperties regex over its match limit stops per-node validation too",
          "[schema][stream]")
{
  // Regression: the per-node path read a match-limit hit as "no match", so a member that
  // validate() refuses went to additionalProperties (here: absent, so it was accepted).
  const auto schema = compile(json::parse(R"({"patternProperties": {"^(a+)+$": {"type": "integer"}}})"));
  const json doc = {{std::string(40, 'a') + "!", "not an integer"}};
  CHECK_FALSE(schema->validate(doc).valid);
  const auto streamed = test::stream_validate(*schema, doc);
  CHECK_FALSE(streamed.valid);
  REQUIRE_FALSE(streamed.errors.empty());
  CHECK_THAT(streamed.errors[0].message, Catch::Contains("match limit"));
}
