// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The SQLite store's read connections: a pool of at most `max_readers` connections, opened on
// demand, each with its prepared key lookups. A reader holds one for the length of one read
// (a Lease), so concurrent reads each get a snapshot of their own.
// Thread-safety: acquire() may be called from many threads at once; a lease belongs to one.

#include <pagable/result.hpp>

#include "store/sqlite_db.hpp"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace pagable::store {

struct ReadConnection {
  sql::Db db;
  sql::Stmt get_blob;     // key -> pack, offset, size, children
  sql::Stmt get_children; // key -> children
  sql::Stmt key_of_id;    // row id -> key, for child lists that name rows (format 6)
};

struct ReaderPoolConfig {
  std::string path; // for messages
  std::string uri;  // how to open the file (immutable when it may not be written)
  int flags = 0;    // SQLITE_OPEN_* for reading
  std::chrono::milliseconds lock_wait{10'000};
  std::size_t mmap_bytes = 0; // SqliteOptions::read_mmap_bytes
  unsigned max_readers = 2;
};

class ReaderPool {
public:
  class Lease {
  public:
    Lease(const ReaderPool& pool, ReadConnection* r) : m_pool(pool), m_reader(r) {}
    ~Lease() { m_pool.release(m_reader); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ReadConnection& operator*() const { return *m_reader; }
    ReadConnection* operator->() const { return m_reader; }

  private:
    const ReaderPool& m_pool;
    ReadConnection* m_reader;
  };

  explicit ReaderPool(ReaderPoolConfig config) : m_config(std::move(config)) {}

  // Opens the first connection, which proves the file readable. Errc::unusable_archive when
  // the file is not an archive of ours.
  Result<void> open();
  // A connection, opening another when all are busy and fewer than max_readers are open,
  // else waiting for one to be released.
  Lease acquire() const;
  // Closes every connection. REQUIRES: no lease is held.
  void close();

  const ReaderPoolConfig& config() const noexcept { return m_config; }

private:
  Result<std::unique_ptr<ReadConnection>> connect() const;
  void release(ReadConnection* r) const;

  const ReaderPoolConfig m_config;
  mutable std::mutex m_mutex;
  mutable std::condition_variable m_released;
  mutable std::vector<std::unique_ptr<ReadConnection>> m_all; // guarded by m_mutex
  mutable std::vector<ReadConnection*> m_free;                // guarded by m_mutex
};

} // namespace pagable::store
