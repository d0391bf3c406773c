// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Archives built through the library for verify/gc tests (pack is a separate module): small
// graphs of blobs with shared and private parts, and helpers that damage an archive file the
// way real damage looks. Header-only so that unit and CLI tests can both use it.

#include <pagable/store.hpp>

#include "store/sqlite_store.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace test::archive {

using pagable::Blob;
using pagable::Bytes;
using pagable::Key;

inline std::unique_ptr<pagable::store::BlobStore>
open(const std::string& path, pagable::store::OpenMode mode = pagable::store::OpenMode::create,
     pagable::store::SqliteOptions o = {})
{
  o.mode = mode;
  auto s = pagable::store::open_sqlite_store(path, o);
  INFO((s ? "" : s.error().message()));
  REQUIRE(s);
  return std::move(s).value();
}

// A document: a top blob over a shared subtree (leaves "shared-<i>", the same for every
// document with the same `shared` count) and a private subtree (leaves naming `name`).
struct Doc {
  Key top;
  std::set<Key> all;      // every key the top reaches
  std::set<Key> privates; // keys only this document has (top, private middle, private leaves)
};

// Throws std::runtime_error on failure (no Catch macro: safe on helper threads, and Catch
// reports the exception on the test's thread).
inline Key put(pagable::store::BlobStore& s, const std::string& text,
               std::vector<Key> children = {})
{
  auto k = s.put(Blob{test::bytes(text), std::move(children)});
  if (!k) {
    throw std::runtime_error("put: " + k.error().message());
  }
  return *k;
}

inline Doc put_doc(pagable::store::BlobStore& s, const std::string& name, int shared, int privates,
                   const std::vector<std::string>& extra_leaves = {})
{
  Doc d;
  std::vector<Key> shared_leaves;
  for (int i = 0; i < shared; ++i) {
    shared_leaves.push_back(put(s, "shared leaf " + std::to_string(i) + std::string(40, 's')));
    d.all.insert(shared_leaves.back());
  }
  const Key shared_mid = put(s, "shared middle", shared_leaves);
  d.all.insert(shared_mid);
  std::vector<Key> private_leaves;
  for (int i = 0; i < privates; ++i) {
    private_leaves.push_back(
        put(s, name + " private leaf " + std::to_string(i) + std::string(40, 'p')));
    d.privates.insert(private_leaves.back());
  }
  for (const auto& leaf : extra_leaves) {
    private_leaves.push_back(put(s, leaf));
    d.all.insert(private_leaves.back());
  }
  const Key private_mid = put(s, name + " private middle", private_leaves);
  d.privates.insert(private_mid);
  d.top = put(s, name + " top", {shared_mid, private_mid});
  d.privates.insert(d.top);
  d.all.insert(d.privates.begin(), d.privates.end());
  return d;
}

inline void commit(pagable::store::BlobStore& s, const std::string& name, const Key& key)
{
  pagable::store::RootRecord r;
  r.name = name;
  r.key = key;
  const auto c = s.commit_root(r);
  INFO((c ? "" : c.error().message()));
  REQUIRE(c);
}

// Every blob `top` reaches, depth first; Errc from the store on the first failure.
inline pagable::Result<std::vector<Blob>> read_all(const pagable::store::BlobStore& s,
                                                   const Key& top)
{
  std::vector<Blob> out;
  std::vector<Key> stack{top};
  std::set<Key> seen{top};
  while (!stack.empty()) {
    const Key k = stack.back();
    stack.pop_back();
    PAGABLE_TRY_ASSIGN(auto b, s.get(k));
    if (!b) {
      return pagable::make_error(pagable::Errc::not_found, "blob " + k.to_hex() + " is missing");
    }
    for (auto it = b->children.rbegin(); it != b->children.rend(); ++it) {
      if (seen.insert(*it).second) {
        stack.push_back(*it);
      }
    }
    out.push_back(std::move(*b));
  }
  return out;
}

