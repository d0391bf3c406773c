// SPDX-License-Identifier: MIT OR Apache-2.0
// libFuzzer target: what users type where a version or a value is named -- selectors
// (NAME, NAME#N, NAME~K, NAME@TIME, key prefixes), ISO-8601 times, root names and JSON
// pointers (`hydrate --at`). Properties checked, besides no crash, hang or sanitizer report:
// - every refusal is Errc::invalid_argument (resolving: or Errc::not_found), never another;
// - a parsed NAME#N or NAME~K, written back in its canonical form, parses to the same parts;
// - a time's first instant is not after its last, and format_time's text reads back as the
//   end of the second it names;
// - the name a file gets by default is always one check_root_name accepts;
// - a parsed pointer's tokens, escaped and joined, parse back to the same tokens;
// - a resolved selector names one of the versions it was resolved against.
// Seeds: tests/fuzz/corpus/selector_fuzz (committed; the default test run replays them).
#include "fuzz_support.hpp"

#include <pagable/selector.hpp>

#include <array>
#include <string>

using namespace pagable;

namespace {

void check_refusal(const Error& e, const char* what)
{
  if (e.code() != Errc::invalid_argument) {
    fuzz::fail("selector_fuzz", std::string(what) + " refused with an unexpected error: " + e.message());
  }
}

void check_selector(const std::string& text)
{
  auto s = parse_selector(text);
  if (!s) {
    check_refusal(s.error(), "parse_selector");
    return;
  }
  if (s->kind == Selector::Kind::number || s->kind == Selector::Kind::back) {
    const std::string again =
        s->name + (s->kind == Selector::Kind::number ? "#" : "~") + std::to_string(s->count);
    auto t = parse_selector(again);
    if (!t || t->name != s->name || t->kind != s->kind || t->count != s->count) {
      fuzz::fail("selector_fuzz", "\"" + again + "\" does not parse back to what \"" + text + "\" gave");
    }
  }
}

void check_time(const std::string& text)
{
  auto end = parse_time(text, TimeBound::end);
  auto start = parse_time(text, TimeBound::start);
  if (!end || !start) {
    if (!end) {
      check_refusal(end.error(), "parse_time");
    }
    if (!start) {
      check_refusal(start.error(), "parse_time");
    }
    if (end.has_value() != start.has_value()) {
      fuzz::fail("selector_fuzz", "\"" + text + "\" parses as one bound and not the other");
    }
    return;
  }
  if (*start > *end) {
    fuzz::fail("selector_fuzz", "\"" + text + "\" starts after it ends");
  }
  // format_time shows the second an instant falls in; read back, it is that second's end.
  const auto second_of = [](std::int64_t ms) { return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000); };
  const std::string shown = format_time(*end);
  auto back = parse_time(shown);
  if (!back || second_of(*back) != second_of(*end)) {
    fuzz::fail("selector_fuzz", "format_time gave \"" + shown + "\", which does not read back");
  }
}

void check_names(const std::string& text)
{
  const auto named = default_root_name(text);
  if (auto ok = check_root_name(named); !ok) {
    fuzz::fail("selector_fuzz", "the default name \"" + named + "\" is refused: " + ok.error().message());
  }
  if (auto ok = check_root_name(text); !ok) {
    check_refusal(ok.error(), "check_root_name");
  }
}

void check_pointer(const std::string& text)
{
  auto tokens = util::parse_pointer(text);
  if (!tokens) {
    check_refusal(tokens.error(), "parse_pointer");
    return;
  }
  std::string joined;
  for (const auto& t : *tokens) {
    joined += '/'; // one append at a time: g++ 12 -O3 misreads "/" + string (-Wrestrict)
    joined += util::escape_pointer_token(t);
  }
  auto again = util::parse_pointer(joined);
  if (!again || *again != *tokens) {
    fuzz::fail("selector_fuzz",
               "pointer \"" + joined + "\" does not parse back to the tokens of \"" + text + "\"");
  }
}

void check_resolve(const std::string& text)
{
  static const std::array<store::RootRecord, 5> roots = [] {
    std::array<store::RootRecord, 5> r;
    const char* names[] = {"api", "api", "api", "a#b", "web/site"};
    for (std::size_t i = 0; i < r.size(); ++i) {
      r[i].name = names[i];
      r[i].version = i < 3 ? i + 1 : 1; // api#1..3, a#b#1, web/site#1
      r[i].created_unix_ms = 1796600000000 + static_cast<std::int64_t>(i) * 3600000;
      Bytes b{static_cast<std::uint8_t>(i)};
      r[i].key = Blob{b, {}}.key();
    }
    return r;
  }();
  auto found = resolve_selector(roots, text);
  if (!found) {
    if (found.error().code() != Errc::not_found) {
      check_refusal(found.error(), "resolve_selector");
    }
    return;
  }
  for (const auto& r : roots) {
    if (r.name == found->name && r.version == found->version && r.key == found->key) {
      return;
    }
  }
  fuzz::fail("selector_fuzz", "\"" + text + "\" resolved to a version that was not offered");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string text(reinterpret_cast<const char*>(data), size);
  check_selector(text);
  check_time(text);
  check_names(text);
  check_pointer(text);
  check_resolve(text);
  return 0;
}
