// SPDX-License-Identifier: MIT OR Apache-2.0
#include "store/reader_pool.hpp"

#include "store/child_keys.hpp"
#include "store/sqlite_schema.hpp"
#include "util/files.hpp"

namespace pagable::store {

Result<std::unique_ptr<ReadConnection>> ReaderPool::connect() const
{
  auto r = std::make_unique<ReadConnection>();
  PAGABLE_TRY_ASSIGN(r->db, sql::Db::open(m_config.uri, m_config.flags | SQLITE_OPEN_NOMUTEX,
                                          m_config.lock_wait));
  // Readers never write; this makes an accidental write an error instead of a change.
  PAGABLE_TRY(r->db.exec("PRAGMA query_only = ON"));
  // Always set: 0 must mean off even where SQLite was built or configured to map by default.
  PAGABLE_TRY(r->db.exec("PRAGMA mmap_size = " + std::to_string(m_config.mmap_bytes)));
  auto prepared = [&]() -> Result<void> {
    PAGABLE_TRY_ASSIGN(r->get_blob, r->db.prepare("SELECT pack, offset, size, children FROM "
                                                  "blobs WHERE " + blob_key_is()));
    PAGABLE_TRY_ASSIGN(r->get_children,
                       r->db.prepare("SELECT children FROM blobs WHERE " + blob_key_is()));
    PAGABLE_TRY_ASSIGN(r->key_of_id, r->db.prepare(k_key_of_id_sql));
    return {};
  }();
  if (!prepared) {
    if (prepared.error().code() == Errc::unusable_archive) {
      return make_error(Errc::unusable_archive,
                        m_config.path + " is not a pagable archive (not an SQLite database)");
    }
    // Preparing fails on a database without our tables: also not an archive of ours. An empty
    // file is one too (SQLite reads it as a database with no tables); pack makes it one.
    if (prepared.error().code() == Errc::internal && util::file_exists(m_config.path) &&
        util::file_size(m_config.path) == 0) {
      return make_error(Errc::unusable_archive,
                        m_config.path + " is an empty file, not a pagable archive (yet: pack writes one into it)");
    }
    if (prepared.error().code() == Errc::internal) {
      return make_error(Errc::unusable_archive, m_config.path + " is not a pagable archive (" +
                                                    prepared.error().message() + ")");
    }
    return std::move(prepared).error().with_context(m_config.path);
  }
  return r;
}

Result<void> ReaderPool::open()
{
  PAGABLE_TRY_ASSIGN(auto first, connect());
  std::lock_guard lock(m_mutex);
  m_free.push_back(first.get());
  m_all.push_back(std::move(first));
  return {};
}

ReaderPool::Lease ReaderPool::acquire() const
{
  std::unique_lock lock(m_mutex);
  for (;;) {
    if (!m_free.empty()) {
      ReadConnection* r = m_free.back();
      m_free.pop_back();
      return Lease(*this, r);
    }
    if (m_all.size() < m_config.max_readers) {
      lock.unlock();
      auto r = connect();
      lock.lock();
      if (r) {
        m_all.push_back(std::move(r).value());
        return Lease(*this, m_all.back().get());
      }
      // Opening another connection failed: fall back to waiting for a pooled one.
    }
    m_released.wait(lock, [&] { return !m_free.empty(); });
  }
}

void ReaderPool::release(ReadConnection* r) const
{
  {
    std::lock_guard lock(m_mutex);
    m_free.push_back(r);
  }
  m_released.notify_one();
}

void ReaderPool::close()
{
  std::lock_guard lock(m_mutex);
  m_free.clear();
  m_all.clear();
}

} // namespace pagable::store
