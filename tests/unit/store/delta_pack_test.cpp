// SPDX-License-Identifier: MIT OR Apache-2.0
// Delta packs: new blobs compressed against the old blobs they replace (PutHints).
#include <pagable/gc.hpp>
#include <pagable/store.hpp>

#include "store/sqlite_store.hpp"
#include <pagable/verify.hpp>

#include "support/archive_fixture.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <random>

using namespace pagable;

namespace {

// A JSON-ish record whose text is hard to compress on its own (random tokens), as real
// documents' identifiers and hashes are.
std::string record(int i, int version, std::mt19937& rng)
{
  std::string s = "{\"id\":" + std::to_string(i) + ",\"version\":\"v" + std::to_string(version) +
                  "\",\"token\":\"";
  for (int k = 0; k < 160; ++k) {
    s += "abcdefghijklmnopqrstuvwxyz0123456789"[rng() % 36];
  }
  return s + "\"}";
}

std::unique_ptr<store::BlobStore> create(const std::string& path)
{
  store::SqliteOptions o;
  o.mode = store::OpenMode::create;
  return store::open_sqlite_store(path, o).value();
}

std::int64_t query_int(const std::string& path, const char* sql)
{
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &q, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(q) == SQLITE_ROW);
  const std::int64_t v = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  sqlite3_close(db);
  return v;
}

// Stores version 1 of 2,000 records, then version 2 (every record edited a little), with or
// without hints; returns the pack bytes version 2 added (the index rows cost the same either
// way) and checks everything reads back.
std::uint64_t bytes_added_by_update(const std::string& path, bool with_hints)
{
  auto s = create(path);
  std::vector<Key> v1;
  std::vector<std::string> v2_text;
  {
    std::mt19937 rng(1);
    for (int i = 0; i < 2000; ++i) {
      v1.push_back(s->put(Blob{test::bytes(record(i, 1, rng)), {}}).value());
    }
  }
  REQUIRE(s->flush());
  const auto before = s->stats().value().bytes_stored;
  std::vector<Key> v2;
  {
    std::mt19937 rng(1); // same tokens: only the version string changes
    for (int i = 0; i < 2000; ++i) {
      v2_text.push_back(record(i, 2, rng));
      store::PutHints hints;
      if (with_hints) {
        hints.delta_bases = {v1[static_cast<std::size_t>(i)]};
      }
      v2.push_back(s->put(Blob{test::bytes(v2_text.back()), {}}, hints).value());
    }
  }
  REQUIRE(s->flush());
  const auto added = s->stats().value().bytes_stored - before;
  s.reset();
  auto ro = store::open_sqlite_store(path).value(); // a fresh reader decodes the delta packs
  for (int i = 0; i < 2000; ++i) {
    const auto got = ro->get(v2[static_cast<std::size_t>(i)]).value();
    REQUIRE(got.has_value());
    REQUIRE(got->data == test::bytes(v2_text[static_cast<std::size_t>(i)]));
  }
  return added;
}

} // namespace

TEST_CASE("sqlite_store: delta hints shrink an update and it reads back", "[store][sqlite][delta]")
{
  test::TempDir dir;
  const auto plain = bytes_added_by_update(dir.file("plain.pagable"), false);
  const auto delta = bytes_added_by_update(dir.file("delta.pagable"), true);
  INFO("update without hints added " << plain << " pack bytes, with hints " << delta);
  CHECK(delta * 4 < plain);
  CHECK(query_int(dir.file("delta.pagable"), "SELECT count(*) FROM packs WHERE codec = 3") > 0);
  CHECK(query_int(dir.file("plain.pagable"), "SELECT count(*) FROM packs WHERE codec = 3") == 0);
}

