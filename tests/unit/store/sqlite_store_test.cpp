// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/store.hpp>
#include <pagable/version.hpp>

#include "store/sqlite_store.hpp"

#include "support/archive_fixture.hpp"
#include "support/store_conformance.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spawn.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

extern char** environ;

using namespace pagable;
using pagable::store::OpenMode;
using pagable::store::SqliteOptions;

namespace {

std::unique_ptr<store::BlobStore> open_rw(const std::string& path, SqliteOptions o = {})
{
  o.mode = OpenMode::create;
  return store::open_sqlite_store(path, o).value();
}

using test::archive::sql;

Blob blob_of(const std::string& s, std::vector<Key> children = {})
{
  return Blob{test::bytes(s), std::move(children)};
}

} // namespace

// Each role of the conformance suite, on fresh archives in one folder.
struct Archives {
  test::TempDir dir;
  int n = 0;
  test::StoreFactory factory()
  {
    return [this] { return open_rw(dir.file("a" + std::to_string(n++) + ".pagable")); };
  }
};

TEST_CASE("sqlite_store: reading", "[store][sqlite]")
{
  Archives a;
  test::run_reader_conformance(a.factory());
}

TEST_CASE("sqlite_store: writing and take-back", "[store][sqlite]")
{
  Archives a;
  test::run_writer_conformance(a.factory());
}

TEST_CASE("sqlite_store: the root catalogue", "[store][sqlite]")
{
  Archives a;
  test::run_catalog_conformance(a.factory());
}

TEST_CASE("sqlite_store: settings", "[store][sqlite]")
{
  Archives a;
  test::run_settings_conformance(a.factory());
}

TEST_CASE("sqlite_store: pack transfer between archives, and to and from memory",
          "[store][sqlite][transfer]")
{
  Archives a;
  const test::StoreFactory memory = [] { return store::make_memory_store(); };
  SECTION("archive to archive") { test::run_transfer_conformance(a.factory(), a.factory()); }
  SECTION("archive to memory") { test::run_transfer_conformance(a.factory(), memory); }
  SECTION("memory to archive") { test::run_transfer_conformance(memory, a.factory()); }
}

TEST_CASE("sqlite_store keeps data across reopening, and read-only sees it", "[store][sqlite]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  Key k;
  {
    auto s = open_rw(path);
    k = s->put(blob_of("persisted")).value();
    // no explicit flush: closing the store commits what was queued
  }
  CHECK_FALSE(std::filesystem::exists(path + "-wal")); // one self-contained file at rest
  auto ro = store::open_sqlite_store(path).value();
  CHECK(ro->get(k).value()->data == test::bytes("persisted"));
  auto put = ro->put(blob_of("nope"));
  REQUIRE_FALSE(put);
  CHECK(put.error().code() == Errc::invalid_argument);
}

TEST_CASE("sqlite_store groups blobs into compressed packs, not one row per node", "[store][sqlite]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  {
    auto s = open_rw(path);
    for (int i = 0; i < 2000; ++i) {
      REQUIRE(s->put(blob_of("{\"name\":\"item " + std::to_string(i) + "\",\"kind\":\"example\"}")));
    }
    REQUIRE(s->flush());
    const auto st = s->stats().value();
    CHECK(st.blobs == 2000);
    CHECK(st.bytes_stored < st.bytes_logical / 3);
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT count(*) FROM packs", -1, &q, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(q) == SQLITE_ROW);
  CHECK(sqlite3_column_int(q, 0) < 10);
  sqlite3_finalize(q);
  sqlite3_close(db);
}

TEST_CASE("sqlite_store reports a byte flipped in stored data as corrupt, naming the key",
          "[store][sqlite][corruption]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  std::string payload;
  std::string damage = "UPDATE packs SET data = substr(data, 1, 20) || X'FF' || substr(data, 22)";
  std::int64_t expected_codec = 1;
  SECTION("inside a zstd frame")
  {
    payload = std::string(3000, 'q') + "compressible";
  }
  SECTION("inside a raw pack")
  {
    payload = "k7#Qz!x9@Lm2$Wv5^Rb8&Tn1*Yc4(Hd6)Jf3";
    expected_codec = 0;
  }
  SECTION("a child key list of the wrong length")
  {
    payload = "with a bad child list";
    damage = "UPDATE blobs SET children = X'0102'";
    expected_codec = -1;
  }
  Key k;
  {
    auto s = open_rw(path);
    k = s->put(blob_of(payload)).value();
  }
  if (expected_codec >= 0) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* q = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT codec FROM packs", -1, &q, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(q) == SQLITE_ROW);
    CHECK(sqlite3_column_int64(q, 0) == expected_codec);
    sqlite3_finalize(q);
    sqlite3_close(db);
  }
  sql(path, damage);
  auto s = open_rw(path);
  auto got = s->get(k);
  REQUIRE_FALSE(got);
  CHECK(got.error().code() == Errc::corrupt);
  CHECK_THAT(got.error().message(), Catch::Contains(k.to_hex()));
  // A plain put trusts the index and mends nothing; a replacing one (pack --repair) does.
  REQUIRE(s->put(blob_of(payload)));
  REQUIRE(s->flush());
  CHECK_FALSE(s->get(k));
  store::PutHints replace;
  replace.replace = true;
  REQUIRE(s->put(blob_of(payload), replace));
  REQUIRE(s->flush());
  const auto mended = s->get(k);
  REQUIRE(mended);
  REQUIRE(mended->has_value());
  CHECK((*mended)->data == blob_of(payload).data);
  CHECK(s->counters().blobs_replaced == 1);
  CHECK(test::archive::sql_int(path, "SELECT count(*) FROM blobs") == 1); // the bad row went
}

