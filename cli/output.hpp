// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// How the CLI talks: human text or one JSON report on stdout (--json), errors on stderr,
// progress on stderr only when it is a terminal (or --progress), nothing but errors with
// --quiet. The library returns reports; only this layer prints.

#include <pagable/result.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <ostream>
#include <string>

namespace pagable::cli {

// Whether standard output is a pipe whose reader has closed it.
bool stdout_reader_gone();
// The report --json prints for an error that ends a command: {"error": {code, message, exit_code}}.
nlohmann::json error_report(const Error& error);

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
  // A line of the command's own output (hydrate --types' listing): on stdout whatever
  // --quiet says, but not with --json (the report says it).
  void data_line(const std::string& text) const;
  // The stream a command's document goes to (hydrate): standard output.
  std::ostream& document() const;
  // Figures about the work, one JSON line on stderr (hydrate --stats, whose stdout is the
  // document).
  void stats(const nlohmann::json& figures) const;
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
  // Flushes standard output: Errc::io (with the OS's reason) when what was written could not
  // all be delivered.
  Result<void> finish() const;
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

} // namespace pagable::cli
