// SPDX-License-Identifier: MIT OR Apache-2.0
// The selector grammar (pagable/selector.hpp; man/pagable.1 "SELECTORS"), root name rules and
// resolving selectors against versions.
#include <pagable/selector.hpp>

#include <catch2/catch.hpp>

using namespace pagable;

namespace {

store::RootRecord version(const std::string& name, std::uint64_t n, const std::string& key_hex,
                          std::int64_t ms)
{
  store::RootRecord r;
  r.name = name;
  r.version = n;
  r.key = Key::parse(key_hex + std::string(64 - key_hex.size(), '0')).value();
  r.created_unix_ms = ms;
  return r;
}

} // namespace

TEST_CASE("parse_time: ISO-8601, UTC unless an offset says otherwise, the end of the unit given",
          "[archive][selector]")
{
  // 2026-12-07T00:00:00Z is 1796601600 s.
  constexpr std::int64_t day = 1796601600000;
  CHECK(parse_time("2026-12-07").value() == day + 86'400'000 - 1);
  CHECK(parse_time("2026-12-07T10:15").value() == day + (10 * 3600 + 15 * 60) * 1000LL + 59'999);
  CHECK(parse_time("2026-12-07T10:15:30Z").value() == day + (10 * 3600 + 15 * 60 + 30) * 1000LL + 999);
  CHECK(parse_time("2026-12-07 10:15:30.25").value() == day + (10 * 3600 + 15 * 60 + 30) * 1000LL + 259);
  CHECK(parse_time("2026-12-07T10:15:30.123456Z").value() == day + (10 * 3600 + 15 * 60 + 30) * 1000LL + 123);
  CHECK(parse_time("2026-12-07T10:15:30+02:00").value() == day + (8 * 3600 + 15 * 60 + 30) * 1000LL + 999);
  CHECK(parse_time("2026-12-07T10:15:30-0130").value() == day + (11 * 3600 + 45 * 60 + 30) * 1000LL + 999);
  CHECK(parse_time("2026-12-07T01:00+03").value() == day - 2 * 3600 * 1000LL + 59'999);
  CHECK(parse_time("1970-01-01T00:00:00Z").value() == 999);
  CHECK(parse_time("2024-02-29").has_value());
  for (const char* bad : {"", "2026", "2026-13-01", "2025-02-29", "2026-12-07T25:00", "2026-12-07T10",
                          "2026-12-07T10:15:61", "2026-12-07T10:15Zjunk", "2026-12-07X", "07/12/2026",
                          "2026-12-07T10:15+2"}) {
    INFO(bad);
    const auto r = parse_time(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::invalid_argument);
  }
  // What ls and log show reads back as the end of that second.
  CHECK(parse_time(format_time(day + 1234)).value() == day + 1999);
  CHECK(format_time(day + 1234) == "2026-12-07T00:00:01Z");
  // Four digits of year, always (found by selector_fuzz: year 26 was written "26-10-30...").
  const std::int64_t year26 = parse_time("0026-10-30").value();
  CHECK(format_time(year26) == "0026-10-30T23:59:59Z");
  CHECK(parse_time(format_time(year26)).value() == year26);
}

TEST_CASE("parse_selector: NAME, NAME#N, NAME~K, NAME@TIME", "[archive][selector]")
{
  auto s = parse_selector("api").value();
  CHECK(s.name == "api");
  CHECK(s.kind == Selector::Kind::latest);
  s = parse_selector("api#42").value();
  CHECK((s.name == "api" && s.kind == Selector::Kind::number && s.count == 42));
  s = parse_selector("dir/api~0").value();
  CHECK((s.name == "dir/api" && s.kind == Selector::Kind::back && s.count == 0));
  s = parse_selector("api@2026-12-07").value();
  CHECK((s.name == "api" && s.kind == Selector::Kind::time));
  CHECK(s.unix_ms == parse_time("2026-12-07").value());
  for (const char* bad : {"api#0", "api#", "api#x", "api~", "api~-1", "#3", "~1", "@2026-01-01",
                          "api@yesterday", ""}) {
    INFO(bad);
    const auto r = parse_selector(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::invalid_argument);
  }
}

TEST_CASE("check_root_name refuses what selectors or unpack cannot take", "[archive][selector]")
{
  for (const char* good : {"api", "ci/run-1", "a.b", "x..y", "名前", ".hidden"}) {
    INFO(good);
    CHECK(check_root_name(good));
  }
  for (const std::string& bad : {std::string(), std::string("a#b"), std::string("a~1"), std::string("a@b"),
                                std::string("../x"), std::string("/abs"), std::string("a//b"),
                                std::string("a/"), std::string("a/./b"), std::string(".."),
                                std::string("tab\there"), std::string("nul\0x", 5), std::string("del\x7f"),
                                std::string(256, 'n')}) {
    INFO(bad);
    const auto r = check_root_name(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::invalid_argument);
  }
  CHECK(check_root_name(std::string(255, 'n')));
  CHECK(default_root_name("dir/api.github.com.json.zst") == "api.github.com");
  CHECK(default_root_name("runs/#41@ci~x.json") == "_41_ci_x");
  CHECK(default_root_name("-") == "stdin");
  CHECK(default_root_name("..") == "_");
  CHECK(default_root_name("a\x01" "b.json") == "a_b");
}

TEST_CASE("root names are UTF-8 text, and a file name's other bytes become '_'", "[archive][selector]")
{
  // A file named with a byte that is not UTF-8 became a root name that --json reports could
  // not write: pack exited 70 ("invalid UTF-8 byte"), an internal error.
  const auto r = check_root_name("bad\xff" "name");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == Errc::invalid_argument);
  CHECK_THAT(r.error().message(), Catch::Contains("bad?name") && Catch::Contains("not UTF-8"));
  CHECK_FALSE(check_root_name("\xc3"));         // a sequence cut short
  CHECK_FALSE(check_root_name("\xed\xa0\x80")); // a surrogate
  CHECK(default_root_name("dir/bad\xff" "name.json") == "bad_name");
  // Cut to 255 bytes between characters, never inside one.
  std::string long_name(254, 'n');
  long_name += "\xc3\xa9.json"; // "é" would end at byte 256
  const auto named = default_root_name(long_name);
  CHECK(named == std::string(254, 'n'));
  CHECK(check_root_name(named));
}

TEST_CASE("resolve_selector: every form, and the candidates when nothing or several match",
          "[archive][selector]")
{
  const std::int64_t t0 = parse_time("2026-12-01T00:00:00Z").value() - 999;
  const std::vector<store::RootRecord> roots = {
      version("api", 1, "aa11", t0),
      version("api", 2, "bb22", t0 + 3'600'000),
      version("api", 4, "cc33", t0 + 2 * 86'400'000),
      version("web", 1, "aa12", t0 + 1000),
      version("apx", 1, "dd44", t0 + 2000),
      version("legacy#1", 1, "ee55", t0 + 3000),
  };
  const auto pick = [&](const std::string& s) { return resolve_selector(roots, s); };
  CHECK(pick("api").value().version == 4);
  CHECK(pick("api#2").value().version == 2);
  CHECK(pick("api~0").value().version == 4);
  CHECK(pick("api~1").value().version == 2);
  CHECK(pick("api~2").value().version == 1);
  CHECK(pick("api@2026-12-01").value().version == 2);
  CHECK(pick("api@2026-12-01T00:59:59Z").value().version == 1);
  CHECK(pick("api@2026-12-01T01:00").value().version == 2);
  CHECK(pick("api@2026-12-01T04:00+03:00").value().version == 2);
  CHECK(pick("api@2026-12-01T03:00+03:00").value().version == 1);
  CHECK(pick("api@2030-01-01").value().version == 4);
  CHECK(pick("cc3").value().version == 4);       // a key prefix
  CHECK(pick("legacy#1").value().name == "legacy#1"); // an old name wins over a reading of it
  CHECK(pick("legacy#1#1").value().name == "legacy#1");

  const auto fails = [&](const std::string& s, Errc code, const std::string& says) {
    INFO(s);
    const auto r = pick(s);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == code);
    CHECK_THAT(r.error().message(), Catch::Contains(says));
  };
  fails("api#3", Errc::not_found, "api has versions 1-2, 4");
  fails("api~3", Errc::not_found, "api~0 to api~2");
  fails("api@2026-11-30", Errc::not_found, "its oldest is api#1");
  fails("apj", Errc::not_found, "names: api, apx");
  fails("apj#1", Errc::not_found, "names: api, apx");
  fails("aa1", Errc::invalid_argument, "api#1");     // two documents
  fails("aa1", Errc::invalid_argument, "web#1");
  fails("api#x", Errc::invalid_argument, "version number");
  fails("ffff", Errc::not_found, "no root named");
}