TEST_CASE("sqlite_store refuses a frame that claims an absurd size", "[store][sqlite][corruption]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  Key k;
  {
    auto s = open_rw(path);
    k = s->put(blob_of(std::string(5000, 'z'))).value();
  }
  sql(path, "UPDATE packs SET raw_size = 1000000000000");
  auto s = store::open_sqlite_store(path).value();
  auto got = s->get(k);
  REQUIRE_FALSE(got);
  CHECK(got.error().code() == Errc::corrupt);
  CHECK_THAT(got.error().message(), Catch::Contains("more than the limit"));
}

TEST_CASE("sqlite_store refuses what is not a pagable archive", "[store][sqlite]")
{
  test::TempDir dir;
  SECTION("a missing file")
  {
    auto r = store::open_sqlite_store(dir.file("missing.pagable"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::unusable_archive);
    CHECK_THAT(r.error().message(), Catch::Contains("no archive"));
  }
  SECTION("a file that is not SQLite")
  {
    const auto path = dir.file("text.pagable");
    test::write_file(path, std::string(5000, 'x'));
    for (auto mode : {OpenMode::read_only, OpenMode::read_write, OpenMode::create}) {
      SqliteOptions o;
      o.mode = mode;
      auto r = store::open_sqlite_store(path, o);
      REQUIRE_FALSE(r);
      CHECK(r.error().code() == Errc::unusable_archive);
      CHECK_THAT(r.error().message(), Catch::Contains("not an SQLite database"));
    }
    CHECK(test::read_file(path) == std::string(5000, 'x')); // untouched
  }
  SECTION("an SQLite database of another program")
  {
    const auto path = dir.file("other.db");
    sql(path, "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
    SqliteOptions o;
    o.mode = OpenMode::create;
    auto r = store::open_sqlite_store(path, o);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::unusable_archive);
    CHECK_THAT(r.error().message(), Catch::Contains("another kind"));
  }
  SECTION("an archive of a newer format")
  {
    const auto path = dir.file("new.pagable");
    open_rw(path).reset();
    sql(path, "UPDATE meta SET value = '99' WHERE name = 'format_version'");
    auto r = store::open_sqlite_store(path);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::unusable_archive);
    CHECK_THAT(r.error().message(), Catch::Contains("newer"));
  }
}

TEST_CASE("sqlite_store opens a read-only file in a read-only directory", "[store][sqlite]")
{
  if (::geteuid() == 0) {
    // root ignores permission bits; emulate with the immutable path the store takes anyway.
    WARN("running as root: file permissions are not enforced, checking chmod'ed file only");
  }
  test::TempDir dir;
  const auto sub = dir.file("ro");
  std::filesystem::create_directory(sub);
  const auto path = sub + "/a.pagable";
  Key k;
  {
    auto s = open_rw(path);
    k = s->put(blob_of("read me")).value();
  }
  ::chmod(path.c_str(), 0444);
  ::chmod(sub.c_str(), 0555);
  {
    auto s = store::open_sqlite_store(path).value();
    CHECK(s->get(k).value()->data == test::bytes("read me"));
  }
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));
  CHECK_FALSE(std::filesystem::exists(path + "-shm"));
  ::chmod(sub.c_str(), 0755);
}

TEST_CASE("sqlite_store reports a busy write lock as locked after the lock wait", "[store][sqlite]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  open_rw(path).reset();
  sqlite3* holder = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &holder) == SQLITE_OK);
  REQUIRE(sqlite3_exec(holder, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  SqliteOptions o;
  o.mode = OpenMode::read_write;
  o.lock_wait = std::chrono::milliseconds(200);
  auto r = store::open_sqlite_store(path, o);
  Result<void> outcome;
  if (r) {
    (void)(*r)->put(blob_of("x"));
    outcome = (*r)->flush();
  } else {
    outcome = std::move(r).error();
  }
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().code() == Errc::locked);
  sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(holder);
}

