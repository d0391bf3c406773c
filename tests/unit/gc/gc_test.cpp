// SPDX-License-Identifier: MIT OR Apache-2.0
// gc: exactly the unreachable blobs go, packs come back, concurrent writers lose nothing, a
// killed gc leaves a valid archive.
#include <pagable/gc.hpp>
#include <pagable/verify.hpp>

#include "support/archive_fixture.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <random>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace pagable;
using namespace test::archive;

namespace {

void expect_clean(const std::string& path)
{
  auto s = open(path, store::OpenMode::read_only);
  const auto r = verify::run(*s);
  REQUIRE(r);
  std::string text;
  for (const auto& p : r->problems) {
    text += std::string(verify::kind_name(p.kind)) + ": " + p.detail + "\n";
  }
  INFO(text);
  CHECK(r->ok());
}

gc::GcFigures run_gc(const std::string& path, gc::GcOptions o = {})
{
  auto s = open(path, store::OpenMode::read_write);
  auto plan = gc::plan(*s, o);
  REQUIRE(plan);
  auto done = gc::execute(*s, *plan, o);
  INFO((done ? "" : done.error().message()));
  REQUIRE(done);
  return *done;
}

} // namespace

TEST_CASE("gc: rm A then gc removes exactly A's private blobs, and B reads identically", "[gc]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  Doc a, b;
  std::vector<Blob> b_before;
  {
    auto s = open(path);
    a = put_doc(*s, "A", 50, 20);
    b = put_doc(*s, "B", 50, 20);
    commit(*s, "A", a.top);
    commit(*s, "B", b.top);
    b_before = read_all(*s, b.top).value();
    REQUIRE(s->remove_root("A").value());
  }
  gc::GcFigures dry;
  {
    auto s = open(path, store::OpenMode::read_only);
    auto plan = gc::plan(*s);
    REQUIRE(plan);
    dry = plan->figures;
    CHECK(dry.blobs_removed == a.privates.size());
    CHECK(dry.bytes_freed > 0);
    // A read-only store can plan (dry run) but never execute.
    const auto refused = gc::execute(*s, *plan);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code() == Errc::invalid_argument);
  }
  const auto done = run_gc(path);
  CHECK(done.blobs_removed == a.privates.size());
  CHECK(done.blobs_removed == dry.blobs_removed);
  CHECK(done.bytes_freed == dry.bytes_freed);
  {
    auto s = open(path, store::OpenMode::read_only);
    for (const Key& k : a.privates) {
      CHECK_FALSE(s->contains(k).value());
    }
    for (const Key& k : b.all) {
      CHECK(s->contains(k).value());
    }
    const auto b_after = read_all(*s, b.top);
    REQUIRE(b_after);
    CHECK(*b_after == b_before);
    CHECK(s->stats().value().blobs == b.all.size());
  }
  expect_clean(path);
  const auto again = run_gc(path);
  CHECK(again.blobs_removed == 0);
  CHECK(again.bytes_freed == 0);
  CHECK(again.packs_removed == 0);
  CHECK(again.packs_rewritten == 0);
}

TEST_CASE("gc: a dry run leaves the file's bytes identical", "[gc]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  {
    auto s = open(path);
    const auto a = put_doc(*s, "A", 10, 10);
    commit(*s, "A", a.top);
    (void)put_doc(*s, "orphan", 10, 10);
  }
  const std::string before = test::read_file(path);
  {
    auto s = open(path, store::OpenMode::read_only);
    auto plan = gc::plan(*s);
    REQUIRE(plan);
    CHECK(plan->figures.blobs_removed == 12); // orphan's private leaves, middle and top
  }
  CHECK(test::read_file(path) == before);
}

