// SPDX-License-Identifier: MIT OR Apache-2.0
// End-to-end: pagable verify, gc and rm on archives built through the library, their exit
// codes and their --json reports checked against schemas/report-<cmd>.schema.json.
#include <pagable/store.hpp>

#include "support/archive_fixture.hpp"
#include "support/gcc_false_positive.hpp"
#include "support/report_schema.hpp"
#include "support/run_pagable.hpp"
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using test::run_pagable;
using test::report_of;
using namespace test::archive;
using nlohmann::json;

namespace {

struct Archive {
  std::string path;
  Doc a, b;
};

Archive build(const test::TempDir& dir)
{
  Archive t;
  t.path = dir.file("a.pagable");
  auto s = open(t.path);
  t.a = put_doc(*s, "A", 20, 10);
  t.b = put_doc(*s, "B", 20, 10);
  commit(*s, "A", t.a.top);
  commit(*s, "B", t.b.top);
  return t;
}

} // namespace

TEST_CASE("cli verify: clean archive exits 0 at every level", "[cli][verify]")
{
  test::TempDir dir;
  const auto t = build(dir);
  for (const std::string level : {"--quick", "--connectivity", "-j2"}) {
    const auto r = run_pagable({"--json", "verify", t.path, level});
    INFO(level << r.err);
    CHECK(r.exit_code == 0);
    const auto report = report_of(r, "verify");
    CHECK(report["ok"] == true);
    CHECK(report["problems"].empty());
  }
  const auto human = run_pagable({"verify", t.path});
  CHECK(human.exit_code == 0);
  CHECK_THAT(human.out, Catch::Contains("ok"));
  CHECK(run_pagable({"verify", t.path, "--quick", "--deep"}).exit_code == 2);
  CHECK(run_pagable({"verify", t.path, "--subset", "5/4"}).exit_code == 2);
  CHECK(run_pagable({"verify", t.path, "no-such-root"}).exit_code == 2);
  // Roots without a schema are not schema-checked, and that is not a problem.
  const auto deep = run_pagable({"--json", "verify", t.path, "--deep"});
  CHECK(deep.exit_code == 0);
  CHECK(report_of(deep, "verify")["roots_without_schema"] == 2);
}

TEST_CASE("cli verify: damage exits 3 and names kind, key and roots", "[cli][verify]")
{
  test::TempDir dir;
  const auto t = build(dir);
  const Key victim = *std::find_if(t.b.privates.begin(), t.b.privates.end(),
                                   [&](const Key& k) { return k != t.b.top; });
  delete_blob_row(t.path, victim);
  const auto r = run_pagable({"--json", "verify", t.path});
  CHECK(r.exit_code == 3);
  const auto report = report_of(r, "verify");
  CHECK(report["ok"] == false);
  REQUIRE(report["problems"].size() == 1);
  // Its parent names it by row id (format 6): the parent's row is what verify can report.
  CHECK(report["problems"][0]["kind"] == "bad_index_row");
  CHECK_THAT(report["problems"][0]["detail"].get<std::string>(), Catch::Contains("not in the store"));
  CHECK(report["problems"][0]["roots"] == json::array({"B#1"}));
  CHECK_FALSE(report["suggestion"].get<std::string>().empty());
  const auto human = run_pagable({"verify", t.path});
  CHECK(human.exit_code == 3);
  CHECK_THAT(human.out, Catch::Contains("bad_index_row") && Catch::Contains("[roots: B#1]") &&
                            Catch::Contains("next step"));
}

TEST_CASE("cli verify: a non-SQLite file exits 5, a truncated one exits 3 or 5, never crashes",
          "[cli][verify]")
{
  test::TempDir dir;
  test::write_file(dir.file("junk"), std::string(9000, 'x'));
  const auto junk = run_pagable({"--json", "verify", dir.file("junk")});
  CHECK(junk.exit_code == 5);
  CHECK(json::parse(junk.out)["error"]["code"] == "unusable_archive");
  const auto t = build(dir);
  {
    auto s = open(t.path, pagable::store::OpenMode::read_write);
    for (int i = 0; i < 30; ++i) {
      PAGABLE_GCC_FALSE_POSITIVE_BEGIN("-Wrestrict") // g++ 12 false positive, GCC bug 105329
      const auto d = put_doc(*s, "C" + std::to_string(i), 5, 60);
      commit(*s, "C" + std::to_string(i), d.top);
      PAGABLE_GCC_FALSE_POSITIVE_END
    }
  }
  const auto size = std::filesystem::file_size(t.path);
  for (const auto keep : {size / 2, size / 5, std::uintmax_t{100}}) {
    std::filesystem::resize_file(t.path, keep);
    const auto r = run_pagable({"verify", t.path});
    INFO("kept " << keep << " bytes: " << r.err << r.out);
    CHECK((r.exit_code == 3 || r.exit_code == 5));
    if (r.exit_code == 5) {
      CHECK_THAT(r.err, Catch::Contains("a.pagable") && Catch::Contains("pagable: error"));
    } else {
      CHECK_THAT(r.out, Catch::Contains("next step"));
    }
  }
}

