// SPDX-License-Identifier: MIT OR Apache-2.0
#include "support/report_schema.hpp"

#include <pagable/schema.hpp>

#include <catch2/catch.hpp>

namespace test {

std::string report_errors(const std::string& source_dir, const nlohmann::json& report,
                          const std::string& command)
{
  pagable::schema::SchemaOptions options;
  options.validate_formats = true;
  auto schema = pagable::schema::load_schema_file(
      source_dir + "/schemas/report-" + command + ".schema.json", options);
  REQUIRE(schema.has_value());
  const auto verdict = (*schema)->validate(report);
  std::string errors;
  for (const auto& e : verdict.errors) {
    errors += e.to_string() + "\n";
  }
  REQUIRE(verdict.valid == errors.empty());
  return errors;
}

nlohmann::json check_report(const std::string& source_dir, const std::string& out,
                            const std::string& command)
{
  INFO("report of " << command << ": " << out);
  const nlohmann::json report = nlohmann::json::parse(out);
  const std::string errors = report_errors(source_dir, report, command);
  INFO(errors);
  CHECK(errors.empty());
  return report;
}

} // namespace test
