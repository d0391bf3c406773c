// SPDX-License-Identifier: MIT OR Apache-2.0
// The schema module beyond the official suite: draft-04, error messages, reference lookup by
// file, hostile schemas, discriminator dispatch and the type-graph query, threads.
#include "support/temp_dir.hpp"

#include <pagable/schema.hpp>

#include "compile_or_fail.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

using nlohmann::json;
using pagable::schema::compile_schema;
using pagable::schema::SchemaOptions;

namespace {

using test::compile;

std::vector<std::string> errors_of(const pagable::schema::Schema& schema, const json& instance)
{
  std::vector<std::string> out;
  for (const auto& e : schema.validate(instance).errors) {
    out.push_back(e.to_string());
  }
  return out;
}

} // namespace

TEST_CASE("draft-04: id, boolean exclusiveMaximum/Minimum, no draft-06 keywords", "[schema]")
{
  const auto s = compile(json::parse(R"({
    "$schema": "http://json-schema.org/draft-04/schema#",
    "id": "http://example.com/root.json",
    "properties": {
      "excl": {"maximum": 10, "exclusiveMaximum": true, "minimum": 1, "exclusiveMinimum": true},
      "incl": {"maximum": 10, "exclusiveMaximum": false},
      "c": {"const": 1, "contains": {"type": "string"}, "propertyNames": {"maxLength": 1}},
      "r": {"$ref": "item.json"}
    },
    "definitions": {"item": {"id": "item.json", "type": "integer"}}
  })"));
  CHECK(s->validate({{"excl", 9}}).valid);
  CHECK_FALSE(s->validate({{"excl", 10}}).valid);
  CHECK_FALSE(s->validate({{"excl", 1}}).valid);
  CHECK(s->validate({{"incl", 10}}).valid);
  // const, contains and propertyNames do not exist in draft-04.
  CHECK(s->validate({{"c", {{"long", 2}}}}).valid);
  CHECK(s->validate({{"c", json::array({1, 2})}}).valid);
  // `id` (not `$id`) names a resource.
  CHECK(s->validate({{"r", 3}}).valid);
  CHECK_FALSE(s->validate({{"r", "x"}}).valid);
  const auto report = s->validate({{"excl", 10}});
  REQUIRE(report.errors.size() == 1);
  CHECK(report.errors[0].schema_location == "#/properties/excl/maximum");

  // The same keywords under draft-07 are numbers and the draft-06 keywords apply.
  const auto d7 = compile(json::parse(R"({
    "$schema": "http://json-schema.org/draft-07/schema#",
    "properties": {"x": {"exclusiveMaximum": 10}, "c": {"const": 1}}})"));
  CHECK_FALSE(d7->validate({{"x", 10}}).valid);
  CHECK_FALSE(d7->validate({{"c", 2}}).valid);
}

TEST_CASE("errors name the instance location, the schema location and the problem", "[schema]")
{
  const auto s = compile(json::parse(R"({
    "type": "object",
    "properties": {"paths": {"additionalProperties": {"$ref": "#/$defs/path"}}},
    "$defs": {
      "path": {"properties": {"get": {"$ref": "#/$defs/op"}}},
      "op": {"required": ["description"], "properties": {"tags": {"items": {"type": "string"}},
             "n": {"minimum": 3}, "p": {"pattern": "^a+$"}}, "additionalProperties": false}
    }})"));
  const json doc = json::parse(R"({"paths": {"/repos": {"get": {"tags": ["a", 7], "n": 1, "p": "b", "zz": 0}}}})");
  const auto errors = errors_of(*s, doc);
  CHECK(errors == std::vector<std::string>{
                      "/paths/~1repos/get: required property \"description\" missing (schema #/$defs/op/required)",
                      "/paths/~1repos/get/n: number 1 is less than minimum 3 (schema #/$defs/op/properties/n/minimum)",
                      "/paths/~1repos/get/p: string \"b\" does not match pattern \"^a+$\" (schema #/$defs/op/properties/p/pattern)",
                      "/paths/~1repos/get/tags/1: expected string, got integer (schema #/$defs/op/properties/tags/items/type)",
                      "/paths/~1repos/get/zz: property \"zz\" is not allowed (schema #/$defs/op/additionalProperties)",
                  });
  CHECK(errors_of(*s, 5) == std::vector<std::string>{"(root): expected object, got integer (schema #/type)"});

  SchemaOptions few;
  few.max_errors = 2;
  const auto limited = compile(s->validate(doc).valid ? json(true) : json::parse(R"({"$defs": {}})"), few);
  const auto capped = compile_schema(json::parse(R"({"items": {"type": "string"}})"), few);
  REQUIRE(capped);
  const auto report = (*capped)->validate(json::array({1, 2, 3, 4}));
  CHECK_FALSE(report.valid);
  CHECK(report.errors.size() == 2);
  CHECK(report.truncated);
  CHECK(limited->validate(1).valid);
}