TEST_CASE("select_versions: a name every version of it, another selector one, each once, in the "
          "selectors' order",
          "[archive][selector]")
{
  const std::int64_t t0 = parse_time("2026-12-01T00:00:00Z").value();
  const std::vector<store::RootRecord> roots = {
      version("api", 2, "bb22", t0 + 1000),
      version("web", 1, "aa12", t0 + 500),
      version("api", 1, "aa11", t0),
  };
  const auto names = [&](std::vector<std::string> selectors) {
    std::vector<std::string> out;
    const auto selected = select_versions(roots, selectors);
    REQUIRE(selected);
    for (const auto& r : *selected) {
      out.push_back(r.name + "#" + std::to_string(r.version));
    }
    return out;
  };
  CHECK(names({}) == std::vector<std::string>{"api#2", "web#1", "api#1"}); // as given
  CHECK(names({"api"}) == std::vector<std::string>{"api#1", "api#2"});     // by number
  CHECK(names({"web", "api#2"}) == std::vector<std::string>{"web#1", "api#2"});
  CHECK(names({"api~1", "api", "aa12"}) == std::vector<std::string>{"api#1", "api#2", "web#1"});
  const std::vector<std::string> missing{"web", "api#3"};
  const auto r = select_versions(roots, missing);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == Errc::not_found);
}
