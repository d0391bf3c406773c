// SPDX-License-Identifier: MIT OR Apache-2.0
// The SQLite archive as a BlobStore: the write queue and its writer thread, reads through the
// pool of read connections, and each role's glue to the SQL of its own file (pack_writer,
// pack_reader, take_back, sqlite_catalog, sqlite_transfer).
//
// Threads. Callers (any number of threads) hash blobs and queue them: put() blocks when the
// queue holds write_queue_bytes (back-pressure). One writer thread owns the only write
// connection: it takes everything queued, appends new blobs to the packs being filled
// (pack_writer), hands full packs to a thread that compresses them while it indexes the next
// blobs (their rows go in before the commit), and commits at least twice a second, on
// flush(), and when its producers go quiet for a second -- so SQLite's write lock is held
// only briefly.
// The first write error sticks: every later put and flush returns it. Root commits, removals,
// settings and pack imports run as tasks on the writer thread, each in its own BEGIN
// IMMEDIATE transaction. Reads go through a pool of connections (reader_pool) and a shared
// cache of decoded packs (pack_reader); every read re-hashes the blob against its key. The
// writer logs the rows and packs it inserts, so that discard_writes_since can take a failed
// document's blobs back out (take_back).
#include "store/sqlite_store.hpp"

#include "store/child_keys.hpp"
#include "store/maintenance.hpp"
#include "store/pack_reader.hpp"
#include "store/pack_writer.hpp"
#include "store/reachability.hpp"
#include "store/reader_pool.hpp"
#include "store/sqlite_catalog.hpp"
#include "store/sqlite_file.hpp"
#include "store/sqlite_maintenance.hpp"
#include "store/sqlite_schema.hpp"
#include "store/sqlite_transfer.hpp"
#include "store/take_back.hpp"
#include "util/files.hpp"
#include "util/thread_pool.hpp"

#include <pagable/version.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <variant>

namespace pagable::store {
namespace {

using sql::Db;
using sql::Stmt;

class SqliteStore final : public BlobStore, public MaintenanceProvider {
public:
  SqliteStore(std::string path, SqliteOptions options)
      : m_path(std::move(path)), m_options(options),
        m_packs(m_options.max_pack_bytes, m_options.pack_cache_bytes),
        m_writer(m_options, m_packs, m_counters)
  {
  }
  ~SqliteStore() override { close(); }

  Result<void> open();

  // --- BlobReader ---
  Result<std::optional<Blob>> get(const Key& key) const override;
  std::future<Result<std::optional<Blob>>> get_async(const Key& key) const override;
  Result<bool> contains(const Key& key) const override;
  Result<std::optional<std::vector<Key>>> children_of(const Key& key) const override;
  Result<std::vector<Key>> find_keys_with_prefix(std::string_view hex_prefix,
                                                 std::size_t limit) const override;
  Result<void> for_each_key(const std::function<Result<void>(const Key&)>& fn) const override;
  // --- BlobWriter ---
  Result<Key> put(Blob blob, const PutHints& hints) override;
  Result<void> flush() override;
  Result<std::size_t> remove(std::span<const Key> keys) override;
  Result<WriteMark> mark_writes() override;
  Result<DiscardFigures> discard_writes_since(const WriteMark& mark) override;
  // --- RootCatalog ---
  Result<RootRecord> commit_root(RootRecord root) override;
  Result<RootRecord> import_root(RootRecord root) override;
  Result<std::vector<RootRecord>> list_roots() const override;
  Result<std::vector<RootRecord>> list_versions(std::string_view name) const override;
  Result<std::size_t> remove_root(std::string_view name) override;
  Result<std::size_t> remove_versions(std::string_view name,
                                      std::span<const std::uint64_t> versions) override;
  // --- ArchiveSettings ---
  Result<std::map<std::string, std::string>> settings() const override;
  Result<std::map<std::string, std::string>>
  init_settings(const std::map<std::string, std::string>& values, SettingsWrite mode,
                const OlderSettings& older) override;
  // --- PackTransfer ---
  Result<std::vector<PackDigest>> packs_reached(std::span<const Key> roots) const override;
  Result<std::optional<PackImage>> export_pack(const PackDigest& digest) const override;
  Result<ImportFigures> import_pack(const PackImage& image) override;
  Result<std::uint64_t> drop_pack(const PackDigest& digest) override;
  // --- the rest ---
  Result<StoreStats> stats() const override;
  StoreCounters counters() const override;
  Result<std::unique_ptr<MaintenanceSession>> open_maintenance(SessionAccess access) const override;

private:
  // Work for the writer thread: a blob to store, or a task that runs in a write transaction
  // of its own once everything queued before it is committed.
  // Whether a committed root gets its name's next number or keeps its own (import_root).
  enum class Numbering : std::uint8_t { next, kept };
  Result<RootRecord> commit_numbered(RootRecord root, Numbering numbering);
  using Task = std::function<Result<void>(PackWriter&)>;
  struct QueuedTask {
    Task task;
    std::shared_ptr<std::promise<Result<void>>> done;
  };
  using Item = std::variant<QueuedBlob, QueuedTask>;
  // Queues `task` and waits for its result (its transaction committed, or rolled back when it
  // fails). Errc::invalid_argument on a read-only store.
  Result<void> run_on_writer(Task task);
  void writer_loop();
  void fail_writer(Error e);
  Result<void> writer_error() const;
  // The child list of `key` from a blob row read with `q` (bound and reset here).
  static Result<std::optional<std::vector<Key>>> read_children(Stmt& q, Stmt& key_of_id, const Key& key);
  void close();

