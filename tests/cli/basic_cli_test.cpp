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

#include <filesystem>

#include <unistd.h>

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

TEST_CASE("cli: messages a new user tripped on say what and where, once", "[cli]")
{
  // The newcomer trial (reference/newcomer-trial, item 21/22): a missing file was named twice,
  // a directory gave an I/O error, a pointer without '/' ran into the root's name, a negative
  // --lock-wait printed a 309-digit bound, and `pack A - -` failed on the second read.
  test::TempDir dir;
  const auto archive = dir.file("a.pagable");
  const auto doc = dir.file("s.json");
  test::write_file(doc, R"({"info":{"title":"t"}})");
  REQUIRE(run_pagable({"pack", archive, doc, "--quiet"}).exit_code == 0);
  const auto count = [](const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
      ++n;
    }
    return n;
  };

  const auto missing = dir.file("missing.json");
  auto r = run_pagable({"pack", archive, missing});
  CHECK(r.exit_code == 2);
  CHECK(count(r.err, "missing.json") == 1);
  CHECK_THAT(r.err, Catch::Contains("missing.json: No such file or directory"));
  test::write_file(dir.file("schema.json"), "{}");
  r = run_pagable({"validate", "--schema", dir.file("schema.json"), missing});
  CHECK(r.exit_code == 2);
  CHECK(count(r.err, "missing.json") == 1);

  r = run_pagable({"ls", dir.path()});
  CHECK(r.exit_code == 5);
  CHECK_THAT(r.err, Catch::Contains(dir.path() + " is a directory, not a pagable archive"));

  r = run_pagable({"hydrate", archive, "s", "--at", "info"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("--at info: a JSON pointer"));
  CHECK(run_pagable({"hydrate", archive, "s", "--at", "/info/title"}).out == "\"t\"");

  r = run_pagable({"--lock-wait", "-1", "ls", archive});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("a number of seconds, 0 or more"));
  CHECK(r.err.size() < 200);
  CHECK(run_pagable({"--lock-wait", "0.5", "ls", archive}).exit_code == 0);

  const auto fresh = dir.file("fresh.pagable");
  r = run_pagable({"pack", fresh, "-", "-"}, R"({"a":1})");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("standard input ('-') can be read once"));
  CHECK_FALSE(std::filesystem::exists(fresh));
}

TEST_CASE("cli: a read-only archive reads, and a writer says so up front leaving no -wal or -shm", "[cli]")
{
  // Newcomer trial item 14: pack and gc on a read-only archive failed with "attempt to write a
  // readonly database" naming no file, and left -wal and -shm beside it. As root (who may
  // write anything) the commands run as nobody through setpriv.
  test::TempDir dir;
  std::filesystem::permissions(dir.path(), std::filesystem::perms::all);
  const auto archive = dir.file("r.pagable");
  const auto doc = dir.file("d.json");
  test::write_file(doc, R"({"a":[1,2,3]})");
  REQUIRE(run_pagable({"pack", archive, doc, "--quiet"}).exit_code == 0);
  std::vector<std::string> as_user{PAGABLE_BINARY};
  if (::geteuid() == 0) {
    auto setpriv = run_process({"/bin/sh", "-c", "command -v setpriv"});
    if (setpriv.exit_code != 0) {
      PAGABLE_SKIP("running as root without setpriv: no unprivileged user to try as");
    }
    setpriv.out.erase(setpriv.out.find_last_not_of('\n') + 1);
    as_user = {setpriv.out, "--reuid=65534", "--regid=65534", "--clear-groups", PAGABLE_BINARY};
  }
  const auto run_as = [&](std::vector<std::string> args) {
    args.insert(args.begin(), as_user.begin(), as_user.end());
    return run_process(args);
  };
  const auto leftovers = [&] {
    return std::filesystem::exists(archive + "-wal") || std::filesystem::exists(archive + "-shm");
  };
  using std::filesystem::perms;
  SECTION("the file is read-only")
  {
    std::filesystem::permissions(archive, perms::owner_read | perms::group_read | perms::others_read);
    CHECK(run_as({"ls", archive}).exit_code == 0);
    CHECK(run_as({"hydrate", archive, "d", "--at", "/a/1"}).out == "2");
    for (const auto& cmd : {std::vector<std::string>{"pack", archive, doc, "--name", "e"},
                            std::vector<std::string>{"gc", archive}}) {
      const auto r = run_as(cmd);
      INFO(cmd.front() << ": " << r.err);
      CHECK(r.exit_code == 6);
      CHECK_THAT(r.err, Catch::Contains(archive + " is read-only"));
      CHECK_FALSE(leftovers());
    }
  }
  SECTION("its directory is read-only")
  {
    std::filesystem::permissions(archive, perms::all);
    std::filesystem::permissions(dir.path(), perms::owner_all | perms::group_read | perms::group_exec |
                                                 perms::others_read | perms::others_exec);
    CHECK(run_as({"verify", archive}).exit_code == 0);
    const auto r = run_as({"pack", archive, doc, "--name", "e"});
    CHECK(r.exit_code == 6);
    CHECK_THAT(r.err, Catch::Contains("its directory " + dir.path() + " is read-only"));
    CHECK_FALSE(leftovers());
    std::filesystem::permissions(dir.path(), perms::all);
  }
}

TEST_CASE("cli: a file whose name is not UTF-8 packs under a name that is", "[cli]")
{
  // pack exited 70 (internal error: "invalid UTF-8 byte") writing its report.
  test::TempDir dir;
  const auto archive = dir.file("a.pagable");
  const auto file = dir.file("bad\xff" "name.json");
  test::write_file(file, R"({"a":1})");
  const auto r = run_pagable({"--json", "pack", archive, file});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.out)["documents"][0]["root"] == "bad_name");
  const auto named = run_pagable({"pack", archive, file, "--name", "x\xff"});
  CHECK(named.exit_code == 2);
  CHECK_THAT(named.err, Catch::Contains("not UTF-8"));
}

TEST_CASE("cli: a label that is not UTF-8 is refused, not a crash", "[cli]")
{
  // pack aborted (exit 134: an exception escaped) storing the labels as JSON.
  test::TempDir dir;
  const auto archive = dir.file("a.pagable");
  test::write_file(dir.file("d.json"), R"({"a":1})");
  const auto r = run_pagable({"pack", archive, dir.file("d.json"), "--label", "k=v\xff"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("UTF-8"));
  CHECK(run_pagable({"pack", archive, dir.file("d.json"), "--label", "k=v"}).exit_code == 0);
}
