// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable gc REMOTE end to end: retention over the real registry's versions, the grace
// period, --dry-run, and a registry that refuses DELETE.
#include <pagable/remote.hpp>

#include "support/registry_fixture.hpp"
#include "support/remote_helpers.hpp"
#include "support/run_pagable.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <ctime>

using test::remote_versions;
using test::run_pagable;

namespace {

// ISO-8601 (UTC) of `hours` hours before now.
std::string hours_ago(int hours)
{
  const std::time_t t = std::time(nullptr) - static_cast<std::time_t>(hours) * 3600;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// Three versions of "doc" made 240, 2 and 1 hours ago, pushed to `url`.
void push_history(const test::TempDir& dir, const std::string& url)
{
  const std::string a = dir.file("a.pagable");
  int n = 0;
  for (const int hours : {240, 2, 1}) {
    const std::string file = dir.file(test::cat("v", ++n, ".json"));
    test::write_file(file, test::cat("{\"version\":", n, ",\"items\":[1,2,3]}"));
    const auto packed = run_pagable({"pack", a, file, "--name", "doc", "--time", hours_ago(hours)});
    INFO(packed.err);
    REQUIRE(packed.exit_code == 0);
  }
  const auto pushed = run_pagable({"push", a, url});
  INFO(pushed.err);
  REQUIRE(pushed.exit_code == 0);
}

} // namespace

TEST_CASE("remote gc: retention deletes only manifests older than the grace period, and --dry-run deletes nothing",
          "[cli][remote]")
{
  test::TempDir dir;
  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), {});
  const std::string url = reg->url("ci/gc");
  push_history(dir, url);
  REQUIRE(remote_versions(url).size() == 3);

  const auto dry = run_pagable({"--json", "gc", url, "--keep-last", "1", "--dry-run"});
  INFO(dry.err);
  REQUIRE(dry.exit_code == 0);
  const auto planned = test::report_of(dry, "gc-remote");
  CHECK(planned["dry_run"] == true);
  CHECK(planned["grace_seconds"] == 24 * 3600);
  REQUIRE(planned["names"].size() == 1);
  const auto& doc = planned["names"][0];
  CHECK(doc["keep"].size() == 1);
  CHECK(doc["keep"][0]["version"] == 3);
  REQUIRE(doc["in_grace"].size() == 1); // dropped by retention, but 2 hours old
  CHECK(doc["in_grace"][0]["version"] == 2);
  REQUIRE(doc["delete"].size() == 1);
  CHECK(doc["delete"][0]["version"] == 1);
  CHECK(planned["manifests_deleted"] == 0);
  CHECK(remote_versions(url).size() == 3);

  const auto done = run_pagable({"--json", "gc", url, "--keep-last", "1"});
  INFO(done.err);
  REQUIRE(done.exit_code == 0);
  CHECK(test::report_of(done, "gc-remote")["manifests_deleted"] == 1);
  const auto left = remote_versions(url);
  REQUIRE(left.size() == 2);
  // The version within the grace period is still readable, and so is the newest by name.
  CHECK(run_pagable({"hydrate", url, "doc#1", "--at", "/version", "--cache", dir.file("cache")}).out == "2");
  CHECK(run_pagable({"hydrate", url, "doc", "--at", "/version", "--cache", dir.file("cache")}).out == "3");

  // A shorter grace lets the second go too; a policy is required.
  const auto shorter = run_pagable({"--json", "gc", url, "--keep-last", "1", "--grace", "1h"});
  INFO(shorter.err);
  REQUIRE(shorter.exit_code == 0);
  CHECK(test::report_of(shorter, "gc-remote")["manifests_deleted"] == 1);
  CHECK(remote_versions(url).size() == 1);
  CHECK(run_pagable({"gc", url}).exit_code == 2);
  CHECK(run_pagable({"gc", url, "--keep-last", "1", "--grace", "soon"}).exit_code == 2);
}

TEST_CASE("remote gc: a registry that refuses DELETE gets a clear message and exit 8", "[cli][remote]")
{
  test::TempDir dir;
  test::RegistryConfig config;
  config.refuse_delete = true;
  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), config);
  const std::string url = reg->url("ci/nodelete");
  push_history(dir, url);
  const auto refused = run_pagable({"--json", "gc", url, "--keep-last", "1", "--grace", "0h"});
  CHECK(refused.exit_code == 8);
  const auto error = test::report_of(refused, "error");
  CHECK(error["error"]["code"] == "unsupported");
  CHECK(error["error"]["message"].get<std::string>().find("does not allow deleting") != std::string::npos);
  CHECK(error["error"]["message"].get<std::string>().find(reg->host()) != std::string::npos);
  CHECK(remote_versions(url).size() == 3);
}