  const std::string m_path;
  const SqliteOptions m_options;
  bool m_key_prefix_index = false; // the format 4 key index (else format 0-3's UNIQUE one)

  std::unique_ptr<ReaderPool> m_readers;
  mutable std::once_flag m_async_pool_once;
  mutable std::unique_ptr<util::ThreadPool> m_async_pool; // made by the first get_async
  mutable std::atomic<std::uint64_t> m_gets{0};
  PackReader m_packs;
  mutable PackDigests m_digests;

  // The write queue, shared by producers and the writer thread.
  mutable std::mutex m_queue_mutex;
  std::condition_variable m_queue_cv; // the writer waits for items
  std::condition_variable m_space_cv; // producers wait for space; flushers for progress
  std::deque<Item> m_queue;           // guarded by m_queue_mutex
  std::size_t m_queue_bytes = 0;      // guarded by m_queue_mutex
  std::uint64_t m_enqueued = 0;       // items ever queued, guarded by m_queue_mutex
  std::uint64_t m_committed = 0;      // items whose effects are committed, guarded
  std::uint64_t m_flush_wanted = 0;   // commit at least up to this item, guarded
  bool m_stopping = false;            // guarded by m_queue_mutex
  std::optional<Error> m_error;       // sticky first write error, guarded by m_queue_mutex
  std::thread m_thread;
  std::atomic<std::uint64_t> m_puts{0};
  WriterCounters m_counters;

