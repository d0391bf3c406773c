// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The archive's tables, format version and identity. Normative description: docs/FORMAT.md;
// any change here changes that file, k_format_version and the golden archives together.

#include <pagable/version.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pagable::store {

// PRAGMA application_id of every pagable archive: "pgbl".
inline constexpr std::int64_t k_application_id = 0x7067626C;
// A delta pack's depth is 1 + the deepest pack its bases live in; bases in packs this deep
// are not used, so reading one pack never decodes a chain longer than this.
inline constexpr std::int64_t k_max_delta_depth = 4;
// The delta prefix of a pack is at most this many times the pack target size.
inline constexpr std::size_t k_max_prefix_factor = 8;

static_assert(k_format_version == 6, "k_create_schema_sql writes user_version = 6");

inline constexpr const char* k_create_schema_sql = R"sql(
PRAGMA application_id = 1885823596;
PRAGMA user_version = 6;
CREATE TABLE meta(
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE settings(
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE packs(
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  codec    INTEGER NOT NULL,
  dict_id  INTEGER,
  depth    INTEGER NOT NULL DEFAULT 0,
  raw_size INTEGER NOT NULL,
  data     BLOB NOT NULL
);
CREATE TABLE pack_bases(
  pack      INTEGER NOT NULL,
  seq       INTEGER NOT NULL,
  base_pack INTEGER NOT NULL,
  offset    INTEGER NOT NULL,
  size      INTEGER NOT NULL,
  PRIMARY KEY (pack, seq)
) WITHOUT ROWID;
)sql";

// The root catalogue of format 5 (FORMAT.md "Roots"): every version of every name, and each
// name's highest version number ever given, so that a number is never given twice even after
// its version was removed. A new archive gets them from create_archive_tables; the first
// write into an older archive moves its one-version-a-name table into them
// (upgrade_roots_table in store/sqlite_catalog.hpp).
inline std::string roots_table_sql(std::string_view name = "roots")
{
  return "CREATE TABLE " + std::string(name) + R"sql((
  name        TEXT NOT NULL,
  version     INTEGER NOT NULL,
  key         BLOB NOT NULL,
  schema_key  BLOB,
  created_ms  INTEGER NOT NULL,
  labels      TEXT NOT NULL,
  stats       TEXT NOT NULL,
  bytes_added INTEGER,
  PRIMARY KEY (name, version)
) WITHOUT ROWID;
)sql";
}
inline constexpr const char* k_names_table_sql = R"sql(
CREATE TABLE names(
  name         TEXT PRIMARY KEY,
  last_version INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// The blob table of format 6 under `name`, and its key index (format 4's). A new archive gets
// it from k_create_schema_sql's caller; `gc --compact` rebuilds an older archive's table into
// it. AUTOINCREMENT (format 6): a row id is never given twice, so child lists may name
// children by row id (store/child_keys.hpp).
inline std::string blobs_table_sql(std::string_view name = "blobs")
{
  const std::string n(name);
  return "CREATE TABLE " + n + R"sql((
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  key      BLOB NOT NULL,
  pack     INTEGER NOT NULL,
  offset   INTEGER NOT NULL,
  size     INTEGER NOT NULL,
  children BLOB
);
)sql";
}
inline constexpr const char* k_blobs_index_sql =
    "CREATE INDEX blobs_key_prefix ON blobs(substr(key, 1, 8));";

static_assert(k_application_id == 1885823596, "k_create_schema_sql repeats the application id");

// The condition that finds the blob row of key ?1. From format 4, keys are found through an
// index on their first 8 bytes (blobs_key_prefix), which SQLite uses only when a query names
// that very expression; the whole key then picks the row among the (rare) ones sharing the
// prefix. Archives of formats 0 to 3 have a UNIQUE index on the whole key instead, which
// SQLite picks for the same condition. `column` may be qualified ("b.key").
inline std::string blob_key_is(std::string_view column = "key", std::string_view param = "?1")
{
  std::string c(column);
  std::string p(param);
  return "substr(" + c + ", 1, 8) = substr(" + p + ", 1, 8) AND " + c + " = " + p;
}

} // namespace pagable::store
