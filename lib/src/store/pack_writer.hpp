// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The SQLite store's write connection and what it does inside its transactions: new blobs
// are appended to open packs (one for content, one for index blobs, one for blobs with delta
// bases), each pack compressed when full and written with the blobs' index rows, deltas kept
// short (docs/FORMAT.md "Packs", "Delta packs"). A full pack without delta bases is compressed
// on a thread of its own while the writer goes on indexing the next blobs; its row is
// inserted before the transaction commits (at most k_max_compressing packs wait at once). It
// logs the rows and packs it inserts, so that what one writer wrote since a mark can be taken
// back (store/take_back.hpp).
// Thread-safety: owned by the store's writer thread; only the counters are read elsewhere.

#include <pagable/blob.hpp>
#include <pagable/key.hpp>
#include <pagable/result.hpp>

#include "store/child_keys.hpp"
#include "store/pack_codec.hpp"
#include "store/pack_reader.hpp"
#include "store/sqlite_db.hpp"
#include "store/sqlite_store.hpp"
#include "util/thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <compare>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace pagable::store {

// The row ids of keys seen in the open transaction, as far as a fixed table of recent ones
// holds them (a key's slot is chosen by its first word; a later key may take it). A parent's
// children are mostly the blobs written just before it, and a key that fell out is looked up
// again. (A map of every row of the transaction allocated and freed a node a row.) The table
// is made by the first put, so that a store that only reads pays nothing for it.
class RecentRowIds {
public:
  std::optional<std::int64_t> find(const Key& key) const noexcept
  {
    if (m_slots.empty()) {
      return std::nullopt;
    }
    const Slot& s = m_slots[slot(key)];
    if (s.generation == m_generation && s.key == key) {
      return s.id;
    }
    return std::nullopt;
  }
  void put(const Key& key, std::int64_t id)
  {
    if (m_slots.empty()) {
      m_slots.resize(k_slots);
    }
    m_slots[slot(key)] = Slot{key, id, m_generation};
  }
  void erase(const Key& key) noexcept
  {
    if (m_slots.empty()) {
      return;
    }
    Slot& s = m_slots[slot(key)];
    if (s.key == key) {
      s.generation = 0;
    }
  }
  // Forgets every key at once.
  void clear() noexcept
  {
    if (++m_generation == 0) { // wrapped: old slots could match again
      std::fill(m_slots.begin(), m_slots.end(), Slot{});
      m_generation = 1;
    }
  }

private:
  static constexpr std::size_t k_slots = std::size_t{1} << 12; // 192 KiB
  struct Slot {
    Key key;
    std::int64_t id = 0;
    std::uint32_t generation = 0; // 0: empty
  };
  static std::size_t slot(const Key& key) noexcept { return std::hash<Key>{}(key) & (k_slots - 1); }
  std::vector<Slot> m_slots;
  std::uint32_t m_generation = 1;
};

// A blob waiting for the writer.
struct QueuedBlob {
  Key key;
  Blob blob;
  std::vector<Key> bases; // PutHints::delta_bases
  bool index = false;     // PutHints::index
  bool replace = false;   // PutHints::replace
};

// What the writer counts; read from any thread.
struct WriterCounters {
  std::atomic<std::uint64_t> written{0};       // new blobs
  std::atomic<std::uint64_t> deduped{0};       // blobs stored already
  std::atomic<std::uint64_t> bytes_written{0}; // packs and index rows the archive gained
  std::atomic<std::uint64_t> delta_blobs{0};   // new blobs in delta packs
  std::atomic<std::uint64_t> bytes_taken{0};   // StoreCounters::bytes_taken
  std::atomic<std::uint64_t> replaced{0};      // StoreCounters::blobs_replaced
};

// The blob rows and packs a writer inserted, in order: row ids as inclusive ranges (one
// transaction's rows are consecutive), pack ids.
struct WriteLog {
  std::vector<std::pair<std::int64_t, std::int64_t>> rows;
  std::vector<std::int64_t> packs;
  bool split_rows = false; // a mark was taken: the next row starts a range of its own
};

class PackWriter {
public:
  PackWriter(const SqliteOptions& options, const PackReader& reader, WriterCounters& counters)
      : m_options(options), m_reader(reader), m_counters(counters)
  {
  }

  // Takes the write connection of the archive at `path` (named in messages), whose format
  // is `format`: an older one is marked with today's by the first transaction that stores a
  // blob.
  Result<void> open(std::string path, sql::Db db, std::int64_t format);
  // Finalises its statements, folds the WAL back into the file and closes the connection.
  void close();
  sql::Db& db() noexcept { return m_db; }

  // BEGIN IMMEDIATE, unless a transaction is open. Errc::locked naming the archive when the
  // write lock stays busy past the lock wait.
  Result<void> begin();
  // Writes the open packs and commits; nothing to do without a transaction.
  Result<void> commit();
  // Rolls back the open transaction, dropping the open packs with it.
  void rollback() noexcept;
  bool in_transaction() const noexcept { return m_in_txn; }
  std::chrono::steady_clock::duration transaction_age() const
  {
    return std::chrono::steady_clock::now() - m_txn_started;
  }
  // In the open transaction, marks an archive of an older format with today's, moving its
  // roots into format 5's tables (the first transaction that stores a blob or a root does, or
  // one that replaces a rootless archive's settings: FORMAT.md, head).
  Result<void> mark_current_format();
  // The pages the open transaction has taken so far (in use now minus at its BEGIN, when
  // more) times the page size; 0 without a transaction. commit() adds the same figure, at
  // the end, to the counters' bytes_taken.
  Result<std::uint64_t> bytes_taken_in_transaction();

