// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Naming versions: the selector grammar every command accepts where a version is named
// (man/pagable.1, "SELECTORS"), the rules a root name follows, and resolving a selector
// against an archive's versions. Archive::find_root resolves selectors with these.
//
//   NAME        the newest version of NAME (the highest number)
//   NAME#N      version N of NAME
//   NAME~K      the version K before the newest (NAME~0 is the newest), counting versions
//               that still exist
//   NAME@TIME   the newest version created at or before TIME (ISO-8601: a date, or a date
//               and time with optional seconds and fraction; UTC unless an offset is given;
//               TIME means the end of the last unit it gives, so a bare date is the end of
//               that day and a time copied from `ls` or `log` selects that version)
//   PREFIX      otherwise, the one document whose key starts with these hex digits (its
//               newest version when several versions hold it)
//
// A name equal to the whole text wins over any reading of it (archives from before format 5
// may hold names with '#', '~' or '@'; pack refuses them since).
// Thread-safety: pure functions.

#include <pagable/result.hpp>
#include <pagable/store.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pagable {

// A selector's parts, as parse_selector reads them.
struct Selector {
  enum class Kind : std::uint8_t {
    latest, // NAME
    number, // NAME#N: `count` is N
    back,   // NAME~K: `count` is K
    time,   // NAME@TIME: `unix_ms` is the instant TIME ends at
  };
  std::string name;
  Kind kind = Kind::latest;
  std::uint64_t count = 0;
  std::int64_t unix_ms = 0;
};

// Splits `text` at its last '#', '~' or '@' and reads what follows: Errc::invalid_argument
// (saying what was expected) for a number or time that is not one, or an empty name. Text
// without any of the three is Kind::latest of the whole text.
Result<Selector> parse_selector(std::string_view text);

// Which instant of the unit a time gives parse_time returns: its last (selectors: "at or
// before 2026-12-07" takes in the whole day) or its first (pack --time).
enum class TimeBound : std::uint8_t { end, start };

// An ISO-8601 time as milliseconds since the Unix epoch, at the end of the last unit given:
// "2026-12-07" is 2026-12-07T23:59:59.999Z, "2026-12-07T10:15" is 10:15:59.999,
// "2026-12-07T10:15:30+02:00" is 08:15:30.999Z. 'T', 't' or a space separate date and time;
// offsets are Z, +HH, +HHMM or +HH:MM. TimeBound::start gives the unit's first instant
// instead. Errc::invalid_argument naming what is wrong.
Result<std::int64_t> parse_time(std::string_view text, TimeBound bound = TimeBound::end);
// "2026-12-07T10:15:30Z" (seconds, UTC): what `ls` and `log` show, and parse_time reads back
// as the end of that second.
std::string format_time(std::int64_t unix_ms);

// Whether `name` may name a root: not empty, at most 255 bytes, no control character, none
// of '#', '~', '@' (selectors), and a relative path `unpack` can write inside its directory
// (no leading '/', no empty, "." or ".." component). Errc::invalid_argument saying why.
Result<void> check_root_name(std::string_view name);
// The name a file gets by default: its base name without .zst/.zstd/.gz and then .json
// ("dir/api.json.zst" -> "api"; "-" -> "stdin"), with '#', '~', '@' and control characters
// mapped to '_' and a name check_root_name refuses otherwise ("..", "") made "_".
std::string default_root_name(std::string_view file);

// The version `text` selects among `roots` (every version of every name, as
// RootCatalog::list_roots gives them). Errc::not_found when nothing matches, naming the
// candidates (the name's versions, or names like the one given); Errc::invalid_argument for
// a malformed selector or a key prefix that matches several documents (naming them).
Result<store::RootRecord> resolve_selector(std::span<const store::RootRecord> roots,
                                           std::string_view text);

// The versions `selectors` name among `roots`, each once, in the selectors' order: a name
// every version of it (by number), another selector the one version resolve_selector gives
// (its errors, at the first selector that fails). No selectors: every version, as given.
// What push and pull move; Archive::select with AllVersions::yes reads so too.
Result<std::vector<store::RootRecord>> select_versions(std::span<const store::RootRecord> roots,
                                                       std::span<const std::string> selectors);

} // namespace pagable