// Runs in a child process (spawned by the test below, never on its own): writes root after
// root, each over many fresh blobs, until it is killed.
TEST_CASE("sqlite_store crash-test writer child", "[.crash_child]")
{
  const char* path = std::getenv("PAGABLE_CRASH_ARCHIVE");
  const char* round = std::getenv("PAGABLE_CRASH_ROUND");
  REQUIRE(path != nullptr);
  REQUIRE(round != nullptr);
  SqliteOptions o;
  o.mode = OpenMode::read_write;
  auto s = store::open_sqlite_store(path, o).value();
  for (int r = 0;; ++r) {
    std::vector<Key> children;
    for (int i = 0; i < 500; ++i) {
      children.push_back(s->put(blob_of("round " + std::string(round) + " root " + std::to_string(r) +
                                        " blob " + std::to_string(i) + std::string(300, 'p')))
                             .value());
    }
    store::RootRecord rec;
    rec.name = "r" + std::string(round) + "-" + std::to_string(r);
    rec.key = s->put(Blob{test::bytes("top"), children}).value();
    REQUIRE(s->commit_root(rec));
  }
}

TEST_CASE("sqlite_store: a process killed mid-write leaves only complete roots", "[store][sqlite][crash]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  open_rw(path).reset();
  std::mt19937 rng(7);
  for (int round = 0; round < 4; ++round) {
    // A fresh process (not fork: the test process may have threads) running the child case.
    std::string self = std::filesystem::read_symlink("/proc/self/exe");
    std::vector<std::string> env_store;
    for (char** e = environ; *e != nullptr; ++e) {
      env_store.emplace_back(*e);
    }
    env_store.push_back("PAGABLE_CRASH_ARCHIVE=" + path);
    env_store.push_back("PAGABLE_CRASH_ROUND=" + std::to_string(round));
    std::vector<char*> env;
    for (auto& e : env_store) {
      env.push_back(e.data());
    }
    env.push_back(nullptr);
    std::string filter = "sqlite_store crash-test writer child";
    char* argv[] = {self.data(), filter.data(), nullptr};
    pid_t pid = 0;
    REQUIRE(posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv, env.data()) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 500));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFSIGNALED(status)); // it was still writing when killed
  }
  auto s = store::open_sqlite_store(path).value();
  const auto roots = s->list_roots().value();
  CHECK(roots.size() > 0);
  for (const auto& r : roots) {
    const auto top = s->get(r.key).value();
    REQUIRE(top.has_value());
    CHECK(top->children.size() == 500);
    for (const Key& c : top->children) {
      REQUIRE(s->get(c).value().has_value());
    }
  }
}

TEST_CASE("sqlite_store packs blobs hinted as index apart from the rest", "[store][sqlite]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  std::set<Key> index, data;
  {
    auto s = open_rw(path);
    for (int i = 0; i < 300; ++i) {
      const Key d = s->put(blob_of("{\"member\":" + std::to_string(i) + "}")).value();
      data.insert(d);
      if (i % 10 == 9) {
        store::PutHints h;
        h.index = true;
        index.insert(s->put(blob_of("index " + std::to_string(i), {d}), h).value());
      }
    }
    REQUIRE(s->flush());
  }
  std::size_t index_packs = 0;
  for (const auto& [pack, keys] : test::archive::blobs_by_pack(path)) {
    const bool has_index = std::any_of(keys.begin(), keys.end(), [&](auto& k) { return index.count(k); });
    const bool has_data = std::any_of(keys.begin(), keys.end(), [&](auto& k) { return data.count(k); });
    CHECK_FALSE((has_index && has_data));
    index_packs += has_index ? 1 : 0;
  }
  CHECK(index_packs >= 1);
}

TEST_CASE("sqlite_store fills index packs to their own, smaller target", "[store][sqlite]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  std::set<Key> index;
  {
    SqliteOptions o;
    o.pack_target_bytes = 1 << 20;
    o.index_pack_target_bytes = 4096;
    auto s = open_rw(path, o);
    store::PutHints h;
    h.index = true;
    for (int i = 0; i < 40; ++i) { // 40 index blobs of 1 kB, and as much content
      REQUIRE(s->put(blob_of(std::string(1000, 'c') + std::to_string(i))));
      index.insert(s->put(blob_of(std::string(1000, 'i') + std::to_string(i)), h).value());
    }
    REQUIRE(s->flush());
  }
  std::size_t index_packs = 0, content_packs = 0;
  for (const auto& [pack, keys] : test::archive::blobs_by_pack(path)) {
    const bool has_index = std::any_of(keys.begin(), keys.end(), [&](auto& k) { return index.count(k); });
    (has_index ? index_packs : content_packs) += 1;
    if (has_index) {
      CHECK(keys.size() <= 5); // about 4 kB each
    }
  }
  CHECK(content_packs == 1);
  CHECK(index_packs >= 8);
}

