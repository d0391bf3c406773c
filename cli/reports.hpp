// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The --json reports (schemas/report-*.json), made from the library's report structs in one
// place: each command hands its struct to to_json and Output prints it. Reports only gain
// fields. The human wording of what the library returns as data lives here too.

#include <pagable/archive.hpp>
#include <pagable/selector.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace pagable::cli {

// One version (ls, log, diff, forget: schemas/report-*.schema.json): name, version, key,
// schema_key, created, labels, stats, nodes, new_nodes, bytes_added (null for versions from
// before format 5 recorded it). Times are pagable/selector.hpp's format_time.
nlohmann::json to_json(const store::RootRecord& root);
nlohmann::json to_json(const ForgetReport& report, std::string_view archive, DryRun dry_run);
nlohmann::json to_json(const DiffReport& report, std::string_view archive, std::string_view at);
nlohmann::json to_json(const PackReport& packed, const std::string& file);
nlohmann::json to_json(const verify::Problem& problem);
nlohmann::json to_json(const verify::VerifyReport& report, std::string_view archive);
nlohmann::json to_json(const gc::GcFigures& figures);
nlohmann::json to_json(const ArchiveStats& stats);
nlohmann::json to_json(const TypedValue& value);

// "22.6 kB", "1.91 MB", "512 bytes": sizes for people (decimal units).
std::string human_bytes(std::uint64_t bytes);
// `text` with control characters escaped (\t, \n, \xNN), so that a name cannot move the
// terminal's cursor or forge a line of output.
std::string printable(std::string_view text);
// "api#42".
std::string version_name(const store::RootRecord& r);

// verify's next step, worded with the commands that take it ("" for none).
std::string next_step_text(verify::NextStep step, std::string_view archive);

} // namespace pagable::cli
