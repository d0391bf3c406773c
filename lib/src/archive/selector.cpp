// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/selector.hpp>

#include <pagable/key.hpp>

#include "util/utf8.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <set>

namespace pagable {
namespace {

Error bad_time(std::string_view text, const std::string& why)
{
  return make_error(Errc::invalid_argument,
                    "\"" + std::string(text) + "\" is not an ISO-8601 time (" + why +
                        "; e.g. 2026-12-07, 2026-12-07T10:15:30Z or 2026-12-07T10:15+02:00)");
}

// Reads exactly `digits` decimal digits at `pos`.
std::optional<int> digits_at(std::string_view s, std::size_t pos, std::size_t digits)
{
  if (pos + digits > s.size()) {
    return std::nullopt;
  }
  int v = 0;
  for (std::size_t i = pos; i < pos + digits; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return std::nullopt;
    }
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d)
{
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool is_leap(int y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

std::optional<std::uint64_t> parse_count(std::string_view s)
{
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

// "1-5, 8": the version numbers, runs collapsed.
std::string number_ranges(const std::vector<std::uint64_t>& numbers)
{
  std::string out;
  for (std::size_t i = 0; i < numbers.size();) {
    std::size_t j = i;
    while (j + 1 < numbers.size() && numbers[j + 1] == numbers[j] + 1) {
      ++j;
    }
    out += (out.empty() ? "" : ", ") + std::to_string(numbers[i]);
    if (j > i) {
      out += "-" + std::to_string(numbers[j]);
    }
    i = j + 1;
  }
  return out;
}

// The names worth suggesting for `wanted`: those sharing its first characters or holding
// it, else every name; at most 8, then how many more.
std::string candidate_names(const std::set<std::string>& names, std::string_view wanted)
{
  std::vector<std::string> like;
  for (const auto& n : names) {
    const std::size_t common = static_cast<std::size_t>(
        std::mismatch(n.begin(), n.end(), wanted.begin(), wanted.end()).first - n.begin());
    if (common >= std::min<std::size_t>(3, std::max<std::size_t>(wanted.size(), 1)) ||
        (!wanted.empty() && n.find(wanted) != std::string::npos)) {
      like.push_back(n);
    }
  }
  if (like.empty()) {
    like.assign(names.begin(), names.end());
  }
  if (like.empty()) {
    return "the archive has no root";
  }
  std::string out = "names: ";
  for (std::size_t i = 0; i < like.size() && i < 8; ++i) {
    out += (i == 0 ? "" : ", ") + like[i];
  }
  if (like.size() > 8) {
    out += " and " + std::to_string(like.size() - 8) + " more";
  }
  return out;
}

std::string describe(const store::RootRecord& r)
{
  return r.name + "#" + std::to_string(r.version) + " (" + r.key.short_hex() + ", " +
         format_time(r.created_unix_ms) + ")";
}

// The version of `versions` (one name's, by number) that `sel` asks for.
Result<store::RootRecord> pick_version(const std::vector<store::RootRecord>& versions,
                                       const Selector& sel, std::string_view text)
{
  std::vector<std::uint64_t> numbers;
  for (const auto& r : versions) {
    numbers.push_back(r.version);
  }
  const std::string held = sel.name + " has version" + (numbers.size() == 1 ? " " : "s ") +
                           number_ranges(numbers);
  switch (sel.kind) {
  case Selector::Kind::latest: return versions.back();
  case Selector::Kind::number:
    for (const auto& r : versions) {
      if (r.version == sel.count) {
        return r;
      }
    }
    return make_error(Errc::not_found, "no version " + std::string(text) + ": " + held);
  case Selector::Kind::back:
    if (sel.count < versions.size()) {
      return versions[versions.size() - 1 - sel.count];
    }
    return make_error(Errc::not_found, "no version " + std::string(text) + ": " + held + " (" +
                                           sel.name + "~0 to " + sel.name + "~" +
                                           std::to_string(versions.size() - 1) + ")");
  case Selector::Kind::time: {
    const store::RootRecord* best = nullptr;
    for (const auto& r : versions) {
      if (r.created_unix_ms <= sel.unix_ms &&
          (best == nullptr || r.created_unix_ms > best->created_unix_ms ||
           (r.created_unix_ms == best->created_unix_ms && r.version > best->version))) {
        best = &r;
      }
    }
    if (best != nullptr) {
      return *best;
    }
    const auto oldest = std::min_element(versions.begin(), versions.end(), [](const auto& a, const auto& b) {
      return a.created_unix_ms < b.created_unix_ms;
    });
    return make_error(Errc::not_found, "no version " + std::string(text) + ": " + sel.name +
                                           " has none at or before " + format_time(sel.unix_ms) +
                                           " (its oldest is " + describe(*oldest) + ")");
  }
  }
  return make_error(Errc::internal, "unknown selector kind");
}

} // namespace

Result<std::int64_t> parse_time(std::string_view text, TimeBound bound)
{
  const auto y = digits_at(text, 0, 4);
  const auto mo = digits_at(text, 5, 2);
  const auto d = digits_at(text, 8, 2);
  if (!y || !mo || !d || text[4] != '-' || text[7] != '-') {
    return bad_time(text, "it does not start with a date YYYY-MM-DD");
  }
  static constexpr int k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (*mo < 1 || *mo > 12 || *d < 1 ||
      *d > k_days[*mo - 1] + (*mo == 2 && is_leap(*y) ? 1 : 0)) {
    return bad_time(text, "no such date");
  }
  const std::int64_t day_ms = days_from_civil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d)) *
                              86'400'000;
  if (text.size() == 10) {
    return day_ms + (bound == TimeBound::end ? 86'400'000 - 1 : 0); // a bare date: that day, UTC
  }
  if (text[10] != 'T' && text[10] != 't' && text[10] != ' ') {
    return bad_time(text, "the date is followed by neither 'T' nor a time");
  }
  std::size_t pos = 11;
  const auto h = digits_at(text, pos, 2);
  const auto mi = digits_at(text, pos + 3, 2);
  if (!h || !mi || text[pos + 2] != ':' || *h > 23 || *mi > 59) {
    return bad_time(text, "the time is not HH:MM");
  }
  pos += 5;
  std::int64_t ms = (*h * 3600LL + *mi * 60LL) * 1000;
  std::int64_t unit = 60'000; // the end of the last unit given
  if (pos < text.size() && text[pos] == ':') {
    const auto sec = digits_at(text, pos + 1, 2);
    if (!sec || *sec > 59) {
      return bad_time(text, "the seconds are not 00 to 59");
    }
    ms += *sec * 1000LL;
    unit = 1000;
    pos += 3;
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
      ++pos;
      std::size_t n = 0;
      std::int64_t frac = 0;
      for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++n) {
        if (n < 3) {
          frac = frac * 10 + (text[pos] - '0');
        }
      }
      if (n == 0) {
        return bad_time(text, "a decimal point without digits");
      }
      for (std::size_t i = n; i < 3; ++i) {
        frac *= 10;
      }
      ms += frac;
      unit = n >= 3 ? 1 : (n == 2 ? 10 : 100);
    }
  }
  std::int64_t offset_ms = 0;
  if (pos < text.size()) {
    const char z = text[pos];
    if ((z == 'Z' || z == 'z') && pos + 1 == text.size()) {
      pos += 1;
    } else if (z == '+' || z == '-') {
      const auto oh = digits_at(text, pos + 1, 2);
      std::optional<int> om = 0;
      std::size_t end = pos + 3;
      if (end < text.size()) {
        const std::size_t at = text[end] == ':' ? end + 1 : end;
        om = digits_at(text, at, 2);
        end = at + 2;
      }
      if (!oh || !om || *oh > 23 || *om > 59 || end != text.size()) {
        return bad_time(text, "the offset is not Z, +HH, +HHMM or +HH:MM");
      }
      offset_ms = (*oh * 60LL + *om) * 60'000 * (z == '-' ? -1 : 1);
      pos = end;
    } else {
      return bad_time(text, "unexpected \"" + std::string(text.substr(pos)) + "\" after the time");
    }
  }
  return day_ms + ms + (bound == TimeBound::end ? unit - 1 : 0) - offset_ms;
}

