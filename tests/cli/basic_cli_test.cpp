// SPDX-License-Identifier: MIT OR Apache-2.0
// End-to-end: the built pagable binary, its help, version, exit codes and --json reports.
#include <pagable/store.hpp>

#include "store/sqlite_store.hpp"

#include "support/report_schema.hpp"
#include "support/run_pagable.hpp"
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using test::run_pagable;
using test::run_process;

namespace {

std::string make_archive(const test::TempDir& dir)
{
  const auto path = dir.file("a.pagable");
  pagable::store::SqliteOptions o;
  o.mode = pagable::store::OpenMode::create;
  auto s = pagable::store::open_sqlite_store(path, o).value();
  const auto leaf = s->put(pagable::Blob{test::bytes("leaf"), {}}).value();
  const auto top = s->put(pagable::Blob{test::bytes("top"), {leaf}}).value();
  pagable::store::RootRecord r;
  r.name = "run-1";
  r.key = top;
  r.labels = {{"job", "42"}};
  REQUIRE(s->commit_root(r));
  return path;
}

} // namespace

TEST_CASE("cli: --help lists the commands and the exit codes", "[cli]")
{
  const auto r = run_pagable({"--help"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("ls") && Catch::Contains("stat") &&
                        Catch::Contains("Exit status"));
}

TEST_CASE("cli: --version names the archive format", "[cli]")
{
  const auto r = run_pagable({"--version"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("pagable 0.1.0") && Catch::Contains("archive format 6; reads 0 to 6"));
}

TEST_CASE("cli: usage errors exit 2", "[cli]")
{
  CHECK(run_pagable({"--no-such-option"}).exit_code == 2);
  CHECK(run_pagable({"no-such-command"}).exit_code == 2);
  CHECK(run_pagable({}).exit_code == 2);
  CHECK(run_pagable({"ls"}, {}, {"PAGABLE_ARCHIVE="}).exit_code == 2);
}

TEST_CASE("cli: an unusable archive exits 5 with a message naming it", "[cli]")
{
  test::TempDir dir;
  SECTION("missing")
  {
    const auto r = run_pagable({"ls", dir.file("nope.pagable")});
    CHECK(r.exit_code == 5);
    CHECK_THAT(r.err, Catch::Contains("nope.pagable"));
  }
  SECTION("not SQLite, with --json")
  {
    test::write_file(dir.file("junk"), "this is not a database at all, just some text");
    const auto r = run_pagable({"--json", "stat", dir.file("junk")});
    CHECK(r.exit_code == 5);
    const auto report = test::check_report(PAGABLE_SOURCE_DIR, r.out, "error");
    CHECK(report["error"]["code"] == "unusable_archive");
    CHECK(report["error"]["exit_code"] == 5);
  }
}

TEST_CASE("cli: ls and stat report on an archive, as text and --json", "[cli]")
{
  test::TempDir dir;
  const auto path = make_archive(dir);
  const auto ls = run_pagable({"ls", path});
  CHECK(ls.exit_code == 0);
  CHECK_THAT(ls.out, Catch::Contains("run-1") && Catch::Contains("job=42"));
  const auto ls_json = run_pagable({"ls", path, "--json"});
  REQUIRE(ls_json.exit_code == 0);
  const auto roots = test::check_report(PAGABLE_SOURCE_DIR, ls_json.out, "ls")["roots"];
  REQUIRE(roots.size() == 1);
  CHECK(roots[0]["name"] == "run-1");
  CHECK(roots[0]["labels"]["job"] == "42");
  const auto stat = run_pagable({"--json", "stat"}, {}, {"PAGABLE_ARCHIVE=" + path});
  REQUIRE(stat.exit_code == 0);
  const auto s = test::check_report(PAGABLE_SOURCE_DIR, stat.out, "stat");
  CHECK(s["roots"] == 1);
  CHECK(s["blobs"] == 2);
}

TEST_CASE("cli: output that cannot be written exits 6, however small", "[cli]")
{
  // A few bytes sit in stdio's buffer until exit: their failed write was not checked, and a
  // report lost to a full disk exited 0.
  test::TempDir dir;
  const auto path = make_archive(dir);
  const auto to_full = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"/bin/sh", "-c", "exec \"$0\" \"$@\" > /dev/full", PAGABLE_BINARY});
    return run_process(args);
  };
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--json", "ls", path}, {"ls", path}, {"stat", path}}) {
    INFO(args[args.size() - 2]);
    const auto r = to_full(args);
    CHECK(r.exit_code == 6);
    CHECK_THAT(r.err, Catch::Contains("standard output") && Catch::Contains("No space left"));
  }
  // The same commands into a working output succeed.
  CHECK(run_pagable({"--json", "ls", path}).exit_code == 0);
}
