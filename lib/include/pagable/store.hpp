// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The content-addressed blob store and its root catalogue. Two backends: in-memory (tests,
// scratch work) and SQLite (the archive file). The store keeps opaque bytes plus child keys;
// it knows nothing of JSON or schemas.
// Thread-safety: every method of BlobStore may be called from many threads at once.

#include <pagable/blob.hpp>
#include <pagable/key.hpp>
#include <pagable/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pagable::store {

class MaintenanceSession; // pagable/store_maintenance.hpp

// Hints that may accompany a write. Never change what is stored or its key.
struct PutHints {
  // Keys of already-stored blobs the new one resembles (the same JSON path in an older
  // version). The SQLite store may compress against them; an absent base is ignored.
  std::vector<Key> delta_bases;
  // The blob is read on the way to others (a chunk tree's index level, a routing table, a
  // document's root made mostly of references) more than for its own content. The SQLite store packs such blobs apart
  // from the rest, so that a lookup decompresses little besides the blobs it wants.
  bool index = false;
};

// How init_settings treats a name that is set already.
enum class SettingsWrite : std::uint8_t {
  keep_set,               // set values stay (the settings are fixed for the archive's life)
  replace_while_rootless, // replaced while no root exists, else kept
};

// Settings a newer format added, with the values older pagables went by without them: in an
// archive marked with a format older than `since`, init_settings records these instead.
struct OlderSettings {
  std::int64_t since = 0;
  std::map<std::string, std::string> values;
};

// A named entry pointing at a top-level blob (DESIGN §4).
struct RootRecord {
  std::string name;                         // unique in the archive
  Key key;                                  // the document's top-level blob
  std::optional<Key> schema_key;            // the blob holding its JSON Schema, if any
  std::int64_t created_unix_ms = 0;         // set by commit_root when 0
  std::map<std::string, std::string> labels; // --label k=v
  std::string stats_json = "{}";            // document stats, a JSON object as text
};

// Counters since the store was opened. Monotonic; read with counters().
struct StoreCounters {
  std::uint64_t puts = 0;           // put() calls
  std::uint64_t blobs_written = 0;  // blobs that were new to the store
  std::uint64_t blobs_deduped = 0;  // blobs already present (idempotent store)
  std::uint64_t bytes_written = 0;  // bytes the store really gained for new blobs (payload
                                    // after compression plus index entries)
  std::uint64_t gets = 0;           // get() calls that read stored data
  std::uint64_t packs_decoded = 0;  // compressed groups decompressed (SQLite only)
  std::uint64_t pack_bytes_decoded = 0; // of their content: a read stops decoding a pack
                                        // past the blob it wants (SQLite only)
  std::uint64_t blobs_delta = 0;    // new blobs written into delta packs (compressed against
                                    // PutHints bases; SQLite only)
};

struct StoreStats {
  std::uint64_t blobs = 0;
  std::uint64_t roots = 0;
  std::uint64_t bytes_logical = 0; // sum of blob data sizes, uncompressed
  std::uint64_t bytes_stored = 0;  // compressed payload bytes on disk (packs)
  std::uint64_t file_bytes = 0;    // the archive file's size (0 for memory)
  // Of those, the file's free pages: space left by removed rows (gc, a failed pack taken
  // back) that later writes reuse and `gc --compact` gives back (0 for memory).
  std::uint64_t free_bytes = 0;
  // Uncompressed pack content no blob row points into any more (blobs removed, their bytes
  // still in their pack until gc rewrites it). Counted without decompressing anything.
  std::uint64_t pack_bytes_dead = 0;
  // The archive format the file says it is in (docs/FORMAT.md; memory: today's).
  std::int64_t format_version = 0;
};

// A point in a store's own writes, taken by mark_writes(): what it wrote after it can be
// taken back (discard_writes_since). Positions are the backend's; the roots are as they were.
struct WriteMark {
  std::uint64_t blobs = 0;
  std::uint64_t packs = 0;
  std::vector<RootRecord> roots;
};

// What discard_writes_since took back.
struct DiscardFigures {
  std::uint64_t blobs_removed = 0;
  std::uint64_t blobs_kept = 0;    // written since the mark, but a root committed since reaches them
  std::uint64_t packs_removed = 0; // packs written since the mark that held only removed blobs
};

class BlobStore {
public:
  virtual ~BlobStore() = default;

  // --- read side ---
  // The blob stored under `key`, or std::nullopt when absent (absence is not an error).
  // Data is checked against its key on every read: a mismatch is Errc::corrupt naming the
  // key. Sees every write that flush() has returned for. Blocking.
  virtual Result<std::optional<Blob>> get(const Key& key) const = 0;
  // The non-blocking form: the same answer, computed on a store-owned reader thread.
  virtual std::future<Result<std::optional<Blob>>> get_async(const Key& key) const;
  // Returns true iff `key` is stored (after flush). Does not read the blob's data.
  virtual Result<bool> contains(const Key& key) const = 0;
  // The child keys of `key` without reading or decompressing its data; nullopt if absent.
  virtual Result<std::optional<std::vector<Key>>> children_of(const Key& key) const = 0;

