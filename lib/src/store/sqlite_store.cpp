// SPDX-License-Identifier: MIT OR Apache-2.0
// The SQLite archive: one file, WAL mode, one writer thread that groups new blobs into zstd
// packs and commits them in batches, and a pool of read connections. All SQL of pagable
// lives here and in sqlite_schema.hpp. Layout: docs/FORMAT.md.
#include <pagable/store.hpp>

#include "store/child_keys.hpp"
#include "store/pack_codec.hpp"
#include "store/reachability.hpp"
#include "store/sqlite_maintenance.hpp"
#include "store/sqlite_db.hpp"
#include "store/sqlite_schema.hpp"
#include "util/thread_pool.hpp"

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <compare>
#include <cstdio>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <limits>
#include <list>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <variant>

namespace pagable::store {
namespace {

using sql::Db;
using sql::Stmt;

std::int64_t now_unix_ms()
{
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string labels_to_json(const std::map<std::string, std::string>& labels)
{
  return nlohmann::json(labels).dump();
}

Result<std::map<std::string, std::string>> labels_from_json(const std::string& text,
                                                            const std::string& root)
{
  try {
    return nlohmann::json::parse(text).get<std::map<std::string, std::string>>();
  } catch (const std::exception& e) {
    return make_error(Errc::corrupt, "root \"" + root + "\": labels are not a JSON object: " +
                                         e.what());
  }
}

// Every root, oldest first (then by name), as `db` sees them: a reader's snapshot, or the
// writer's inside its transaction.
Result<std::vector<RootRecord>> read_roots(Db& db)
{
  PAGABLE_TRY_ASSIGN(Stmt q, db.prepare("SELECT name, key, schema_key, created_ms, labels, "
                                        "stats FROM roots ORDER BY created_ms, name"));
  std::vector<RootRecord> out;
  for (;;) {
    PAGABLE_TRY_ASSIGN(const bool row, q.step("listing roots"));
    if (!row) {
      break;
    }
    RootRecord r;
    r.name = q.column_text(0);
    auto key = Key::from_bytes(q.column_blob(1));
    if (!key) {
      return std::move(key).error().with_context("root \"" + r.name + "\"");
    }
    r.key = *key;
    if (!q.column_is_null(2)) {
      auto sk = Key::from_bytes(q.column_blob(2));
      if (!sk) {
        return std::move(sk).error().with_context("root \"" + r.name + "\" schema");
      }
      r.schema_key = *sk;
    }
    r.created_unix_ms = q.column_int(3);
    PAGABLE_TRY_ASSIGN(r.labels, labels_from_json(q.column_text(4), r.name));
    r.stats_json = q.column_text(5);
    out.push_back(std::move(r));
  }
  return out;
}

bool file_exists(const std::string& path)
{
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::uint64_t file_size(const std::string& path)
{
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
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

// A fixed pool of read-only connections with their prepared statements.
struct Reader {
  Db db;
  Stmt get_blob;     // key -> pack, offset, size, children
  Stmt get_children; // key -> children
};

class SqliteStore final : public BlobStore {
public:
  SqliteStore(std::string path, SqliteOptions options)
      : m_path(std::move(path)), m_options(options)
  {
  }

  ~SqliteStore() override { close(); }

  Result<void> open();

  // --- BlobStore ---
  Result<std::optional<Blob>> get(const Key& key) const override;
  std::future<Result<std::optional<Blob>>> get_async(const Key& key) const override;
  Result<bool> contains(const Key& key) const override;
  Result<std::optional<std::vector<Key>>> children_of(const Key& key) const override;
  Result<std::vector<Key>> find_keys_with_prefix(std::string_view hex_prefix,
                                                 std::size_t limit) const override;
  Result<Key> put(Blob blob, const PutHints& hints) override;
  Result<void> flush() override;
  Result<void> for_each_key(const std::function<Result<void>(const Key&)>& fn) const override;
  Result<std::size_t> remove(std::span<const Key> keys) override;
  Result<WriteMark> mark_writes() override;
  Result<DiscardFigures> discard_writes_since(const WriteMark& mark) override;
  Result<void> commit_root(RootRecord root) override;
  Result<std::optional<RootRecord>> get_root(const std::string& name) const override;
  Result<std::vector<RootRecord>> list_roots() const override;
  Result<bool> remove_root(const std::string& name) override;
  Result<std::map<std::string, std::string>> settings() const override;
  Result<std::map<std::string, std::string>>
  init_settings(const std::map<std::string, std::string>& values, SettingsWrite mode,
                const OlderSettings& older) override;
  Result<StoreStats> stats() const override;
  StoreCounters counters() const override;
  Result<std::unique_ptr<MaintenanceSession>> open_maintenance(bool write) const override;

private:
  // --- read pool ---
  class ReaderLease {
  public:
    ReaderLease(const SqliteStore& s, Reader* r) : m_store(s), m_reader(r) {}
    ~ReaderLease() { m_store.release_reader(m_reader); }
    Reader& operator*() const { return *m_reader; }
    Reader* operator->() const { return m_reader; }

  private:
    const SqliteStore& m_store;
    Reader* m_reader;
  };
  Result<std::unique_ptr<Reader>> make_reader() const;
  ReaderLease acquire_reader() const;
  void release_reader(Reader* r) const;
  // The decoder of pack `pack_id`, through the shared cache when `cached` (readers) or
  // straight from `db` (the writer, inside its own transaction); callers decode it as far as
  // they read. Delta packs load their bases first, at most `depth_budget` levels deep.
  using PackMemo = std::unordered_map<std::int64_t, std::shared_ptr<PackDecoder>>;
  Result<std::shared_ptr<PackDecoder>> load_pack(sql::Db& db, std::int64_t pack_id, bool cached,
                                                 PackMemo* memo = nullptr,
                                                 int depth_budget = k_max_delta_depth + 1) const;
  // Bytes [offset, offset + size) of a pack's content; Errc::corrupt when they lie outside it.
  static Result<std::span<const std::uint8_t>> pack_slice(PackDecoder& pack, std::int64_t offset,
                                                          std::int64_t size);

  // --- writer thread ---
  using Task = std::function<Result<void>(Db&)>;
  struct QueuedBlob {
    Key key;
    Blob blob;
    std::vector<Key> bases; // delta-base hints
    bool index = false;     // PutHints::index
  };
  struct BaseSlice {
    std::int64_t pack;
    std::int64_t offset;
    std::int64_t size;
    auto operator<=>(const BaseSlice&) const = default;
  };
  // The slices of plain packs that delta pack `pack` decodes from: its bases, their packs'
  // bases and so on down. Memoised for the transaction: packs never change, and none can be
  // removed while it holds the write lock.
  Result<const std::vector<BaseSlice>*> lineage(std::int64_t pack);
  std::unordered_map<std::int64_t, std::vector<BaseSlice>> m_lineages;
  struct QueuedTask {
    Task task;
    std::shared_ptr<std::promise<Result<void>>> done;
  };
  using Item = std::variant<QueuedBlob, QueuedTask>;
  Result<void> run_on_writer(Task task);
  void writer_loop();
  Result<void> write_blob(QueuedBlob& item);
  Result<void> begin_write();
  // In the open write transaction, marks an archive of an older format with today's (the
  // first transaction that stores a blob does, or one that replaces a rootless archive's
  // settings: FORMAT.md, head).
  Result<void> mark_current_format();
  // A pack being filled. Index-like blobs (read on the way to others) fill one of their own.
  struct OpenPack {
    std::int64_t id = 0; // chosen when its first blob arrives
    Bytes buf;
    std::size_t blobs = 0;
    std::vector<BaseSlice> bases;      // old nodes its new nodes resemble (the delta pack)
    std::unordered_set<Key> base_keys; // dedup of bases
    std::unordered_set<std::int64_t> lineages; // too-deep packs whose lineage is in the prefix
    std::set<BaseSlice> slices; // dedup of `bases`
    std::size_t base_bytes = 0;        // bounded: readers refuse prefixes above max_pack_bytes
    void clear();
  };
  Result<void> finish_pack(OpenPack& pack);
  Result<void> finish_packs();
  Result<void> commit_write();
  Result<void> size_page_cache(); // the writer's SQLite page cache, for m_index_rows
  void fail_writer(Error e);
  Result<void> writer_error() const;
  void close();

  const std::string m_path;
  const SqliteOptions m_options;
  std::string m_read_uri;
  int m_read_flags = SQLITE_OPEN_READONLY;

  // Read pool.
  mutable std::mutex m_pool_mutex;
  mutable std::condition_variable m_pool_cv;
  mutable std::vector<std::unique_ptr<Reader>> m_readers; // all, guarded by m_pool_mutex
  mutable std::vector<Reader*> m_free_readers;            // guarded by m_pool_mutex
  unsigned m_max_readers = 2;
  mutable std::once_flag m_async_pool_once;
  mutable std::unique_ptr<util::ThreadPool> m_async_pool; // made by the first get_async

  // Pack cache: decompressed packs by id, least recently used evicted first.
  mutable std::mutex m_cache_mutex;
  mutable std::list<std::int64_t> m_cache_lru;
  mutable std::unordered_map<std::int64_t,
                             std::pair<std::shared_ptr<PackDecoder>, std::list<std::int64_t>::iterator>>
      m_cache;
  mutable std::size_t m_cache_bytes = 0;

  // Writer state. The queue is shared; everything below "writer thread only" is touched by
  // the writer thread alone.
  mutable std::mutex m_queue_mutex;
  std::condition_variable m_queue_cv;  // the writer waits for items
  std::condition_variable m_space_cv;  // producers wait for space; flushers for progress
  std::deque<Item> m_queue;            // guarded by m_queue_mutex
  std::size_t m_queue_bytes = 0;       // guarded by m_queue_mutex
  std::uint64_t m_enqueued = 0;        // items ever queued, guarded by m_queue_mutex
  std::uint64_t m_committed = 0;       // items whose effects are committed, guarded
  std::uint64_t m_flush_wanted = 0;    // commit at least up to this item, guarded
  bool m_stopping = false;             // guarded by m_queue_mutex
  std::optional<Error> m_error;        // sticky first write error, guarded by m_queue_mutex
  std::thread m_writer;

  // Writer thread only.
  Db m_wdb;
  Stmt m_w_has_blob, m_w_insert_blob, m_w_insert_pack, m_w_insert_base, m_w_find_base,
      m_w_pack_bases, m_w_children;
  bool m_in_txn = false;
  bool m_format_upgrade = false;        // the archive says an older format (writer thread)
  bool m_format_upgrade_in_txn = false; // the open transaction marks it with today's
  std::chrono::steady_clock::time_point m_txn_started;
  std::int64_t m_next_pack_id = 0; // the id the next pack opened gets
  std::int64_t m_index_rows = 0;   // about how many rows the key index holds
  bool m_key_prefix_index = false; // the format 4 index (else format 0-3's UNIQUE one)
  std::int64_t m_cache_kib = 0;    // the writer's page cache, as last set
  OpenPack m_data_pack;
  OpenPack m_index_pack;
  OpenPack m_delta_pack; // blobs with delta bases: one, or a few small ones
  // What this store inserted, in order, for discard_writes_since: blob row ids as inclusive
  // ranges (a transaction's rows are consecutive), and pack ids.
  std::vector<std::pair<std::int64_t, std::int64_t>> m_written_rows;
  std::vector<std::int64_t> m_written_packs;
  bool m_split_rows = false; // a mark was taken: the next row starts a range of its own
  std::uint64_t m_processed = 0; // items taken off the queue and applied (maybe uncommitted)

  // Counters (any thread).
  mutable std::atomic<std::uint64_t> m_puts{0}, m_written{0}, m_deduped{0}, m_bytes_written{0},
      m_gets{0}, m_packs_decoded{0}, m_pack_bytes_decoded{0}, m_delta_blobs{0};
};

Result<void> SqliteStore::open()
{
  const bool exists = file_exists(m_path);
  if (!exists && m_options.mode != OpenMode::create) {
    return make_error(Errc::unusable_archive, "no archive at " + m_path);
  }
  m_max_readers = m_options.readers != 0 ? m_options.readers
                                         : std::max(2u, util::hardware_threads());

  // Readers open the file read-write when they may (they only ever SELECT): the last
  // connection to close then folds the WAL back and removes -wal and -shm, leaving one
  // self-contained file. A file or directory we may not write is opened immutable instead,
  // so SQLite creates nothing beside it (DESIGN §4: read commands work on read-only files).
  std::string dir = m_path;
  const auto slash = dir.find_last_of('/');
  dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : dir.substr(0, slash));
  const bool writable = m_options.mode == OpenMode::create ||
                        (::access(m_path.c_str(), W_OK) == 0 && ::access(dir.c_str(), W_OK) == 0);
  m_read_uri = file_uri(m_path, writable ? "" : "mode=ro&immutable=1");
  m_read_flags = writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
  if (m_options.mode != OpenMode::read_only) {
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                      (m_options.mode == OpenMode::create ? SQLITE_OPEN_CREATE : 0);
    auto db = Db::open(file_uri(m_path, ""), flags, m_options.lock_wait);
    if (!db) {
      return std::move(db).error();
    }
    m_wdb = std::move(db).value();
    // Look before touching anything: the first read is where a non-SQLite file shows itself,
    // and another program's database must not be switched to WAL.
    auto foreign = [&]() -> Result<bool> {
      PAGABLE_TRY_ASSIGN(Stmt q, m_wdb.prepare("SELECT count(*), (SELECT application_id FROM "
                                               "pragma_application_id) FROM sqlite_schema"));
      PAGABLE_TRY(q.step("reading the archive header"));
      return q.column_int(0) > 0 && q.column_int(1) != k_application_id;
    }();
    if (!foreign) {
      if (foreign.error().code() == Errc::unusable_archive) {
        return make_error(Errc::unusable_archive,
                          m_path + " is not a pagable archive (not an SQLite database)");
      }
      return std::move(foreign).error().with_context(m_path);
    }
    if (*foreign) {
      return make_error(Errc::unusable_archive,
                        m_path + " is not a pagable archive (an SQLite database of another kind)");
    }
    // Two pagables creating one archive at the same moment: switching the new file to WAL, or
    // the transaction after, can meet the other's lock with SQLITE_BUSY at once, SQLite's busy
    // handler unasked (2 `pack`s into one new archive failed 1 time in 12, "database is
    // locked"). So those two wait up to the lock wait too.
    const auto deadline = std::chrono::steady_clock::now() + m_options.lock_wait;
    const auto patiently = [&](const char* sql) -> Result<void> {
      for (;;) {
        auto done = m_wdb.exec(sql);
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
      PAGABLE_TRY(m_wdb.exec("PRAGMA page_size = " + std::to_string(m_options.new_archive_page_bytes)));
    }
    PAGABLE_TRY(patiently("PRAGMA journal_mode = WAL"));
    PAGABLE_TRY(m_wdb.exec("PRAGMA synchronous = NORMAL"));
    PAGABLE_TRY(patiently("BEGIN IMMEDIATE"));
    auto created = [&]() -> Result<void> {
      PAGABLE_TRY_ASSIGN(Stmt probe, m_wdb.prepare("SELECT count(*) FROM sqlite_schema"));
      PAGABLE_TRY(probe.step("reading the archive's tables"));
      if (probe.column_int(0) == 0) {
        if (m_options.mode != OpenMode::create) {
          return make_error(Errc::unusable_archive, m_path + " is an empty database, not a "
                                                             "pagable archive");
        }
        PAGABLE_TRY(m_wdb.exec(k_create_schema_sql));
        PAGABLE_TRY(m_wdb.exec(blobs_table_sql()));
        PAGABLE_TRY(m_wdb.exec(k_blobs_index_sql));
        PAGABLE_TRY_ASSIGN(Stmt meta,
                           m_wdb.prepare("INSERT INTO meta(name, value) VALUES (?1, ?2)"));
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
      return {};
    }();
    if (!created) {
      (void)m_wdb.exec("ROLLBACK");
      return std::move(created).error();
    }
    PAGABLE_TRY(m_wdb.exec("COMMIT"));
    PAGABLE_TRY_ASSIGN(const std::int64_t version, check_archive(m_wdb, m_path));
    // An older format this pagable still reads is a subset of today's. The first blob this
    // writer stores may use today's features, so that transaction marks the archive with
    // today's version (write_blob); opening, or writing no blob, leaves it as it was.
    m_format_upgrade = version != k_format_version;
    PAGABLE_TRY_ASSIGN(Stmt rows, m_wdb.prepare("SELECT coalesce(max(id), 0) FROM blobs"));
    PAGABLE_TRY(rows.step("counting the archive's blobs"));
    m_index_rows = rows.column_int(0);
    PAGABLE_TRY(size_page_cache());
    // No UNIQUE constraint on key since format 4: write_blob looks the key up first, inside
    // the write transaction, so that no other writer can store it in between.
    PAGABLE_TRY_ASSIGN(m_w_has_blob,
                       m_wdb.prepare("SELECT 1 FROM blobs WHERE " + blob_key_is()));
    PAGABLE_TRY_ASSIGN(m_w_insert_blob,
                       m_wdb.prepare("INSERT INTO blobs(key, pack, offset, size, children)"
                                     " VALUES (?1, ?2, ?3, ?4, ?5)"));
    PAGABLE_TRY_ASSIGN(m_w_insert_pack,
                       m_wdb.prepare("INSERT INTO packs(id, codec, dict_id, depth, raw_size, data) "
                                     "VALUES (?1, ?2, NULL, ?3, ?4, ?5)"));
    PAGABLE_TRY_ASSIGN(m_w_insert_base,
                       m_wdb.prepare("INSERT INTO pack_bases(pack, seq, base_pack, offset, size) "
                                     "VALUES (?1, ?2, ?3, ?4, ?5)"));
    PAGABLE_TRY_ASSIGN(m_w_find_base,
                       m_wdb.prepare("SELECT b.pack, b.offset, b.size, p.depth FROM blobs b "
                                     "JOIN packs p ON p.id = b.pack WHERE " + blob_key_is("b.key")));
    PAGABLE_TRY_ASSIGN(m_w_pack_bases,
                       m_wdb.prepare("SELECT b.base_pack, b.offset, b.size, p.depth FROM pack_bases b "
                                     "JOIN packs p ON p.id = b.base_pack WHERE b.pack = ?1 "
                                     "ORDER BY b.seq"));
    PAGABLE_TRY_ASSIGN(m_w_children,
                       m_wdb.prepare("SELECT children FROM blobs WHERE " + blob_key_is()));
    m_writer = std::thread([this] { writer_loop(); });
  }

  // One reader up front proves the file readable and checks its header.
  PAGABLE_TRY_ASSIGN(auto first, make_reader());
  PAGABLE_TRY(check_archive(first->db, m_path));
  {
    PAGABLE_TRY_ASSIGN(Stmt q, first->db.prepare("SELECT count(*) FROM pragma_index_list('blobs') "
                                                 "WHERE name = 'blobs_key_prefix'"));
    PAGABLE_TRY(q.step("reading the blob table's indexes"));
    m_key_prefix_index = q.column_int(0) != 0;
  }
  {
    std::lock_guard lock(m_pool_mutex);
    m_free_readers.push_back(first.get());
    m_readers.push_back(std::move(first));
  }
  return {};
}

Result<std::unique_ptr<Reader>> SqliteStore::make_reader() const
{
  auto r = std::make_unique<Reader>();
  PAGABLE_TRY_ASSIGN(r->db, Db::open(m_read_uri, m_read_flags | SQLITE_OPEN_NOMUTEX,
                                     m_options.lock_wait));
  // Readers never write; this makes an accidental write an error instead of a change.
  PAGABLE_TRY(r->db.exec("PRAGMA query_only = ON"));
  // Always set: 0 must mean off even where SQLite was built or configured to map by default.
  PAGABLE_TRY(r->db.exec("PRAGMA mmap_size = " + std::to_string(m_options.read_mmap_bytes)));
  auto prep = [&]() -> Result<void> {
    PAGABLE_TRY_ASSIGN(r->get_blob, r->db.prepare("SELECT pack, offset, size, children FROM "
                                                  "blobs WHERE " + blob_key_is()));
    PAGABLE_TRY_ASSIGN(r->get_children,
                       r->db.prepare("SELECT children FROM blobs WHERE " + blob_key_is()));
    return {};
  }();
  if (!prep) {
    if (prep.error().code() == Errc::unusable_archive) {
      return make_error(Errc::unusable_archive,
                        m_path + " is not a pagable archive (not an SQLite database)");
    }
    // Preparing fails on a database without our tables: also not an archive of ours.
    if (prep.error().code() == Errc::internal) {
      return make_error(Errc::unusable_archive,
                        m_path + " is not a pagable archive (" + prep.error().message() + ")");
    }
    return std::move(prep).error().with_context(m_path);
  }
  return r;
}

SqliteStore::ReaderLease SqliteStore::acquire_reader() const
{
  std::unique_lock lock(m_pool_mutex);
  for (;;) {
    if (!m_free_readers.empty()) {
      Reader* r = m_free_readers.back();
      m_free_readers.pop_back();
      return ReaderLease(*this, r);
    }
    if (m_readers.size() < m_max_readers) {
      lock.unlock();
      auto r = make_reader();
      lock.lock();
      if (r) {
        m_readers.push_back(std::move(r).value());
        return ReaderLease(*this, m_readers.back().get());
      }
      // Opening another connection failed: fall back to waiting for a pooled one.
    }
    m_pool_cv.wait(lock, [&] { return !m_free_readers.empty(); });
  }
}

void SqliteStore::release_reader(Reader* r) const
{
  {
    std::lock_guard lock(m_pool_mutex);
    m_free_readers.push_back(r);
  }
  m_pool_cv.notify_one();
}

Result<std::shared_ptr<PackDecoder>> SqliteStore::load_pack(sql::Db& db, std::int64_t pack_id,
                                                             bool cached, PackMemo* memo,
                                                             int depth_budget) const
{
  // Without the shared cache, a memo keeps one load from decoding a base pack once per slice
  // (exponential in the chain depth).
  PackMemo local;
  if (memo == nullptr) {
    memo = &local;
  }
  if (const auto it = memo->find(pack_id); it != memo->end()) {
    return it->second;
  }
  if (cached) {
    std::lock_guard lock(m_cache_mutex);
    const auto it = m_cache.find(pack_id);
    if (it != m_cache.end()) {
      m_cache_lru.splice(m_cache_lru.begin(), m_cache_lru, it->second.second);
      return it->second.first;
    }
  }
  const std::string what = "pack " + std::to_string(pack_id);
  if (depth_budget <= 0) {
    return make_error(Errc::corrupt, what + ": delta bases nest deeper than any pagable writes "
                                            "(a cycle?)");
  }
  PAGABLE_TRY_ASSIGN(Stmt q, db.prepare("SELECT codec, raw_size, data FROM packs WHERE id = ?1"));
  q.bind(1, pack_id);
  PAGABLE_TRY_ASSIGN(const bool row, q.step("reading a pack"));
  if (!row) {
    return make_error(Errc::corrupt, what + " is missing");
  }
  const auto codec = static_cast<PackCodec>(q.column_int(0));
  const std::int64_t raw_size = q.column_int(1);
  Bytes prefix;
  if (codec == PackCodec::zstd_prefix) {
    PAGABLE_TRY_ASSIGN(Stmt b, db.prepare("SELECT base_pack, offset, size FROM pack_bases "
                                          "WHERE pack = ?1 ORDER BY seq"));
    b.bind(1, pack_id);
    for (;;) {
      PAGABLE_TRY_ASSIGN(const bool more, b.step("reading a pack's delta bases"));
      if (!more) {
        break;
      }
      const std::int64_t base = b.column_int(0), off = b.column_int(1), size = b.column_int(2);
      PAGABLE_TRY_ASSIGN(const auto base_pack, load_pack(db, base, cached, memo, depth_budget - 1));
      auto slice = pack_slice(*base_pack, off, size);
      if (!slice) {
        return std::move(slice).error().with_context(what + ": delta base pack " +
                                                     std::to_string(base));
      }
      if (prefix.size() + slice->size() > m_options.max_pack_bytes) {
        return make_error(Errc::corrupt, what + ": its delta bases exceed the largest pack");
      }
      prefix.insert(prefix.end(), slice->begin(), slice->end());
    }
  }
  auto opened = PackDecoder::open(codec, q.column_blob(2),
                                  raw_size < 0 ? ~std::uint64_t{0} : static_cast<std::uint64_t>(raw_size),
                                  m_options.max_pack_bytes, std::move(prefix),
                                  &m_pack_bytes_decoded);
  if (!opened) {
    return std::move(opened).error().with_context(what);
  }
  m_packs_decoded.fetch_add(1, std::memory_order_relaxed);
  auto pack = std::move(opened).value();
  memo->emplace(pack_id, pack);
  if (!cached) {
    return pack;
  }
  // Charged at its full size: what a reader may yet decode of it.
  std::lock_guard lock(m_cache_mutex);
  if (m_cache.count(pack_id) == 0 && pack->raw_size() <= m_options.pack_cache_bytes) {
    m_cache_lru.push_front(pack_id);
    m_cache.emplace(pack_id, std::make_pair(pack, m_cache_lru.begin()));
    m_cache_bytes += pack->raw_size();
    while (m_cache_bytes > m_options.pack_cache_bytes && !m_cache_lru.empty()) {
      const auto victim = m_cache.find(m_cache_lru.back());
      m_cache_bytes -= victim->second.first->raw_size();
      m_cache.erase(victim);
      m_cache_lru.pop_back();
    }
  }
  return pack;
}

Result<std::span<const std::uint8_t>> SqliteStore::pack_slice(PackDecoder& pack, std::int64_t offset,
                                                               std::int64_t size)
{
  if (offset < 0 || size < 0 || static_cast<std::uint64_t>(offset) > pack.raw_size() ||
      static_cast<std::uint64_t>(size) > pack.raw_size() - static_cast<std::uint64_t>(offset)) {
    return make_error(Errc::corrupt, "bytes [" + std::to_string(offset) + ", +" +
                                         std::to_string(size) + ") lie outside its " +
                                         std::to_string(pack.raw_size()) + " bytes");
  }
  const std::uint64_t end = static_cast<std::uint64_t>(offset) + static_cast<std::uint64_t>(size);
  PAGABLE_TRY_ASSIGN(const auto content, pack.decode_to(end));
  return content.subspan(static_cast<std::size_t>(offset), static_cast<std::size_t>(size));
}

Result<std::optional<Blob>> SqliteStore::get(const Key& key) const
{
  m_gets.fetch_add(1, std::memory_order_relaxed);
  auto reader = acquire_reader();
  Stmt& q = reader->get_blob;
  q.reset();
  q.bind(1, key.bytes());
  PAGABLE_TRY_ASSIGN(const bool row, q.step("looking up a blob"));
  if (!row) {
    q.reset();
    return std::optional<Blob>();
  }
  const std::int64_t pack_id = q.column_int(0);
  const std::int64_t offset = q.column_int(1);
  const std::int64_t size = q.column_int(2);
  auto children = decode_children(q.column_blob(3), "blob " + key.to_hex());
  q.reset();
  if (!children) {
    return std::move(children).error();
  }
  auto pack = load_pack(reader->db, pack_id, true);
  if (!pack) {
    return std::move(pack).error().with_context("blob " + key.to_hex());
  }
  auto slice = pack_slice(**pack, offset, size);
  if (!slice) {
    return std::move(slice).error().with_context("blob " + key.to_hex() + ": pack " +
                                                 std::to_string(pack_id));
  }
  Blob blob;
  blob.data.assign(slice->begin(), slice->end());
  blob.children = std::move(children).value();
  if (blob.key() != key) {
    return make_error(Errc::corrupt,
                      "blob " + key.to_hex() + ": stored data does not match its key");
  }
  return std::optional<Blob>(std::move(blob));
}

std::future<Result<std::optional<Blob>>> SqliteStore::get_async(const Key& key) const
{
  auto promise = std::make_shared<std::promise<Result<std::optional<Blob>>>>();
  auto future = promise->get_future();
  // Started on first use: most commands never read ahead, and threads cost a short one time.
  std::call_once(m_async_pool_once,
                 [this] { m_async_pool = std::make_unique<util::ThreadPool>(m_max_readers); });
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
  auto reader = acquire_reader();
  Stmt& q = reader->get_children;
  q.reset();
  q.bind(1, key.bytes());
  PAGABLE_TRY_ASSIGN(const bool row, q.step("looking up a blob"));
  if (!row) {
    q.reset();
    return std::optional<std::vector<Key>>();
  }
  auto children = decode_children(q.column_blob(0), "blob " + key.to_hex());
  q.reset();
  if (!children) {
    return std::move(children).error();
  }
  return std::optional<std::vector<Key>>(std::move(children).value());
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
  auto reader = acquire_reader();
  PAGABLE_TRY_ASSIGN(Stmt q, reader->db.prepare(
                                 m_key_prefix_index
                                     ? "SELECT key FROM blobs WHERE substr(key, 1, 8) BETWEEN "
                                       "substr(?1, 1, 8) AND substr(?2, 1, 8) AND key BETWEEN ?1 "
                                       "AND ?2 ORDER BY substr(key, 1, 8), key LIMIT ?3"
                                     : "SELECT key FROM blobs WHERE key BETWEEN ?1 AND ?2 "
                                       "ORDER BY key LIMIT ?3"));
  q.bind(1, lo.bytes()).bind(2, hi.bytes()).bind(3, static_cast<std::int64_t>(limit));
  std::vector<Key> out;
  for (;;) {
    PAGABLE_TRY_ASSIGN(const bool row, q.step("looking up a key prefix"));
    if (!row) {
      break;
    }
    PAGABLE_TRY_ASSIGN(Key k, Key::from_bytes(q.column_blob(0)));
    out.push_back(k);
  }
  return out;
}

Result<Key> SqliteStore::put(Blob blob, const PutHints& hints)
{
  if (!m_writer.joinable()) {
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
  m_queue.emplace_back(QueuedBlob{key, std::move(blob), hints.delta_bases, hints.index});
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
  if (!m_writer.joinable()) {
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
  if (!m_writer.joinable()) {
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

void SqliteStore::fail_writer(Error e)
{
  if (m_in_txn) {
    (void)m_wdb.exec("ROLLBACK");
    m_in_txn = false;
  }
  m_format_upgrade_in_txn = false; // rolled back with the rest
  m_data_pack.clear();
  m_index_pack.clear();
  m_delta_pack.clear();
  {
    std::lock_guard lock(m_queue_mutex);
    if (!m_error) {
      m_error = std::move(e);
    }
  }
  m_space_cv.notify_all();
}

Result<void> SqliteStore::begin_write()
{
  if (m_in_txn) {
    return {};
  }
  auto begun = m_wdb.exec("BEGIN IMMEDIATE");
  if (!begun) {
    if (begun.error().code() == Errc::locked) {
      return make_error(Errc::locked, m_path + " is busy: another process held its write lock "
                                               "for longer than the lock wait");
    }
    return std::move(begun).error();
  }
  m_in_txn = true;
  m_txn_started = std::chrono::steady_clock::now();
  m_lineages.clear();
  // Pack ids are never reused (AUTOINCREMENT's sequence counts removed ones too), so a
  // reader's cache of pack contents by id never serves a stale pack.
  PAGABLE_TRY_ASSIGN(Stmt next, m_wdb.prepare(
                                    "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE "
                                    "name = 'packs'), 0), coalesce((SELECT max(id) FROM packs), 0)) + 1"));
  PAGABLE_TRY(next.step("choosing a pack id"));
  m_next_pack_id = next.column_int(0);
  return {};
}

Result<void> SqliteStore::mark_current_format()
{
  if (m_format_upgrade && !m_format_upgrade_in_txn) {
    PAGABLE_TRY_ASSIGN(Stmt up, m_wdb.prepare("UPDATE meta SET value = ?1 WHERE name = "
                                              "'format_version'"));
    PAGABLE_TRY(up.bind(1, std::to_string(k_format_version)).run("marking the format version"));
    PAGABLE_TRY(m_wdb.exec("PRAGMA user_version = " + std::to_string(k_format_version)));
    m_format_upgrade_in_txn = true;
  }
  return {};
}

Result<void> SqliteStore::write_blob(QueuedBlob& item)
{
  PAGABLE_TRY(begin_write());
  PAGABLE_TRY(mark_current_format());
  const Bytes children = encode_children(item.blob.children);
  // Index packs are smaller (a lookup reads a few blobs from each); so is their delta prefix.
  const std::size_t target = item.index ? std::min(m_options.pack_target_bytes,
                                                   m_options.index_pack_target_bytes)
                                        : m_options.pack_target_bytes;
  // A blob with usable delta bases goes into a delta pack of at most delta_pack_target_bytes
  // (a node that size or more alone), whose prefix is just its few nodes' bases. Mixed into
  // a large shared pack, it made a reader of any blob there decode the bases of all of them,
  // and the pack's depth was its deepest base's, so a blob whose base was shallow could not
  // be a base itself by the next version (24 mdn releases in a row: 3.41 against 2.62 MB).
  if (!item.bases.empty() && m_delta_pack.blobs > 0 &&
      item.blob.data.size() >= m_options.delta_pack_target_bytes) {
    PAGABLE_TRY(finish_pack(m_delta_pack)); // a node this big is alone in its delta pack
  }
  // A blob stored already (by anyone: this runs inside the write transaction) is not stored
  // again: a node that occurs many times is written once. (Checked after the line above, as
  // INSERT OR IGNORE was before format 4: a big unchanged node of an update still ends the
  // delta pack: 24 mdn releases take 1.82 MB, against 1.90 when that pack went on.)
  Stmt& has = m_w_has_blob;
  has.reset();
  has.bind(1, item.key.bytes());
  PAGABLE_TRY_ASSIGN(const bool stored, has.step("looking up a blob"));
  has.reset();
  if (stored) {
    m_deduped.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  std::vector<BaseSlice> bases;
  std::size_t base_bytes = m_delta_pack.base_bytes;
  std::set<BaseSlice> slices; // this blob's
  bool in_prefix = false; // a base already in the delta pack's prefix, for an earlier blob
  // Puts a slice in the delta pack's prefix; one there already counts (in_prefix). Otherwise
  // the whole prefix stays within k_max_prefix_factor pack targets, except that the first
  // base is taken whatever its size (one node, within any pack limit).
  const auto take = [&](const BaseSlice& b) {
    if (m_delta_pack.slices.count(b) != 0 || slices.count(b) != 0) {
      in_prefix = true;
      return true;
    }
    const auto size = static_cast<std::size_t>(b.size);
    if (base_bytes != 0 && base_bytes + size > k_max_prefix_factor * target) {
      return false;
    }
    slices.insert(b);
    bases.push_back(b);
    base_bytes += size;
    return true;
  };
  std::unordered_set<Key> seen;
  std::vector<Key> usable;
  std::vector<std::int64_t> lineages;
  for (const Key& base : item.bases) {
    if (m_delta_pack.base_keys.count(base) != 0) {
      in_prefix = true;
      continue;
    }
    if (base_bytes >= k_max_prefix_factor * target || !seen.insert(base).second) {
      continue;
    }
    Stmt& f = m_w_find_base;
    f.reset();
    f.bind(1, base.bytes());
    PAGABLE_TRY_ASSIGN(const bool found, f.step("looking up a delta base"));
    if (!found) {
      continue;
    }
    const BaseSlice slice{f.column_int(0), f.column_int(1), f.column_int(2)};
    const std::int64_t depth = f.column_int(3);
    f.reset();
    // Bases in packs not written yet cannot be read.
    if (slice.pack == m_data_pack.id || slice.pack == m_index_pack.id ||
        slice.pack == m_delta_pack.id) {
      continue;
    }
    if (depth < k_max_delta_depth) {
      if (take(slice)) {
        usable.push_back(base);
      }
      continue;
    }
    // A base in a pack k_max_delta_depth deep is not used as it is: chains stay short, so
    // reading never decodes more than that many packs for one. What its pack decodes from is
    // used instead: the plain packs its chain starts from, which hold an older version of the
    // same node. So a node that changes in every version starts a new chain against its last
    // plain version instead of being stored whole every fifth time (24 mdn releases: 2.62 ->
    // 1.90 MB); finish_pack still stores it whole when that is smaller.
    if (m_delta_pack.lineages.count(slice.pack) != 0) {
      in_prefix = true;
      continue;
    }
    PAGABLE_TRY_ASSIGN(const std::vector<BaseSlice>* older, lineage(slice.pack));
    bool any = false;
    for (const BaseSlice& o : *older) {
      any = take(o) || any;
    }
    if (any) {
      lineages.push_back(slice.pack);
    }
  }
  const bool delta = !bases.empty() || in_prefix;
  OpenPack& pack = delta ? m_delta_pack : item.index ? m_index_pack : m_data_pack;
  if (pack.blobs == 0) {
    pack.id = m_next_pack_id++;
  }
  Stmt& ins = m_w_insert_blob;
  ins.bind(1, item.key.bytes())
      .bind(2, pack.id)
      .bind(3, static_cast<std::int64_t>(pack.buf.size()))
      .bind(4, static_cast<std::int64_t>(item.blob.data.size()));
  if (children.empty()) {
    ins.bind_null(5);
  } else {
    ins.bind(5, children);
  }
  PAGABLE_TRY(ins.run("indexing a blob"));
  const std::int64_t row_id = sqlite3_last_insert_rowid(m_wdb.handle());
  if (!m_split_rows && !m_written_rows.empty() && m_written_rows.back().second + 1 == row_id) {
    m_written_rows.back().second = row_id;
  } else {
    m_written_rows.emplace_back(row_id, row_id);
    m_split_rows = false;
  }
  m_written.fetch_add(1, std::memory_order_relaxed);
  if ((++m_index_rows & 0x3fff) == 0) {
    PAGABLE_TRY(size_page_cache());
  }
  // What the index row costs: key, child keys and the row's integers.
  m_bytes_written.fetch_add(Key::k_size + children.size() + 16, std::memory_order_relaxed);
  pack.buf.insert(pack.buf.end(), item.blob.data.begin(), item.blob.data.end());
  ++pack.blobs;
  if (&pack == &m_delta_pack) {
    pack.bases.insert(pack.bases.end(), bases.begin(), bases.end());
    pack.base_keys.insert(usable.begin(), usable.end());
    pack.lineages.insert(lineages.begin(), lineages.end());
    pack.slices.merge(slices);
    pack.base_bytes = base_bytes;
    if (pack.buf.size() >= m_options.delta_pack_target_bytes) {
      PAGABLE_TRY(finish_pack(pack));
    }
    return {};
  }
  if (pack.buf.size() >= target) {
    PAGABLE_TRY(finish_pack(pack));
  }
  return {};
}

Result<const std::vector<SqliteStore::BaseSlice>*> SqliteStore::lineage(std::int64_t pack)
{
  if (const auto it = m_lineages.find(pack); it != m_lineages.end()) {
    return &it->second;
  }
  std::vector<BaseSlice> out; // write_blob drops repeated slices
  std::set<std::int64_t> visited{pack};
  std::vector<std::int64_t> todo{pack};
  // Each pack is visited once, so this ends, and stays linear in the packs, whatever the
  // rows say (a damaged depth only makes the new pack one that readers refuse as corrupt).
  while (!todo.empty()) {
    const std::int64_t at = todo.back();
    todo.pop_back();
    Stmt& q = m_w_pack_bases;
    q.reset();
    q.bind(1, at);
    for (;;) {
      PAGABLE_TRY_ASSIGN(const bool row, q.step("reading a delta pack's bases"));
      if (!row) {
        break;
      }
      const BaseSlice slice{q.column_int(0), q.column_int(1), q.column_int(2)};
      if (q.column_int(3) == 0) {
        out.push_back(slice);
      } else if (visited.insert(slice.pack).second) {
        todo.push_back(slice.pack);
      }
    }
    q.reset();
  }
  return &m_lineages.emplace(pack, std::move(out)).first->second;
}

Result<void> SqliteStore::finish_pack(OpenPack& open)
{
  if (open.blobs == 0) {
    return {};
  }
  // A delta pack: the new nodes compress against the old nodes they replace.
  Bytes prefix;
  std::int64_t depth = 0;
  if (!open.bases.empty()) {
    PackMemo loaded;
    for (const BaseSlice& b : open.bases) {
      PAGABLE_TRY_ASSIGN(const auto base_pack, load_pack(m_wdb, b.pack, false, &loaded));
      auto slice = pack_slice(*base_pack, b.offset, b.size);
      if (!slice) {
        return std::move(slice).error().with_context("delta base pack " + std::to_string(b.pack));
      }
      prefix.insert(prefix.end(), slice->begin(), slice->end());
    }
    PAGABLE_TRY_ASSIGN(Stmt d, m_wdb.prepare("SELECT max(depth) FROM packs WHERE id IN "
                                             "(SELECT value FROM json_each(?1))"));
    std::string ids = "[";
    for (const auto& [id, _] : loaded) {
      ids += (ids.size() > 1 ? "," : "") + std::to_string(id);
    }
    d.bind(1, ids + "]");
    PAGABLE_TRY(d.step("reading delta depths"));
    depth = d.column_int(0) + 1;
  }
  const EncodedPack pack = encode_pack(open.buf, m_options.compression_level, prefix);
  if (pack.codec != PackCodec::zstd_prefix) {
    depth = 0;
  }
  PAGABLE_TRY(m_w_insert_pack.bind(1, open.id)
                  .bind(2, static_cast<std::int64_t>(pack.codec))
                  .bind(3, depth)
                  .bind(4, static_cast<std::int64_t>(open.buf.size()))
                  .bind(5, pack.data)
                  .run("writing a pack"));
  m_written_packs.push_back(open.id);
  std::size_t index_bytes = 24;
  if (pack.codec == PackCodec::zstd_prefix) {
    for (std::size_t i = 0; i < open.bases.size(); ++i) {
      const BaseSlice& b = open.bases[i];
      PAGABLE_TRY(m_w_insert_base.bind(1, open.id)
                      .bind(2, static_cast<std::int64_t>(i))
                      .bind(3, b.pack)
                      .bind(4, b.offset)
                      .bind(5, b.size)
                      .run("writing a pack's delta bases"));
      index_bytes += 12;
    }
  }
  m_bytes_written.fetch_add(pack.data.size() + index_bytes, std::memory_order_relaxed);
  if (pack.codec == PackCodec::zstd_prefix) {
    m_delta_blobs.fetch_add(open.blobs, std::memory_order_relaxed);
  }
  open.clear();
  return {};
}

void SqliteStore::OpenPack::clear()
{
  id = 0;
  buf.clear();
  blobs = 0;
  bases.clear();
  base_keys.clear();
  lineages.clear();
  slices.clear();
  base_bytes = 0;
}

Result<void> SqliteStore::finish_packs()
{
  PAGABLE_TRY(finish_pack(m_data_pack));
  PAGABLE_TRY(finish_pack(m_delta_pack));
  return finish_pack(m_index_pack);
}

Result<void> SqliteStore::size_page_cache()
{
  // The writer appends packs, and pages it wrote stay cached until the cache is full: a
  // cache sized for them only grows with the archive (64 MB made pack's peak memory grow
  // with the document that far). But it also inserts random keys into the key index, which
  // re-reads index pages a small cache has dropped (500,000 blobs through the library: 2.5 s
  // with 64 MB, 3.4 s with 2 MB). So the cache follows the key index, about 80 bytes a
  // blob, between 2 and 64 MB.
  const std::int64_t kib = std::clamp<std::int64_t>(m_index_rows * 80 / 1024, 2048, 65536);
  if (kib == m_cache_kib) {
    return {};
  }
  m_cache_kib = kib;
  return m_wdb.exec("PRAGMA cache_size = -" + std::to_string(kib));
}

Result<void> SqliteStore::commit_write()
{
  if (!m_in_txn) {
    return {};
  }
  PAGABLE_TRY(finish_packs());
  PAGABLE_TRY(m_wdb.exec("COMMIT"));
  m_in_txn = false;
  if (m_format_upgrade_in_txn) {
    m_format_upgrade = m_format_upgrade_in_txn = false;
  }
  return {};
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
      if (m_in_txn) {
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
        if (auto r = write_blob(*b); !r) {
          fail_writer(std::move(r).error());
          failed = true;
        }
        continue;
      }
      // A task runs in its own transaction, after everything queued before it is committed.
      auto& t = std::get<QueuedTask>(item);
      if (auto r = commit_write(); !r) {
        fail_writer(std::move(r).error());
        failed = true;
        t.done->set_value(sticky());
        continue;
      }
      {
        std::lock_guard lock(m_queue_mutex);
        m_committed = m_processed - 1;
      }
      auto result = t.task(m_wdb);
      if (!result && m_in_txn) {
        (void)m_wdb.exec("ROLLBACK");
        m_in_txn = false;
        m_format_upgrade_in_txn = false;
      }
      t.done->set_value(std::move(result));
    }
    if (!failed) {
      // Commit at least twice a second so that the write lock is never held for long.
      const bool long_txn = m_in_txn && std::chrono::steady_clock::now() - m_txn_started > 500ms;
      if (commit_now || long_txn) {
        if (auto r = commit_write(); !r) {
          fail_writer(std::move(r).error());
        }
      }
    }
    {
      std::lock_guard lock(m_queue_mutex);
      if (!m_in_txn || m_error) {
        m_committed = m_processed;
      }
    }
    m_space_cv.notify_all();
    if (stopping) {
      return;
    }
  }
}

Result<void> SqliteStore::for_each_key(const std::function<Result<void>(const Key&)>& fn) const
{
  // In rowid batches, releasing the connection between them so that fn may read too.
  std::int64_t after = 0;
  for (;;) {
    std::vector<std::pair<std::int64_t, Key>> rows;
    {
      auto reader = acquire_reader();
      PAGABLE_TRY_ASSIGN(Stmt q, reader->db.prepare(
                                     "SELECT id, key FROM blobs WHERE id > ?1 ORDER BY id LIMIT 4096"));
      q.bind(1, after);
      for (;;) {
        PAGABLE_TRY_ASSIGN(const bool row, q.step("listing blobs"));
        if (!row) {
          break;
        }
        PAGABLE_TRY_ASSIGN(Key k, Key::from_bytes(q.column_blob(1)));
        rows.emplace_back(q.column_int(0), k);
      }
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

Result<std::size_t> SqliteStore::remove(std::span<const Key> keys)
{
  PAGABLE_TRY(flush());
  std::size_t removed = 0;
  const std::vector<Key> list(keys.begin(), keys.end());
  PAGABLE_TRY(run_on_writer([&](Db& db) -> Result<void> {
    PAGABLE_TRY(begin_write());
    PAGABLE_TRY_ASSIGN(Stmt del, db.prepare("DELETE FROM blobs WHERE " + blob_key_is()));
    for (const Key& k : list) {
      PAGABLE_TRY(del.bind(1, k.bytes()).run("removing a blob"));
      removed += static_cast<std::size_t>(db.changes());
    }
    return commit_write();
  }));
  return removed;
}

Result<WriteMark> SqliteStore::mark_writes()
{
  if (!m_writer.joinable()) {
    return make_error(Errc::invalid_argument, m_path + " is open read-only");
  }
  PAGABLE_TRY(flush());
  WriteMark mark;
  PAGABLE_TRY_ASSIGN(mark.roots, list_roots());
  PAGABLE_TRY(run_on_writer([&](Db&) -> Result<void> {
    mark.blobs = m_written_rows.size();
    mark.packs = m_written_packs.size();
    m_split_rows = true;
    return {};
  }));
  return mark;
}

Result<DiscardFigures> SqliteStore::discard_writes_since(const WriteMark& mark)
{
  if (!m_writer.joinable()) {
    return make_error(Errc::invalid_argument, m_path + " is open read-only");
  }
  PAGABLE_TRY(flush());
  DiscardFigures figures;
  PAGABLE_TRY(run_on_writer([&](Db& db) -> Result<void> {
    if (mark.blobs > m_written_rows.size() || mark.packs > m_written_packs.size()) {
      return make_error(Errc::invalid_argument, "discard_writes_since: a mark this store did not give");
    }
    const std::vector<std::pair<std::int64_t, std::int64_t>> rows(
        m_written_rows.begin() + static_cast<std::ptrdiff_t>(mark.blobs), m_written_rows.end());
    const std::vector<std::int64_t> packs(m_written_packs.begin() + static_cast<std::ptrdiff_t>(mark.packs),
                                          m_written_packs.end());
    if (rows.empty() && packs.empty()) {
      return {}; // nothing to take back, and no lock taken for it
    }
    PAGABLE_TRY(begin_write());
    // Roots read inside the transaction: none can commit until it ends.
    PAGABLE_TRY_ASSIGN(const std::vector<RootRecord> now, read_roots(db));
    // What the changed roots reach. The whole of their graphs is walked: row ids are not
    // monotonic (SQLite reuses the highest ids after a concurrent gc deletes them), so a row
    // with a low id may be another writer's, written since the mark, whose children are ours.
    std::unordered_set<std::int64_t> reached;
    {
      PAGABLE_TRY_ASSIGN(Stmt q, db.prepare("SELECT id, children FROM blobs WHERE " + blob_key_is()));
      std::vector<Key> stack = roots_changed_since(mark.roots, now);
      while (!stack.empty()) {
        const Key k = stack.back();
        stack.pop_back();
        q.reset();
        q.bind(1, k.bytes());
        PAGABLE_TRY_ASSIGN(const bool row, q.step("walking a root's blobs"));
        if (!row || !reached.insert(q.column_int(0)).second) {
          continue;
        }
        PAGABLE_TRY_ASSIGN(const auto children, decode_children(q.column_blob(1), "blob " + k.to_hex()));
        stack.insert(stack.end(), children.begin(), children.end());
      }
      q.reset();
    }
    std::unordered_set<std::int64_t> kept_packs;
    {
      // A row id of ours may have been reused by another writer (after a gc removed our row):
      // a row is ours only while it also lies in one of our packs.
      const std::unordered_set<std::int64_t> our_packs(packs.begin(), packs.end());
      PAGABLE_TRY_ASSIGN(Stmt pack_of, db.prepare("SELECT pack FROM blobs WHERE id = ?1"));
      PAGABLE_TRY_ASSIGN(Stmt del, db.prepare("DELETE FROM blobs WHERE id = ?1"));
      for (const auto& [lo, hi] : rows) {
        for (std::int64_t id = lo; id <= hi; ++id) {
          pack_of.reset();
          PAGABLE_TRY_ASSIGN(const bool row, pack_of.bind(1, id).step("finding a blob's pack"));
          const std::int64_t pack = row ? pack_of.column_int(0) : 0;
          pack_of.reset();
          if (!row || our_packs.count(pack) == 0) {
            continue; // gone, or not ours any more
          }
          if (reached.count(id) == 0) {
            PAGABLE_TRY(del.bind(1, id).run("removing a blob"));
            figures.blobs_removed += static_cast<std::uint64_t>(db.changes());
            continue;
          }
          ++figures.blobs_kept;
          kept_packs.insert(pack);
        }
      }
    }
    {
      PAGABLE_TRY_ASSIGN(Stmt is_base, db.prepare("SELECT 1 FROM pack_bases WHERE base_pack = ?1 LIMIT 1"));
      PAGABLE_TRY_ASSIGN(Stmt del_bases, db.prepare("DELETE FROM pack_bases WHERE pack = ?1"));
      PAGABLE_TRY_ASSIGN(Stmt del_pack, db.prepare("DELETE FROM packs WHERE id = ?1"));
      for (const std::int64_t id : packs) {
        if (kept_packs.count(id) != 0) {
          continue;
        }
        is_base.reset();
        PAGABLE_TRY_ASSIGN(const bool base, is_base.bind(1, id).step("looking for packs based on a pack"));
        is_base.reset();
        if (base) {
          continue; // another pack decodes from it: gc's to judge
        }
        PAGABLE_TRY(del_bases.bind(1, id).run("removing a pack's delta bases"));
        PAGABLE_TRY(del_pack.bind(1, id).run("removing a pack"));
        figures.packs_removed += static_cast<std::uint64_t>(db.changes());
      }
    }
    PAGABLE_TRY(commit_write());
    m_written_rows.resize(mark.blobs);
    m_written_packs.resize(mark.packs);
    m_split_rows = true;
    return {};
  }));
  return figures;
}

Result<void> SqliteStore::commit_root(RootRecord root)
{
  PAGABLE_TRY(flush());
  if (root.created_unix_ms == 0) {
    root.created_unix_ms = now_unix_ms();
  }
  return run_on_writer([&](Db& db) -> Result<void> {
    PAGABLE_TRY(begin_write());
    // Inside the write transaction: a concurrent gc cannot remove what we confirm here before
    // the root that protects it is visible (DESIGN §4).
    PAGABLE_TRY(confirm_reachable(root.key, [&](const Key& k)
                                                -> Result<std::optional<std::vector<Key>>> {
      Stmt& q = m_w_children;
      q.reset();
      q.bind(1, k.bytes());
      PAGABLE_TRY_ASSIGN(const bool row, q.step("confirming a root's blobs"));
      if (!row) {
        q.reset();
        return std::optional<std::vector<Key>>();
      }
      auto children = decode_children(q.column_blob(0), "blob " + k.to_hex());
      q.reset();
      if (!children) {
        return std::move(children).error();
      }
      return std::optional<std::vector<Key>>(std::move(children).value());
    }));
    if (root.schema_key) {
      PAGABLE_TRY(confirm_reachable(*root.schema_key, [&](const Key& k)
                                                          -> Result<std::optional<std::vector<Key>>> {
        Stmt& q = m_w_children;
        q.reset();
        q.bind(1, k.bytes());
        PAGABLE_TRY_ASSIGN(const bool row, q.step("confirming a root's schema"));
        q.reset();
        if (!row) {
          return std::optional<std::vector<Key>>();
        }
        return std::optional<std::vector<Key>>(std::vector<Key>{});
      }));
    }
    PAGABLE_TRY_ASSIGN(Stmt ins,
                       db.prepare("INSERT OR REPLACE INTO roots(name, key, schema_key, created_ms, "
                                  "labels, stats) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    ins.bind(1, root.name).bind(2, root.key.bytes());
    if (root.schema_key) {
      ins.bind(3, root.schema_key->bytes());
    } else {
      ins.bind_null(3);
    }
    ins.bind(4, root.created_unix_ms).bind(5, labels_to_json(root.labels)).bind(6, root.stats_json);
    PAGABLE_TRY(ins.run("writing a root"));
    m_bytes_written.fetch_add(root.name.size() + 2 * Key::k_size + root.stats_json.size() + 16,
                              std::memory_order_relaxed);
    return commit_write();
  });
}

Result<std::optional<RootRecord>> SqliteStore::get_root(const std::string& name) const
{
  PAGABLE_TRY_ASSIGN(auto roots, list_roots());
  for (auto& r : roots) {
    if (r.name == name) {
      return std::optional<RootRecord>(std::move(r));
    }
  }
  return std::optional<RootRecord>();
}

Result<std::vector<RootRecord>> SqliteStore::list_roots() const
{
  auto reader = acquire_reader();
  return read_roots(reader->db);
}

Result<bool> SqliteStore::remove_root(const std::string& name)
{
  bool removed = false;
  PAGABLE_TRY(run_on_writer([&](Db& db) -> Result<void> {
    PAGABLE_TRY(begin_write());
    PAGABLE_TRY_ASSIGN(Stmt del, db.prepare("DELETE FROM roots WHERE name = ?1"));
    PAGABLE_TRY(del.bind(1, name).run("removing a root"));
    removed = db.changes() > 0;
    return commit_write();
  }));
  return removed;
}

Result<std::map<std::string, std::string>> SqliteStore::settings() const
{
  auto reader = acquire_reader();
  PAGABLE_TRY_ASSIGN(Stmt q, reader->db.prepare("SELECT name, value FROM settings"));
  std::map<std::string, std::string> out;
  for (;;) {
    PAGABLE_TRY_ASSIGN(const bool row, q.step("reading settings"));
    if (!row) {
      break;
    }
    out.emplace(q.column_text(0), q.column_text(1));
  }
  return out;
}

Result<std::map<std::string, std::string>>
SqliteStore::init_settings(const std::map<std::string, std::string>& values, SettingsWrite mode,
                           const OlderSettings& older)
{
  PAGABLE_TRY(run_on_writer([&](Db& db) -> Result<void> {
    PAGABLE_TRY(begin_write());
    bool replace = false;
    if (mode == SettingsWrite::replace_while_rootless) {
      PAGABLE_TRY_ASSIGN(Stmt r, db.prepare("SELECT count(*) FROM roots"));
      PAGABLE_TRY(r.step("counting roots"));
      replace = r.column_int(0) == 0;
    }
    // Read in the write transaction: the marks only change in one.
    PAGABLE_TRY_ASSIGN(Stmt uv, db.prepare("PRAGMA user_version"));
    PAGABLE_TRY(uv.step("reading the format version"));
    const std::int64_t marked = uv.column_int(0);
    if (replace && marked < k_format_version) {
      PAGABLE_TRY(mark_current_format());
    }
    // Settings are recorded all at once, so a name missing beside others was unknown to the
    // pagable that recorded them: it went by the older value, whatever the marks say now (a
    // `gc --compact` marks an old archive with today's format and records no setting).
    PAGABLE_TRY_ASSIGN(Stmt any, db.prepare("SELECT count(*) FROM settings"));
    PAGABLE_TRY(any.step("reading settings"));
    const bool use_older = !replace && (marked < older.since || any.column_int(0) != 0);
    PAGABLE_TRY_ASSIGN(Stmt ins, db.prepare(replace ? "INSERT OR REPLACE INTO settings(name, value) "
                                                      "VALUES (?1, ?2)"
                                                    : "INSERT OR IGNORE INTO settings(name, value) "
                                                      "VALUES (?1, ?2)"));
    for (const auto& [n, v] : values) {
      const auto o = older.values.find(n);
      const std::string& value = use_older && o != older.values.end() ? o->second : v;
      PAGABLE_TRY(ins.bind(1, n).bind(2, value).run("writing settings"));
    }
    return commit_write();
  }));
  return settings();
}

Result<StoreStats> SqliteStore::stats() const
{
  auto reader = acquire_reader();
  StoreStats s;
  PAGABLE_TRY_ASSIGN(Stmt b, reader->db.prepare("SELECT count(*), coalesce(sum(size), 0) FROM blobs"));
  PAGABLE_TRY(b.step("counting blobs"));
  s.blobs = static_cast<std::uint64_t>(b.column_int(0));
  s.bytes_logical = static_cast<std::uint64_t>(b.column_int(1));
  PAGABLE_TRY_ASSIGN(Stmt p, reader->db.prepare("SELECT coalesce(sum(length(data)), 0) FROM packs"));
  PAGABLE_TRY(p.step("measuring packs"));
  s.bytes_stored = static_cast<std::uint64_t>(p.column_int(0));
  PAGABLE_TRY_ASSIGN(Stmt r, reader->db.prepare("SELECT count(*) FROM roots"));
  PAGABLE_TRY(r.step("counting roots"));
  s.roots = static_cast<std::uint64_t>(r.column_int(0));
  s.file_bytes = file_size(m_path) + file_size(m_path + "-wal");
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

Result<std::unique_ptr<MaintenanceSession>> SqliteStore::open_maintenance(bool write) const
{
  SqliteMaintenanceConfig config;
  config.path = m_path;
  config.read_uri = m_read_uri;
  config.read_flags = m_read_flags;
  if (m_options.mode != OpenMode::read_only) {
    config.write_uri = file_uri(m_path, "");
  }
  config.lock_wait = m_options.lock_wait;
  config.compression_level = m_options.compression_level;
  config.max_pack_bytes = m_options.max_pack_bytes;
  return open_sqlite_maintenance(config, write);
}

StoreCounters SqliteStore::counters() const
{
  StoreCounters c;
  c.puts = m_puts.load();
  c.blobs_written = m_written.load();
  c.blobs_deduped = m_deduped.load();
  c.blobs_delta = m_delta_blobs.load();
  c.bytes_written = m_bytes_written.load();
  c.gets = m_gets.load();
  c.packs_decoded = m_packs_decoded.load();
  c.pack_bytes_decoded = m_pack_bytes_decoded.load();
  return c;
}

void SqliteStore::close()
{
  if (m_writer.joinable()) {
    {
      std::lock_guard lock(m_queue_mutex);
      m_stopping = true;
    }
    m_queue_cv.notify_one();
    m_writer.join();
  }
  m_async_pool.reset();
  {
    std::lock_guard lock(m_pool_mutex);
    m_free_readers.clear();
    m_readers.clear(); // readers close first, so the writer's close is the last one
  }
  if (m_wdb.handle() != nullptr) {
    // Leave one self-contained file behind: fold the WAL back into the database.
    m_w_has_blob = Stmt();
    m_w_insert_blob = Stmt();
    m_w_insert_pack = Stmt();
    m_w_insert_base = Stmt();
    m_w_find_base = Stmt();
    m_w_pack_bases = Stmt();
    m_w_children = Stmt();
    (void)m_wdb.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    m_wdb = Db();
  }
}

} // namespace

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

Result<std::unique_ptr<BlobStore>> open_sqlite_store(const std::string& path,
                                                     const SqliteOptions& options)
{
  auto store = std::make_unique<SqliteStore>(path, options);
  PAGABLE_TRY(store->open());
  return std::unique_ptr<BlobStore>(std::move(store));
}

} // namespace pagable::store
