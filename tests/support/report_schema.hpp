// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Checks a command's --json report against its JSON Schema in schemas/ with pagable's own
// validator (formats asserted), so a report and its documented schema cannot drift apart.

#include <nlohmann/json.hpp>

#include <string>

namespace test {

// Parses `out` (a command's stdout) as JSON, CHECKs it against
// schemas/report-<command>.schema.json and returns it. `source_dir` is the project root.
nlohmann::json check_report(const std::string& source_dir, const std::string& out,
                            const std::string& command);

// The validator's messages for `report` against schemas/report-<command>.schema.json; empty
// when it conforms.
std::string report_errors(const std::string& source_dir, const nlohmann::json& report,
                          const std::string& command);

} // namespace test
