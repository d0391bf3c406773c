// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The maintenance role of a store: what `verify` and `gc` need beyond the public roles (row
// ids, packs, vacuum), with the SQL kept inside the store module (docs/ARCHITECTURE.md).
// Private to the library: row and pack ids mean nothing outside one archive. A MaintenanceSession is one connection
// of its own. A read transaction on it is one snapshot: every read sees the archive as of the
// transaction's first read, whatever concurrent packs and gcs commit meanwhile. A write
// transaction takes SQLite's write lock (BEGIN IMMEDIATE, waiting up to the store's lock
// wait); keep write transactions short.
// Thread-safety: a session belongs to one thread at a time. Its results are plain values.

#include <pagable/blob.hpp>
#include <pagable/key.hpp>
#include <pagable/result.hpp>
#include <pagable/store.hpp>

#include "store/child_keys.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace pagable::store {

// A root row as stored, not yet trusted: `problem` says what is wrong with it ("" if sound).
struct StoredRoot {
  std::string name;
  std::uint64_t version = 1;
  std::optional<Key> key;        // absent when the stored key is not 32 bytes
  std::optional<Key> schema_key; // absent when NULL (or unusable: see problem)
  std::int64_t created_unix_ms = 0;
  std::string labels_json; // as stored: a JSON object of strings when sound
  std::string stats_json;
  std::optional<std::uint64_t> bytes_added; // NULL in versions from before format 5
  std::string problem;
};

// One row of the blob index as stored. The spans are valid during the callback only.
struct IndexRow {
  std::int64_t id = 0;
  std::span<const std::uint8_t> key; // 32 bytes when sound
  std::int64_t pack = 0;
  std::int64_t offset = 0;
  std::int64_t size = 0;
  std::span<const std::uint8_t> children; // as stored: keys or row ids (store/child_keys.hpp)
};

// A pack row with its stored (compressed) bytes.
struct PackRow {
  std::int64_t id = 0;
  std::int64_t codec = 0;
  std::int64_t raw_size = 0;
  Bytes data;
  Bytes prefix; // for a delta pack (codec 3): the base bytes its frame was compressed against
};

// A pack row without its data.
struct PackInfo {
  std::int64_t id = 0;
  std::int64_t codec = 0;
  std::int64_t raw_size = 0;
  std::int64_t stored_bytes = 0; // length of the compressed data
  bool is_delta_base = false;    // another pack names it as base_pack
};

// A node of the graph as the index stores it (no data).
struct IndexNode {
  Key key;
  std::vector<Key> children;
};

// A blob's row id, key and children as its list names them (row ids from format 6), found
// by key or by id (no data).
struct IndexEntry {
  std::int64_t id = 0;
  Key key;
  std::vector<ChildRef> children;
  std::string malformed; // why the stored child list cannot be read ("" when it can)
  // Another row holding the same key (0: none, as in a sound archive; from format 4 the
  // writer keeps keys unique, no UNIQUE constraint does). `id` is the smallest.
  std::int64_t repeated_in = 0;
};

// What rewrite_packs did, in one write transaction.
struct PackRewriteResult {
  std::uint64_t packs_removed = 0;   // packs no blob used any more
  std::uint64_t packs_rewritten = 0; // packs whose live blobs moved to a new, smaller pack
  std::uint64_t packs_skipped = 0;   // delta bases and reserved codecs: left as they are
  std::uint64_t stored_bytes_before = 0;
  std::uint64_t stored_bytes_after = 0;
};

// Decodes a pack row (codec raw or zstd) to its content. Errc::corrupt when the frame is
// damaged, claims another size than raw_size, exceeds max_bytes or uses a reserved codec.
// Thread-safe: callers decode on worker threads.
Result<Bytes> decode_pack_row(const PackRow& pack, std::uint64_t max_bytes);

// Which of SQLite's checks integrity_check runs.
enum class IntegrityCheck : std::uint8_t {
  quick, // PRAGMA quick_check: pages and rows, not the indexes against their tables
  full,  // PRAGMA integrity_check
};

// What a maintenance session may do.
enum class SessionAccess : std::uint8_t { read, write };

class MaintenanceSession {
public:
  virtual ~MaintenanceSession() = default;

  // --- transactions ---
  virtual Result<void> begin_read() = 0;
  // Errc::locked when the write lock stays busy; Errc::invalid_argument on a read-only session.
  virtual Result<void> begin_write() = 0;
  virtual Result<void> commit() = 0;
  virtual void rollback() noexcept = 0;
  virtual bool writable() const noexcept = 0;
  // Lets reads go through a memory map of the file (up to 2 GiB; by default they go through
  // the session's bounded page cache). Faster random lookups on big archives; the mapped
  // pages are the OS's file cache, but they count in the process's RSS.
  virtual Result<void> use_memory_map() = 0;

  // --- checks (inside a transaction) ---
  // SQLite's own check (quick_check or integrity_check): its messages, empty when the
  // database is sound. At most max_messages.
  virtual Result<std::vector<std::string>> integrity_check(IntegrityCheck depth,
                                                           int max_messages) = 0;
  // pagable's tables and columns, application id, metadata, format version: one message per
  // problem, empty when sound. When this reports problems the other queries may fail.
  virtual Result<std::vector<std::string>> check_layout() = 0;