TEST_CASE("referenced files are found by URI path suffix beside the schema and under search paths", "[schema]")
{
  test::TempDir dir;
  std::filesystem::create_directories(dir.file("lib/nested"));
  // Whole path first: http://example.com/nested/a.json -> <search>/nested/a.json.
  test::write_file(dir.file("lib/nested/a.json"), R"({"$id": "http://other.example/a-own-id.json", "type": "integer"})");
  // Down to the last segment: http://example.com/x/y/b.json -> <schema dir>/b.json.
  test::write_file(dir.file("b.json"), R"({"type": "string"})");
  test::write_file(dir.file("root.json"), R"({
    "properties": {
      "a": {"$ref": "http://example.com/nested/a.json"},
      "a2": {"$ref": "http://other.example/a-own-id.json"},
      "b": {"$ref": "http://example.com/x/y/b.json"}
    }})");
  SchemaOptions options;
  options.search_paths = {dir.file("lib")};
  auto s = pagable::schema::load_schema_file(dir.file("root.json"), options);
  INFO((s ? std::string() : s.error().message()));
  REQUIRE(s);
  CHECK((*s)->validate({{"a", 1}, {"a2", 2}, {"b", "x"}}).valid);
  CHECK_FALSE((*s)->validate({{"a", "1"}}).valid);
  CHECK_FALSE((*s)->validate({{"a2", "1"}}).valid); // registered under its own $id as well
  CHECK_FALSE((*s)->validate({{"b", 1}}).valid);

  test::write_file(dir.file("bad.json"), R"({"properties": {"x": {"$ref": "missing/nowhere.json#/defs/y"}}})");
  auto bad = pagable::schema::load_schema_file(dir.file("bad.json"), {});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code() == pagable::Errc::invalid_input);
  CHECK_THAT(bad.error().message(), Catch::Contains("missing/nowhere.json") && Catch::Contains("unresolvable"));

  auto anchor = compile_schema(json::parse(R"({"$ref": "#/$defs/none"})"), {});
  REQUIRE_FALSE(anchor);
  CHECK_THAT(anchor.error().message(), Catch::Contains("/$defs/none"));
}

TEST_CASE("hostile schemas end with an error, never a crash or a hang", "[schema]")
{
  const auto start = std::chrono::steady_clock::now();
  SECTION("a $ref loop that makes no progress")
  {
    const auto s = compile(json::parse(R"({"$ref": "#"})"));
    const auto report = s->validate(json::object());
    CHECK_FALSE(report.valid);
    REQUIRE(report.errors.size() == 1);
    CHECK_THAT(report.errors[0].message, Catch::Contains("nested too deep"));
    const auto mutual = compile(json::parse(R"({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"})"));
    CHECK_FALSE(mutual->validate(1).valid);
  }
  SECTION("10,000-deep schema nesting")
  {
    std::string text;
    for (int i = 0; i < 10000; ++i) {
      text += R"({"items":)";
    }
    text += "true";
    text += std::string(10000, '}');
    auto s = compile_schema(json::parse(text), {});
    REQUIRE_FALSE(s);
    CHECK_THAT(s.error().message(), Catch::Contains("nested deeper than"));
  }
  SECTION("500-deep schema nesting, within max_schema_depth, compiles or fails cleanly")
  {
    std::string text;
    for (int i = 0; i < 500; ++i) {
      text += R"({"not":)";
    }
    text += "true"; // an even number of "not"s: valid
    text += std::string(500, '}');
    auto s = compile_schema(json::parse(text), {});
    if (s) {
      CHECK((*s)->validate(1).valid);
    } else {
      CHECK_THAT(s.error().message(), Catch::Contains("too deep"));
    }
    SchemaOptions tight;
    tight.max_stack_bytes = 16 << 10;
    auto t = compile_schema(json::parse(text), tight);
    REQUIRE_FALSE(t);
    CHECK_THAT(t.error().message(), Catch::Contains("too deep"));
  }
  SECTION("10,000-deep instance against a recursive schema")
  {
    const auto s = compile(json::parse(R"({"type": "array", "items": {"$ref": "#"}})"));
    const json deep = json::parse(std::string(10000, '[') + std::string(10000, ']'));
    const auto report = s->validate(deep);
    CHECK_FALSE(report.valid);
    REQUIRE_FALSE(report.errors.empty());
    CHECK_THAT(report.errors.back().message, Catch::Contains("nested too deep"));
    const json shallow = json::parse(std::string(100, '[') + std::string(100, ']'));
    CHECK(s->validate(shallow).valid);
  }
  SECTION("a catastrophic regex")
  {
    const auto s = compile(json::parse(R"({"pattern": "^(a+)+$", "patternProperties": {"^(x+x+)+$": true}})"));
    const auto report = s->validate(std::string(40, 'a') + "!");
    CHECK_FALSE(report.valid);
    REQUIRE(report.errors.size() == 1);
    CHECK_THAT(report.errors[0].message, Catch::Contains("match limit"));
    CHECK_FALSE(s->validate(json{{std::string(40, 'x') + "!", 1}}).valid);
    CHECK(s->validate("aaa").valid);
  }
  SECTION("a keyword's schema that is not one is a compile error, not an internal one")
  {
    // Found by schema_fuzz: a patternProperties member that is a string reached the compiler
    // unindexed and failed as "internal" (exit 70).
    for (const char* text : {R"({"patternProperties": {"type": "integer"}})", R"({"properties": {"a": 1}})",
                             R"({"additionalProperties": "no"})", R"({"$defs": {"x": []}, "not": 3})"}) {
      INFO(text);
      auto s = compile_schema(json::parse(text), {});
      REQUIRE_FALSE(s);
      CHECK(s.error().code() == pagable::Errc::invalid_input);
      CHECK_THAT(s.error().message(), Catch::Contains("not a schema"));
    }
  }
  SECTION("an invalid regex is a compile error")
  {
    auto s = compile_schema(json::parse(R"({"pattern": "(unclosed"})"), {});
    REQUIRE_FALSE(s);
    CHECK_THAT(s.error().message(), Catch::Contains("(unclosed"));
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(30));
}

namespace {

const char* const k_pets = R"({
  "type": "object",
  "properties": {"pets": {"type": "array", "items": {"$ref": "#/$defs/Pet"}},
                 "owner": {"$ref": "#/$defs/Owner"}},
  "$defs": {
    "Pet": {"oneOf": [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}]},
    "Cat": {"x-pagable-arc": true, "type": "object", "required": ["kind", "meows"],
            "properties": {"kind": {"const": "cat"}, "meows": {"type": "boolean"}}},
    "Dog": {"type": "object", "required": ["kind", "barks"],
            "properties": {"kind": {"const": "dog"}, "barks": {"type": "boolean"},
                           "toy": {"x-pagable-type": "Toy", "type": "object"}}},
    "Owner": {"x-pagable-arc": false, "type": "object"}
  }})";

} // namespace

TEST_CASE("oneOf with a shared const property dispatches on it", "[schema][dispatch]")
{
  const auto s = compile(json::parse(k_pets));
  const auto any = compile(json::parse(R"({"anyOf": [{"type": "string"}, {"properties": {"a": {"type": "integer"}}}]})"));
  CHECK(errors_of(*any, {{"a", "x"}}) ==
        std::vector<std::string>{"(root): value matches none of the 2 anyOf branches [0: expected string, got object; "
                                 "1: /a: expected integer, got string] (schema #/anyOf)"});
  CHECK(s->validate(json::parse(R"({"pets": [{"kind": "cat", "meows": true}, {"kind": "dog", "barks": false}]})")).valid);
  // Only the named branch is validated, and the error says which it was.
  CHECK(errors_of(*s, json::parse(R"({"pets": [{"kind": "dog", "barks": 1}]})")) ==
        std::vector<std::string>{"/pets/0/barks: expected boolean, got integer (in oneOf variant \"dog\") "
                                 "(schema #/$defs/Dog/properties/barks/type)"});
  // An unknown tag lists the known ones.
  CHECK(errors_of(*s, json::parse(R"({"pets": [{"kind": "cow"}]})")) ==
        std::vector<std::string>{"/pets/0: unknown \"kind\" value \"cow\" (known: \"cat\", \"dog\") (schema #/$defs/Pet/oneOf)"});
  // Without the tag, plain oneOf semantics apply; the message says why each branch failed.
  CHECK(errors_of(*s, json::parse(R"({"pets": [{"meows": true}]})")) ==
        std::vector<std::string>{"/pets/0: value matches none of the 2 oneOf branches [0: required property \"kind\" "
                                 "missing; 1: required property \"kind\" missing] (schema #/$defs/Pet/oneOf)"});
}

TEST_CASE("OpenAPI discriminator with mapping dispatches and names the variant", "[schema][dispatch]")
{
  const auto s = compile(json::parse(R"({
    "components": {"schemas": {
      "Shape": {"oneOf": [{"$ref": "#/components/schemas/Circle"}, {"$ref": "#/components/schemas/Square"}],
                "discriminator": {"propertyName": "shape", "mapping": {"round": "#/components/schemas/Circle"}}},
      "Circle": {"type": "object", "required": ["r"], "properties": {"r": {"type": "number"}}},
      "Square": {"type": "object", "required": ["side"]}
    }},
    "$ref": "#/components/schemas/Shape"})"));
  CHECK(s->validate({{"shape", "round"}, {"r", 1}}).valid);
  CHECK(s->validate({{"shape", "Square"}, {"side", 1}}).valid);
  // Both branches would accept this one without the discriminator; it picks Circle.
  const auto both = s->validate({{"shape", "round"}, {"r", "x"}, {"side", 2}});
  REQUIRE(both.errors.size() == 1);
  CHECK(both.errors[0].to_string() ==
        "/r: expected number, got string (in oneOf variant \"round\") (schema #/components/schemas/Circle/properties/r/type)");
  const auto unknown = s->validate({{"shape", "hexagon"}});
  REQUIRE(unknown.errors.size() == 1);
  CHECK(unknown.errors[0].message == "unknown \"shape\" value \"hexagon\" (known: \"Circle\", \"Square\", \"round\")");
}

TEST_CASE("type_at answers type names, arc annotations and variants by location", "[schema][dispatch]")
{
  const auto s = compile(json::parse(k_pets));
  const json doc = json::parse(R"({"pets": [{"kind": "cat", "meows": true},
                                            {"kind": "dog", "barks": true, "toy": {}}],
                                   "owner": {}})");
  auto cat = s->type_at(doc, "/pets/0");
  REQUIRE(cat);
  CHECK(cat->found);
  CHECK(cat->type_name == "Pet");
  CHECK(cat->variant == "cat");
  CHECK(cat->arc == std::optional<bool>(true)); // from Cat, the branch the tag picks
  auto dog = s->type_at(doc, "/pets/1");
  REQUIRE(dog);
  CHECK(dog->variant == "dog");
  CHECK_FALSE(dog->arc.has_value());
  CHECK(s->type_at(doc, "/pets/1/toy")->type_name == "Toy");
  CHECK(s->type_at(doc, "/owner")->arc == std::optional<bool>(false));
  CHECK(s->type_at(doc, "/owner")->type_name == "Owner");
  CHECK_FALSE(s->type_at(doc, "/pets/7")->found);
  CHECK(s->type_at(doc, "")->schema_locations == std::vector<std::string>{"#"});
  CHECK_FALSE(s->type_at(doc, "pets"));
}

TEST_CASE("a compiled schema validates from many threads at once", "[schema]")
{
  const auto s = compile(json::parse(k_pets));
  const json good = json::parse(R"({"pets": [{"kind": "cat", "meows": true}]})");
  const json bad = json::parse(R"({"pets": [{"kind": "cat", "meows": 1}]})");
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        wrong[t] += s->validate(good).valid ? 0 : 1;
        wrong[t] += s->validate(bad).errors.size() == 1 ? 0 : 1;
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  CHECK(wrong == std::vector<int>(4, 0));
}

TEST_CASE("format is an annotation unless validate_formats", "[schema]")
{
  const json schema = json::parse(R"({"properties": {"t": {"format": "date-time"}, "e": {"format": "email"},
                                      "u": {"format": "uri"}, "d": {"format": "duration"}}})");
  const json bad = {{"t", "2024-13-01T00:00:00Z"}, {"e", "no-at-sign"}, {"u", "not a uri"}, {"d", "P1Y2"}};
  CHECK(compile(schema)->validate(bad).valid);
  SchemaOptions formats;
  formats.validate_formats = true;
  CHECK(compile(schema, formats)->validate(bad).errors.size() == 4);
  CHECK(compile(schema, formats)->validate({{"t", "2024-02-29T23:59:60Z"}, {"e", "a@b.example"},
                                             {"u", "https://x.example/p?q#f"}, {"d", "P1Y2M"}})
            .valid);
}

