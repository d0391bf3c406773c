// SPDX-License-Identifier: MIT OR Apache-2.0
// Schema validation speed on the corpora (../shared/corpora by default):
//  1. GitHub's OpenAPI description (13 MB) against the OpenAPI 3.0 schema (draft-04);
//  2. a draft-07 case: the 45 valid CycloneDX 1.6 test documents against bom-1.6, side by
//     side with valijson (Debian libvalijson-dev) when it was found at configure time.
// Prints one JSON line per case: compile ms, validate ms (median of runs), verdicts.
//   bench_schema [CORPORA_DIR] [RUNS=5]
#include <pagable/schema.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#ifdef PAGABLE_HAVE_VALIJSON
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>
#endif

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json load(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

double median_ms(int runs, const std::function<void()>& f)
{
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

} // namespace

int main(int argc, char** argv)
{
  const std::string dir = argc > 1 ? argv[1] : "../shared/corpora";
  const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  if (!fs::exists(dir + "/github-api.openapi.json")) {
    std::fprintf(stderr, "bench_schema: no corpora in %s\n", dir.c_str());
    return 2;
  }
  {
    std::shared_ptr<const pagable::schema::Schema> schema;
    const double compile = median_ms(runs, [&] {
      schema = pagable::schema::load_schema_file(dir + "/openapi-3.0.schema.json", {}).value();
    });
    const json doc = load(dir + "/github-api.openapi.json");
    bool valid = false;
    const double validate = median_ms(runs, [&] { valid = schema->validate(doc).valid; });
    std::printf("{\"case\": \"github-api.openapi.json vs openapi-3.0\", \"validator\": \"pagable\", "
                "\"compile_ms\": %.2f, \"validate_ms\": %.2f, \"valid\": %s}\n",
                compile, validate, valid ? "true" : "false");
  }
  std::vector<json> docs;
  for (const auto& e : fs::directory_iterator(dir + "/cyclonedx-1.6-tests")) {
    const auto name = e.path().filename().string();
    if (name.rfind("valid-", 0) == 0) {
      docs.push_back(load(e.path().string()));
    }
  }
  {
    std::shared_ptr<const pagable::schema::Schema> schema;
    const double compile = median_ms(runs, [&] {
      schema = pagable::schema::load_schema_file(dir + "/bom-1.6.SNAPSHOT.schema.json", {}).value();
    });
    std::size_t valid = 0;
    const double validate = median_ms(runs, [&] {
      valid = 0;
      for (const auto& d : docs) {
        valid += schema->validate(d).valid ? 1 : 0;
      }
    });
    std::printf("{\"case\": \"%zu CycloneDX 1.6 documents vs bom-1.6 (draft-07)\", \"validator\": \"pagable\", "
                "\"compile_ms\": %.2f, \"validate_ms\": %.2f, \"valid\": %zu}\n",
                docs.size(), compile, validate, valid);
  }
#ifdef PAGABLE_HAVE_VALIJSON
  {
    const json root = load(dir + "/bom-1.6.SNAPSHOT.schema.json");
    std::vector<std::unique_ptr<json>> fetched;
    auto fetch = [&](const std::string& uri) -> const json* {
      const auto slash = uri.find_last_of('/');
      const std::string file = dir + "/" + (slash == std::string::npos ? uri : uri.substr(slash + 1));
      if (!fs::exists(file)) {
        return nullptr;
      }
      fetched.push_back(std::make_unique<json>(load(file)));
      return fetched.back().get();
    };
    valijson::Schema schema;
    const double compile = median_ms(1, [&] {
      valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
      valijson::adapters::NlohmannJsonAdapter adapter(root);
      parser.populateSchema(adapter, schema, fetch, [](const json*) {});
    });
    std::size_t valid = 0;
    const double validate = median_ms(runs, [&] {
      valid = 0;
      for (const auto& d : docs) {
        valijson::Validator validator;
        valijson::adapters::NlohmannJsonAdapter target(d);
        valid += validator.validate(schema, target, nullptr) ? 1 : 0;
      }
    });
    std::printf("{\"case\": \"%zu CycloneDX 1.6 documents vs bom-1.6 (draft-07)\", \"validator\": \"valijson\", "
                "\"compile_ms\": %.2f, \"validate_ms\": %.2f, \"valid\": %zu}\n",
                docs.size(), compile, validate, valid);
  }
#endif
  return 0;
}
