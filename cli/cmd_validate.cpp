// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable validate --schema S FILE...: checks documents against a JSON Schema without
// archiving them. Exit 0 when every file is valid, 1 when any is not (or is not JSON). The
// documents are read as pack reads them (pack::read_json_document: one grammar, compressed
// input), so what validate accepts, pack accepts.
#include "app.hpp"

#include "exit_codes.hpp"

#include <pagable/json_document.hpp>
#include <pagable/schema.hpp>


namespace pagable::cli {
namespace {

struct ValidateArgs {
  std::string schema;
  std::vector<std::string> schema_paths;
  bool validate_formats = false;
  std::size_t max_errors = 100;
  std::vector<std::string> files;
};

int run_validate(const ValidateArgs& args, const Output& out)
{
  schema::SchemaOptions options;
  options.search_paths = args.schema_paths;
  options.validate_formats = args.validate_formats;
  options.max_errors = args.max_errors;
  auto compiled = schema::load_schema_file(args.schema, options);
  if (!compiled) {
    return out.error(compiled.error());
  }
  const auto& schema = **compiled;
  bool all_valid = true;
  std::size_t valid_count = 0;
  nlohmann::json files = nlohmann::json::array();
  for (const auto& file : args.files) {
    schema::ValidationReport report;
    auto doc = pack::read_json_document(file);
    if (!doc) {
      if (doc.error().code() != Errc::invalid_input) {
        return out.error(std::move(doc).error().with_context(file));
      }
      report.valid = false;
      report.errors.push_back({"", "", "not valid JSON: " + doc.error().message()});
    } else {
      report = schema.validate(*doc);
    }
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& e : report.errors) {
      errors.push_back({{"instance_location", e.instance_location},
                        {"schema_location", e.schema_location},
                        {"message", e.message}});
      out.data_line(file + ": " + e.to_string());
    }
    if (report.truncated) {
      out.data_line(file + ": (more errors not shown; see --max-errors)");
    }
    all_valid = all_valid && report.valid;
    valid_count += report.valid ? 1 : 0;
    files.push_back({{"file", file}, {"valid", report.valid}, {"errors", errors}, {"truncated", report.truncated}});
  }
  out.line(std::to_string(valid_count) + " of " + std::to_string(args.files.size()) + " file" +
           (args.files.size() == 1 ? "" : "s") + " valid against " + args.schema);
  out.report({{"valid", all_valid}, {"schema", args.schema}, {"files", files}});
  return all_valid ? k_exit_ok : k_exit_bad_input;
}

} // namespace

void add_validate_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<ValidateArgs>();
  auto* cmd = app.add_subcommand("validate", "Check JSON documents against a JSON Schema (no archive)");
  cmd->add_option("--schema", args->schema, "The JSON Schema file (draft 2020-12, draft-07 or draft-04)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--schema-path", args->schema_paths,
                  "A directory searched for referenced schema files (repeatable)")
      ->check(CLI::ExistingDirectory);
  cmd->add_flag("--validate-formats", args->validate_formats,
                "Assert `format` (date-time, email, uri, ...) instead of treating it as an annotation");
  cmd->add_option("--max-errors", args->max_errors, "Errors reported per file at most")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("files", args->files, "The JSON documents to check (- for standard input; zstd or gzip compressed as pack reads them)")->required();
  cmd->callback([args, &ctx] {
    ctx.run = [args](const Output& out) { return run_validate(*args, out); };
  });
}

} // namespace pagable::cli
