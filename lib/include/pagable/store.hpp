// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The content-addressed store, split by role (STYLE R3): reading blobs, writing them (with
// take-back of a failed document), the root catalogue, the archive's settings, and pack
// transfer between stores. A BlobStore plays every role; code that needs one role takes that
// role (hydrate reads, page-out writes). Backends: in memory (make_memory_store) and the
// SQLite archive (opened through pagable/archive.hpp). The store keeps opaque bytes plus
// child keys; it knows nothing of JSON or schemas.
// Thread-safety: every method of every role may be called from many threads at once.

#include <pagable/blob.hpp>
#include <pagable/key.hpp>
#include <pagable/result.hpp>

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

// ---------------------------------------------------------------------------------------------
// Reading blobs.

class BlobReader {
public:
  virtual ~BlobReader() = default;

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
  // Calls fn once per stored key, in unspecified order; stops at fn's first error.
  virtual Result<void> for_each_key(const std::function<Result<void>(const Key&)>& fn) const = 0;
};

// ---------------------------------------------------------------------------------------------
// Writing blobs, and taking a failed document's blobs back out.

// Hints that may accompany a write. None changes a blob's key; only `replace` changes what
// is stored, and only where the stored copy no longer matches its key.
struct PutHints {
  // Keys of already-stored blobs the new one resembles (the same JSON path in an older
  // version). The SQLite store may compress against them; an absent base is ignored.
  std::vector<Key> delta_bases;
  // The blob is read on the way to others (a chunk tree's index level, a routing table, a
  // document's root made mostly of references or following a megabyte of content) more than
  // for its own content. The SQLite store packs such blobs apart from the rest, so that a
  // lookup decompresses little besides the blobs it wants.
  bool index = false;
  // The caller read the stored copy back and found it damaged or unreadable (pack --repair):
  // this copy replaces it, and its index rows go in the transaction that writes this one.
  // The fresh copy is never taken back (discard_writes_since): it stands for a blob that
  // was there before the mark. A key replaced once is not replaced again by the same store
  // object; a key not stored is written as usual. Delta bases are ignored: a fresh copy
  // decodes on its own, whatever else is damaged.
  bool replace = false;
};

// One version of a named entry pointing at a top-level blob (DESIGN §4). A name holds
// versions: each commit of a name adds one, numbered 1, 2, ... in commit order.
struct RootRecord {
  std::string name;                          // the name the version belongs to
  Key key;                                   // the document's top-level blob
  std::optional<Key> schema_key;             // the blob holding its JSON Schema, if any
  std::int64_t created_unix_ms = 0;          // set by commit_root when 0
  std::map<std::string, std::string> labels; // --label k=v
  std::string stats_json = "{}";             // document stats, a JSON object as text
  std::uint64_t version = 0;                 // 1, 2, ... within the name; set by commit_root
  // What the version cost the archive: the pages its own write transactions took (pages in
  // use after each one minus before it), times the page size (docs/FORMAT.md "Roots"). Given
  // to commit_root as what the version's blobs took; commit_root adds its own transaction's
  // pages. An estimate when other writers' transactions interleave with the version's.
  // Absent for versions committed before format 5 recorded it.
  std::optional<std::uint64_t> bytes_added = std::nullopt;
};

// A point in a writer's own writes, taken by mark_writes(): what it wrote after it can be
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

class BlobWriter {
public:
  virtual ~BlobWriter() = default;

  // Stores `blob` idempotently and returns its key ("already present" is success). May
  // buffer: the blob is durable and visible to readers once flush() returns. Blocks when the
  // write queue is full (back-pressure). After a write error every later put and flush
  // returns that error.
  virtual Result<Key> put(Blob blob, const PutHints& hints = {}) = 0;
  // Makes every earlier put durable and visible; returns the first write error, if any.
  virtual Result<void> flush() = 0;
  // Removes the given blobs (absent ones are skipped); returns how many were removed. Does
  // not check that no root reaches them: that is gc's job.
  virtual Result<std::size_t> remove(std::span<const Key> keys) = 0;

