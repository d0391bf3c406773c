// SPDX-License-Identifier: MIT OR Apache-2.0
#include "store/sqlite_file.hpp"

#include <pagable/store.hpp>

#include "store/sqlite_schema.hpp"
#include "util/files.hpp"

#include <pagable/version.hpp>

#include <sys/stat.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <utility>

namespace pagable::store {

using sql::Db;
using sql::Stmt;

std::int64_t now_unix_ms()
{
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "file:" URI for a path, percent-encoding what URIs reserve.
std::string file_uri(const std::string& path, const std::string& query)
{
  std::string uri = "file:";
  for (const char c : path) {
    if (c == '%' || c == '?' || c == '#' || c == ' ') {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      uri += buf;
    } else {
      uri += c;
    }
  }
  return query.empty() ? uri : uri + "?" + query;
}

// Reads meta and refuses what this version cannot use.
Result<std::int64_t> check_archive(Db& db, const std::string& path)
{
  PAGABLE_TRY_ASSIGN(Stmt app, db.prepare("PRAGMA application_id"));
  auto has = app.step("reading the archive header");
  if (!has) {
    Error e = std::move(has).error();
    if (e.code() == Errc::unusable_archive) {
      return make_error(Errc::unusable_archive,
                        path + " is not a pagable archive (not an SQLite database)");
    }
    return std::move(e).with_context(path);
  }
  if (!*has || app.column_int(0) != k_application_id) {
    return make_error(Errc::unusable_archive,
                      path + " is not a pagable archive (an SQLite database of another kind)");
  }
  PAGABLE_TRY_ASSIGN(Stmt meta, db.prepare("SELECT value FROM meta WHERE name = 'format_version'"));
  PAGABLE_TRY_ASSIGN(const bool row, meta.step("reading the archive's format version"));
  if (!row) {
    return make_error(Errc::unusable_archive, path + ": archive metadata has no format version");
  }
  const std::string v = meta.column_text(0);
  std::int64_t version = -1;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), version);
  if (ec != std::errc() || end != v.data() + v.size()) {
    return make_error(Errc::unusable_archive, path + ": unreadable format version \"" + v + "\"");
  }
  if (version > k_format_version) {
    return make_error(Errc::unusable_archive,
                      path + " has archive format " + std::to_string(version) +
                          ", newer than this pagable reads (" + std::to_string(k_format_version) +
                          "); use a newer pagable");
  }
  if (version < k_oldest_format_read) {
    return make_error(Errc::unusable_archive,
                      path + " has archive format " + std::to_string(version) +
                          ", which this pagable no longer reads");
  }
  return version;
}

Result<void> create_archive_tables(Db& db)
{
  PAGABLE_TRY(db.exec(k_create_schema_sql));
  PAGABLE_TRY(db.exec(roots_table_sql()));
  PAGABLE_TRY(db.exec(k_names_table_sql));
  PAGABLE_TRY(db.exec(blobs_table_sql()));
  PAGABLE_TRY(db.exec(k_blobs_index_sql));
  PAGABLE_TRY_ASSIGN(Stmt meta, db.prepare("INSERT INTO meta(name, value) VALUES (?1, ?2)"));
  const std::pair<std::string, std::string> rows[] = {
      {"format_version", std::to_string(k_format_version)},
      {"key_algorithm", "sha256"},
      {"created_by", std::string("pagable ") + k_version},
      {"created_unix_ms", std::to_string(now_unix_ms())},
  };
  for (const auto& [n, v] : rows) {
    PAGABLE_TRY(meta.bind(1, n).bind(2, v).run("writing archive metadata"));
  }
  return {};
}

