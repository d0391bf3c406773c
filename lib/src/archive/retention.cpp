// SPDX-License-Identifier: MIT OR Apache-2.0
// restic 0.14's ApplyPolicy (internal/restic/snapshot_policy.go), rewritten for versions: the
// same buckets, the same order of rules, the same reference point for --keep-within, so that
// a calendar of versions keeps what restic keeps of the same calendar of snapshots (the test
// runs restic itself). Calendar arithmetic is UTC's, as restic's is in the snapshots' zone.
#include <pagable/retention.hpp>

#include <algorithm>
#include <cctype>
#include <limits>

namespace pagable {
namespace {

struct Civil {
  std::int64_t year;
  int month; // 1..12
  int day;   // 1..31
  int hour;  // 0..23
  std::int64_t days; // since 1970-01-01
};

std::int64_t floor_div(std::int64_t a, std::int64_t b)
{
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

// Howard Hinnant's civil_from_days and days_from_civil.
Civil civil_of(std::int64_t unix_ms)
{
  const std::int64_t days = floor_div(unix_ms, 86'400'000);
  const std::int64_t ms_of_day = unix_ms - days * 86'400'000;
  const std::int64_t z = days + 719468;
  const std::int64_t era = floor_div(z, 146097);
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
  return {y, static_cast<int>(m), static_cast<int>(d), static_cast<int>(ms_of_day / 3'600'000), days};
}

std::int64_t days_from_civil(std::int64_t y, int m, int d)
{
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = floor_div(y, 400);
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * static_cast<unsigned>(m + (m > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// Go's t.AddDate(-years, -months, -days).Add(-hours): the month overflows into the year, the
// day into the next months (March 31 less a month is March 3, as February 31).
std::int64_t minus_span(std::int64_t unix_ms, const CalendarSpan& s)
{
  const Civil c = civil_of(unix_ms);
  const std::int64_t ms_of_day = unix_ms - c.days * 86'400'000;
  const std::int64_t month0 = static_cast<std::int64_t>(c.month - 1) - s.months;
  const std::int64_t year = c.year - s.years + floor_div(month0, 12);
  const auto month = static_cast<int>(month0 - floor_div(month0, 12) * 12) + 1;
  const std::int64_t days = days_from_civil(year, month, 1) + (c.day - 1) - s.days;
  return days * 86'400'000 + ms_of_day - static_cast<std::int64_t>(s.hours) * 3'600'000;
}

// ISO 8601 year * 100 + week, as Go's ISOWeek.
std::int64_t iso_year_week(const Civil& c)
{
  const auto weekday = static_cast<int>(((c.days % 7) + 7 + 3) % 7) + 1; // 1970-01-01 was a Thursday: 4
  const Civil thursday = civil_of((c.days + 4 - weekday) * 86'400'000);
  const std::int64_t jan1 = days_from_civil(thursday.year, 1, 1);
  return thursday.year * 100 + (thursday.days - jan1) / 7 + 1;
}

bool holds_all(const store::RootRecord& r, const std::vector<std::pair<std::string, std::string>>& set)
{
  return std::all_of(set.begin(), set.end(), [&](const auto& kv) {
    const auto it = r.labels.find(kv.first);
    return it != r.labels.end() && it->second == kv.second;
  });
}

std::string span_text(const CalendarSpan& s)
{
  std::string out;
  const std::pair<int, char> parts[] = {{s.years, 'y'}, {s.months, 'm'}, {s.days, 'd'}, {s.hours, 'h'}};
  for (const auto& [n, unit] : parts) {
    if (n != 0) {
      out += std::to_string(n) + unit;
    }
  }
  return out.empty() ? "0h" : out;
}

} // namespace

Result<CalendarSpan> parse_span(std::string_view text)
{
  CalendarSpan span;
  std::size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) {
    ++i;
  }
  std::size_t end = text.size();
  while (end > i && std::isspace(static_cast<unsigned char>(text[end - 1]))) {
    --end;
  }
  if (i == end) {
    return make_error(Errc::invalid_argument, "an empty span (write e.g. 7d, 1y6m or 36h)");
  }
  while (i < end) {
    const bool negative = text[i] == '-';
    i += negative ? 1 : 0;
    std::int64_t n = 0;
    const std::size_t digits = i;
    for (; i < end && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      n = n * 10 + (text[i] - '0');
      if (n > std::numeric_limits<int>::max()) {
        return make_error(Errc::invalid_argument, "span \"" + std::string(text) + "\" is too long");
      }
    }
    if (i == digits) {
      return make_error(Errc::invalid_argument, "span \"" + std::string(text) +
                                                    "\": a number must come before each unit");
    }
    if (i == end) {
      return make_error(Errc::invalid_argument, "span \"" + std::string(text) +
                                                    "\": no unit after " + std::to_string(n) +
                                                    " (y, m, d or h)");
    }
    const int v = static_cast<int>(negative ? -n : n);
    switch (text[i]) {
    case 'y': span.years = v; break;
    case 'm': span.months = v; break;
    case 'd': span.days = v; break;
    case 'h': span.hours = v; break;
    default:
      return make_error(Errc::invalid_argument, "span \"" + std::string(text) + "\": unit '" +
                                                    text[i] + "' is not y, m, d or h");
    }
    ++i;
  }
  return span;
}

bool KeepPolicy::empty() const noexcept
{
  return last == 0 && hourly == 0 && daily == 0 && weekly == 0 && monthly == 0 && yearly == 0 &&
         within.is_zero() && labels.empty();
}

std::vector<RetentionDecision> apply_policy(std::span<const store::RootRecord> versions,
                                            const KeepPolicy& policy, std::int64_t now_unix_ms)
{
  std::vector<RetentionDecision> out;
  for (const auto& v : versions) {
    out.push_back({v, policy.empty(), {}});
  }
  // Newest first; a stable sort, as restic's, keeps equal times in the order given.
  std::stable_sort(out.begin(), out.end(), [](const RetentionDecision& a, const RetentionDecision& b) {
    return a.version.created_unix_ms > b.version.created_unix_ms;
  });
  if (policy.empty()) {
    for (auto& d : out) {
      d.reasons.push_back("policy is empty");
    }
    return out;
  }
  // The newest version not in the future: --keep-within counts back from it.
  std::int64_t latest = std::numeric_limits<std::int64_t>::min();
  for (const auto& d : out) {
    if (d.version.created_unix_ms > latest && d.version.created_unix_ms < now_unix_ms) {
      latest = d.version.created_unix_ms;
    }
  }
  struct Bucket {
    unsigned count;
    const char* reason;
    std::int64_t last = -1;
  };
  Bucket buckets[] = {{policy.last, "last"},       {policy.hourly, "hourly"},
                      {policy.daily, "daily"},     {policy.weekly, "weekly"},
                      {policy.monthly, "monthly"}, {policy.yearly, "yearly"}};
  const bool within_on = !policy.within.is_zero();
  const std::int64_t within_from =
      within_on && latest != std::numeric_limits<std::int64_t>::min() ? minus_span(latest, policy.within)
                                                                       : std::numeric_limits<std::int64_t>::min();
  for (std::size_t nr = 0; nr < out.size(); ++nr) {
    RetentionDecision& d = out[nr];
    const store::RootRecord& cur = d.version;
    for (const auto& set : policy.labels) {
      if (holds_all(cur, set)) {
        d.keep = true;
        std::string text;
        for (const auto& [k, v] : set) {
          text += (text.empty() ? "" : ",") + k + "=" + v;
        }
        d.reasons.push_back("label " + text);
      }
    }
    if (within_on && cur.created_unix_ms > within_from) {
      d.keep = true;
      d.reasons.push_back("within " + span_text(policy.within));
    }
    const Civil c = civil_of(cur.created_unix_ms);
    const std::int64_t values[] = {
        static_cast<std::int64_t>(nr),
        c.year * 1'000'000 + c.month * 10'000 + c.day * 100 + c.hour,
        c.year * 10'000 + c.month * 100 + c.day,
        iso_year_week(c),
        c.year * 100 + c.month,
        c.year,
    };
    for (std::size_t i = 0; i < std::size(buckets); ++i) {
      Bucket& b = buckets[i];
      if (b.count > 0 && values[i] != b.last) {
        d.keep = true;
        b.last = values[i];
        --b.count;
        d.reasons.push_back(b.reason);
      }
    }
  }
  return out;
}

} // namespace pagable
