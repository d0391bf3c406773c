// SPDX-License-Identifier: MIT OR Apache-2.0
#include "keep_options.hpp"

namespace pagable::cli {

void add_keep_options(CLI::App& cmd, KeepArgs& args)
{
  cmd.add_option("--keep-last", args.policy.last, "Keep the N newest versions");
  cmd.add_option("--keep-hourly", args.policy.hourly, "Keep the newest version of each of the last N hours that have one");
  cmd.add_option("--keep-daily", args.policy.daily, "... of each of the last N days (UTC) that have one");
  cmd.add_option("--keep-weekly", args.policy.weekly, "... of each of the last N ISO weeks that have one");
  cmd.add_option("--keep-monthly", args.policy.monthly, "... of each of the last N months that have one");
  cmd.add_option("--keep-yearly", args.policy.yearly, "... of each of the last N years that have one");
  cmd.add_option("--keep-within", args.within,
                 "Keep every version newer than DURATION (e.g. 1y5m7d2h) before the newest one");
  cmd.add_option("--keep-label", args.labels, "Keep every version with label KEY=VALUE (repeatable)");
}

Result<KeepPolicy> keep_policy(const KeepArgs& args)
{
  KeepPolicy policy = args.policy;
  if (!args.within.empty()) {
    auto span = parse_span(args.within);
    if (!span) {
      return std::move(span).error().with_context("--keep-within");
    }
    policy.within = *span;
  }
  for (const auto& l : args.labels) {
    const auto eq = l.find('=');
    if (eq == std::string::npos || eq == 0) {
      return make_error(Errc::invalid_argument, "--keep-label wants KEY=VALUE, got \"" + l + "\"");
    }
    policy.labels.push_back({{l.substr(0, eq), l.substr(eq + 1)}});
  }
  return policy;
}

} // namespace pagable::cli