// Runs SQL against the archive file directly (damage, inspection).
inline void sql(const std::string& path, const std::string& statement)
{
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

// The keys of the blobs the index places in each pack, by pack id.
inline std::map<std::int64_t, std::vector<Key>> blobs_by_pack(const std::string& path)
{
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT pack, key FROM blobs", -1, &st, nullptr) == SQLITE_OK);
  std::map<std::int64_t, std::vector<Key>> out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const auto* k = static_cast<const std::uint8_t*>(sqlite3_column_blob(st, 1));
    out[sqlite3_column_int64(st, 0)].push_back(
        Key::from_bytes({k, static_cast<std::size_t>(sqlite3_column_bytes(st, 1))}).value());
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// One integer from a query.
inline std::int64_t sql_int(const std::string& path, const std::string& query)
{
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, query.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const std::int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

// A pack row as stored: (codec, raw_size, data), by id.
struct StoredPackRow {
  std::int64_t codec = 0;
  std::int64_t raw_size = 0;
  Bytes data;
};
inline std::map<std::int64_t, StoredPackRow> pack_rows(const std::string& path)
{
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT id, codec, raw_size, data FROM packs", -1, &st, nullptr) ==
          SQLITE_OK);
  std::map<std::int64_t, StoredPackRow> out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const auto* d = static_cast<const std::uint8_t*>(sqlite3_column_blob(st, 3));
    StoredPackRow row{sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
                      Bytes(d, d + sqlite3_column_bytes(st, 3))};
    out.emplace(sqlite3_column_int64(st, 0), std::move(row));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// Deletes the blob row of `key` (a missing blob).
inline void delete_blob_row(const std::string& path, const Key& key)
{
  sql(path, "DELETE FROM blobs WHERE key = x'" + key.to_hex() + "'");
}

// Flips one byte of pack `pack_id`'s stored (compressed) data, at `at` modulo its length.
inline void flip_pack_byte(const std::string& path, std::int64_t pack_id, std::size_t at)
{
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT data FROM packs WHERE id = ?1", -1, &st, nullptr) ==
          SQLITE_OK);
  sqlite3_bind_int64(st, 1, pack_id);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(st, 0));
  Bytes data(p, p + sqlite3_column_bytes(st, 0));
  sqlite3_finalize(st);
  REQUIRE_FALSE(data.empty());
  data[at % data.size()] ^= 0x5A;
  REQUIRE(sqlite3_prepare_v2(db, "UPDATE packs SET data = ?2 WHERE id = ?1", -1, &st, nullptr) ==
          SQLITE_OK);
  sqlite3_bind_int64(st, 1, pack_id);
  sqlite3_bind_blob(st, 2, data.data(), static_cast<int>(data.size()), SQLITE_TRANSIENT);
  REQUIRE(sqlite3_step(st) == SQLITE_DONE);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

// Points the rows of two same-size blobs at each other's bytes: both keys then mismatch.
inline void swap_blob_places(const std::string& path, const Key& a, const Key& b)
{
  const std::string ka = "x'" + a.to_hex() + "'";
  const std::string kb = "x'" + b.to_hex() + "'";
  const auto pa = sql_int(path, "SELECT pack FROM blobs WHERE key = " + ka);
  const auto oa = sql_int(path, "SELECT offset FROM blobs WHERE key = " + ka);
  const auto pb = sql_int(path, "SELECT pack FROM blobs WHERE key = " + kb);
  const auto ob = sql_int(path, "SELECT offset FROM blobs WHERE key = " + kb);
  REQUIRE(sql_int(path, "SELECT size FROM blobs WHERE key = " + ka) ==
          sql_int(path, "SELECT size FROM blobs WHERE key = " + kb));
  sql(path, "UPDATE blobs SET pack = " + std::to_string(pb) + ", offset = " + std::to_string(ob) +
                " WHERE key = " + ka + "; UPDATE blobs SET pack = " + std::to_string(pa) +
                ", offset = " + std::to_string(oa) + " WHERE key = " + kb);
}

} // namespace test::archive
