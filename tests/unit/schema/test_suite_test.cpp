// SPDX-License-Identifier: MIT OR Apache-2.0
// The official JSON-Schema-Test-Suite (../shared/corpora/json-schema-test-suite): every test of
// draft2020-12 and draft7, with remotes/ served as http://localhost:1234/. Prints a scoreboard
// per file and per draft. Required tests must pass except those listed, test by test, in
// tests/data/schema-known-failures.txt -- and a listed test that passes fails this test, so
// the list only shrinks. Optional tests (optional/, formats asserted) are reported only.
#include "stream_feed.hpp"
#include "support/temp_dir.hpp"

#include <pagable/schema.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Score {
  std::size_t passed = 0;
  std::size_t total = 0;
  std::size_t node_passed = 0;          // the per-node path (NodeValidator) got the verdict
  std::vector<std::string> node_differs; // tests where it disagrees with validate()
};

std::set<std::string> read_known_failures()
{
  std::set<std::string> out;
  std::istringstream in(test::read_file(std::string(PAGABLE_SOURCE_DIR) + "/tests/data/schema-known-failures.txt"));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') {
      out.insert(line);
    }
  }
  return out;
}

// Runs one file; returns the ids ("draft7/ref.json :: group :: test") of failing tests.
std::vector<std::string> run_file(const fs::path& file, const std::string& id_prefix, const std::string& remotes,
                                  const std::string& meta, bool formats, Score& score)
{
  std::vector<std::string> failures;
  const json groups = json::parse(test::read_file(file.string()));
  for (const auto& group : groups) {
    pagable::schema::SchemaOptions options;
    options.search_paths = {remotes};
    options.default_meta_schema = meta;
    options.validate_formats = formats;
    const auto schema = pagable::schema::compile_schema(group["schema"], options, "http://localhost:1234/");
    for (const auto& t : group["tests"]) {
      const std::string id = id_prefix + " :: " + group["description"].get<std::string>() + " :: " +
                             t["description"].get<std::string>();
      ++score.total;
      bool ok = false;
      if (schema) {
        const auto report = (*schema)->validate(t["data"]);
        ok = report.valid == t["valid"].get<bool>();
        const auto streamed = test::stream_validate(**schema, t["data"]);
        score.node_passed += streamed.valid == t["valid"].get<bool>() ? 1 : 0;
        if (streamed.valid != report.valid ||
            (!report.truncated && test::error_locations(streamed) != test::error_locations(report))) {
          score.node_differs.push_back(id);
        }
      }
      if (ok) {
        ++score.passed;
      } else {
        failures.push_back(id);
      }
    }
  }
  return failures;
}

} // namespace

TEST_CASE("JSON-Schema-Test-Suite: draft2020-12 and draft7", "[schema][suite]")
{
  const std::string shared = test::shared_dir();
  if (shared.empty()) {
    PAGABLE_SKIP("../shared absent");
  }
  const fs::path suite = fs::path(shared) / "corpora" / "json-schema-test-suite";
  if (!fs::exists(suite)) {
    PAGABLE_SKIP("json-schema-test-suite absent from ../shared/corpora");
  }
  const std::string remotes = (suite / "remotes").string();
  const auto known = read_known_failures();
  std::set<std::string> seen_failures;
  std::vector<std::string> unexpected;
  std::vector<std::string> fixed;
  std::vector<std::string> node_differs; // required tests where per-node and whole disagree
  const std::pair<std::string, std::string> drafts[] = {
      {"draft2020-12", "https://json-schema.org/draft/2020-12/schema"},
      {"draft7", "http://json-schema.org/draft-07/schema#"}};
  for (const auto& [draft, meta] : drafts) {
    Score required;
    Score optional;
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(suite / "tests" / draft)) {
      if (e.is_regular_file() && e.path().extension() == ".json") {
        files.push_back(e.path());
      }
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      const std::string rel = fs::relative(file, suite / "tests").generic_string();
      const bool is_optional = rel.find("/optional/") != std::string::npos;
      const bool formats = rel.find("/optional/format/") != std::string::npos;
      Score score;
      const auto failures = run_file(file, rel, remotes, meta, formats, score);
      std::cout << "  " << rel << ": " << score.passed << "/" << score.total << "\n";
      (is_optional ? optional : required).passed += score.passed;
      (is_optional ? optional : required).total += score.total;
      (is_optional ? optional : required).node_passed += score.node_passed;
      if (!is_optional) {
        node_differs.insert(node_differs.end(), score.node_differs.begin(), score.node_differs.end());
      }
      if (is_optional) {
        if (std::getenv("PAGABLE_SCHEMA_SUITE_VERBOSE") != nullptr) { // to work on optional tests
          for (const auto& f : failures) {
            std::cout << "    optional failure: " << f << "\n";
          }
        }
        continue;
      }
      for (const auto& f : failures) {
        seen_failures.insert(f);
        if (known.count(f) == 0) {
          unexpected.push_back(f);
        }
      }
    }
    std::cout << draft << ": required " << required.passed << "/" << required.total << ", optional "
              << optional.passed << "/" << optional.total << "\n";
    std::cout << draft << " per-node (NodeValidator): required " << required.node_passed << "/"
              << required.total << ", optional " << optional.node_passed << "/" << optional.total << "\n";
    CHECK(required.total > 0);
  }
  for (const auto& k : known) {
    if (seen_failures.count(k) == 0) {
      fixed.push_back(k);
    }
  }
  for (const auto& u : unexpected) {
    UNSCOPED_INFO("failing, not in tests/data/schema-known-failures.txt: " << u);
  }
  for (const auto& f : fixed) {
    UNSCOPED_INFO("passes now, remove from tests/data/schema-known-failures.txt: " << f);
  }
  for (const auto& d : node_differs) {
    UNSCOPED_INFO("per-node validation differs from validate() (verdict or error locations): " << d);
  }
  CHECK(unexpected.empty());
  CHECK(fixed.empty());
  CHECK(node_differs.empty());
}