  // Flushes, then marks the writes this store (this object, not other writers) has made so
  // far, with the roots as they are now.
  virtual Result<WriteMark> mark_writes() = 0;
  // Flushes, then removes in one transaction the blobs this store has written since `mark`,
  // except those a root committed or replaced since the mark (by anyone) reaches, and the
  // packs that held only removed blobs. Blobs others wrote, and all that was there before the
  // mark, stay. A writer that reused one of the removed blobs meanwhile fails to commit its
  // root (Errc::not_found), as with a concurrent gc. Takes no lock when nothing was written.
  virtual Result<DiscardFigures> discard_writes_since(const WriteMark& mark) = 0;
};

// ---------------------------------------------------------------------------------------------
// The root catalogue.

class RootCatalog {
public:
  virtual ~RootCatalog() = default;

  // Makes `root` visible as the newest version of root.name, in one transaction that first
  // confirms every blob the root (and its schema) reaches exists (Errc::not_found naming the
  // missing key otherwise, and nothing changes), then gives it the name's next version
  // number: one more than any the name was ever given, removed versions included, so that
  // two commits of one name at once get two numbers and NAME#N never names another
  // document. Flushes pending puts first. Returns the record as committed (version, time and
  // bytes_added set).
  virtual Result<RootRecord> commit_root(RootRecord root) = 0;
  // As commit_root, but keeps root.version (and root.created_unix_ms): a version copied from
  // another archive's history (pagable repair) keeps the number its selectors use.
  // Errc::invalid_argument unless root.version is above every number root.name was given.
  virtual Result<RootRecord> import_root(RootRecord root) = 0;
  // Every version of every name, oldest first (then by name and version).
  virtual Result<std::vector<RootRecord>> list_roots() const = 0;
  // Every version of `name`, by version number (lowest first); empty when it has none.
  virtual Result<std::vector<RootRecord>> list_versions(std::string_view name) const;
  // The newest version (highest number) of `name`; nullopt when the name has none.
  virtual Result<std::optional<RootRecord>> get_root(std::string_view name) const;
  // Removes every version of `name`; returns how many there were. Their blobs stay until gc.
  virtual Result<std::size_t> remove_root(std::string_view name) = 0;
  // Removes the listed versions of `name` in one transaction (numbers it does not hold are
  // skipped); returns how many were removed. Their blobs stay until gc, and gc keeps what
  // the remaining versions reach, delta bases included.
  virtual Result<std::size_t> remove_versions(std::string_view name,
                                              std::span<const std::uint64_t> versions) = 0;
};

// ---------------------------------------------------------------------------------------------
// The archive's settings (DESIGN §3: boundary settings are fixed for the archive's life).

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

class ArchiveSettings {
public:
  virtual ~ArchiveSettings() = default;

  virtual Result<std::map<std::string, std::string>> settings() const = 0;
  // Records each of `values` whose name is not set yet (set ones keep their value) and
  // returns the settings in force afterwards. With SettingsWrite::replace_while_rootless,
  // `values` replace set ones too while the store has no root (nothing was committed with
  // them: a first pack that failed), in one transaction with that check.
  // `older`: in an archive marked with a format before `older.since`, or whose settings were
  // recorded without those names, the values recorded for them instead of `values`' (what
  // the older pagables that may still write there did without them). Replacing a rootless
  // archive's settings marks it with today's format in the same transaction instead, so that
  // `values` hold as given and older pagables leave it alone. A memory store is always in
  // today's format.
  virtual Result<std::map<std::string, std::string>>
  init_settings(const std::map<std::string, std::string>& values,
                SettingsWrite mode = SettingsWrite::keep_set, const OlderSettings& older = {}) = 0;
};

// ---------------------------------------------------------------------------------------------
// Pack transfer: moving whole packs between stores (a remote store, another archive) with
// their index rows and delta bases. A pack is named by the SHA-256 of its stored bytes, never
// by a backend's row id, so that two stores agree on its name.

// The SHA-256 of a pack's stored (compressed) bytes.
struct PackDigest {
  Key sha256;
  std::string to_hex() const { return sha256.to_hex(); }
  friend auto operator<=>(const PackDigest&, const PackDigest&) = default;
  friend bool operator==(const PackDigest&, const PackDigest&) = default;
};

// One blob a pack holds: its bytes lie at [offset, offset + size) of the pack's content.
struct PackEntry {
  Key key;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::vector<Key> children;
  friend bool operator==(const PackEntry&, const PackEntry&) = default;
};