TEST_CASE("a type cursor walks a document step by step as type_at does", "[schema][dispatch]")
{
  const auto s = compile(json::parse(k_pets));
  const json doc = json::parse(R"({"pets": [{"kind": "dog", "barks": true, "toy": {}}], "owner": {}})");
  const auto root = s->type_cursor(doc);
  CHECK(root.info().found);
  const auto pets = root.member("pets", doc["pets"]);
  const auto dog = pets.element(0, doc["pets"][0]);
  CHECK(dog.info().variant == "dog");
  CHECK(dog.info().type_name == "Pet");
  CHECK(dog.info().schema_locations == s->type_at(doc, "/pets/0")->schema_locations);
  CHECK(dog.member("toy", doc["pets"][0]["toy"]).info().type_name == "Toy");
  // A location no subschema describes still exists; it just has no type.
  const auto extra = root.member("extra", json(1));
  CHECK(extra.info().found);
  CHECK(extra.info().type_name.empty());
  CHECK(extra.info().schema_locations.empty());
  CHECK_FALSE(pagable::schema::TypeCursor().info().found);
}

TEST_CASE("patterns follow ECMA-262 where PCRE2 differs", "[schema]")
{
  const auto s = compile(json::parse(R"({"properties": {
    "space": {"pattern": "^\\s$"}, "nonspace": {"pattern": "^\\S$"}, "cls": {"pattern": "^[\\sx]$"},
    "empty": {"pattern": "^a[]"}, "any": {"pattern": "^[^]$"}, "letter": {"pattern": "^\\p{Letter}+$"},
    "digit": {"pattern": "^\\d$"}, "u": {"pattern": "^\\u00e9$"}}})"));
  CHECK(s->validate({{"space", "\u00a0"}, {"nonspace", "a"}, {"cls", "\u2028"}, {"any", "\n"},
                     {"letter", "\u03c0\u00e9"}, {"u", "\u00e9"}})
            .valid);
  CHECK_FALSE(s->validate({{"space", "a"}}).valid);
  CHECK_FALSE(s->validate({{"nonspace", "\u3000"}}).valid);
  CHECK_FALSE(s->validate({{"empty", "a"}}).valid); // an empty class matches nothing
  CHECK_FALSE(s->validate({{"digit", "\u0661"}}).valid); // \d is ASCII only
  CHECK_FALSE(s->validate({{"letter", "123"}}).valid);
}

