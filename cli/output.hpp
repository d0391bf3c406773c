// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// How the CLI talks: human text or one JSON report on stdout (--json), errors on stderr,
// progress on stderr only when it is a terminal (or --progress), nothing but errors with
// --quiet. The library returns reports; only this layer prints.

#include <pagable/result.hpp>
#include <pagable/store.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <string_view>

namespace pagable::cli {

struct OutputOptions {
  bool json = false;
  bool quiet = false;
  bool progress = false; // force progress even when stderr is not a terminal
};

class Output {
public:
  explicit Output(OutputOptions options);

  bool json() const noexcept { return m_options.json; }
  // A line of human output (suppressed by --quiet and --json).
  void line(const std::string& text) const;
  // The one machine-readable report of a command (--json only).
  void report(const nlohmann::json& report) const;
  // An error: "pagable: error: ..." on stderr, plus {"error": ...} on stdout with --json.
  // Returns the exit code for it.
  int error(const Error& error) const;
  // An error that does not end the command (one of several files): "pagable: error: ..." on
  // stderr only; the report says it too.
  void error_line(const Error& error) const;
  // A warning on stderr (suppressed by --quiet).
  void warn(const std::string& text) const;
  // Returns true iff progress should be shown.
  bool show_progress() const noexcept { return m_progress; }
  void progress(const std::string& text) const;
  void end_progress() const;
  // The last progress line: drawn once more and ended with a newline.
  void progress_done(const std::string& text) const;

private:
  OutputOptions m_options;
  bool m_progress = false;
};

// "22.6 kB", "1.91 MB", "512 bytes": sizes for people (decimal units).
std::string human_bytes(std::uint64_t bytes);
// `text` with control characters escaped (\t, \n, \xNN), so that a name cannot move the
// terminal's cursor or forge a line of output.
std::string printable(std::string_view text);
// One version in a report (ls, log, diff, forget: schemas/report-*.schema.json): name,
// version, key, schema_key, created, labels, stats, nodes, new_nodes, bytes_added (null for
// versions from before format 5 recorded it).
nlohmann::json version_json(const store::RootRecord& r);
// "api#42".
std::string version_name(const store::RootRecord& r);

} // namespace pagable::cli