TEST_CASE("gc: packs that are mostly dead are rewritten, and their space comes back", "[gc]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  store::SqliteOptions o;
  o.pack_target_bytes = 4096; // many packs
  Doc keep;
  std::vector<Blob> keep_before;
  {
    auto s = open(path, store::OpenMode::create, o);
    for (int i = 0; i < 6; ++i) {
      const auto d = put_doc(*s, "drop" + std::to_string(i), 0, 300);
      commit(*s, "drop" + std::to_string(i), d.top);
    }
    keep = put_doc(*s, "keep", 30, 30);
    commit(*s, "keep", keep.top);
    keep_before = read_all(*s, keep.top).value();
    for (int i = 0; i < 6; ++i) {
      REQUIRE(s->remove_root("drop" + std::to_string(i)).value());
    }
  }
  const auto packs_before = sql_int(path, "SELECT count(*) FROM packs");
  const auto stored_before = sql_int(path, "SELECT sum(length(data)) FROM packs");
  const auto done = run_gc(path);
  CHECK(done.blobs_removed == 6 * 302 + 1); // + the childless "shared middle" only drops had
  CHECK(done.packs_removed + done.packs_rewritten > 0);
  const auto stored_after = sql_int(path, "SELECT sum(length(data)) FROM packs");
  CHECK(stored_after < stored_before / 2);
  CHECK(sql_int(path, "SELECT count(*) FROM packs") < packs_before);
  {
    auto s = open(path, store::OpenMode::read_only);
    CHECK(s->stats().value().pack_bytes_dead == 0);
    CHECK(read_all(*s, keep.top).value() == keep_before);
  }
  expect_clean(path);
  // Pack ids are never reused: the highest id survives (emptied if unused).
  const auto max_id = sql_int(path, "SELECT max(id) FROM packs");
  CHECK(max_id >= packs_before);
}

TEST_CASE("gc: --compact shrinks the file", "[gc]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  {
    auto s = open(path);
    const auto keep = put_doc(*s, "keep", 5, 5);
    commit(*s, "keep", keep.top);
    for (int i = 0; i < 2000; ++i) {
      (void)put(*s,
                "garbage " + std::to_string(i) + std::string(200, static_cast<char>('a' + i % 26)));
    }
  }
  const auto before = std::filesystem::file_size(path);
  gc::GcOptions o;
  o.compact = true;
  (void)run_gc(path, o);
  CHECK(std::filesystem::file_size(path) < before);
  expect_clean(path);
}

