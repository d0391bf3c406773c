// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Thin RAII over the SQLite C API: a connection and prepared statements with bound
// parameters only. No other module includes sqlite3.h (docs/ARCHITECTURE.md).
// Thread-safety: a Db and its statements belong to one thread at a time.

#include <pagable/result.hpp>

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace pagable::store::sql {

// Converts a SQLite result code to an Error; `what` says what was being done.
Error error_from(sqlite3* db, int rc, std::string_view what);

class Stmt {
public:
  Stmt() = default;
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : m_db(db), m_stmt(stmt) {}
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&& other) noexcept;
  ~Stmt();

  Stmt& bind(int index, std::int64_t value);
  Stmt& bind(int index, std::span<const std::uint8_t> blob); // empty span binds an empty blob
  Stmt& bind(int index, std::string_view text);
  Stmt& bind_null(int index);
  // A bind that failed (out of memory copying the value: SQLITE_TRANSIENT) is reported by the
  // next step(), which then does not run the statement: a NULL must never be stored instead.

  // Steps once: true when a row is available, false when done.
  Result<bool> step(std::string_view what);
  // Steps to completion, ignoring rows; resets.
  Result<void> run(std::string_view what);
  // Steps through every row, calling fn on each (it reads the columns); stops at fn's first
  // error. Resets afterwards, whatever happened, so the statement can be bound again.
  Result<void> each_row(std::string_view what, const std::function<Result<void>(const Stmt&)>& fn);
  // Steps once and calls fn on the row when there is one; resets afterwards. Returns true iff
  // there was a row.
  Result<bool> first_row(std::string_view what, const std::function<Result<void>(const Stmt&)>& fn);
  void reset();
  bool prepared() const noexcept { return m_stmt != nullptr; }

  std::int64_t column_int(int col) const;
  bool column_is_null(int col) const;
  std::span<const std::uint8_t> column_blob(int col) const;
  std::string column_text(int col) const;

private:
  Stmt& note_bind(int rc) noexcept;

  sqlite3* m_db = nullptr;
  sqlite3_stmt* m_stmt = nullptr;
  int m_bind_rc = SQLITE_OK; // the first failed bind since the last reset
};

class Db {
public:
  Db() = default;
  Db(Db&& other) noexcept : m_db(other.m_db) { other.m_db = nullptr; }
  Db& operator=(Db&& other) noexcept;
  ~Db();

  // Opens `uri` (a file: URI) with the given SQLITE_OPEN_* flags.
  static Result<Db> open(const std::string& uri, int flags, std::chrono::milliseconds busy_wait);

  Result<Stmt> prepare(std::string_view sql);
  // Runs one or more statements without parameters.
  Result<void> exec(std::string_view sql);
  // True while a transaction is open on this connection, whatever its owner believes: a
  // statement that failed (out of memory, I/O) may or may not have ended it (SQLite's
  // "Response To Errors Within A Transaction").
  bool in_transaction() const noexcept { return m_db != nullptr && sqlite3_get_autocommit(m_db) == 0; }
  // Ends the open transaction, if any, by rolling it back. ROLLBACK itself may fail for want
  // of memory (sqlite3_exec prepares it): it is tried again a few times, so that the next
  // BEGIN does not meet "cannot start a transaction within a transaction".
  void rollback_if_open() noexcept;
  // Ends a read snapshot (BEGIN ... reads): COMMIT, else rollback_if_open, so that a pooled
  // reader never goes back to its pool inside a transaction.
  void end_read() noexcept;
  sqlite3* handle() const noexcept { return m_db; }
  std::int64_t changes() const noexcept { return sqlite3_changes64(m_db); }

private:
  explicit Db(sqlite3* db) : m_db(db) {}
  sqlite3* m_db = nullptr;
};

} // namespace pagable::store::sql