  // --- reads (inside a transaction) ---
  virtual Result<std::vector<StoredRoot>> roots() = 0;
  // The largest blob row id (0 when there are none).
  virtual Result<std::int64_t> max_blob_id() = 0;
  // The row id of the blob stored under `key`, if any.
  virtual Result<std::optional<std::int64_t>> blob_id(const Key& key) = 0;
  // The row id and child keys stored under `key` in one lookup; nullopt when absent. A key
  // held by several rows is found in the one with the smallest id.
  virtual Result<std::optional<IndexEntry>> lookup(const Key& key) = 0;
  // The same for row `id` (a rowid lookup: no key index); nullopt when there is no such row.
  // `repeated_in` is not looked for. Errc::corrupt when the row's key is not 32 bytes.
  virtual Result<std::optional<IndexEntry>> lookup_id(std::int64_t id) = 0;
  // The key and child keys of row `id`; nullopt if there is no such row; Errc::corrupt when
  // the row's key or child list is malformed.
  virtual Result<std::optional<IndexNode>> node(std::int64_t id) = 0;
  // A stored child list (IndexRow::children of row `id`) as concatenated 32-byte keys, row
  // ids resolved; Errc::corrupt when it cannot be read.
  virtual Result<Bytes> child_keys_of(std::span<const std::uint8_t> raw, std::int64_t id) = 0;
  // Calls fn for every blob row with after_id < id <= up_to_id, in id order, at most `limit`
  // rows (0 = no limit). Stops at fn's first error.
  virtual Result<void> for_each_blob(std::int64_t after_id, std::int64_t up_to_id,
                                     std::size_t limit,
                                     const std::function<Result<void>(const IndexRow&)>& fn) = 0;
  virtual Result<std::optional<PackRow>> pack(std::int64_t id) = 0;
  virtual Result<void> for_each_pack(const std::function<Result<void>(const PackInfo&)>& fn) = 0;
  // Bytes beyond which decode_pack_row refuses a pack (the store's max_pack_bytes).
  virtual std::uint64_t max_pack_bytes() const noexcept = 0;

  // --- writes (inside begin_write) ---
  // Deletes blob row `id`; returns true iff it existed.
  virtual Result<bool> delete_blob(std::int64_t id) = 0;
  // For each pack: removes it if no blob row uses it, otherwise writes the blobs that use it
  // into a new pack (new id) and points their rows there. Never removes a blob row; leaves
  // delta bases alone, and does not rewrite delta packs (it may remove unused ones). Pack ids
  // are never reused (packs is AUTOINCREMENT), so readers may cache packs by id.
  virtual Result<PackRewriteResult> rewrite_packs(std::span<const std::int64_t> pack_ids) = 0;

  // --- outside any transaction ---
  // VACUUM, then a WAL checkpoint: the file shrinks to its content. Needs free disk space of
  // about twice the archive's size while it runs. Before it, in a transaction of its own, an
  // archive with format 0-3's UNIQUE key index gets format 4's blob table and is marked 4.
  virtual Result<void> vacuum() = 0;
  // Folds the WAL back into the database and truncates it to nothing (when no reader holds
  // it): what one write transaction put there stops taking disk space, and the pages it freed
  // are reused by the next one instead of the file growing. Needs no free space beyond the
  // pages the WAL holds, which the database file already has.
  virtual Result<void> checkpoint() = 0;
};

// A set of blob row ids, one bit each: memory is (largest id / 8) bytes, 125 kB per million
// blobs. Grows on demand.
class IdBitmap {
public:
  bool test(std::int64_t id) const noexcept;
  // Sets id's bit; returns true iff it was clear. Ids below 1 are ignored (returns false).
  bool set(std::int64_t id);
  void clear() noexcept { m_words.clear(); }

private:
  std::vector<std::uint64_t> m_words;
};

struct WalkCallbacks {
  // A stored blob reached for the first time (its bit was clear). Optional.
  std::function<void(std::int64_t id, const Key& key)> on_blob;
  // A key reached that is not stored; `parent` is nullopt for the walk's start. Optional. A
  // child named by a row id that has no row is not this (its key went with the row) but a
  // bad row: its parent's (on_bad_row, Errc::not_found).
  std::function<void(const Key& missing, const std::optional<Key>& parent)> on_missing;
  // A reached row whose key or child list is malformed (Errc::corrupt). Optional.
  std::function<void(std::int64_t id, const Error& error)> on_bad_row;
  // A reached key held by rows `id` (the one followed) and `other` too. Optional.
  std::function<void(std::int64_t id, std::int64_t other, const Key& key)> on_repeated;
};

// Marks in `marked` every blob reachable from `start` whose bit is still clear, following the
// stored child keys of the index: no blob data is read and nothing recurses (an explicit
// stack of pending edges, 40 bytes each, so user graphs of any depth are fine; its peak is
// the widest fan-out along the way). One lookup per edge: by row id for children named by id
// (format 6), through the key index otherwise. Runs inside the session's current
// transaction. Errors other than malformed rows stop the walk.
Result<void> mark_reachable(MaintenanceSession& session, const Key& start, IdBitmap& marked,
                            const WalkCallbacks& callbacks = {});

// Implemented by the stores that have a maintenance role (the SQLite store).
class MaintenanceProvider {
public:
  virtual ~MaintenanceProvider() = default;
  // A session on a connection of its own. SessionAccess::write needs a store opened for
  // writing.
  virtual Result<std::unique_ptr<MaintenanceSession>> open_maintenance(SessionAccess access) const = 0;
};

// A maintenance session on `store`: Errc::invalid_argument when its backend has no
// maintenance role (the memory store), naming what needs one.
Result<std::unique_ptr<MaintenanceSession>> open_maintenance(const BlobStore& store,
                                                             SessionAccess access);

} // namespace pagable::store
