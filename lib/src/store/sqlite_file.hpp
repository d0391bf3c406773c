// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The archive as a file (docs/FORMAT.md "The file"): how SQLite is asked to open it, how a
// new one gets its tables, and the checks that refuse what is not a pagable archive or is of
// a newer format.
// Thread-safety: functions of their arguments; a connection belongs to one thread at a time.

#include <pagable/result.hpp>
#include <pagable/store.hpp>

#include "store/sqlite_db.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace pagable::store {

// "file:" URI for a path, percent-encoding what URIs reserve; `query` as given.
std::string file_uri(const std::string& path, const std::string& query);
std::int64_t now_unix_ms();

// Creates pagable's tables and metadata in an empty database, inside the caller's transaction.
Result<void> create_archive_tables(sql::Db& db);

// Reads the metadata and returns the archive's format version, refusing with
// Errc::unusable_archive (naming `path`) what is not a pagable archive, or is of a format this
// pagable does not read.
Result<std::int64_t> check_archive(sql::Db& db, const std::string& path);

struct WriteConnection {
  sql::Db db;
  std::int64_t format = 0; // the archive's format version
};

// Opens the archive's write connection: creates the file and its tables when `mode` says so
// and it is missing or empty (a new archive gets pages of new_archive_page_bytes), switches
// it to WAL, and checks it as check_archive does. Two pagables creating one archive at once
// both succeed. Another program's database is refused before anything is written to it.
Result<WriteConnection> open_write_connection(const std::string& path, OpenMode mode,
                                              std::chrono::milliseconds lock_wait,
                                              std::size_t new_archive_page_bytes);

} // namespace pagable::store
