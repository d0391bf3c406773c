// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Retention: which versions of a name a policy keeps, with restic's `forget` semantics (those
// of restic 0.14, Debian 12's, which the tests compare against): the versions of one name
// are taken newest first; each --keep-* rule keeps the newest version of each of its N most
// recent calendar buckets (last: each version is a bucket of its own; hourly, daily, weekly
// by ISO week, monthly, yearly; UTC); --keep-within keeps every version newer than the span
// before the newest version (not "now"); --keep-label keeps every version with the label;
// a version any rule keeps is kept. Removing is Archive::forget's job (pagable/archive.hpp);
// this is the pure decision, so that the CLI can show it with --dry-run.
// Thread-safety: pure functions.

#include <pagable/result.hpp>
#include <pagable/store.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pagable {

// A calendar span as restic writes it: "1y5m7d2h" (years, months, days, hours; any subset,
// in any order, each number optionally negative as restic allows).
struct CalendarSpan {
  int years = 0;
  int months = 0;
  int days = 0;
  int hours = 0;
  bool is_zero() const noexcept { return years == 0 && months == 0 && days == 0 && hours == 0; }
};

// Errc::invalid_argument naming what is wrong ("2w": no unit w).
Result<CalendarSpan> parse_span(std::string_view text);

struct KeepPolicy {
  // How many of each bucket to keep; 0: the rule is off.
  unsigned last = 0;
  unsigned hourly = 0;
  unsigned daily = 0;
  unsigned weekly = 0;
  unsigned monthly = 0;
  unsigned yearly = 0;
  CalendarSpan within; // zero: off
  // Label sets (KEY=VALUE each): a version holding every label of any one set is kept.
  std::vector<std::vector<std::pair<std::string, std::string>>> labels;
  // Returns true iff no rule is on (restic then keeps everything; Archive::forget refuses).
  bool empty() const noexcept;
};

struct RetentionDecision {
  store::RootRecord version;
  bool keep = false;
  std::vector<std::string> reasons; // "last", "daily", "within 2d", "label env=prod", ...
};

// The decision for each of `versions` (all of ONE name), newest first (by creation time;
// versions created at the same millisecond stay in the order given, newest number first).
// `now_unix_ms`: versions created after it do not count as the newest for --keep-within
// (restic's rule for clocks that were wrong).
std::vector<RetentionDecision> apply_policy(std::span<const store::RootRecord> versions,
                                            const KeepPolicy& policy, std::int64_t now_unix_ms);

} // namespace pagable