Result<WriteConnection> open_write_connection(const std::string& path, OpenMode mode,
                                              std::chrono::milliseconds lock_wait,
                                              std::size_t new_archive_page_bytes)
{
  const bool exists = util::file_exists(path);
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                    (mode == OpenMode::create ? SQLITE_OPEN_CREATE : 0);
  PAGABLE_TRY_ASSIGN(Db db, Db::open(file_uri(path, ""), flags, lock_wait));
  // Look before touching anything: the first read is where a non-SQLite file shows itself,
  // and another program's database must not be switched to WAL.
  auto foreign = [&]() -> Result<bool> {
    PAGABLE_TRY_ASSIGN(Stmt q, db.prepare("SELECT count(*), (SELECT application_id FROM "
                                             "pragma_application_id) FROM sqlite_schema"));
    PAGABLE_TRY(q.step("reading the archive header"));
    return q.column_int(0) > 0 && q.column_int(1) != k_application_id;
  }();
  if (!foreign) {
    if (foreign.error().code() == Errc::unusable_archive) {
      return make_error(Errc::unusable_archive,
                        path + " is not a pagable archive (not an SQLite database)");
    }
    return std::move(foreign).error().with_context(path);
  }
  if (*foreign) {
    return make_error(Errc::unusable_archive,
                      path + " is not a pagable archive (an SQLite database of another kind)");
  }
  // Two pagables creating one archive at the same moment: switching the new file to WAL, or
  // the transaction after, can meet the other's lock with SQLITE_BUSY at once, SQLite's busy
  // handler unasked (2 `pack`s into one new archive failed 1 time in 12, "database is
  // locked"). So those two wait up to the lock wait too.
  const auto deadline = std::chrono::steady_clock::now() + lock_wait;
  const auto patiently = [&](const char* sql) -> Result<void> {
    for (;;) {
      auto done = db.exec(sql);
      if (done || done.error().code() != Errc::locked ||
          std::chrono::steady_clock::now() >= deadline) {
        return done;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  if (!exists) {
    // Before anything is written: a database's page size is fixed once it has pages (and
    // cannot change in WAL mode).
    PAGABLE_TRY(db.exec("PRAGMA page_size = " + std::to_string(new_archive_page_bytes)));
    // Format 5: free pages can go back to the file system a few at a time (PRAGMA
    // incremental_vacuum) instead of through a VACUUM that needs the archive's size free
    // again. Only a database without tables can take it, so before anything is created.
    PAGABLE_TRY(db.exec("PRAGMA auto_vacuum = INCREMENTAL"));
  }
  PAGABLE_TRY(patiently("PRAGMA journal_mode = WAL"));
  PAGABLE_TRY(db.exec("PRAGMA synchronous = NORMAL"));
  // Debian's SQLite zeroes every freed page by default (secure_delete = ON): removing a 2 MiB
  // pack then wrote 2 MiB of zeros into the WAL, so gc filled a full disk further and failed
  // (issue 20). FAST zeroes only what costs no extra I/O; the archive holds no secrets that
  // its freed pages would give away beyond its file's other pages.
  PAGABLE_TRY(db.exec("PRAGMA secure_delete = FAST"));
  PAGABLE_TRY(patiently("BEGIN IMMEDIATE"));
  auto created = [&]() -> Result<void> {
    PAGABLE_TRY_ASSIGN(Stmt probe, db.prepare("SELECT count(*) FROM sqlite_schema"));
    PAGABLE_TRY(probe.step("reading the archive's tables"));
    if (probe.column_int(0) == 0) {
      if (mode != OpenMode::create) {
        return make_error(Errc::unusable_archive, path + " is an empty database, not a "
                                                           "pagable archive");
      }
      return create_archive_tables(db);
    }
    return {};
  }();
  if (!created) {
    db.rollback_if_open();
    return std::move(created).error();
  }
  PAGABLE_TRY(db.exec("COMMIT"));
  PAGABLE_TRY_ASSIGN(const std::int64_t format, check_archive(db, path));
  return WriteConnection{std::move(db), format};
}

bool is_archive_file(const std::string& path)
{
  // The database header: 16 bytes of magic, the application id big-endian at offset 68.
  constexpr char k_magic[] = "SQLite format 3";
  // Only a regular file is read: a pipe or FIFO named here is somebody's input, and reading
  // its first bytes would take them from it (or wait for a writer).
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return false;
  }
  unsigned char head[72] = {};
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return false;
  }
  const std::size_t n = std::fread(head, 1, sizeof head, f);
  std::fclose(f);
  if (n != sizeof head || std::memcmp(head, k_magic, sizeof k_magic) != 0) {
    return false;
  }
  const std::int64_t id = (std::int64_t{head[68]} << 24) | (head[69] << 16) | (head[70] << 8) | head[71];
  if (id == k_application_id) {
    return true;
  }
  // A new archive whose first transactions are still in its WAL (being written, or left by a
  // killed pack before a checkpoint) has no application id in the main file yet.
  struct stat wal {};
  return id == 0 && ::stat((path + "-wal").c_str(), &wal) == 0 && S_ISREG(wal.st_mode) &&
         wal.st_size > 0;
}

} // namespace pagable::store