TEST_CASE("sqlite_store: a blob with delta bases gets a pack of its own, small ones share one",
          "[store][sqlite][delta]")
{
  // A reader of a delta pack decodes the bases of every blob in it, and its depth is that of
  // its deepest base: each node of delta_pack_target_bytes (here 8 KiB) or more is packed
  // alone with its own bases; small ones share a delta pack up to that size; blobs without
  // bases share the ordinary packs as before.
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  const auto text = [&](int i, int version, int records) {
    std::string t;
    std::mt19937 same(static_cast<unsigned>(i)); // the same tokens in every version
    for (int r = 0; r < records; ++r) {
      t += record(i * 1000 + r, version, same);
    }
    return test::bytes(t);
  };
  std::vector<Key> big_v1, small_v1, big_v2, small_v2, plain;
  {
    store::SqliteOptions o;
    o.mode = store::OpenMode::create;
    o.delta_pack_target_bytes = 8 * 1024;
    auto s = store::open_sqlite_store(path, o).value();
    for (int i = 0; i < 3; ++i) {
      big_v1.push_back(s->put(Blob{text(i, 1, 60), {}}).value()); // about 12 kB
    }
    for (int i = 0; i < 4; ++i) {
      small_v1.push_back(s->put(Blob{text(10 + i, 1, 1), {}}).value()); // about 200 bytes
    }
    REQUIRE(s->flush());
    for (int i = 0; i < 3; ++i) {
      store::PutHints h;
      h.delta_bases = {big_v1[static_cast<std::size_t>(i)]};
      big_v2.push_back(s->put(Blob{text(i, 2, 60), {}}, h).value());
      plain.push_back(s->put(Blob{text(20 + i, 1, 60), {}}).value());
    }
    for (int i = 0; i < 4; ++i) {
      store::PutHints h;
      h.delta_bases = {small_v1[static_cast<std::size_t>(i)]};
      small_v2.push_back(s->put(Blob{text(10 + i, 2, 1), {}}, h).value());
    }
    // A base already in the delta pack's prefix still counts: a second blob hinted with it
    // joins the delta pack instead of being stored plain.
    store::PutHints again;
    again.delta_bases = {small_v1[0]};
    small_v2.push_back(s->put(Blob{text(10, 3, 1), {}}, again).value());
    REQUIRE(s->flush());
  }
  const auto packs = test::archive::blobs_by_pack(path);
  const auto pack_of = [&](const Key& k) {
    for (const auto& [id, keys] : packs) {
      if (std::find(keys.begin(), keys.end(), k) != keys.end()) {
        return id;
      }
    }
    FAIL("blob not in any pack");
    return std::int64_t{0};
  };
  for (const Key& k : big_v2) {
    const auto id = pack_of(k);
    CHECK(packs.at(id).size() == 1);
    CHECK(test::archive::sql_int(path, "SELECT codec FROM packs WHERE id = " + std::to_string(id)) == 3);
    CHECK(test::archive::sql_int(path, "SELECT depth FROM packs WHERE id = " + std::to_string(id)) == 1);
  }
  CHECK(pack_of(plain[0]) == pack_of(plain[2])); // no bases: the ordinary pack
  CHECK(pack_of(small_v2[0]) == pack_of(small_v2[3])); // small deltas share
  CHECK(pack_of(small_v2[4]) == pack_of(small_v2[0]));
  CHECK(pack_of(small_v2[0]) != pack_of(plain[0]));
  auto ro = store::open_sqlite_store(path).value();
  for (int i = 0; i < 3; ++i) {
    CHECK(ro->get(big_v2[static_cast<std::size_t>(i)]).value()->data == text(i, 2, 60));
  }
  for (int i = 0; i < 4; ++i) {
    CHECK(ro->get(small_v2[static_cast<std::size_t>(i)]).value()->data == text(10 + i, 2, 1));
  }
  CHECK(ro->get(small_v2[4]).value()->data == text(10, 3, 1));
}

TEST_CASE("sqlite_store: small blobs with big bases keep their shared prefix bounded",
          "[store][sqlite][delta]")
{
  // Small blobs share a delta pack; their bases together must stay within 8 pack targets, or
  // enough of them would make a prefix readers refuse (above max_pack_bytes).
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  const auto big = [](int i) {
    std::mt19937 rng(static_cast<unsigned>(i));
    std::string t;
    for (int r = 0; r < 500; ++r) {
      t += record(r, 1, rng); // about 100 kB
    }
    return test::bytes(t);
  };
  const auto small_of = [&](int i) { // 2 kB of its base, edited: compresses well against it
    Bytes b = big(i);
    b.resize(2000);
    b[1000] = '!';
    return b;
  };
  std::vector<Key> small;
  {
    auto s = create(path); // library defaults: 64 KiB packs and delta packs
    std::vector<Key> bases;
    for (int i = 0; i < 20; ++i) {
      bases.push_back(s->put(Blob{big(i), {}}).value());
    }
    REQUIRE(s->flush());
    for (int i = 0; i < 20; ++i) {
      store::PutHints h;
      h.delta_bases = {bases[static_cast<std::size_t>(i)]};
      small.push_back(s->put(Blob{small_of(i), {}}, h).value());
    }
    REQUIRE(s->flush());
  }
  CHECK(query_int(path.c_str(), "SELECT count(*) FROM pack_bases") > 0);
  CHECK(query_int(path.c_str(), "SELECT max(t) FROM (SELECT sum(size) AS t FROM pack_bases "
                                "GROUP BY pack)") <= 8 * 64 * 1024);
  auto ro = store::open_sqlite_store(path).value();
  for (int i = 0; i < 20; ++i) {
    CHECK(ro->get(small[static_cast<std::size_t>(i)]).value()->data == small_of(i));
  }
}