TEST_CASE("cli rm + gc: rm by name, gc frees, dry run changes no byte, gc again frees nothing",
          "[cli][gc]")
{
  test::TempDir dir;
  const auto t = build(dir);
  CHECK(run_pagable({"rm", t.path, "A", "nope"}).exit_code == 2); // nothing removed
  const auto rm = run_pagable({"--json", "rm", t.path, "A"});
  CHECK(rm.exit_code == 0);
  CHECK(report_of(rm, "rm")["removed"] == json::array({"A"}));

  const auto stat = run_pagable({"--json", "stat", t.path});
  REQUIRE(stat.exit_code == 0);
  const auto st = json::parse(stat.out);
  CHECK(st["unreachable_blobs"] == t.a.privates.size());
  CHECK(st["reclaimable_bytes"].get<std::uint64_t>() > 0);

  const std::string before = test::read_file(t.path);
  const auto dry = run_pagable({"--json", "gc", t.path, "--dry-run"});
  CHECK(dry.exit_code == 0);
  const auto dry_report = report_of(dry, "gc");
  CHECK(test::read_file(t.path) == before);
  CHECK(dry_report["dry_run"] == true);
  CHECK(dry_report["blobs_removed"] == t.a.privates.size());
  CHECK(dry_report["bytes_freed"] == st["reclaimable_bytes"]);

  const auto gc = run_pagable({"--json", "gc", t.path});
  CHECK(gc.exit_code == 0);
  const auto gc_report = report_of(gc, "gc");
  CHECK(gc_report["dry_run"] == false);
  CHECK(gc_report["blobs_removed"] == dry_report["blobs_removed"]);
  CHECK(gc_report["bytes_freed"] == dry_report["bytes_freed"]);
  CHECK(test::read_file(t.path) != before);
  CHECK(run_pagable({"verify", t.path}).exit_code == 0);

  const auto again = report_of(run_pagable({"--json", "gc", t.path, "--compact"}), "gc");
  CHECK(again["blobs_removed"] == 0);
  CHECK(again["bytes_freed"] == 0);
  CHECK(again["compact"] == true);
  CHECK(json::parse(run_pagable({"--json", "stat", t.path}).out)["reclaimable_bytes"] == 0);
}

TEST_CASE("cli rm --keep-last N [--prefix P] keeps the newest N", "[cli][gc]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  {
    auto s = open(path);
    for (int i = 0; i < 5; ++i) {
      for (const std::string job : {"nightly-", "pr-"}) {
        const std::string name = job + std::to_string(i);
        const Key k = put(*s, name);
        pagable::store::RootRecord r;
        r.name = name;
        r.key = k;
        r.created_unix_ms = 1'000'000 + i * 1000;
        REQUIRE(s->commit_root(r));
      }
    }
  }
  CHECK(run_pagable({"rm", path}).exit_code == 2);
  CHECK(run_pagable({"rm", path, "pr-1", "--keep-last", "2"}).exit_code == 2);
  CHECK(run_pagable({"rm", path, "pr-1", "--prefix", "pr-"}).exit_code == 2);
  const auto r = run_pagable({"--json", "rm", path, "--keep-last", "2", "--prefix", "nightly-"});
  CHECK(r.exit_code == 0);
  CHECK(report_of(r, "rm")["removed"] == json::array({"nightly-0", "nightly-1", "nightly-2"}));
  const auto all = run_pagable({"--json", "rm", path, "--keep-last", "2"});
  CHECK(report_of(all, "rm")["removed"] ==
        json::array({"pr-0", "pr-1", "pr-2", "nightly-3", "pr-3"}));
  auto s = open(path, pagable::store::OpenMode::read_only);
  const auto roots = s->list_roots().value();
  REQUIRE(roots.size() == 2);
  CHECK(roots[0].name == "nightly-4");
  CHECK(roots[1].name == "pr-4");
}