TEST_CASE("huge and fractional-looking counts are read without overflow", "[schema]")
{
  const auto s = compile(json::parse(R"({"maxLength": 1e300, "minItems": 2.0, "maxProperties": 18446744073709551615})"));
  CHECK(s->validate("any length").valid);
  CHECK_FALSE(s->validate(json::array({1})).valid);
  CHECK(s->validate(json::array({1, 2})).valid);
  CHECK(s->validate(json::object()).valid);
}

TEST_CASE("duration units must be contiguous", "[schema]")
{
  SchemaOptions formats;
  formats.validate_formats = true;
  const auto s = compile(json::parse(R"({"format": "duration"})"), formats);
  CHECK(s->validate("P1Y2M3D").valid);
  CHECK(s->validate("PT1H2M3S").valid);
  CHECK(s->validate("P2W").valid);
  CHECK_FALSE(s->validate("P1Y3D").valid);
  CHECK_FALSE(s->validate("PT1H3S").valid);
  CHECK_FALSE(s->validate("PT").valid);
}

TEST_CASE("dependentRequired, and draft-07's dependencies also under 2020-12, name their keyword", "[schema]")
{
  const auto s = compile(json::parse(R"({"dependentRequired": {"a": ["b"]}, "dependencies": {"c": ["d"], "e": {"required": ["f"]}}})"));
  CHECK(errors_of(*s, {{"a", 1}}) ==
        std::vector<std::string>{"(root): property \"b\" is required when \"a\" is present (schema #/dependentRequired)"});
  CHECK(errors_of(*s, {{"c", 1}}) ==
        std::vector<std::string>{"(root): property \"d\" is required when \"c\" is present (schema #/dependencies)"});
  CHECK(errors_of(*s, {{"e", 1}}) ==
        std::vector<std::string>{"(root): required property \"f\" missing (schema #/dependencies/e/required)"});
}

TEST_CASE("the OpenAPI 3.1 dialect is 2020-12 with annotation keywords", "[schema]")
{
  const auto s = compile(json::parse(R"({"$schema": "https://spec.openapis.org/oas/3.1/dialect/base",
    "prefixItems": [{"type": "integer"}], "items": false, "example": [1], "externalDocs": {"url": "x"},
    "xml": {"name": "a"}})"));
  CHECK(s->validate(json::array({1})).valid);
  CHECK_FALSE(s->validate(json::array({1, 2})).valid); // 2020-12 items after prefixItems
  CHECK_FALSE(s->validate(json::array({"a"})).valid);
}