  // Up to `limit` stored keys whose hex form starts with `hex_prefix` (1..64 hex digits, any
  // case), in key order; for unique-prefix lookups (pagable::resolve_unique_prefix).
  // Errc::invalid_argument for a malformed prefix.
  virtual Result<std::vector<Key>> find_keys_with_prefix(std::string_view hex_prefix,
                                                         std::size_t limit) const = 0;

  // --- write side ---
  // Stores `blob` idempotently and returns its key ("already present" is success). May
  // buffer: the blob is durable and visible to readers once flush() returns. Blocks when the
  // write queue is full (back-pressure). After a write error every later put and flush
  // returns that error.
  virtual Result<Key> put(Blob blob, const PutHints& hints = {}) = 0;
  // Makes every earlier put durable and visible; returns the first write error, if any.
  virtual Result<void> flush() = 0;

  // --- enumeration and removal ---
  // Calls fn once per stored key, in unspecified order; stops at fn's first error.
  virtual Result<void> for_each_key(const std::function<Result<void>(const Key&)>& fn) const = 0;
  // Removes the given blobs (absent ones are skipped); returns how many were removed. Does
  // not check that no root reaches them: that is gc's job.
  virtual Result<std::size_t> remove(std::span<const Key> keys) = 0;

  // --- taking writes back: nothing of a document that failed stays (DESIGN §5) ---
  // Flushes, then marks the writes this store (this object, not other writers) has made so
  // far, with the roots as they are now.
  virtual Result<WriteMark> mark_writes() = 0;
  // Flushes, then removes in one transaction the blobs this store has written since `mark`,
  // except those a root committed or replaced since the mark (by anyone) reaches, and the
  // packs that held only removed blobs. Blobs others wrote, and all that was there before the
  // mark, stay. A writer that reused one of the removed blobs meanwhile fails to commit its
  // root (Errc::not_found), as with a concurrent gc. Takes no lock when nothing was written.
  virtual Result<DiscardFigures> discard_writes_since(const WriteMark& mark) = 0;

  // --- roots ---
  // Makes `root` visible, replacing a root of the same name, in one transaction that first
  // confirms every blob the root reaches exists (Errc::not_found naming the missing key
  // otherwise, and nothing changes). Flushes pending puts first.
  virtual Result<void> commit_root(RootRecord root) = 0;
  virtual Result<std::optional<RootRecord>> get_root(const std::string& name) const = 0;
  // All roots, oldest first (then by name).
  virtual Result<std::vector<RootRecord>> list_roots() const = 0;
  // Returns true iff a root of that name existed and was removed. Its blobs stay until gc.
  virtual Result<bool> remove_root(const std::string& name) = 0;

  // --- settings (DESIGN §3: boundary settings are fixed for the archive's life) ---
  virtual Result<std::map<std::string, std::string>> settings() const = 0;
  // Records each of `values` whose name is not set yet (set ones keep their value) and
  // returns the settings in force afterwards. With SettingsWrite::replace_while_rootless,
  // `values` replace set ones too while the store has no root (nothing was committed with
  // them: a first pack that failed), in one transaction with that check.
  // `older`: in an archive marked with a format before `older.since`, or whose settings were
  // recorded without those names, the values recorded for them instead of `values`' (for a
  // setting format `since` added, what the older pagables that may still write there, or
  // that recorded the others, did without it). Replacing a rootless
  // archive's settings marks it with today's format in the same transaction instead, so that
  // `values` hold as given and older pagables leave it alone. A memory store is always in
  // today's format.
  virtual Result<std::map<std::string, std::string>>
  init_settings(const std::map<std::string, std::string>& values,
                SettingsWrite mode = SettingsWrite::keep_set,
                const OlderSettings& older = {}) = 0;

  // --- information ---
  virtual Result<StoreStats> stats() const = 0;
  virtual StoreCounters counters() const = 0;

  // --- maintenance (verify, gc) ---
  // A session on a connection of its own (pagable/store_maintenance.hpp). `write` asks for
  // one that may write (the store must have been opened for writing). Backends without
  // maintenance support return Errc::invalid_argument (the default).
  virtual Result<std::unique_ptr<MaintenanceSession>> open_maintenance(bool write) const;
};

enum class OpenMode : std::uint8_t {
  read_only,     // never writes; works on read-only files and directories
  read_write,    // the archive must exist
  create,        // create the archive if missing
};