#ifdef __linux__
TEST_CASE("sqlite_store readers map the file when read_mmap_bytes allows it", "[store][sqlite]")
{
  test::TempDir dir;
  const auto path = dir.file("mapped.pagable");
  Key key;
  {
    auto s = open_rw(path);
    key = s->put(blob_of("mapped")).value();
    REQUIRE(s->flush());
  }
  const auto mapped = [&] {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
      // The file itself, not its -shm (mapped in WAL mode whatever the setting).
      if (line.size() >= path.size() && line.compare(line.size() - path.size(), path.size(), path) == 0) {
        return true;
      }
    }
    return false;
  };
  CHECK(SqliteOptions{}.read_mmap_bytes == 0); // off unless asked for (SIGBUS on I/O errors)
  for (const std::size_t bytes : {std::size_t{0}, std::size_t{1} << 20}) {
    INFO("read_mmap_bytes " << bytes);
    SqliteOptions o;
    o.read_mmap_bytes = bytes;
    auto s = store::open_sqlite_store(path, o).value();
    CHECK(s->get(key).value().value().data == blob_of("mapped").data);
    CHECK(mapped() == (bytes > 0));
  }
}
#endif

TEST_CASE("sqlite_store decodes a pack only as far as the blob read", "[store][sqlite]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  std::vector<Key> keys;
  {
    SqliteOptions o;
    o.pack_target_bytes = 4 << 20; // one pack for everything below
    auto s = open_rw(path, o);
    std::mt19937 rng(7);
    for (int i = 0; i < 2000; ++i) {
      std::string text = "{\"id\":" + std::to_string(i) + ",\"token\":\"";
      for (int k = 0; k < 500; ++k) {
        text += "abcdefghijklmnop"[rng() % 16];
      }
      keys.push_back(s->put(blob_of(text + "\"}")).value());
    }
    REQUIRE(s->flush());
  }
  SqliteOptions ro;
  ro.mode = OpenMode::read_only;
  auto s = store::open_sqlite_store(path, ro).value();
  REQUIRE(s->get(keys[10]).value());
  const auto first = s->counters();
  CHECK(first.packs_decoded == 1);
  CHECK(first.pack_bytes_decoded < 200 * 1024); // of about 1 MB: a block or two
  REQUIRE(s->get(keys.back()).value());
  const auto last = s->counters();
  CHECK(last.packs_decoded == 1); // resumed, not decoded again
  CHECK(last.pack_bytes_decoded > 1000 * 1000);
  CHECK(last.pack_bytes_decoded < 1100 * 1000);
}

TEST_CASE("sqlite_store's writer keeps a small page cache whatever it has written", "[store][sqlite]")
{
  // Pages the writer wrote stay in its page cache until the cache is full: with a cache of
  // 64 MB, pack's peak memory grew with the document up to that much.
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  sqlite3_int64 before = 0;
  sqlite3_int64 high = 0;
  REQUIRE(sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &before, &high, 0) == SQLITE_OK);
  auto s = open_rw(path);
  std::mt19937_64 rng(7);
  constexpr int k_blobs = 2000;
  constexpr std::size_t k_bytes = 8192; // incompressible: 16 MB stored
  for (int i = 0; i < k_blobs; ++i) {
    Bytes data(k_bytes);
    for (auto& b : data) {
      b = static_cast<std::uint8_t>(rng());
    }
    REQUIRE(s->put(Blob{std::move(data), {}}));
  }
  REQUIRE(s->flush());
  CHECK(s->stats().value().bytes_stored >= k_blobs * k_bytes);
  sqlite3_int64 now = 0;
  REQUIRE(sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &now, &high, 0) == SQLITE_OK);
  INFO("SQLite memory: " << before << " bytes before, " << now << " after");
  CHECK(now - before < 6 * 1024 * 1024);
}

TEST_CASE("sqlite_store stores each key once without a UNIQUE index, whoever puts it again",
          "[store][sqlite]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  auto a = open_rw(path);
  auto b = open_rw(path); // another connection with a writer of its own, as another process
  // Format 4 indexes keys by their first 8 bytes, not uniquely (docs/FORMAT.md "Tables").
  CHECK(test::archive::sql_int(path, "SELECT count(*) FROM pragma_index_list('blobs') WHERE "
                                     "name = 'blobs_key_prefix' AND NOT \"unique\"") == 1);
  CHECK(test::archive::sql_int(path, "SELECT count(*) FROM pragma_index_list('blobs') "
                                     "WHERE \"unique\"") == 0);
  const Key x = a->put(blob_of("x")).value();
  REQUIRE(a->put(blob_of("x"))); // twice in one write transaction
  REQUIRE(a->flush());
  REQUIRE(a->put(blob_of("x"))); // again after it was committed
  REQUIRE(b->put(blob_of("x"))); // and by the other writer
  REQUIRE(b->put(blob_of("y", {x})));
  REQUIRE(a->flush());
  REQUIRE(b->flush());
  REQUIRE(a->put(blob_of("y", {x})));
  REQUIRE(a->flush());
  CHECK(a->counters().blobs_written == 1);
  CHECK(a->counters().blobs_deduped == 3);
  CHECK(b->counters().blobs_deduped == 1);
  CHECK(test::archive::sql_int(path, "SELECT count(*) FROM blobs") == 2);
  CHECK(a->get(x).value()->data == test::bytes("x"));
}