TEST_CASE("gc and pack-like writers run concurrently for 25 rounds: no committed root loses a blob",
          "[gc][concurrency]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  open(path).reset();
  std::atomic<bool> writers_done{false};
  std::atomic<int> retries{0};
  std::vector<std::pair<std::string, Key>> committed; // writer thread only until joined
  std::string writer_error;
  std::thread writer([&] {
    try {
      store::SqliteOptions o;
      o.pack_target_bytes = 2048;
      auto s = open(path, store::OpenMode::read_write, o);
      for (int round = 1; round <= 25; ++round) {
        const std::string name = "doc" + std::to_string(round);
        // Reuse the previous document's private leaves: after the rm below, only a removed
        // root reached them, so gc may be deleting them while we reuse them.
        std::vector<std::string> reused;
        for (int i = 0; i < 20; ++i) {
          reused.push_back("doc" + std::to_string(round - 1) + " private leaf " +
                           std::to_string(i) + std::string(40, 'p'));
        }
        if (round > 1 && round % 5 != 1) {
          if (!s->remove_root("doc" + std::to_string(round - 1)).value()) {
            throw std::runtime_error("remove_root found nothing");
          }
          committed.erase(std::remove_if(committed.begin(), committed.end(),
                                         [&](const auto& c) {
                                           return c.first == "doc" + std::to_string(round - 1);
                                         }),
                          committed.end());
        }
        for (int attempt = 0;; ++attempt) {
          // A gc may remove a reused blob before our root protects it: commit_root then fails
          // with not_found and changes nothing; store everything again and retry.
          const auto d = put_doc(*s, name, 10 + round % 7, 20, reused);
          store::RootRecord r;
          r.name = name;
          r.key = d.top;
          const auto c = s->commit_root(r);
          if (c) {
            committed.emplace_back(name, d.top);
            break;
          }
          if (c.error().code() != Errc::not_found || attempt >= 50) {
            throw std::runtime_error("commit_root: " + c.error().message());
          }
          ++retries;
        }
      }
    } catch (const std::exception& e) {
      writer_error = e.what();
    }
    writers_done = true;
  });
  int gcs = 0;
  std::uint64_t removed = 0;
  {
    auto s = open(path, store::OpenMode::read_write);
    gc::GcOptions o;
    o.sweep_batch = 16; // many short transactions: many chances to interleave
    o.packs_per_transaction = 2;
    while (!writers_done.load() || gcs < 25) {
      auto plan = gc::plan(*s, o);
      REQUIRE(plan);
      auto done = gc::execute(*s, *plan, o);
      INFO((done ? "" : done.error().message()));
      REQUIRE(done);
      removed += done->blobs_removed;
      ++gcs;
    }
  }
  writer.join();
  REQUIRE(writer_error.empty());
  INFO("gc runs " << gcs << ", blobs removed " << removed << ", commit retries " << retries.load());
  CHECK(removed > 0);
  {
    auto s = open(path, store::OpenMode::read_only);
    const auto roots = s->list_roots().value();
    CHECK(roots.size() == committed.size());
    for (const auto& [name, key] : committed) {
      const auto r = s->get_root(name).value();
      REQUIRE(r.has_value());
      CHECK(r->key == key);
      const auto all = read_all(*s, key);
      INFO(name << ": " << (all ? "" : all.error().message()));
      CHECK(all);
    }
  }
  expect_clean(path);
  // With the writers gone, one more gc leaves exactly what the roots reach.
  (void)run_gc(path);
  const auto again = run_gc(path);
  CHECK(again.blobs_removed == 0);
  expect_clean(path);
}

TEST_CASE("gc killed with SIGKILL part-way leaves an archive that opens and verifies clean",
          "[gc][crash]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  std::vector<std::pair<std::string, Key>> roots;
  std::mt19937 rng(11);
  for (int round = 0; round < 3; ++round) {
    {
      store::SqliteOptions o;
      o.pack_target_bytes = 4096;
      auto s = open(path, round == 0 ? store::OpenMode::create : store::OpenMode::read_write, o);
      for (int i = 0; i < 8; ++i) {
        const std::string name = "r" + std::to_string(round) + "-" + std::to_string(i);
        const auto d = put_doc(*s, name, 20, 400);
        commit(*s, name, d.top);
        roots.emplace_back(name, d.top);
      }
      // Drop most of them, so gc has plenty to sweep and rewrite.
      for (int i = 0; i < 6; ++i) {
        const std::string name = "r" + std::to_string(round) + "-" + std::to_string(i);
        REQUIRE(s->remove_root(name).value());
        roots.erase(std::remove_if(roots.begin(), roots.end(),
                                   [&](const auto& r) { return r.first == name; }),
                    roots.end());
      }
    }
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      store::SqliteOptions o;
      o.mode = store::OpenMode::read_write;
      auto s = store::open_sqlite_store(path, o);
      if (!s) {
        ::_exit(3);
      }
      gc::GcOptions g;
      g.sweep_batch = 8;
      g.packs_per_transaction = 1;
      for (;;) { // gc again and again until killed
        auto plan = gc::plan(**s, g);
        if (!plan || !gc::execute(**s, *plan, g)) {
          ::_exit(4);
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 120));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFSIGNALED(status));
    auto s = open(path, store::OpenMode::read_only);
    for (const auto& [name, key] : roots) {
      INFO(name);
      CHECK(read_all(*s, key));
    }
    s.reset();
    expect_clean(path);
  }
}
