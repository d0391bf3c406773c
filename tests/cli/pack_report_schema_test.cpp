// SPDX-License-Identifier: MIT OR Apache-2.0
// The --json reports of pack and unpack and hydrate --stats conform to schemas/report-*.json.
// Checked with a small structural checker (type, required, properties, items, the key
// pattern, minimum) until the project's own validator can take over.
#include "support/run_pagable.hpp"
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using test::run_pagable;


using nlohmann::json;

namespace {

bool has_type(const json& v, const std::string& t)
{
  if (t == "object") {
    return v.is_object();
  }
  if (t == "array") {
    return v.is_array();
  }
  if (t == "string") {
    return v.is_string();
  }
  if (t == "integer") {
    return v.is_number_integer();
  }
  if (t == "number") {
    return v.is_number();
  }
  if (t == "boolean") {
    return v.is_boolean();
  }
  if (t == "null") {
    return v.is_null();
  }
  return false;
}

void check_against(const json& schema, const json& v, const std::string& where,
                   std::vector<std::string>& problems)
{
  if (schema.contains("type")) {
    const auto& t = schema["type"];
    bool ok = false;
    json types = json::array();
    if (t.is_array()) {
      types = t;
    } else {
      types.push_back(t);
    }
    for (const auto& one : types) {
      ok = ok || has_type(v, one.get<std::string>());
    }
    if (!ok) {
      problems.push_back(where + ": expected " + t.dump() + ", got " + v.dump());
      return;
    }
  }
  if (schema.contains("pattern") && v.is_string()) {
    // std::regex trips GCC 12's -Wmaybe-uninitialized under ASan: the one pattern the
    // report schemas use is checked by hand, and any other fails loudly.
    const std::string pattern = schema["pattern"].get<std::string>();
    const std::string text = v.get<std::string>();
    if (pattern != "^[0-9a-f]{64}$") {
      problems.push_back(where + ": the checker does not know the pattern " + pattern);
    } else if (text.size() != 64 ||
               text.find_first_not_of("0123456789abcdef") != std::string::npos) {
      problems.push_back(where + ": does not match " + pattern);
    }
  }
  if (schema.contains("minimum") && v.is_number() && v.get<double>() < schema["minimum"].get<double>()) {
    problems.push_back(where + ": below the minimum");
  }
  if (v.is_object()) {
    const json required = schema.value("required", json::array());
    for (const auto& r : required) {
      if (!v.contains(r.get<std::string>())) {
        problems.push_back(where + ": missing " + r.get<std::string>());
      }
    }
    const json properties = schema.value("properties", json::object());
    for (const auto& [name, sub] : properties.items()) {
      if (v.contains(name)) {
        check_against(sub, v[name], where + "/" + name, problems);
      }
    }
  }
  if (v.is_array() && schema.contains("items")) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      check_against(schema["items"], v[i], where + "/" + std::to_string(i), problems);
    }
  }
}

std::vector<std::string> problems_of(const std::string& schema_name, const std::string& report)
{
  const auto schema = json::parse(test::read_file(PAGABLE_SOURCE_DIR "/schemas/" + schema_name));
  std::vector<std::string> problems;
  check_against(schema, json::parse(report), "", problems);
  return problems;
}

} // namespace

TEST_CASE("reports: pack, hydrate --stats and unpack match their schemas", "[cli][pack][schema]")
{
  test::TempDir dir;
  const auto archive = dir.file("a.pagable");
  test::write_file(dir.file("x.json"), R"({"a":[1,2],"b":{"$ref":"#/a"}})");
  test::write_file(dir.file("y.json"), R"([1,{"c":null}])");
  test::write_file(dir.file("bad.json"), "[1,");

  const auto one = run_pagable({"--json", "pack", archive, dir.file("x.json")});
  REQUIRE(one.exit_code == 0);
  CHECK(problems_of("report-pack.schema.json", one.out).empty());
  const auto several = run_pagable({"--json", "pack", archive, dir.file("y.json"), dir.file("bad.json")});
  CHECK(several.exit_code == 1);
  const auto p = problems_of("report-pack.schema.json", several.out);
  CAPTURE(p);
  CHECK(p.empty());

  const auto h = run_pagable({"hydrate", archive, "x", "--at", "/a", "--stats"});
  REQUIRE(h.exit_code == 0);
  CHECK(problems_of("report-hydrate.schema.json", h.err).empty());

  const auto u = run_pagable({"--json", "unpack", archive, "-C", dir.file("out")});
  REQUIRE(u.exit_code == 0);
  CHECK(problems_of("report-unpack.schema.json", u.out).empty());

  // The checker itself fails on a report that breaks the schema.
  CHECK_FALSE(problems_of("report-unpack.schema.json", R"({"archive":"a","files":[{"root":1}]})").empty());
}