  // Writer thread only (and open/close, before and after it runs).
  PackWriter m_writer;
  std::uint64_t m_processed = 0; // items taken off the queue and applied (maybe uncommitted)
};

namespace {

// Free bytes below which a file without a -wal is not opened read-write: SQLite's -shm takes
// 32 KiB at once, and a write transaction's WAL pages some more.
constexpr std::uint64_t k_min_free_bytes = 64 * 1024;

} // namespace

Result<void> SqliteStore::open()
{
  if (!util::file_exists(m_path) && m_options.mode != OpenMode::create) {
    return make_error(Errc::unusable_archive, "no archive at " + m_path);
  }
  // Readers open the file read-write when they may (they only ever SELECT): the last
  // connection to close then folds the WAL back and removes -wal and -shm, leaving one
  // self-contained file. A file or directory we may not write is opened immutable instead,
  // so SQLite creates nothing beside it (DESIGN §4: read commands work on read-only files).
  std::string dir = m_path;
  const auto slash = dir.find_last_of('/');
  dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : dir.substr(0, slash));
  bool writable = m_options.mode == OpenMode::create ||
                  (::access(m_path.c_str(), W_OK) == 0 && ::access(dir.c_str(), W_OK) == 0);
  // On a full disk SQLite cannot create the -shm beside the file (nor write the -wal): the
  // open failed with "disk I/O error" and left both behind (issue 20). Without a -wal no
  // connection is open and everything is in the file: readers then read it as on a read-only
  // medium (immutable: nothing created), and writers fail before creating anything.
  const bool no_wal = !util::file_exists(m_path + "-wal");
  const auto space = no_wal && util::file_exists(m_path) ? util::space_of(m_path) : std::nullopt;
  if (space && space->free_bytes < k_min_free_bytes) {
    if (m_options.mode != OpenMode::read_only) {
      return make_error(Errc::io, m_path + ": no space left on its file system (" +
                                      std::to_string(space->free_bytes) +
                                      " bytes free; a write needs some for SQLite's -wal and -shm)");
    }
    writable = false;
  }
  ReaderPoolConfig pool;
  pool.path = m_path;
  pool.uri = file_uri(m_path, writable ? "" : "mode=ro&immutable=1");
  pool.flags = writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
  pool.lock_wait = m_options.lock_wait;
  pool.mmap_bytes = m_options.read_mmap_bytes;
  pool.max_readers = m_options.readers != 0 ? m_options.readers : std::max(2u, util::hardware_threads());
  m_readers = std::make_unique<ReaderPool>(pool);
  if (m_options.mode != OpenMode::read_only) {
    PAGABLE_TRY_ASSIGN(auto connection, open_write_connection(m_path, m_options.mode, m_options.lock_wait,
                                                              m_options.new_archive_page_bytes));
    PAGABLE_TRY(m_writer.open(m_path, std::move(connection.db), connection.format));
    m_thread = std::thread([this] { writer_loop(); });
  }
  // One reader up front proves the file readable and checks its header.
  PAGABLE_TRY(m_readers->open());
  auto reader = m_readers->acquire();
  PAGABLE_TRY(check_archive(reader->db, m_path));
  PAGABLE_TRY_ASSIGN(Stmt q, reader->db.prepare("SELECT count(*) FROM pragma_index_list('blobs') "
                                                "WHERE name = 'blobs_key_prefix'"));
  PAGABLE_TRY(q.first_row("reading the blob table's indexes", [&](const Stmt& row) -> Result<void> {
    m_key_prefix_index = row.column_int(0) != 0;
    return {};
  }));
  return {};
}

void SqliteStore::close()
{
  if (m_thread.joinable()) {
    {
      std::lock_guard lock(m_queue_mutex);
      m_stopping = true;
    }
    m_queue_cv.notify_one();
    m_thread.join();
  }
  m_async_pool.reset();
  if (m_readers) {
    m_readers->close(); // readers close first, so that the writer's close is the last one
  }
  m_writer.close();
}

// --- reading ---

Result<std::optional<std::vector<Key>>> SqliteStore::read_children(Stmt& q, Stmt& key_of_id, const Key& key)
{
  q.bind(1, key.bytes());
  std::optional<std::vector<Key>> children;
  PAGABLE_TRY(q.first_row("looking up a blob", [&](const Stmt& row) -> Result<void> {
    PAGABLE_TRY_ASSIGN(children, decode_children(row.column_blob(0), "blob " + key.to_hex(), &key_of_id));
    return {};
  }));
  return children;
}

Result<std::optional<Blob>> SqliteStore::get(const Key& key) const
{
  m_gets.fetch_add(1, std::memory_order_relaxed);
  auto reader = m_readers->acquire();
  Stmt& q = reader->get_blob;
  std::int64_t pack_id = 0, offset = 0, size = 0;
  std::vector<Key> children;
  q.bind(1, key.bytes());
  PAGABLE_TRY_ASSIGN(const bool found, q.first_row("looking up a blob", [&](const Stmt& row) -> Result<void> {
    pack_id = row.column_int(0);
    offset = row.column_int(1);
    size = row.column_int(2);
    PAGABLE_TRY_ASSIGN(children, decode_children(row.column_blob(3), "blob " + key.to_hex(),
                                                 &reader->key_of_id));
    return {};
  }));
  if (!found) {
    return std::optional<Blob>();
  }
  auto pack = m_packs.load(reader->db, pack_id, PackCaching::shared);
  if (!pack) {
    return std::move(pack).error().with_context("blob " + key.to_hex());
  }
  auto slice = PackReader::slice(**pack, offset, size);
  if (!slice) {
    return std::move(slice).error().with_context("blob " + key.to_hex() + ": pack " +
                                                 std::to_string(pack_id));
  }
  Blob blob;
  blob.data.assign(slice->begin(), slice->end());
  blob.children = std::move(children);
  if (blob.key() != key) {
    return make_error(Errc::corrupt, "blob " + key.to_hex() + ": stored data does not match its key");
  }
  return std::optional<Blob>(std::move(blob));
}

std::future<Result<std::optional<Blob>>> SqliteStore::get_async(const Key& key) const
{
  auto promise = std::make_shared<std::promise<Result<std::optional<Blob>>>>();
  auto future = promise->get_future();
  // Started on first use: most commands never read ahead, and threads cost a short one time.
  std::call_once(m_async_pool_once, [this] {
    m_async_pool = std::make_unique<util::ThreadPool>(m_readers->config().max_readers);
  });
  m_async_pool->submit([this, key, promise] { promise->set_value(get(key)); });
  return future;
}

Result<bool> SqliteStore::contains(const Key& key) const
{
  PAGABLE_TRY_ASSIGN(const auto children, children_of(key));
  return children.has_value();
}

Result<std::optional<std::vector<Key>>> SqliteStore::children_of(const Key& key) const
{
  auto reader = m_readers->acquire();
  return read_children(reader->get_children, reader->key_of_id, key);
}

Result<std::vector<Key>> SqliteStore::find_keys_with_prefix(std::string_view hex_prefix,
                                                            std::size_t limit) const
{
  PAGABLE_TRY_ASSIGN(const std::string prefix, normalize_hex_prefix(hex_prefix));
  // A range scan of the key index: [prefix padded with 0s, prefix padded with fs]. Format 4's
  // index holds the keys' first 8 bytes (blob_key_is), so the range is stated on those too,
  // and rows come in its order, sorted by whole key only within one 8-byte prefix. Each
  // layout is asked in the order its index gives, so that LIMIT stops the scan early.
  const Key lo = Key::parse(prefix + std::string(64 - prefix.size(), '0')).value();
  const Key hi = Key::parse(prefix + std::string(64 - prefix.size(), 'f')).value();
  auto reader = m_readers->acquire();
  PAGABLE_TRY_ASSIGN(Stmt q, reader->db.prepare(
                                 m_key_prefix_index
                                     ? "SELECT key FROM blobs WHERE substr(key, 1, 8) BETWEEN "
                                       "substr(?1, 1, 8) AND substr(?2, 1, 8) AND key BETWEEN ?1 "
                                       "AND ?2 ORDER BY substr(key, 1, 8), key LIMIT ?3"
                                     : "SELECT key FROM blobs WHERE key BETWEEN ?1 AND ?2 "
                                       "ORDER BY key LIMIT ?3"));
  q.bind(1, lo.bytes()).bind(2, hi.bytes()).bind(3, static_cast<std::int64_t>(limit));
  std::vector<Key> out;
  PAGABLE_TRY(q.each_row("looking up a key prefix", [&](const Stmt& row) -> Result<void> {
    PAGABLE_TRY_ASSIGN(const Key k, Key::from_bytes(row.column_blob(0)));
    out.push_back(k);
    return {};
  }));
  return out;
}

Result<void> SqliteStore::for_each_key(const std::function<Result<void>(const Key&)>& fn) const
{
  // In rowid batches, releasing the connection between them so that fn may read too.
  std::int64_t after = 0;
  for (;;) {
    std::vector<std::pair<std::int64_t, Key>> rows;
    {
      auto reader = m_readers->acquire();
      PAGABLE_TRY_ASSIGN(Stmt q, reader->db.prepare(
                                     "SELECT id, key FROM blobs WHERE id > ?1 ORDER BY id LIMIT 4096"));
      q.bind(1, after);
      PAGABLE_TRY(q.each_row("listing blobs", [&](const Stmt& row) -> Result<void> {
        PAGABLE_TRY_ASSIGN(const Key k, Key::from_bytes(row.column_blob(1)));
        rows.emplace_back(row.column_int(0), k);
        return {};
      }));
    }
    if (rows.empty()) {
      return {};
    }
    after = rows.back().first;
    for (const auto& [_, k] : rows) {
      PAGABLE_TRY(fn(k));
    }
  }
}

// --- the write queue ---

Result<Key> SqliteStore::put(Blob blob, const PutHints& hints)
{
  if (!m_thread.joinable()) {
    return make_error(Errc::invalid_argument, m_path + " is open read-only");
  }
  if (blob.data.size() > m_options.max_pack_bytes) {
    return make_error(Errc::invalid_argument,
                      "a blob of " + std::to_string(blob.data.size()) +
                          " bytes exceeds the largest pack (" +
                          std::to_string(m_options.max_pack_bytes) + " bytes)");
  }
  const Key key = blob.key(); // hashed on the caller's thread: parallel workers hash in parallel
  m_puts.fetch_add(1, std::memory_order_relaxed);
  const std::size_t cost = blob.data.size() + blob.children.size() * Key::k_size + 64;
  std::unique_lock lock(m_queue_mutex);
  m_space_cv.wait(lock, [&] {
    return m_error.has_value() || m_queue_bytes == 0 ||
           m_queue_bytes + cost <= m_options.write_queue_bytes;
  });
  if (m_error) {
    return *m_error;
  }
  m_queue.emplace_back(QueuedBlob{key, std::move(blob), hints.delta_bases, hints.index, hints.replace});
  m_queue_bytes += cost;
  ++m_enqueued;
  lock.unlock();
  m_queue_cv.notify_one();
  return key;
}

Result<void> SqliteStore::writer_error() const
{
  std::lock_guard lock(m_queue_mutex);
  if (m_error) {
    return *m_error;
  }
  return {};
}

Result<void> SqliteStore::flush()
{
  if (!m_thread.joinable()) {
    return {};
  }
  std::unique_lock lock(m_queue_mutex);
  const std::uint64_t target = m_enqueued;
  m_flush_wanted = std::max(m_flush_wanted, target);
  m_queue_cv.notify_one();
  m_space_cv.wait(lock, [&] { return m_error.has_value() || m_committed >= target; });
  if (m_error) {
    return *m_error;
  }
  return {};
}

Result<void> SqliteStore::run_on_writer(Task task)
{
  if (!m_thread.joinable()) {
    return make_error(Errc::invalid_argument, m_path + " is open read-only");
  }
  auto done = std::make_shared<std::promise<Result<void>>>();
  auto future = done->get_future();
  {
    std::lock_guard lock(m_queue_mutex);
    if (m_error) {
      return *m_error;
    }
    m_queue.emplace_back(QueuedTask{std::move(task), done});
    ++m_enqueued;
  }
  m_queue_cv.notify_one();
  return future.get();
}


void SqliteStore::writer_loop()
{
  using namespace std::chrono_literals;
  for (;;) {
    std::deque<Item> batch;
    bool stopping = false;
    bool commit_now = false;
    {
      std::unique_lock lock(m_queue_mutex);
      // With a transaction open and nothing queued, wait briefly: more blobs usually follow,
      // and small commits make small packs. A producer that stays quiet gets its work
      // committed anyway, so the write lock is never held across an idle second.
      const auto ready = [&] {
        return m_stopping || !m_queue.empty() || m_flush_wanted > m_committed;
      };
      if (m_writer.in_transaction()) {
        if (!m_queue_cv.wait_for(lock, 1s, ready)) {
          commit_now = true;
        }
      } else {
        m_queue_cv.wait(lock, ready);
      }
      batch.swap(m_queue);
      m_queue_bytes = 0;
      stopping = m_stopping;
      commit_now = commit_now || stopping || m_flush_wanted > m_committed;
    }
    m_space_cv.notify_all();

    const auto sticky = [&] {
      std::lock_guard lock(m_queue_mutex);
      return *m_error;
    };
    bool failed = !writer_error().has_value();
    for (Item& item : batch) {
      ++m_processed;
      if (failed) {
        if (auto* t = std::get_if<QueuedTask>(&item)) {
          t->done->set_value(sticky());
        }
        continue;
      }
      if (auto* b = std::get_if<QueuedBlob>(&item)) {
        if (auto r = m_writer.write_blob(*b); !r) {
          fail_writer(std::move(r).error());
          failed = true;
        }
        continue;
      }
      // A task runs in its own transaction, after everything queued before it is committed.
      auto& t = std::get<QueuedTask>(item);
      if (auto r = m_writer.commit(); !r) {
        fail_writer(std::move(r).error());
        failed = true;
        t.done->set_value(sticky());
        continue;
      }
      {
        std::lock_guard lock(m_queue_mutex);
        m_committed = m_processed - 1;
      }
      auto result = t.task(m_writer);
      if (!result) {
        m_writer.rollback();
      }
      t.done->set_value(std::move(result));
    }
    if (!failed) {
      // Commit at least twice a second so that the write lock is never held for long.
      const bool long_txn = m_writer.in_transaction() && m_writer.transaction_age() > 500ms;
      if (commit_now || long_txn) {
        if (auto r = m_writer.commit(); !r) {
          fail_writer(std::move(r).error());
        }
      }
    }
    {
      std::lock_guard lock(m_queue_mutex);
      if (!m_writer.in_transaction() || m_error) {
        m_committed = m_processed;
      }
    }
    m_space_cv.notify_all();
    if (stopping) {
      return;
    }
  }
}

void SqliteStore::fail_writer(Error e)
{
  m_writer.rollback();
  {
    std::lock_guard lock(m_queue_mutex);
    if (!m_error) {
      m_error = std::move(e);
    }
  }
  m_space_cv.notify_all();
}

Result<std::size_t> SqliteStore::remove(std::span<const Key> keys)
{
  PAGABLE_TRY(flush());
  std::size_t removed = 0;
  const std::vector<Key> list(keys.begin(), keys.end());
  PAGABLE_TRY(run_on_writer([&](PackWriter& writer) -> Result<void> {
    PAGABLE_TRY(writer.begin());
    PAGABLE_TRY_ASSIGN(Stmt del, writer.db().prepare("DELETE FROM blobs WHERE " + blob_key_is()));
    for (const Key& k : list) {
      PAGABLE_TRY(del.bind(1, k.bytes()).run("removing a blob"));
      removed += static_cast<std::size_t>(writer.db().changes());
    }
    return writer.commit();
  }));
  return removed;
}

// --- taking writes back ---

Result<WriteMark> SqliteStore::mark_writes()
{
  if (!m_thread.joinable()) {
    return make_error(Errc::invalid_argument, m_path + " is open read-only");
  }
  PAGABLE_TRY(flush());
  WriteMark mark;
  PAGABLE_TRY_ASSIGN(mark.roots, list_roots());
  PAGABLE_TRY(run_on_writer([&](PackWriter& writer) -> Result<void> {
    WriteLog& log = writer.log();
    mark.blobs = log.rows.size();
    mark.packs = log.packs.size();
    log.split_rows = true;
    return {};
  }));
  return mark;
}

Result<DiscardFigures> SqliteStore::discard_writes_since(const WriteMark& mark)
{
  if (!m_thread.joinable()) {
    return make_error(Errc::invalid_argument, m_path + " is open read-only");
  }
  PAGABLE_TRY(flush());
  DiscardFigures figures;
  PAGABLE_TRY(run_on_writer([&](PackWriter& writer) -> Result<void> {
    WriteLog& log = writer.log();
    if (mark.blobs > log.rows.size() || mark.packs > log.packs.size()) {
      return make_error(Errc::invalid_argument, "discard_writes_since: a mark this store did not give");
    }
    const auto rows = std::span(log.rows).subspan(mark.blobs);
    const auto packs = std::span(log.packs).subspan(mark.packs);
    if (rows.empty() && packs.empty()) {
      return {}; // nothing to take back, and no lock taken for it
    }
    PAGABLE_TRY(writer.begin());
    PAGABLE_TRY_ASSIGN(figures, take_back(writer.db(), rows, packs, mark.roots));
    PAGABLE_TRY(writer.commit());
    log.rows.resize(mark.blobs);
    log.packs.resize(mark.packs);
    log.split_rows = true;
    return {};
  }));
  return figures;
}

// --- roots ---

Result<RootRecord> SqliteStore::commit_root(RootRecord root)
{
  return commit_numbered(std::move(root), Numbering::next);
}

Result<RootRecord> SqliteStore::import_root(RootRecord root)
{
  return commit_numbered(std::move(root), Numbering::kept);
}

Result<RootRecord> SqliteStore::commit_numbered(RootRecord root, Numbering numbering)
{
  PAGABLE_TRY(flush());
  if (root.created_unix_ms == 0) {
    root.created_unix_ms = now_unix_ms();
  }
  PAGABLE_TRY(run_on_writer([&](PackWriter& writer) -> Result<void> {
    PAGABLE_TRY(writer.begin());
    // A root may be a name's second version: an older archive gets format 5's tables first.
    PAGABLE_TRY(writer.mark_current_format());
    // Inside the write transaction: a concurrent gc cannot remove what we confirm here before
    // the root that protects it is visible (DESIGN §4).
    PAGABLE_TRY(confirm_rows_reachable(writer.db(), root.key));
    if (root.schema_key) {
      PAGABLE_TRY(confirm_rows_reachable(writer.db(), *root.schema_key));
    }
    // Numbered in the transaction that makes it visible: two commits of one name get two.
    if (numbering == Numbering::kept) {
      PAGABLE_TRY(claim_version(writer.db(), root.name, root.version));
    } else {
      PAGABLE_TRY_ASSIGN(root.version, next_version(writer.db(), root.name));
    }
    const std::uint64_t before = root.bytes_added.value_or(0);
    root.bytes_added = before;
    PAGABLE_TRY(write_root(writer.db(), root));
    // The row's own pages count too; the figure is written in place, the size of the row
    // staying what it was measured with (an integer of the same width, or one byte more).
    PAGABLE_TRY_ASSIGN(const std::uint64_t own, writer.bytes_taken_in_transaction());
    root.bytes_added = before + own;
    PAGABLE_TRY(set_bytes_added(writer.db(), root.name, root.version, *root.bytes_added));
    m_counters.bytes_written.fetch_add(root.name.size() + 2 * Key::k_size + root.stats_json.size() + 16,
                                       std::memory_order_relaxed);
    return writer.commit();
  }));
  return root;
}

Result<std::vector<RootRecord>> SqliteStore::list_roots() const
{
  auto reader = m_readers->acquire();
  // One snapshot: the table's layout, then its rows (a writer may move an older archive's
  // roots into format 5's table between two statements).
  PAGABLE_TRY(reader->db.exec("BEGIN"));
  auto out = read_roots(reader->db);
  reader->db.end_read();
  return out;
}

Result<std::vector<RootRecord>> SqliteStore::list_versions(std::string_view name) const
{
  auto reader = m_readers->acquire();
  PAGABLE_TRY(reader->db.exec("BEGIN"));
  auto out = read_roots(reader->db, name);
  reader->db.end_read();
  return out;
}

Result<std::size_t> SqliteStore::remove_root(std::string_view name)
{
  std::size_t removed = 0;
  PAGABLE_TRY(run_on_writer([&](PackWriter& writer) -> Result<void> {
    PAGABLE_TRY(writer.begin());
    PAGABLE_TRY_ASSIGN(removed, delete_roots(writer.db(), name));
    return writer.commit();
  }));
  return removed;
}

Result<std::size_t> SqliteStore::remove_versions(std::string_view name,
                                                 std::span<const std::uint64_t> versions)
{
  std::size_t removed = 0;
  PAGABLE_TRY(run_on_writer([&](PackWriter& writer) -> Result<void> {
    PAGABLE_TRY(writer.begin());
    PAGABLE_TRY_ASSIGN(removed, delete_roots(writer.db(), name, versions));
    return writer.commit();
  }));
  return removed;
}

// --- settings ---

Result<std::map<std::string, std::string>> SqliteStore::settings() const
{
  auto reader = m_readers->acquire();
  return read_settings(reader->db);
}

Result<std::map<std::string, std::string>>
SqliteStore::init_settings(const std::map<std::string, std::string>& values, SettingsWrite mode,
                           const OlderSettings& older)
{
  PAGABLE_TRY(run_on_writer([&](PackWriter& writer) -> Result<void> {
    PAGABLE_TRY(writer.begin());
    PAGABLE_TRY(record_settings(writer.db(), values, mode, older,
                                [&] { return writer.mark_current_format(); }));
    return writer.commit();
  }));
  return settings();
}

// --- pack transfer ---

Result<std::vector<PackDigest>> SqliteStore::packs_reached(std::span<const Key> roots) const
{
  auto reader = m_readers->acquire();
  PAGABLE_TRY(reader->db.exec("BEGIN")); // one snapshot for the walk and the bases
  auto out = store::packs_reached(reader->db, m_digests, roots);
  reader->db.end_read();
  return out;
}

Result<std::optional<PackImage>> SqliteStore::export_pack(const PackDigest& digest) const
{
  auto reader = m_readers->acquire();
  PAGABLE_TRY(reader->db.exec("BEGIN"));
  auto out = store::export_pack(reader->db, m_digests, digest);
  reader->db.end_read();
  return out;
}

Result<ImportFigures> SqliteStore::import_pack(const PackImage& image)
{
  PAGABLE_TRY(flush());
  ImportFigures figures;
  PAGABLE_TRY(run_on_writer([&](PackWriter& writer) -> Result<void> {
    PAGABLE_TRY_ASSIGN(figures, store::import_pack(writer, m_packs, m_digests, image));
    return writer.commit();
  }));
  return figures;
}

Result<std::uint64_t> SqliteStore::drop_pack(const PackDigest& digest)
{
  PAGABLE_TRY(flush());
  std::uint64_t freed = 0;
  PAGABLE_TRY(run_on_writer([&](PackWriter& writer) -> Result<void> {
    PAGABLE_TRY_ASSIGN(freed, store::drop_pack(writer, m_digests, digest));
    return writer.commit();
  }));
  return freed;
}

// --- the rest ---


Result<StoreStats> SqliteStore::stats() const
{
  auto reader = m_readers->acquire();
  StoreStats s;
  PAGABLE_TRY_ASSIGN(Stmt b, reader->db.prepare("SELECT count(*), coalesce(sum(size), 0) FROM blobs"));
  PAGABLE_TRY(b.step("counting blobs"));
  s.blobs = static_cast<std::uint64_t>(b.column_int(0));
  s.bytes_logical = static_cast<std::uint64_t>(b.column_int(1));
  PAGABLE_TRY_ASSIGN(Stmt p, reader->db.prepare("SELECT coalesce(sum(length(data)), 0) FROM packs"));
  PAGABLE_TRY(p.step("measuring packs"));
  s.bytes_stored = static_cast<std::uint64_t>(p.column_int(0));
  PAGABLE_TRY_ASSIGN(Stmt r, reader->db.prepare("SELECT count(*), count(DISTINCT name) FROM roots"));
  PAGABLE_TRY(r.step("counting roots"));
  s.roots = static_cast<std::uint64_t>(r.column_int(0));
  s.names = static_cast<std::uint64_t>(r.column_int(1));
  s.file_bytes = util::file_size(m_path) + util::file_size(m_path + "-wal");
  PAGABLE_TRY_ASSIGN(Stmt f, reader->db.prepare("SELECT (SELECT freelist_count FROM pragma_freelist_count) * "
                                                "(SELECT page_size FROM pragma_page_size)"));
  PAGABLE_TRY(f.step("counting free pages"));
  s.free_bytes = static_cast<std::uint64_t>(f.column_int(0));
  PAGABLE_TRY_ASSIGN(Stmt d, reader->db.prepare("SELECT coalesce(sum(raw_size), 0) FROM packs"));
  PAGABLE_TRY(d.step("measuring packs"));
  const auto raw = static_cast<std::uint64_t>(d.column_int(0));
  s.pack_bytes_dead = raw > s.bytes_logical ? raw - s.bytes_logical : 0;
  PAGABLE_TRY_ASSIGN(Stmt v, reader->db.prepare("SELECT CAST(value AS INTEGER) FROM meta "
                                                "WHERE name = 'format_version'"));
  PAGABLE_TRY_ASSIGN(const bool has_version, v.step("reading the format version"));
  s.format_version = has_version ? v.column_int(0) : 0;
  return s;
}

Result<std::unique_ptr<MaintenanceSession>> SqliteStore::open_maintenance(SessionAccess access) const
{
  SqliteMaintenanceConfig config;
  config.path = m_path;
  config.read_uri = m_readers->config().uri;
  config.read_flags = m_readers->config().flags;
  if (m_options.mode != OpenMode::read_only) {
    config.write_uri = file_uri(m_path, "");
  }
  config.lock_wait = m_options.lock_wait;
  config.compression_level = m_options.compression_level;
  config.max_pack_bytes = m_options.max_pack_bytes;
  return open_sqlite_maintenance(config, access);
}

StoreCounters SqliteStore::counters() const
{
  StoreCounters c;
  c.puts = m_puts.load();
  c.blobs_written = m_counters.written.load();
  c.blobs_deduped = m_counters.deduped.load();
  c.blobs_delta = m_counters.delta_blobs.load();
  c.blobs_replaced = m_counters.replaced.load();
  c.bytes_written = m_counters.bytes_written.load();
  c.bytes_taken = m_counters.bytes_taken.load();
  c.gets = m_gets.load();
  c.packs_decoded = m_packs.packs_decoded();
  c.pack_bytes_decoded = m_packs.bytes_decoded();
  return c;
}

} // namespace

Result<std::unique_ptr<BlobStore>> open_sqlite_store(const std::string& path,
                                                     const SqliteOptions& options)
{
  auto store = std::make_unique<SqliteStore>(path, options);
  PAGABLE_TRY(store->open());
  return std::unique_ptr<BlobStore>(std::move(store));
}

} // namespace pagable::store