std::string format_time(std::int64_t unix_ms)
{
  const auto secs = static_cast<std::time_t>(unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  // ISO 8601 wants four digits of year: strftime's %Y writes year 26 as "26", which
  // parse_time would not read back (found by selector_fuzz).
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

Result<Selector> parse_selector(std::string_view text)
{
  Selector sel;
  const std::size_t at = text.find_last_of("#~@");
  if (at == std::string_view::npos) {
    sel.name = std::string(text);
    if (sel.name.empty()) {
      return make_error(Errc::invalid_argument, "an empty selector names no version");
    }
    return sel;
  }
  sel.name = std::string(text.substr(0, at));
  const std::string_view rest = text.substr(at + 1);
  if (sel.name.empty()) {
    return make_error(Errc::invalid_argument, "\"" + std::string(text) + "\" has no name before '" +
                                                  text[at] + "' (NAME#N, NAME~K, NAME@TIME)");
  }
  switch (text[at]) {
  case '#': {
    const auto n = parse_count(rest);
    if (!n || *n == 0) {
      return make_error(Errc::invalid_argument, "\"" + std::string(text) +
                                                    "\": after '#' comes a version number from 1");
    }
    sel.kind = Selector::Kind::number;
    sel.count = *n;
    return sel;
  }
  case '~': {
    const auto k = parse_count(rest);
    if (!k) {
      return make_error(Errc::invalid_argument,
                        "\"" + std::string(text) +
                            "\": after '~' comes how many versions back (0 is the newest)");
    }
    sel.kind = Selector::Kind::back;
    sel.count = *k;
    return sel;
  }
  default: {
    PAGABLE_TRY_ASSIGN(sel.unix_ms, parse_time(rest));
    sel.kind = Selector::Kind::time;
    return sel;
  }
  }
}

Result<void> check_root_name(std::string_view name)
{
  const auto refuse = [&](const std::string& why) {
    // Shown as text whatever the name holds: the message may go into a JSON report.
    std::string shown = util::utf8_repaired(name.substr(0, 80), '?', 80);
    for (char& c : shown) {
      c = static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
    }
    return make_error(Errc::invalid_argument, "root name \"" + shown + "\" " + why);
  };
  if (name.empty()) {
    return make_error(Errc::invalid_argument, "a root name cannot be empty");
  }
  if (name.size() > 255) {
    return refuse("is " + std::to_string(name.size()) + " bytes long; names are at most 255 bytes");
  }
  if (!util::is_utf8(name)) {
    // JSON reports (--json ls, log, pack) hold names: they must be text.
    return refuse("is not UTF-8 text (a file name's bytes? give --name)");
  }
  for (const char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return refuse("holds a control character; unpack could not write it as a file name");
    }
    if (c == '#' || c == '~' || c == '@') {
      return refuse(std::string("holds '") + c +
                    "', which selectors use (NAME#N, NAME~K, NAME@TIME); choose another name");
    }
  }
  if (name.front() == '/') {
    return refuse("is an absolute path; unpack writes NAME.json inside its directory");
  }
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = std::min(name.find('/', start), name.size());
    const std::string_view part = name.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return refuse("has an empty, \".\" or \"..\" component; unpack writes NAME.json inside its "
                    "directory");
    }
    if (end == name.size()) {
      return {};
    }
    start = end + 1;
  }
}