struct SqliteOptions {
  OpenMode mode = OpenMode::read_only;
  // How long to wait for SQLite's write lock before Errc::locked. 0 = fail at once.
  std::chrono::milliseconds lock_wait{10'000};
  // zstd level for packs: higher is smaller and slower to write; reading speed is the same.
  int compression_level = 3;
  // Uncompressed bytes grouped into one pack: larger compresses better, smaller makes a
  // random read decompress less.
  std::size_t pack_target_bytes = 64 * 1024;
  // The same for packs of index blobs (PutHints::index), when smaller. A lookup reads a few
  // blobs here and there from these, and routing fingerprints do not compress, so small
  // packs lose little and spare decoding: a cold `hydrate --at` into a 500,000-member object
  // took 1.6 ms less with 64 KiB than with 2 MiB index packs, for 0.6% more bytes. (0: each
  // index blob in a pack of its own.)
  std::size_t index_pack_target_bytes = 64 * 1024;
  // Blobs stored with delta bases (PutHints::delta_bases) fill packs of their own, finished
  // once they hold this many bytes (a node of this size or more gets one to itself). Apart
  // from new content, a delta pack's prefix holds only its few nodes' bases, so a read
  // decodes little besides their history, and its depth is theirs. Measured (Release, mdn
  // and GitHub REST releases; bench/results/2026-11-24-chain.md), against packing them with
  // everything else in 64 KiB packs: 24 mdn releases in a row 2.62 MB instead of 3.41; the
  // one GitHub REST update adds 147 kB instead of 139 (8 KiB: 2.50 MB, 164 kB; 256 KiB:
  // 3.28 MB, 127 kB). Cold reads in the last release decode somewhat more (19 MB over five
  // lookups against 13).
  std::size_t delta_pack_target_bytes = 64 * 1024;
  // Bytes of blobs queued for the writer before put() blocks (back-pressure).
  std::size_t write_queue_bytes = 32 * 1024 * 1024;
  // Bytes of decompressed packs kept for readers (shared by all reader threads).
  std::size_t pack_cache_bytes = 16 * 1024 * 1024;
  // Read connections in the pool; 0 = one per hardware thread (at least 2).
  unsigned readers = 0;
  // Bytes of the file each read connection maps into memory (SQLite's mmap_size); 0 reads
  // through system calls only. A mapped page costs no pread and no copy into SQLite's cache:
  // a cold `hydrate --at` on a 500,000-member object went from 7.7 to 6.5 ms. The price: an
  // I/O error on a mapped page, or the file truncated by something other than SQLite while
  // it is open, kills the process with SIGBUS instead of returning an error; and mapped
  // pages, the OS's file cache, count in the process's RSS once touched (per connection).
  // So it is off by default; `pagable hydrate --at`, a short random read, turns it on.
  std::size_t read_mmap_bytes = 0;
  // SQLite's page size for an archive this store creates (a power of two from 512 to 65536);
  // an existing archive keeps its own. Rows of 1 to 4 kB (small delta packs, blob rows with
  // child keys) fill 4 KiB pages badly: SQLite stores a row up to a page whole, and starts a
  // new page when the next does not fit. With 1 KiB pages a longer row spills into overflow
  // pages filled to the brim. Measured (Release, bench corpora, one pack each): GitHub REST
  // 545 -> 521 kB, mdn 942 -> 907 kB, the 100,000-node seed graph 1.55 -> 1.51 MB, the
  // GitHub REST 22 -> 23 update 147 -> 133 kB added; pack about 3% slower, gc of a
  // 1,000,000-blob archive about 20% slower (more pages), random reads the same.
  std::size_t new_archive_page_bytes = 1024;
  // A pack (or blob) claiming more than this many uncompressed bytes is refused as corrupt.
  std::size_t max_pack_bytes = 256 * 1024 * 1024;
};

// Opens (or creates, per options.mode) the archive at `path`. Errors: Errc::unusable_archive
// when the file is missing (unless create), not SQLite, not a pagable archive, or of a newer
// format; Errc::io when the OS refuses; Errc::locked when the write lock stays busy.
Result<std::unique_ptr<BlobStore>> open_sqlite_store(const std::string& path,
                                                     const SqliteOptions& options = {});

// True iff `path` is a regular file that starts like a pagable archive: SQLite's header with
// pagable's application id (FORMAT.md "The file"), or with none yet beside a non-empty WAL
// (a new archive not checkpointed). Reads its first 72 bytes and opens no database, so it
// creates and changes nothing, and never reads a pipe; says nothing of the archive's health.
bool is_archive_file(const std::string& path);

// A store in memory, for tests and scratch work. Never fails to open.
std::unique_ptr<BlobStore> make_memory_store();

} // namespace pagable::store
