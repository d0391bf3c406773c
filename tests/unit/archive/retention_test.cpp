// SPDX-License-Identifier: MIT OR Apache-2.0
// Retention (pagable/retention.hpp) against restic itself: one synthetic calendar of versions
// is made into restic snapshots (`restic backup --time`), and for each policy the versions
// apply_policy keeps must be exactly the snapshots `restic forget --dry-run --json` keeps.
#include <pagable/retention.hpp>
#include <pagable/selector.hpp>

#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <set>

using namespace pagable;

namespace {

bool have_restic()
{
  return ::access("/usr/bin/restic", X_OK) == 0;
}

// A calendar of `n` versions, oldest first, with gaps from minutes to months (so that every
// bucket, hourly to yearly, holds several versions and some hold one), labelled env=prod
// every seventh, ending well in the past.
std::vector<store::RootRecord> calendar(int n)
{
  static constexpr std::int64_t k_gaps_min[] = {7, 50, 130, 600, 1300, 2900, 4400, 9000, 26000, 70000};
  std::int64_t t = parse_time("2023-01-30T22:15:00Z").value() - 999;
  std::uint64_t lcg = 12345;
  std::vector<store::RootRecord> out;
  for (int i = 1; i <= n; ++i) {
    store::RootRecord r;
    r.name = "doc";
    r.version = static_cast<std::uint64_t>(i);
    r.created_unix_ms = t;
    if (i % 7 == 0) {
      r.labels["env"] = "prod";
    }
    out.push_back(r);
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    t += k_gaps_min[(lcg >> 33) % std::size(k_gaps_min)] * 60'000 + static_cast<std::int64_t>((lcg >> 20) % 60) * 1000;
  }
  return out;
}

std::string restic_time(std::int64_t ms)
{
  std::string t = format_time(ms); // 2023-01-30T22:15:00Z
  t[10] = ' ';
  t.pop_back();
  return t;
}

std::set<std::uint64_t> kept_by_pagable(const std::vector<store::RootRecord>& versions, const KeepPolicy& p)
{
  std::set<std::uint64_t> out;
  for (const auto& d : apply_policy(versions, p, parse_time("2026-01-01").value())) {
    if (d.keep) {
      out.insert(d.version.version);
    }
  }
  return out;
}

} // namespace

TEST_CASE("retention: parse_span reads restic's spans", "[archive][retention]")
{
  const auto s = parse_span("1y5m7d2h").value();
  CHECK((s.years == 1 && s.months == 5 && s.days == 7 && s.hours == 2));
  CHECK(parse_span("36h").value().hours == 36);
  for (const char* bad : {"", "7", "2w", "d", "1d2"}) {
    INFO(bad);
    CHECK_FALSE(parse_span(bad));
  }
}

TEST_CASE("retention: an empty policy keeps everything, keep-last keeps the newest", "[archive][retention]")
{
  const auto versions = calendar(10);
  CHECK(kept_by_pagable(versions, {}).size() == 10);
  KeepPolicy last2;
  last2.last = 2;
  CHECK(kept_by_pagable(versions, last2) == std::set<std::uint64_t>{9, 10});
}

TEST_CASE("retention: keeps exactly what restic forget keeps for the same calendar",
          "[archive][retention][restic]")
{
  if (!have_restic()) {
    PAGABLE_SKIP("restic is not installed (scripts/setup installs it)");
  }
  test::TempDir dir;
  const auto versions = calendar(48);
  const std::vector<std::string> env = {"RESTIC_PASSWORD=pagable-test", "TZ=UTC",
                                        "RESTIC_CACHE_DIR=" + dir.file("cache"),
                                        "RESTIC_REPOSITORY=" + dir.file("repo")};
  const std::string file = dir.file("doc.json");
  test::write_file(file, "{}");
  REQUIRE(test::run_process({"/usr/bin/restic", "init", "-q"}, "", env).exit_code == 0);
  for (const auto& v : versions) {
    std::vector<std::string> cmd = {"/usr/bin/restic", "backup", "-q", "--host", "ci", "--time",
                                    restic_time(v.created_unix_ms), "--tag",
                                    "v" + std::to_string(v.version)};
    for (const auto& [k, val] : v.labels) {
      cmd.insert(cmd.end(), {"--tag", k + "=" + val});
    }
    cmd.push_back(file);
    const auto r = test::run_process(cmd, "", env);
    REQUIRE(r.exit_code == 0);
  }
  struct Case {
    std::vector<std::string> flags;
    KeepPolicy policy;
  };
  std::vector<Case> cases;
  const auto add = [&](std::vector<std::string> flags, auto&& set) {
    KeepPolicy p;
    set(p);
    cases.push_back({std::move(flags), p});
  };
  add({"--keep-last", "5"}, [](KeepPolicy& p) { p.last = 5; });
  add({"--keep-hourly", "6"}, [](KeepPolicy& p) { p.hourly = 6; });
  add({"--keep-daily", "9"}, [](KeepPolicy& p) { p.daily = 9; });
  add({"--keep-weekly", "7"}, [](KeepPolicy& p) { p.weekly = 7; });
  add({"--keep-monthly", "8"}, [](KeepPolicy& p) { p.monthly = 8; });
  add({"--keep-yearly", "3"}, [](KeepPolicy& p) { p.yearly = 3; });
  add({"--keep-within", "1m10d"}, [](KeepPolicy& p) { p.within = parse_span("1m10d").value(); });
  add({"--keep-within", "6m"}, [](KeepPolicy& p) { p.within = parse_span("6m").value(); });
  add({"--keep-tag", "env=prod", "--keep-last", "2"}, [](KeepPolicy& p) {
    p.labels.push_back({{"env", "prod"}});
    p.last = 2;
  });
  add({"--keep-last", "2", "--keep-daily", "3", "--keep-weekly", "4", "--keep-monthly", "5",
       "--keep-yearly", "10"},
      [](KeepPolicy& p) {
        p.last = 2;
        p.daily = 3;
        p.weekly = 4;
        p.monthly = 5;
        p.yearly = 10;
      });
  add({"--keep-hourly", "3", "--keep-within", "20d", "--keep-monthly", "2"}, [](KeepPolicy& p) {
    p.hourly = 3;
    p.within = parse_span("20d").value();
    p.monthly = 2;
  });
  for (const auto& c : cases) {
    std::string shown;
    for (const auto& f : c.flags) {
      shown += f + " ";
    }
    INFO(shown);
    std::vector<std::string> cmd = {"/usr/bin/restic", "forget", "--dry-run", "--json"};
    cmd.insert(cmd.end(), c.flags.begin(), c.flags.end());
    const auto r = test::run_process(cmd, "", env);
    REQUIRE(r.exit_code == 0);
    const auto groups = nlohmann::json::parse(r.out.substr(r.out.find('[')));
    REQUIRE(groups.size() == 1);
    std::set<std::uint64_t> restic_keeps;
    for (const auto& sn : groups[0]["keep"]) {
      for (const auto& tag : sn["tags"]) {
        const auto t = tag.get<std::string>();
        if (t[0] == 'v') {
          restic_keeps.insert(std::stoull(t.substr(1)));
        }
      }
    }
    CHECK(kept_by_pagable(versions, c.policy) == restic_keeps);
    CHECK(restic_keeps.size() < versions.size()); // the case removes something
  }
}