TEST_CASE("sqlite_store: delta chains stay short across many versions", "[store][sqlite][delta]")
{
  test::TempDir dir;
  const auto path = dir.file("chain.pagable");
  std::vector<std::string> last_text;
  std::vector<Key> last;
  {
    auto s = create(path);
    for (int version = 1; version <= 10; ++version) {
      std::mt19937 rng(3);
      std::vector<Key> keys;
      last_text.clear();
      for (int i = 0; i < 300; ++i) {
        last_text.push_back(record(i, version, rng));
        store::PutHints hints;
        if (!last.empty()) {
          hints.delta_bases = {last[static_cast<std::size_t>(i)]};
        }
        keys.push_back(s->put(Blob{test::bytes(last_text.back()), {}}, hints).value());
      }
      REQUIRE(s->flush());
      last = keys;
    }
  }
  CHECK(query_int(path, "SELECT max(depth) FROM packs") <= 4);
  auto ro = store::open_sqlite_store(path).value();
  for (std::size_t i = 0; i < last.size(); ++i) {
    REQUIRE(ro->get(last[i]).value()->data == test::bytes(last_text[i]));
  }
}

TEST_CASE("sqlite_store: a node whose last version is too deep a base deltas against an older one",
          "[store][sqlite][delta]")
{
  // Every record changes in every version. Version 5 sits in packs of the deepest usable
  // depth, so version 6 cannot use it as a base. It used to be stored whole then (a plain
  // pack every fifth version); it now compresses against the plain packs version 5's chain
  // starts from (version 1), and so on: only version 1 is ever stored whole.
  test::TempDir dir;
  const auto path = dir.file("chain.pagable");
  std::vector<std::vector<std::string>> texts;
  std::vector<std::vector<Key>> keys;
  std::int64_t plain_after_v1 = 0;
  std::int64_t v1_last_pack = 0;
  {
    auto s = create(path);
    for (int version = 1; version <= 12; ++version) {
      std::mt19937 rng(3);
      texts.emplace_back();
      keys.emplace_back();
      for (int i = 0; i < 300; ++i) {
        texts.back().push_back(record(i, version, rng));
        store::PutHints hints;
        if (version > 1) {
          hints.delta_bases = {keys[keys.size() - 2][static_cast<std::size_t>(i)]};
        }
        keys.back().push_back(s->put(Blob{test::bytes(texts.back().back()), {}}, hints).value());
      }
      REQUIRE(s->flush());
      if (version == 1) {
        plain_after_v1 = query_int(path, "SELECT count(*) FROM packs WHERE codec <> 3");
        v1_last_pack = query_int(path, "SELECT max(id) FROM packs");
      }
    }
  }
  CHECK(plain_after_v1 > 0);
  CHECK(query_int(path, "SELECT count(*) FROM packs WHERE codec <> 3") == plain_after_v1);
  CHECK(query_int(path, "SELECT max(depth) FROM packs") == 4);
  // Version 6's packs start a new chain: depth 1, against version 1's plain packs.
  const std::string restarted =
      "SELECT count(*) FROM packs p JOIN pack_bases b ON b.pack = p.id WHERE p.depth = 1 AND "
      "p.id > (SELECT min(id) FROM packs WHERE depth = 4) AND b.base_pack <= " +
      std::to_string(v1_last_pack);
  CHECK(query_int(path, restarted.c_str()) > 0);
  auto ro = store::open_sqlite_store(path).value();
  for (std::size_t v = 0; v < keys.size(); ++v) {
    for (std::size_t i = 0; i < keys[v].size(); ++i) {
      REQUIRE(ro->get(keys[v][i]).value()->data == test::bytes(texts[v][i]));
    }
  }
}

