// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The retention options forget and gc REMOTE share (--keep-last ... --keep-label), parsed into
// one KeepPolicy (pagable/retention.hpp), so that both apply the same policy the same way.

#include <pagable/result.hpp>
#include <pagable/retention.hpp>

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace pagable::cli {

struct KeepArgs {
  KeepPolicy policy; // the --keep-N rules; --keep-within and --keep-label are parsed into it
  std::string within;
  std::vector<std::string> labels;
};

void add_keep_options(CLI::App& cmd, KeepArgs& args);
// The policy the options say (Errc::invalid_argument naming a malformed one).
Result<KeepPolicy> keep_policy(const KeepArgs& args);

} // namespace pagable::cli
