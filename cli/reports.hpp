// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The --json reports (schemas/report-*.json), made from the library's report structs in one
// place: each command hands its struct to to_json and Output prints it. Reports only gain
// fields. The human wording of what the library returns as data lives here too.

#include <pagable/archive.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace pagable::cli {

std::string format_time(std::int64_t unix_ms); // "2026-12-07T10:00:00Z"

nlohmann::json to_json(const store::RootRecord& root); // one root, as `ls` lists it
nlohmann::json to_json(const PackReport& packed, const std::string& file);
nlohmann::json to_json(const verify::Problem& problem);
nlohmann::json to_json(const verify::VerifyReport& report, std::string_view archive);
nlohmann::json to_json(const gc::GcFigures& figures);
nlohmann::json to_json(const ArchiveStats& stats);
nlohmann::json to_json(const TypedValue& value);

// verify's next step, worded with the commands that take it ("" for none).
std::string next_step_text(verify::NextStep step, std::string_view archive);

} // namespace pagable::cli