  // Stores `item` in the open transaction (beginning one), unless its key is stored already.
  Result<void> write_blob(const QueuedBlob& item);

  WriteLog& log() noexcept { return m_log; }

  // The pieces write_blob is made of, for pack transfer (store/sqlite_transfer.hpp); each in
  // the open transaction.
  struct PackSlice {
    std::int64_t pack;
    std::int64_t offset;
    std::int64_t size;
    auto operator<=>(const PackSlice&) const = default;
  };
  // The id the next pack gets (AUTOINCREMENT's sequence counts removed ones too, so ids are
  // never reused).
  std::int64_t take_pack_id() noexcept { return m_next_pack_id++; }
  // Returns true iff a blob row holds `key`.
  Result<bool> is_stored(const Key& key);
  // The id of `key`'s (first) row, nullopt when it has none; remembered for the transaction
  // when this archive's child lists name rows by id.
  Result<std::optional<std::int64_t>> row_id_of(const Key& key);
  // How this writer stores child lists (store/child_keys.hpp): row ids in an archive whose
  // blob ids are never reused, keys in an older one.
  ChildRefs child_refs() const noexcept { return m_child_refs; }
  // Whether a row goes in the write log, for take-back (discard_writes_since).
  enum class Logged : std::uint8_t { yes, no };
  // Inserts the index row of a blob at [offset, offset + size) of pack `pack`; logs it
  // unless `logged` says no.
  Result<void> insert_row(const Key& key, std::int64_t pack, std::int64_t offset,
                          std::int64_t size, std::span<const Key> children, Logged logged = Logged::yes);
  // Inserts pack `id`'s row and, for a delta pack, its bases in prefix order; logs it
  // unless `logged` says no.
  Result<void> insert_pack(std::int64_t id, PackCodec codec, std::int64_t depth,
                           std::uint64_t raw_size, std::span<const std::uint8_t> data,
                           std::span<const PackSlice> bases, Logged logged = Logged::yes);
  // The largest delta depth among `packs` (0 when none is a delta pack).
  Result<std::int64_t> deepest(std::span<const std::int64_t> packs);

private:
  // A pack being filled.
  struct OpenPack {
    std::int64_t id = 0; // chosen when its first blob arrives
    Bytes buf;
    std::size_t blobs = 0;
    std::vector<PackSlice> bases;              // old nodes its new nodes resemble (delta pack)
    std::unordered_set<Key> base_keys;         // dedup of bases
    std::unordered_set<std::int64_t> lineages; // too-deep packs whose lineage is in the prefix
    std::set<PackSlice> slices;                // dedup of `bases`
    std::size_t base_bytes = 0; // bounded: readers refuse prefixes above max_pack_bytes
    void clear();
  };
  // The slices of plain packs that delta pack `pack` decodes from: its bases, their packs'
  // bases and so on down. Memoised for the transaction: packs never change, and none can be
  // removed while it holds the write lock.
  Result<const std::vector<PackSlice>*> lineage(std::int64_t pack);
  Result<void> finish_pack(OpenPack& pack);
  // A full plain pack being compressed on m_compressor; its row is inserted by
  // insert_compressed, in the transaction that holds its blobs' rows.
  struct Compressing {
    std::int64_t id = 0;
    std::uint64_t raw_size = 0;
    Logged logged = Logged::yes;
    std::future<EncodedPack> encoded;
  };
  // Packs compressing at once: each holds its raw bytes (up to a pack target) until done.
  static constexpr std::size_t k_max_compressing = 2;
  // Inserts the rows of compressing packs (waiting for them) until at most `keep` are left.
  Result<void> insert_compressed(std::size_t keep);
  // Stores a fresh copy of a blob whose stored copy is damaged (QueuedBlob::replace): drops
  // the key's rows and writes the blob into m_repair_pack, neither logged for take-back.
  Result<void> replace_blob(const QueuedBlob& item);
  Result<void> finish_packs();
  Result<void> size_page_cache(); // the page cache follows the key index's size
  Result<std::int64_t> used_pages(); // page_count - freelist_count
  void log_row(std::int64_t row_id);

  const SqliteOptions& m_options;
  const PackReader& m_reader;
  WriterCounters& m_counters;

  std::string m_path;
  sql::Db m_db;
  sql::Stmt m_has_blob, m_move_row, m_drop_rows, m_used_pages, m_insert_blob, m_insert_pack, m_insert_base, m_find_base, m_pack_bases;
  bool m_in_txn = false;
  bool m_format_upgrade = false;        // the archive says an older format
  bool m_format_upgrade_in_txn = false; // the open transaction marks it with today's
  std::chrono::steady_clock::time_point m_txn_started;
  std::int64_t m_page_bytes = 0;
  std::int64_t m_pages_at_begin = 0; // pages in use when the open transaction began
  std::int64_t m_next_pack_id = 0;
  std::int64_t m_index_rows = 0; // about how many rows the key index holds
  std::int64_t m_cache_kib = 0;  // the page cache, as last set
  std::unordered_map<std::int64_t, std::vector<PackSlice>> m_lineages;
  OpenPack m_data_pack;
  OpenPack m_index_pack;
  OpenPack m_delta_pack; // blobs with delta bases: one, or a few small ones
  OpenPack m_repair_pack; // fresh copies of damaged blobs: never taken back
  std::deque<Compressing> m_compressing; // oldest first
  std::unique_ptr<util::ThreadPool> m_compressor; // one thread, started by open()
  std::unordered_set<Key> m_replaced; // keys replaced by this writer: once is enough
  ChildRefs m_child_refs = ChildRefs::keys;
  RecentRowIds m_row_ids; // rows seen in the open transaction
  WriteLog m_log;
};

} // namespace pagable::store
