// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Runs a program (the built pagable binary, usually) and captures what it did.

#include <string>
#include <vector>

namespace test {

struct ProcessResult {
  int exit_code = -1;    // the exit status, or 128 + signal
  std::string out;       // stdout
  std::string err;       // stderr
  long max_rss_kb = 0;   // the process's peak resident set (getrusage), in KiB
};

// Runs argv[0] with `args`; `stdin_text` is fed to its standard input. Extra environment
// entries ("NAME=value") are added to the current environment.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& stdin_text = {},
                          const std::vector<std::string>& extra_env = {});

} // namespace test