TEST_CASE("sqlite_store finds keys by prefix, in key order, through either key index",
          "[store][sqlite]")
{
  // Format 4's index on 8-byte prefixes, and the UNIQUE index of the golden format 3 archive.
  test::TempDir dir;
  const auto old = dir.file("format-3.pagable");
  test::write_file(old, test::read_file(std::string(PAGABLE_SOURCE_DIR) +
                                        "/tests/data/golden/format-3.pagable"));
  const auto fresh = dir.file("format-4.pagable");
  {
    auto from = store::open_sqlite_store(old).value();
    auto to = open_rw(fresh);
    REQUIRE(from->for_each_key([&](const Key& k) -> Result<void> {
      PAGABLE_TRY_ASSIGN(auto blob, from->get(k));
      PAGABLE_TRY(to->put(std::move(blob).value())); // a listed key's blob is there, or this throws
      return {};
    }));
  }
  for (const auto& path : {old, fresh}) {
    INFO(path);
    auto s = store::open_sqlite_store(path).value();
    std::vector<Key> all;
    REQUIRE(s->for_each_key([&](const Key& k) -> Result<void> {
      all.push_back(k);
      return {};
    }));
    REQUIRE(all.size() == 40);
    std::sort(all.begin(), all.end());
    for (const std::size_t digits : {std::size_t{1}, std::size_t{2}, std::size_t{17}, std::size_t{64}}) {
      const std::string prefix = all[7].to_hex().substr(0, digits);
      std::vector<Key> expected;
      for (const Key& k : all) {
        if (k.has_hex_prefix(prefix) && expected.size() < 3) {
          expected.push_back(k);
        }
      }
      CHECK(s->find_keys_with_prefix(prefix, 3).value() == expected);
    }
  }
}

TEST_CASE("sqlite_store takes back a failed document's blobs and packs, and no one else's",
          "[store][sqlite]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  SqliteOptions o;
  o.pack_target_bytes = 4096; // several packs
  auto s = open_rw(path, o);
  const Key kept_leaf = s->put(blob_of("before the mark")).value();
  test::archive::commit(*s, "before", s->put(blob_of("root before", {kept_leaf})).value());
  const auto blobs_before = test::archive::sql_int(path, "SELECT count(*) FROM blobs");
  const auto packs_before = test::archive::sql_int(path, "SELECT count(*) FROM packs");
  const auto mark = s->mark_writes().value();
  // Another writer's blobs, stored meanwhile, stay: they are not this store's.
  auto other = open_rw(path);
  const Key theirs = other->put(blob_of("another writer's")).value();
  REQUIRE(other->flush());
  std::vector<Key> mine;
  for (int i = 0; i < 200; ++i) {
    mine.push_back(s->put(blob_of("failed document " + std::to_string(i) + std::string(100, 'x'))).value());
  }
  REQUIRE(s->flush());
  REQUIRE(test::archive::sql_int(path, "SELECT count(*) FROM packs") > packs_before + 2);
  const auto f = s->discard_writes_since(mark).value();
  CHECK(f.blobs_removed == 200);
  CHECK(f.blobs_kept == 0);
  CHECK(f.packs_removed > 2);
  CHECK(test::archive::sql_int(path, "SELECT count(*) FROM blobs") == blobs_before + 1);
  CHECK(test::archive::sql_int(path, "SELECT count(*) FROM packs") == packs_before + 1);
  CHECK(other->get(theirs).value().has_value());
  CHECK_FALSE(s->contains(mine[7]).value());
  CHECK(s->get(kept_leaf).value().has_value());
}

TEST_CASE("sqlite_store's take-back spares another writer's rows that reuse its row ids",
          "[store][sqlite]")
{
  // A gc removes this store's rows (no root reached them); SQLite then gives their ids to
  // the next rows inserted, another writer's. Taking back by row id alone deleted those, and
  // the other writer's root could not commit. Format 6's blob table never gives an id twice
  // (AUTOINCREMENT): this is an archive from before it, whose table still does.
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  open_rw(path).reset();
  sql(path, "DROP TABLE blobs");
  sql(path, "CREATE TABLE blobs(id INTEGER PRIMARY KEY, key BLOB NOT NULL, pack INTEGER NOT NULL, "
            "offset INTEGER NOT NULL, size INTEGER NOT NULL, children BLOB)");
  sql(path, "CREATE INDEX blobs_key_prefix ON blobs(substr(key, 1, 8))");
  auto s = open_rw(path);
  test::archive::commit(*s, "before", s->put(blob_of("before the mark")).value());
  const auto mark = s->mark_writes().value();
  for (int i = 0; i < 20; ++i) {
    REQUIRE(s->put(blob_of("failed document " + std::to_string(i))));
  }
  REQUIRE(s->flush());
  const auto top = test::archive::sql_int(path, "SELECT max(id) FROM blobs");
  // What a gc would do to rows no root reaches (their pack stays: it is gc's to judge).
  test::archive::sql(path, "DELETE FROM blobs WHERE id > " + std::to_string(top - 20));
  auto other = open_rw(path);
  std::vector<Key> theirs;
  for (int i = 0; i < 5; ++i) {
    theirs.push_back(other->put(blob_of("theirs " + std::to_string(i))).value());
  }
  const Key their_root = other->put(blob_of("their root", theirs)).value();
  REQUIRE(other->flush());
  REQUIRE(test::archive::sql_int(path, "SELECT max(id) FROM blobs") <= top); // ids reused
  // Taken back while the other writer's root is not committed yet: its rows are not ours.
  const auto f = s->discard_writes_since(mark).value();
  CHECK(f.blobs_removed == 0);
  for (const Key& k : theirs) {
    CHECK(other->get(k).value().has_value());
  }
  store::RootRecord root;
  root.name = "theirs";
  root.key = their_root;
  CHECK(other->commit_root(root));
}