std::string default_root_name(std::string_view file)
{
  if (file == "-") {
    return "stdin";
  }
  std::string base(file.substr(file.find_last_of('/') == std::string_view::npos ? 0 : file.find_last_of('/') + 1));
  for (const char* ext : {".zst", ".zstd", ".gz"}) {
    if (base.size() > std::strlen(ext) && base.ends_with(ext)) {
      base.resize(base.size() - std::strlen(ext));
      break;
    }
  }
  if (base.size() > 5 && base.ends_with(".json")) {
    base.resize(base.size() - 5);
  }
  for (char& c : base) {
    if (c == '#' || c == '~' || c == '@' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      c = '_';
    }
  }
  // A file name's bytes need not be UTF-8; a name must (at most 255 bytes, whole characters).
  base = util::utf8_repaired(base, '_', 255);
  if (!check_root_name(base)) {
    base = "_"; // "", "." or ".."
  }
  return base;
}

Result<store::RootRecord> resolve_selector(std::span<const store::RootRecord> roots,
                                           std::string_view text)
{
  // Every name's versions, by number.
  std::map<std::string, std::vector<store::RootRecord>, std::less<>> by_name;
  for (const auto& r : roots) {
    by_name[r.name].push_back(r);
  }
  for (auto& [_, v] : by_name) {
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
  }
  if (const auto it = by_name.find(text); it != by_name.end()) {
    return it->second.back();
  }
  auto sel = parse_selector(text);
  if (sel && sel->kind != Selector::Kind::latest) {
    if (const auto it = by_name.find(sel->name); it != by_name.end()) {
      return pick_version(it->second, *sel, text);
    }
  }
  std::set<std::string> names;
  for (const auto& [n, _] : by_name) {
    names.insert(n);
  }
  const std::string wanted = sel ? sel->name : std::string(text);
  if (sel && sel->kind != Selector::Kind::latest) {
    return make_error(Errc::not_found, "no root named \"" + sel->name + "\" (" +
                                           candidate_names(names, sel->name) + ")");
  }
  if (!sel && text.find_first_of("#~@") != std::string_view::npos) {
    return std::move(sel).error();
  }
  if (normalize_hex_prefix(text)) {
    std::vector<Key> keys;
    for (const auto& r : roots) {
      keys.push_back(r.key);
    }
    // Several versions may hold one document: the prefix must pick one key, not one version.
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    auto key = resolve_unique_prefix(text, keys);
    if (key) {
      const store::RootRecord* newest = nullptr;
      for (const auto& r : roots) {
        if (r.key == *key && (newest == nullptr || r.created_unix_ms > newest->created_unix_ms ||
                              (r.created_unix_ms == newest->created_unix_ms && r.version > newest->version))) {
          newest = &r;
        }
      }
      return *newest;
    }
    if (key.error().code() != Errc::not_found) {
      std::string which;
      for (const auto& r : roots) {
        if (r.key.has_hex_prefix(*normalize_hex_prefix(text))) {
          which += (which.empty() ? "" : ", ") + r.name + "#" + std::to_string(r.version) + " " +
                   r.key.short_hex();
        }
      }
      return make_error(Errc::invalid_argument, "key prefix \"" + std::string(text) +
                                                    "\" matches several documents: " + which);
    }
  }
  return make_error(Errc::not_found, "no root named \"" + wanted + "\" and no document whose key "
                                         "starts so (" + candidate_names(names, wanted) + ")");
}

Result<std::vector<store::RootRecord>> select_versions(std::span<const store::RootRecord> roots,
                                                       std::span<const std::string> selectors)
{
  if (selectors.empty()) {
    return std::vector<store::RootRecord>(roots.begin(), roots.end());
  }
  std::vector<store::RootRecord> out;
  std::set<std::pair<std::string, std::uint64_t>> taken;
  const auto take = [&](const store::RootRecord& r) {
    if (taken.emplace(r.name, r.version).second) {
      out.push_back(r);
    }
  };
  for (const auto& sel : selectors) {
    std::vector<store::RootRecord> named;
    for (const auto& r : roots) {
      if (r.name == sel) {
        named.push_back(r);
      }
    }
    if (!named.empty()) {
      std::sort(named.begin(), named.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
      std::for_each(named.begin(), named.end(), take);
      continue;
    }
    PAGABLE_TRY_ASSIGN(const auto one, resolve_selector(roots, sel));
    take(one);
  }
  return out;
}

} // namespace pagable