TEST_CASE("sqlite_store: deep bases that restart from the same plain slices name each once",
          "[store][sqlite][delta]")
{
  // Two records share every pack up to version 4; version 5 stores each in a pack of its own
  // (a flush between them), both 4 deep and both decoding from version 1's pack. Version 6
  // stores them together: each restarts from that lineage, and the shared pack's prefix must
  // hold its slices once (they were listed twice, spending the prefix budget on copies), with
  // both records in it.
  test::TempDir dir;
  const auto path = dir.file("shared.pagable");
  std::vector<Key> last;
  std::vector<std::string> last_text;
  {
    auto s = create(path);
    for (int version = 1; version <= 6; ++version) {
      std::mt19937 rng(5);
      std::vector<Key> keys;
      last_text.clear();
      for (int i = 0; i < 2; ++i) {
        last_text.push_back(record(i, version, rng));
        store::PutHints hints;
        if (!last.empty()) {
          hints.delta_bases = {last[static_cast<std::size_t>(i)]};
        }
        keys.push_back(s->put(Blob{test::bytes(last_text.back()), {}}, hints).value());
        if (version == 5) {
          REQUIRE(s->flush());
        }
      }
      REQUIRE(s->flush());
      last = keys;
    }
  }
  CHECK(query_int(path, "SELECT count(*) FROM packs WHERE depth = 4") == 2);
  const std::string last_pack =
      "(SELECT pack FROM blobs WHERE key = x'" + last[0].to_hex() + "')";
  CHECK(query_int(path, ("SELECT depth FROM packs WHERE id = " + last_pack).c_str()) == 1);
  CHECK(query_int(path, ("SELECT count(*) FROM pack_bases WHERE pack = " + last_pack).c_str()) == 2);
  // The second record's restart finds its slices in the prefix already: it joins the pack.
  CHECK(query_int(path, ("SELECT count(DISTINCT pack) FROM blobs WHERE key IN (x'" +
                         last[0].to_hex() + "', x'" + last[1].to_hex() + "')")
                            .c_str()) == 1);
  CHECK(query_int(path, "SELECT count(*) FROM (SELECT 1 FROM pack_bases GROUP BY pack, base_pack, "
                        "offset, size HAVING count(*) > 1)") == 0);
  auto ro = store::open_sqlite_store(path).value();
  for (std::size_t i = 0; i < last.size(); ++i) {
    CHECK(ro->get(last[i]).value()->data == test::bytes(last_text[i]));
  }
}

TEST_CASE("sqlite_store: a damaged delta base is reported as corrupt, not as wrong data",
          "[store][sqlite][delta][corruption]")
{
  test::TempDir dir;
  const auto path = dir.file("d.pagable");
  Key v2;
  {
    auto s = create(path);
    std::mt19937 rng(5);
    const Key v1 = s->put(Blob{test::bytes(record(1, 1, rng)), {}}).value();
    REQUIRE(s->flush());
    std::mt19937 rng2(5);
    store::PutHints hints;
    hints.delta_bases = {v1};
    v2 = s->put(Blob{test::bytes(record(1, 2, rng2)), {}}, hints).value();
  }
  REQUIRE(query_int(path, "SELECT count(*) FROM packs WHERE codec = 3") == 1);
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "UPDATE pack_bases SET offset = offset + 1, size = size - 1", nullptr,
                       nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto ro = store::open_sqlite_store(path).value();
  auto got = ro->get(v2);
  REQUIRE_FALSE(got);
  CHECK(got.error().code() == Errc::corrupt);
}

TEST_CASE("sqlite_store: delta packs verify clean, and gc keeps the bases they decode from",
          "[store][sqlite][delta][gc]")
{
  test::TempDir dir;
  const auto path = dir.file("g.pagable");
  std::vector<Key> v2;
  std::vector<std::string> v2_text;
  {
    auto s = create(path);
    std::vector<Key> v1;
    std::mt19937 rng(9);
    for (int i = 0; i < 1000; ++i) {
      v1.push_back(s->put(Blob{test::bytes(record(i, 1, rng)), {}}).value());
    }
    store::RootRecord r1;
    r1.name = "v1";
    r1.key = s->put(Blob{test::bytes("list"), v1}).value();
    REQUIRE(s->commit_root(r1));
    std::mt19937 rng2(9);
    for (int i = 0; i < 1000; ++i) {
      v2_text.push_back(record(i, 2, rng2));
      store::PutHints hints;
      hints.delta_bases = {v1[static_cast<std::size_t>(i)]};
      v2.push_back(s->put(Blob{test::bytes(v2_text.back()), {}}, hints).value());
    }
    store::RootRecord r2;
    r2.name = "v2";
    r2.key = s->put(Blob{test::bytes("list"), v2}).value();
    REQUIRE(s->commit_root(r2));
    REQUIRE(query_int(path, "SELECT count(*) FROM packs WHERE codec = 3") > 0);

    const auto clean = verify::run(*s).value();
    INFO((clean.problems.empty() ? "" : clean.problems.front().detail));
    CHECK(clean.ok());
    CHECK(clean.blobs_checked == 2002);

    // v1's records are now reachable only as delta bases: gc may drop their index rows but
    // must keep the bytes v2 decodes from.
    REQUIRE(s->remove_root("v1").value());
    auto plan = gc::plan(*s).value();
    REQUIRE(gc::execute(*s, plan));
  }
  auto ro = store::open_sqlite_store(path).value();
  for (std::size_t i = 0; i < v2.size(); ++i) {
    REQUIRE(ro->get(v2[i]).value()->data == test::bytes(v2_text[i]));
  }
  CHECK(verify::run(*ro).value().ok());
}