namespace {

// A document of 6 inner nodes, packed as root A and removed again: its inner nodes stay
// stored, unreachable, until a gc.
std::string reusable_document(const std::string& archive, const std::string& file)
{
  std::string doc = "{";
  for (int part = 0; part < 6; ++part) {
    doc += "\"part" + std::to_string(part) + "\":{";
    for (int i = 0; i < 400; ++i) {
      doc += (i ? ",\"m" : "\"m") + std::to_string(i) + "\":\"value " + std::to_string(part * 1000 + i) +
             " of a node big enough to be stored on its own\"";
    }
    doc += "},";
  }
  doc += "\"last\":true}";
  test::write_file(file, doc);
  REQUIRE(run_pagable({"pack", archive, file, "--name", "A"}).exit_code == 0);
  REQUIRE(run_pagable({"rm", archive, "A"}).exit_code == 0);
  return doc;
}

struct GcRace {
  test::ProcessResult packed;
  bool fed_again = false; // the pack read its input a second time
};

// Deterministic version of the race DESIGN §4 describes: `start_pack` runs a pack of `doc`
// that reads from the FIFO `fifo`; the test holds the input after the inner nodes (stored
// already by reusable_document) were reused and before the top-level node; gc then removes
// them, and the pack's root commit finds them missing.
GcRace pack_while_gc_removes(const std::string& archive, const std::string& doc, const std::string& fifo,
                             const std::function<test::ProcessResult()>& start_pack)
{
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::atomic<bool> done{false};
  GcRace race;
  std::thread packer([&] {
    race.packed = start_pack();
    done = true;
  });
  // The FIFO opened for writing once the pack has opened it for reading; -1 when the pack
  // has exited first or after a deadline.
  const auto open_writer = [&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done && std::chrono::steady_clock::now() < deadline) {
      const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd >= 0) {
        ::fcntl(fd, F_SETFL, 0); // blocking writes from here on
        return fd;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  };
  const auto write_all = [](int fd, const std::string& text) {
    return ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  };
  const int fd = open_writer();
  REQUIRE(fd >= 0);
  const std::string head = doc.substr(0, doc.size() - 1);
  REQUIRE(write_all(fd, head));
  // Let the pack parse and reuse the inner nodes (its writer commits at least every 0.5 s).
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const auto gc = run_pagable({"--json", "gc", archive});
  CHECK(gc.exit_code == 0);
  CHECK(report_of(gc, "gc")["blobs_removed"].get<std::uint64_t>() >= 6);
  REQUIRE(write_all(fd, "}"));
  ::close(fd);
  // The second reading, if the pack asks for one: once its first reading has ended (EOF,
  // then the refused commit, within milliseconds), or the pipe would still be the first one.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const int again = open_writer();
  race.fed_again = again >= 0 && write_all(again, doc);
  if (again >= 0) {
    ::close(again);
  }
  packer.join();
  return race;
}

} // namespace

TEST_CASE("cli pack: a blob reused by a pack and removed by a concurrent gc is stored again",
          "[cli][gc]")
{
  // The pack reads its file again instead of failing.
  test::TempDir dir;
  const auto archive = dir.file("a.pagable");
  const auto doc = reusable_document(archive, dir.file("doc.json"));
  const auto fifo = dir.file("doc.fifo");
  const auto race = pack_while_gc_removes(archive, doc, fifo, [&] {
    return run_pagable({"pack", archive, fifo, "--name", "B"});
  });
  INFO(race.packed.err);
  CHECK(race.fed_again);
  CHECK(race.packed.exit_code == 0);
  CHECK_THAT(race.packed.err, Catch::Contains("packing the file again"));
  const auto hydrated = run_pagable({"hydrate", archive, "B"});
  REQUIRE(hydrated.exit_code == 0);
  CHECK(json::parse(hydrated.out) == json::parse(doc));
  CHECK(run_pagable({"verify", archive}).exit_code == 0);
}

TEST_CASE("cli pack: standard input whose reused blob a concurrent gc removed fails as busy",
          "[cli][gc]")
{
  // Standard input cannot be read twice: the pack commits nothing and says to run it again,
  // with the busy status (4), not the usage one.
  test::TempDir dir;
  const auto archive = dir.file("a.pagable");
  const auto doc = reusable_document(archive, dir.file("doc.json"));
  const auto fifo = dir.file("doc.fifo");
  const auto race = pack_while_gc_removes(archive, doc, fifo, [&] {
    return test::run_process({"/bin/sh", "-c", "exec \"$0\" pack \"$1\" - --name B < \"$2\"",
                              PAGABLE_BINARY, archive, fifo});
  });
  INFO(race.packed.err);
  CHECK_FALSE(race.fed_again);
  CHECK(race.packed.exit_code == 4);
  CHECK_THAT(race.packed.err, Catch::Contains("standard input cannot be read twice") &&
                                  Catch::Contains("pack it again"));
  CHECK(run_pagable({"hydrate", archive, "B"}).exit_code == 2); // no such root
  CHECK(run_pagable({"verify", archive}).exit_code == 0);
}