TEST_CASE("sqlite_store creates archives with its page size and keeps an archive's own",
          "[store][sqlite]")
{
  test::TempDir dir;
  const auto fresh = dir.file("fresh.pagable");
  open_rw(fresh)->put(blob_of("x")).value();
  CHECK(test::archive::sql_int(fresh, "PRAGMA page_size") == 1024);
  SqliteOptions big;
  big.new_archive_page_bytes = 4096;
  const auto older = dir.file("older.pagable");
  {
    auto s = open_rw(older, big);
    REQUIRE(s->put(blob_of("y")));
    REQUIRE(s->flush());
  }
  // Written again with the default: an existing archive keeps its pages.
  {
    auto s = open_rw(older);
    REQUIRE(s->put(blob_of("z")));
    REQUIRE(s->flush());
  }
  CHECK(test::archive::sql_int(older, "PRAGMA page_size") == 4096);
  CHECK(open_rw(older)->get(blob_of("y").key()).value().has_value());
}

TEST_CASE("is_archive_file: an archive, one still in its WAL, and never a pipe or another file",
          "[store][sqlite]")
{
  test::TempDir dir;
  const auto archive = dir.file("a.pagable");
  open_rw(archive)->put(blob_of("x")).value();
  CHECK(store::is_archive_file(archive));
  const auto json = dir.file("a.json");
  test::write_file(json, R"({"not":"an archive"})");
  CHECK_FALSE(store::is_archive_file(json));
  CHECK_FALSE(store::is_archive_file(dir.file("missing.pagable")));
  CHECK_FALSE(store::is_archive_file(dir.path()));

  // A FIFO with nobody writing: reading it would block forever.
  const auto fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_FALSE(store::is_archive_file(fifo));

  // An archive whose application id is still only in its WAL (a connection open, no
  // checkpoint yet), as a pack killed early leaves one.
  const auto young = dir.file("young.pagable");
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(young.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db,
                       "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; "
                       "PRAGMA application_id=1885823596; CREATE TABLE t(x);",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  {
    std::ifstream f(young, std::ios::binary);
    char head[72] = {};
    f.read(head, sizeof head);
    REQUIRE(f.gcount() == sizeof head);
    REQUIRE((head[68] | head[69] | head[70] | head[71]) == 0); // the main file has no id yet
  }
  CHECK(store::is_archive_file(young));
  // Another SQLite database, WAL or not, is not an archive.
  const auto other = dir.file("other.db");
  sqlite3* odb = nullptr;
  REQUIRE(sqlite3_open(other.c_str(), &odb) == SQLITE_OK);
  REQUIRE(sqlite3_exec(odb, "PRAGMA application_id=42; CREATE TABLE t(x);", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
  CHECK_FALSE(store::is_archive_file(other));
  sqlite3_close(odb);
  sqlite3_close(db);
}

namespace {

// Gives `path` the one-version-a-name roots table of formats 0 to 4, with `rows` (name, hex
// key) in it, and marks it format 4.
void make_format_4(const std::string& path, const std::vector<std::pair<std::string, Key>>& rows)
{
  sql(path, "DROP TABLE roots");
  sql(path, "DROP TABLE names");
  sql(path, "CREATE TABLE roots(name TEXT PRIMARY KEY, key BLOB NOT NULL, schema_key BLOB, "
            "created_ms INTEGER NOT NULL, labels TEXT NOT NULL, stats TEXT NOT NULL) WITHOUT ROWID");
  for (const auto& [name, key] : rows) {
    sql(path, "INSERT INTO roots VALUES ('" + name + "', x'" + key.to_hex() + "', NULL, 1000, "
              "'{\"l\":\"v\"}', '{}')");
  }
  sql(path, "UPDATE meta SET value = '4' WHERE name = 'format_version'");
  sql(path, "PRAGMA user_version = 4");
}

} // namespace

TEST_CASE("sqlite_store reads a format 4 root table as one version a name and upgrades it on the "
          "first root it writes, atomically",
          "[store][sqlite][format]")
{
  test::TempDir dir;
  const auto path = dir.file("old.pagable");
  Key top;
  Key other;
  {
    auto s = open_rw(path);
    top = s->put(blob_of("top")).value();
    other = s->put(blob_of("other")).value();
    REQUIRE(s->flush());
  }
  make_format_4(path, {{"api", top}, {"web", other}});
  {
    SqliteOptions ro;
    ro.mode = OpenMode::read_only;
    auto s = store::open_sqlite_store(path, ro).value();
    const auto roots = s->list_roots().value();
    REQUIRE(roots.size() == 2);
    CHECK(roots[0].version == 1);
    CHECK_FALSE(roots[0].bytes_added.has_value());
    CHECK(s->get_root("api").value()->key == top);
    CHECK(s->list_versions("web").value().size() == 1);
    CHECK(s->stats().value().format_version == 4);
  }
  const auto versioned = [&] {
    return test::archive::sql_int(path, "SELECT count(*) FROM pragma_table_info('roots') WHERE name = 'version'") == 1;
  };
  {
    // A root that cannot commit changes nothing: the upgrade is in its transaction.
    auto s = open_rw(path);
    const Key missing = blob_of("missing").key();
    CHECK_FALSE(s->commit_root(store::RootRecord{"api", missing, std::nullopt, 0, {}, "{}"}));
  }
  CHECK_FALSE(versioned());
  CHECK(test::archive::sql_int(path, "PRAGMA user_version") == 4);
  {
    auto s = open_rw(path);
    const auto second = s->commit_root(store::RootRecord{"api", other, std::nullopt, 0, {}, "{}"}).value();
    CHECK(second.version == 2);
    const auto versions = s->list_versions("api").value();
    REQUIRE(versions.size() == 2);
    CHECK(versions[0].key == top);
    CHECK(versions[0].labels.at("l") == "v");
    CHECK(versions[1].key == other);
    CHECK(s->stats().value().format_version == pagable::k_format_version);
  }
  CHECK(versioned());
  CHECK(test::archive::sql_int(path, "SELECT last_version FROM names WHERE name = 'api'") == 2);
  // A blob stored into an old archive moves its roots too, in the transaction that marks it.
  const auto other_path = dir.file("old2.pagable");
  {
    auto s = open_rw(other_path);
    top = s->put(blob_of("top")).value();
    REQUIRE(s->flush());
  }
  make_format_4(other_path, {{"api", top}});
  open_rw(other_path)->put(blob_of("new")).value();
  CHECK(test::archive::sql_int(other_path, "PRAGMA user_version") == pagable::k_format_version);
  CHECK(test::archive::sql_int(other_path, "SELECT count(*) FROM pragma_table_info('roots') WHERE name = 'version'") == 1);
  CHECK(test::archive::sql_int(other_path, "SELECT version FROM roots WHERE name = 'api'") == 1);
}

TEST_CASE("sqlite_store creates archives with SQLite's incremental vacuum (format 5)",
          "[store][sqlite][format]")
{
  test::TempDir dir;
  const auto fresh = dir.file("fresh.pagable");
  open_rw(fresh)->put(blob_of("x")).value();
  CHECK(test::archive::sql_int(fresh, "PRAGMA auto_vacuum") == 2);
}

TEST_CASE("sqlite_store: what a version added is the pages its transactions took", "[store][sqlite]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  const auto used_bytes = [&] {
    return test::archive::sql_int(path, "SELECT (SELECT page_count FROM pragma_page_count) - "
                                        "(SELECT freelist_count FROM pragma_freelist_count)") *
           test::archive::sql_int(path, "PRAGMA page_size");
  };
  open_rw(path)->put(blob_of("start")).value();
  const auto before = used_bytes();
  store::RootRecord committed;
  {
    auto s = open_rw(path);
    const auto c0 = s->counters().bytes_taken;
    std::vector<Key> children;
    for (int i = 0; i < 200; ++i) {
      children.push_back(s->put(blob_of("leaf " + std::to_string(i) + std::string(3000, 'x'))).value());
    }
    const Key top = s->put(blob_of("top", children)).value();
    REQUIRE(s->flush());
    store::RootRecord r{"doc", top, std::nullopt, 0, {}, "{}"};
    r.bytes_added = s->counters().bytes_taken - c0;
    CHECK(*r.bytes_added > 0);
    committed = s->commit_root(r).value();
  }
  REQUIRE(committed.bytes_added.has_value());
  CHECK(static_cast<std::int64_t>(*committed.bytes_added) == used_bytes() - before);
  auto s = open_rw(path);
  CHECK(s->get_root("doc").value()->bytes_added == committed.bytes_added);
}

namespace {

// The write path at volume (packs compressed beside the writer, the table of recent row ids
// a child list is written from, the commit walk's set of rows seen): a value of about 200
// bytes, numbered.
Blob numbered(std::size_t i, std::vector<Key> children = {})
{
  std::string s = "value " + std::to_string(i) + " ";
  while (s.size() < 200) {
    s += std::to_string(i);
  }
  return Blob{test::bytes(s), std::move(children)};
}

} // namespace

TEST_CASE("sqlite_store writes every pack compressed beside its writer in the transaction of its "
          "blobs", "[store][sqlite][write_path]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  SqliteOptions o;
  o.pack_target_bytes = 4096; // about 20 blobs a pack: many packs wait for the compressor at once
  o.compression_level = 8;
  std::vector<Key> keys;
  {
    auto s = open_rw(path, o);
    for (std::size_t i = 0; i < 3000; ++i) {
      keys.push_back(s->put(numbered(i)).value());
    }
    REQUIRE(s->flush());
    // Visible once flushed: every blob's pack has its row already.
    for (std::size_t i = 0; i < keys.size(); i += 97) {
      const auto b = s->get(keys[i]).value();
      REQUIRE(b.has_value());
      CHECK(b->data == numbered(i).data);
    }
  }
  const auto packs = test::archive::sql_int(path, "SELECT count(*) FROM packs");
  CHECK(packs > 100);
  CHECK(test::archive::sql_int(path, "SELECT count(DISTINCT pack) FROM blobs") == packs);
  CHECK(test::archive::sql_int(path, "SELECT count(*) FROM blobs WHERE pack NOT IN (SELECT id FROM packs)") == 0);
  // Compressed, and each pack's content is exactly its blobs.
  CHECK(test::archive::sql_int(path, "SELECT count(*) FROM packs WHERE codec != 1") == 0);
  CHECK(test::archive::sql_int(path, "SELECT count(*) FROM packs p WHERE raw_size != "
                                     "(SELECT sum(size) FROM blobs b WHERE b.pack = p.id)") == 0);
  // And read back after reopening, from the file alone.
  auto r = store::open_sqlite_store(path, SqliteOptions{}).value();
  for (std::size_t i = 0; i < keys.size(); i += 131) {
    const auto b = r->get(keys[i]).value();
    REQUIRE(b.has_value());
    CHECK(b->data == numbered(i).data);
  }
}

TEST_CASE("sqlite_store names children by row id when they were written further back than its "
          "table of recent ids holds", "[store][sqlite][write_path]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  auto s = open_rw(path);
  // More blobs in one transaction than the table has slots (4,096), so that early keys'
  // slots are taken by later ones; then parents of the earliest and the latest.
  std::vector<Key> leaves;
  for (std::size_t i = 0; i < 40000; ++i) {
    leaves.push_back(s->put(numbered(i)).value());
  }
  std::vector<std::vector<Key>> lists = {{leaves[0], leaves[1], leaves[39999]},
                                         {leaves[20000], leaves[5], leaves[39998], leaves[0]}};
  std::vector<Key> parents;
  for (std::size_t i = 0; i < lists.size(); ++i) {
    parents.push_back(s->put(numbered(100000 + i, lists[i])).value());
  }
  REQUIRE(s->flush());
  for (std::size_t i = 0; i < parents.size(); ++i) {
    const auto children = s->children_of(parents[i]).value();
    REQUIRE(children.has_value());
    CHECK(*children == lists[i]);
    const auto b = s->get(parents[i]).value();
    REQUIRE(b.has_value());
    CHECK(b->children == lists[i]);
  }
  // Every child named by its row id (format 6: 0x01, count, ids), none by its 32-byte key.
  CHECK(test::archive::sql_int(path, "SELECT max(length(children)) FROM blobs") < 32);
}

TEST_CASE("sqlite_store's root commit walks every row of a long chain and finds one missing",
          "[store][sqlite][write_path]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  auto s = open_rw(path);
  // A chain across more than one block of the walk's id set (32,768 ids).
  std::vector<Key> chain;
  for (std::size_t i = 0; i < 40000; ++i) {
    std::vector<Key> children;
    if (i > 0) {
      children.push_back(chain.back());
    }
    if (i > 1) {
      children.push_back(chain[i - 2]);
    }
    chain.push_back(s->put(numbered(i, children)).value());
  }
  REQUIRE(s->flush());
  test::archive::commit(*s, "chain", chain.back());
  // A row deep in the chain removed (by a concurrent gc, say): the next commit refuses.
  const Key gone = chain[35000];
  REQUIRE(s->remove(std::span<const Key>(&gone, 1)).value() == 1);
  store::RootRecord root;
  root.name = "again";
  root.key = chain.back();
  const auto c = s->commit_root(root);
  REQUIRE_FALSE(c);
  CHECK(c.error().code() == Errc::not_found);
  CHECK(c.error().message().find("not in the store") != std::string::npos);
}