// A slice of another pack's content that a delta pack's frame was compressed against
// (docs/FORMAT.md "Packs"); a delta pack's prefix is its bases' slices in order.
struct PackBase {
  PackDigest pack;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  friend bool operator==(const PackBase&, const PackBase&) = default;
};

// A pack as it travels: the stored bytes verbatim and what a store needs to index them.
struct PackImage {
  PackDigest digest;             // SHA-256 of `data`
  std::int64_t codec = 0;        // docs/FORMAT.md "Packs": 0 raw, 1 zstd, 3 zstd with a prefix
  std::uint64_t raw_size = 0;    // the content's size once decoded
  Bytes data;                    // the stored bytes
  std::vector<PackBase> bases;   // for codec 3, in prefix order; empty otherwise
  std::vector<PackEntry> entries; // the blobs the exporting store finds in this pack
};

// What import_pack did.
struct ImportFigures {
  bool pack_added = false;         // false: a pack with that digest was there already
  std::uint64_t blobs_indexed = 0; // entries whose key was new to the store
  std::uint64_t blobs_present = 0; // entries already stored (in this pack or another)
};

class PackTransfer {
public:
  virtual ~PackTransfer() = default;

  // The packs that hold what `roots` reach, each once, every delta base pack before the
  // packs that decode from it: the order import_pack needs. Errc::not_found naming a key the
  // roots reach that is not stored.
  virtual Result<std::vector<PackDigest>> packs_reached(std::span<const Key> roots) const = 0;
  // The pack with that digest; nullopt when the store holds none.
  virtual Result<std::optional<PackImage>> export_pack(const PackDigest& digest) const = 0;
  // Stores `image` as a pack of this store (idempotent), after checking it: its digest is
  // that of its bytes, its base packs are stored here already (Errc::not_found naming the
  // first one missing), it decodes to raw_size bytes, and every entry lies inside the content
  // and hashes to its key (Errc::corrupt otherwise; nothing is stored). Entries whose key is
  // stored already are not indexed again. Durable when it returns.
  virtual Result<ImportFigures> import_pack(const PackImage& image) = 0;
  // Removes the pack with that digest, with every pack that decodes from it (a delta pack
  // cannot outlive its base), their blobs' index rows and base rows, in one transaction: a
  // cache's eviction of whole packs (the remote store's hydrate cache), whose packs may be
  // imported again later. Does not check that no root reaches them: a cache has no roots.
  // Returns the stored bytes of the packs removed (0 when the store holds no such pack).
  virtual Result<std::uint64_t> drop_pack(const PackDigest& digest) = 0;
};

// ---------------------------------------------------------------------------------------------
// Every role at once, and what a store tells about itself.

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
  // What the store's own write transactions took, the figure RootRecord::bytes_added is made
  // of: SQLite, the pages in use after each commit minus before its BEGIN (when more), times
  // the page size; memory, bytes_written.
  std::uint64_t bytes_taken = 0;
  std::uint64_t blobs_replaced = 0; // damaged copies replaced by a fresh one (PutHints::replace)
};

struct StoreStats {
  std::uint64_t blobs = 0;
  std::uint64_t roots = 0;         // versions, of every name
  std::uint64_t names = 0;         // names holding at least one version
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

class BlobStore : public BlobReader,
                  public BlobWriter,
                  public RootCatalog,
                  public ArchiveSettings,
                  public PackTransfer {
public:
  virtual Result<StoreStats> stats() const = 0;
  virtual StoreCounters counters() const = 0;
};

enum class OpenMode : std::uint8_t {
  read_only,  // never writes; works on read-only files and directories
  read_write, // the archive must exist
  create,     // create the archive if missing
};

// A store in memory, for tests and scratch work. Never fails to open.
std::unique_ptr<BlobStore> make_memory_store();

// True iff `path` is a regular file that starts like a pagable archive: SQLite's header with
// pagable's application id (FORMAT.md "The file"), or with none yet beside a non-empty WAL
// (a new archive not checkpointed). Reads its first 72 bytes and opens no database, so it
// creates and changes nothing, and never reads a pipe; says nothing of the archive's health.
bool is_archive_file(const std::string& path);

} // namespace pagable::store
