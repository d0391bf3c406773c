// SPDX-License-Identifier: MIT OR Apache-2.0
#include "store/sqlite_db.hpp"

#include <utility>

namespace pagable::store::sql {

Error error_from(sqlite3* db, int rc, std::string_view what)
{
  std::string msg(what);
  msg += ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xFF) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return make_error(Errc::locked, msg);
  case SQLITE_NOTADB:
    return make_error(Errc::unusable_archive, msg);
  case SQLITE_CORRUPT:
    return make_error(Errc::corrupt, msg);
  case SQLITE_FULL:
  case SQLITE_NOMEM: // SQLite could not allocate: a resource ran out, as a full disk
  case SQLITE_IOERR:
  case SQLITE_PERM:
  case SQLITE_READONLY:
  case SQLITE_CANTOPEN:
  case SQLITE_AUTH:
    return make_error(Errc::io, msg);
  case SQLITE_INTERRUPT:
    return make_error(Errc::cancelled, msg);
  default:
    return make_error(Errc::internal, msg);
  }
}

Stmt::Stmt(Stmt&& other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)), m_stmt(std::exchange(other.m_stmt, nullptr)),
      m_bind_rc(std::exchange(other.m_bind_rc, SQLITE_OK))
{
}

Stmt& Stmt::operator=(Stmt&& other) noexcept
{
  if (this != &other) {
    sqlite3_finalize(m_stmt);
    m_db = std::exchange(other.m_db, nullptr);
    m_stmt = std::exchange(other.m_stmt, nullptr);
    m_bind_rc = std::exchange(other.m_bind_rc, SQLITE_OK);
  }
  return *this;
}

Stmt::~Stmt()
{
  sqlite3_finalize(m_stmt);
}

Stmt& Stmt::bind(int index, std::int64_t value)
{
  return note_bind(sqlite3_bind_int64(m_stmt, index, value));
}

Stmt& Stmt::bind(int index, std::span<const std::uint8_t> blob)
{
  static const std::uint8_t empty = 0;
  return note_bind(sqlite3_bind_blob64(m_stmt, index, blob.empty() ? &empty : blob.data(), blob.size(),
                                       SQLITE_TRANSIENT));
}

Stmt& Stmt::bind(int index, std::string_view text)
{
  return note_bind(sqlite3_bind_text64(m_stmt, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}

Stmt& Stmt::bind_null(int index)
{
  return note_bind(sqlite3_bind_null(m_stmt, index));
}

Stmt& Stmt::note_bind(int rc) noexcept
{
  if (rc != SQLITE_OK && m_bind_rc == SQLITE_OK) {
    m_bind_rc = rc;
  }
  return *this;
}

Result<bool> Stmt::step(std::string_view what)
{
  if (m_bind_rc != SQLITE_OK) {
    Error e = error_from(nullptr, m_bind_rc, std::string(what) + " (binding a value)");
    reset();
    return e;
  }
  const int rc = sqlite3_step(m_stmt);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  Error e = error_from(m_db, rc, what);
  sqlite3_reset(m_stmt);
  return e;
}

Result<void> Stmt::run(std::string_view what)
{
  for (;;) {
    PAGABLE_TRY_ASSIGN(const bool row, step(what));
    if (!row) {
      break;
    }
  }
  reset();
  return {};
}

Result<void> Stmt::each_row(std::string_view what, const std::function<Result<void>(const Stmt&)>& fn)
{
  for (;;) {
    auto row = step(what);
    if (!row || !*row) {
      reset();
      return row ? Result<void>() : Result<void>(std::move(row).error());
    }
    if (auto done = fn(*this); !done) {
      reset();
      return done;
    }
  }
}

Result<bool> Stmt::first_row(std::string_view what, const std::function<Result<void>(const Stmt&)>& fn)
{
  auto row = step(what);
  if (!row) {
    reset();
    return row;
  }
  auto done = *row ? fn(*this) : Result<void>();
  reset();
  if (!done) {
    return std::move(done).error();
  }
  return *row;
}

void Stmt::reset()
{
  sqlite3_reset(m_stmt);
  sqlite3_clear_bindings(m_stmt);
  m_bind_rc = SQLITE_OK;
}

std::int64_t Stmt::column_int(int col) const
{
  return sqlite3_column_int64(m_stmt, col);
}

bool Stmt::column_is_null(int col) const
{
  return sqlite3_column_type(m_stmt, col) == SQLITE_NULL;
}

std::span<const std::uint8_t> Stmt::column_blob(int col) const
{
  const void* p = sqlite3_column_blob(m_stmt, col);
  const int n = sqlite3_column_bytes(m_stmt, col);
  if (p == nullptr || n <= 0) {
    return {};
  }
  return {static_cast<const std::uint8_t*>(p), static_cast<std::size_t>(n)};
}

std::string Stmt::column_text(int col) const
{
  const unsigned char* p = sqlite3_column_text(m_stmt, col);
  const int n = sqlite3_column_bytes(m_stmt, col);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
}

Db& Db::operator=(Db&& other) noexcept
{
  if (this != &other) {
    sqlite3_close_v2(m_db);
    m_db = std::exchange(other.m_db, nullptr);
  }
  return *this;
}

Db::~Db()
{
  sqlite3_close_v2(m_db);
}

Result<Db> Db::open(const std::string& uri, int flags, std::chrono::milliseconds busy_wait)
{
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(uri.c_str(), &db, flags | SQLITE_OPEN_URI, nullptr);
  if (rc != SQLITE_OK) {
    Error e = error_from(db, rc, "opening " + uri);
    sqlite3_close_v2(db);
    return e;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(busy_wait.count()));
  return Db(db);
}

Result<Stmt> Db::prepare(std::string_view sql)
{
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(m_db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    return error_from(m_db, rc, "preparing SQL");
  }
  return Stmt(m_db, stmt);
}

Result<void> Db::exec(std::string_view sql)
{
  char* err = nullptr;
  const int rc = sqlite3_exec(m_db, std::string(sql).c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) {
    return error_from(m_db, rc, "running SQL");
  }
  return {};
}

void Db::rollback_if_open() noexcept
{
  for (int attempt = 0; attempt < 3 && in_transaction(); ++attempt) {
    (void)exec("ROLLBACK");
  }
}

void Db::end_read() noexcept
{
  if (!exec("COMMIT")) {
    rollback_if_open();
  }
}

} // namespace pagable::store::sql
