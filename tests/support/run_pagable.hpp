// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// For the CLI tests: the built pagable binary (PAGABLE_BINARY, defined for cli_tests) run with
// arguments, and a --json report checked against its schema in schemas/.

#include "support/gcc_false_positive.hpp"
#include "support/report_schema.hpp"
#include "support/run_process.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace test {

inline ProcessResult run_pagable(std::vector<std::string> args, const std::string& stdin_text = {},
                                 const std::vector<std::string>& extra_env = {})
{
  PAGABLE_GCC_FALSE_POSITIVE_BEGIN("-Wnull-dereference") // g++ 12 false positive in vector::insert
  args.insert(args.begin(), PAGABLE_BINARY);
  PAGABLE_GCC_FALSE_POSITIVE_END
  return run_process(args, stdin_text, extra_env);
}

// The report `command --json` printed, validated against its schema (stderr shown on failure).
inline nlohmann::json report_of(const ProcessResult& r, const std::string& command)
{
  INFO(r.err);
  return check_report(PAGABLE_SOURCE_DIR, r.out, command);
}

} // namespace test
