// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The archive: the one entry point every caller uses (the CLI is a thin shell over it), the
// role LevelDB's DB or restic's Repository plays. It opens an archive file, packs documents
// as roots atomically (a document that fails leaves nothing; a pack that meets a concurrent
// gc is read again), finds roots, and hands the store's roles to the layers below. The
// defaults users get — how packs are compressed and sized, how much is queued — live here,
// once, so that the CLI and library users write identical archives.
//
// Thread-safety: one Archive may be shared by any number of threads. Reads (find_root,
// list_roots, the store's read role) run concurrently with each other and with a pack. Packs
// into one Archive run one at a time (a second waits for the first): a document that fails
// takes back what this Archive wrote since it began, which must not include another
// document's blobs. Other writers into one Archive that must not lose their blobs to such a
// take-back (an objects::Pager paging values out) write through write_exclusively(), which
// waits for a running pack and holds the next one back until it returns. Several Archives (or
// processes) on one file pack concurrently; SQLite's write lock orders their transactions.

#include <pagable/gc.hpp>
#include <pagable/hydrate.hpp>
#include <pagable/key.hpp>
#include <pagable/pack.hpp>
#include <pagable/result.hpp>
#include <pagable/store.hpp>
#include <pagable/verify.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace pagable {

namespace schema {
class Schema;
} // namespace schema

using store::OpenMode;

struct ArchiveOptions {
  OpenMode mode = OpenMode::read_only;
  // How long to wait for the archive's write lock before Errc::locked (0: fail at once).
  std::chrono::milliseconds lock_wait{10'000};
  // zstd level of new packs. With pack_target_bytes, what brings an archive below whole-file
  // `zstd -3` on real documents; level 8 compresses about as well as 9 at 1.6 times its
  // speed (docs/FORMAT.md "Choosing the defaults"). Reading speed does not depend on it.
  int compression_level = 8;
  // Uncompressed bytes grouped into one pack: larger compresses better; a random read
  // decompresses up to one pack per blob it misses in the cache (about 0.5 ms for 2 MiB).
  std::size_t pack_target_bytes = 2 * 1024 * 1024;
  // Blobs queued for the store's writer before a pack waits. The writer, compressing, is what
  // a pack waits on: more queue makes it larger, not faster (the 500,000-node seed graph
  // peaked at 110 MB with 32 MiB queued, 59 MB with 8, in the same time).
  std::size_t write_queue_bytes = 8 * 1024 * 1024;
  // Bytes of the file each read connection maps (0: none). Faster cold random reads (a short
  // `hydrate --at`), but an I/O error on a mapped page ends the process with SIGBUS, and
  // mapped pages count in its RSS.
  std::size_t read_mmap_bytes = 0;
};

// What to pack, besides the document itself.
struct PackRequest {
  std::string name;                          // the root's name
  std::map<std::string, std::string> labels; // attached to the root
  // Boundary settings ("pack.node_bytes" = "16384", ...) for an archive that has no root yet;
  // an archive with roots keeps its own, and asking for others is Errc::invalid_argument
  // (boundaries are part of every key, DESIGN §3).
  std::map<std::string, std::string> settings;
  // Validate node by node and store the schema with the root (DESIGN §3).
  std::shared_ptr<const schema::Schema> schema;
  // The older version whose nodes become delta bases; default: the newest version under
  // `name`, when there is one.
  std::optional<Key> update_of;
  // Workers, limits, dangling references, progress. Its `cancel` and `schema` are ignored:
  // pass a stop_token to pack(), and the schema above.
  pack::PackOptions options;
  // Recorded in the root's stats as where the document came from ("-" for standard input).
  std::string source;
};

// Where a document comes from.
class PackSource {
public:
  // A file ("-" = standard input), plain or zstd- or gzip-compressed. A file is read again
  // when a concurrent gc removed a blob the pack reused; standard input cannot be.
  static PackSource file(std::string path) { return PackSource(std::move(path), nullptr); }
  // A stream, read once. REQUIRES: it outlives the pack() call.
  static PackSource stream(std::istream& in) { return PackSource("", &in); }

  const std::string& path() const noexcept { return m_path; }
  std::istream* stream() const noexcept { return m_stream; }
  // Returns true iff the document can be read a second time.
  bool rereadable() const noexcept { return m_stream == nullptr && m_path != "-"; }

private:
  PackSource(std::string path, std::istream* in) : m_path(std::move(path)), m_stream(in) {}
  std::string m_path;
  std::istream* m_stream = nullptr;
};

// What pack() reports as it goes (the library never prints).
struct PackEvents {
  // The pack's progress (on the parsing thread); see pack::PackOptions::progress.
  std::function<void(const pack::PackProgress&)> progress;
  // A concurrent gc (or a failed pack) removed a blob this pack reused, so the root could not
  // commit (`why`); the document is read again.
  std::function<void(const Error& why)> retrying;
};

// What pack() did.
struct PackReport {
  store::RootRecord root;        // as committed (version and time set)
  pack::PackResult result;       // key, nodes, bytes in, references, hints
  std::optional<Key> update_of;  // the older version the new nodes were aligned with
  std::optional<Key> schema_key; // the stored schema, with PackRequest::schema
  std::uint64_t new_nodes = 0;   // blobs new to the archive
  std::uint64_t delta_nodes = 0; // of those, stored as deltas against older ones
  std::uint64_t bytes_added = 0; // what the archive gained (packs, index rows, the root)
  unsigned attempts = 1;         // times the document was read
  double seconds = 0;
};

// Which roots remove() takes out: the named ones, or all but the newest `keep_last` of those
// whose name starts with `prefix`.
struct RemoveRequest {
  std::vector<std::string> names;
  std::optional<std::size_t> keep_last;
  std::string prefix; // with keep_last only
};

// What stat() reports.
struct ArchiveStats {
  store::StoreStats store;
  std::uint64_t roots_with_schema = 0;
  // What gc would give back now (a dry-run plan: index only, no blob data read).
  gc::GcFigures reclaimable;
  // The archive's boundary settings; absent before its first pack fixes them, or when they
  // are unusable (then boundaries_error says why: pack refuses such an archive).
  std::optional<pack::BoundarySettings> boundaries;
  std::string boundaries_error;
};

// A value that has a stable type name under its root's stored schema (types()).
struct TypedValue {
  std::string pointer; // RFC 6901
  std::string type;    // `x-pagable-type`, else the $defs/definitions key
  std::string variant; // the discriminator value that picked it, when one did
};

class Archive {
public:
  // Opens the archive at `location` (a file path), creating it when options.mode says so.
  // Errors: Errc::unusable_archive when missing (unless created), not a pagable archive, or
  // of a newer format; Errc::io when the OS refuses; Errc::locked when the write lock stays
  // busy.
  static Result<std::unique_ptr<Archive>> open(const std::string& location,
                                               const ArchiveOptions& options = {});
  // An archive in memory, for tests and scratch work (no verify or gc: those need a file).
  static std::unique_ptr<Archive> open_in_memory();

  ~Archive();
  Archive(const Archive&) = delete;
  Archive& operator=(const Archive&) = delete;

  // The bytes the archive at `location` takes on disk (its file and write-ahead log; 0 when
  // there is none). Opens nothing.
  static std::uint64_t file_bytes(const std::string& location);

  // The location it was opened with ("" for memory).
  const std::string& location() const noexcept;

  // The archive's boundary settings, recording `asked` (names with or without "pack.")
  // over the defaults when it has no root yet. Errc::invalid_argument naming the setting
  // when the archive has roots and fixed another value, or when a name or value is not one
  // of the settings.
  Result<pack::BoundarySettings> boundaries(const std::map<std::string, std::string>& asked = {});

  // Packs the document from `source` and commits it as root `request.name`, atomically: on
  // any failure (bad input, `stop` requested, a root that cannot commit) what it stored is
  // taken back and no root changes. When a concurrent gc removed a blob the pack reused, a
  // file is packed again (up to three times). Errors: Errc::invalid_input (bad document,
  // line:column or pointer in the message), Errc::cancelled, Errc::locked (the write lock,
  // or a pack that kept meeting concurrent gcs), store errors as they are.
  Result<PackReport> pack(const PackSource& source, const PackRequest& request,
                          std::stop_token stop = {}, const PackEvents& events = {});

  // The root named `name_or_key` (its newest version), or else the one root whose key has
  // that hex prefix. Errc::not_found when there is none; Errc::invalid_argument naming the
  // candidates when a prefix matches several documents.
  Result<store::RootRecord> find_root(std::string_view name_or_key) const;
  // Every root, oldest first.
  Result<std::vector<store::RootRecord>> list_roots() const;

  // --- reading ---
  // A lazy reader of the document under `root` (pagable/hydrate.hpp): JSON text, a
  // value-level walk, or lookups at pointers, reading only the blobs they touch through a
  // cache of `cache_bytes`. REQUIRES: the Archive outlives it.
  std::unique_ptr<hydrate::Document> document(const Key& root,
                                               std::size_t cache_bytes = 64 * 1024 * 1024) const;
  // Every value at or under `pointer` ("" = the whole document) in `root`'s document that has a
  // stable type name under the root's stored schema, in document order. Errc::invalid_argument
  // when the root has no schema; Errc::not_found when there is no value at `pointer`. Holds
  // the document in memory (discriminated branches are chosen by whole values).
  Result<std::vector<TypedValue>> types(const store::RootRecord& root, std::string_view pointer) const;

  // --- maintenance ---
  // verify::run on this archive (DESIGN §5's levels).
  Result<verify::VerifyReport> verify(const verify::VerifyOptions& options = {}) const;
  // gc::plan on this archive: what a collection would remove and free; changes nothing.
  Result<gc::GcPlan> plan_gc(const gc::GcOptions& options = {}) const;
  // Sweeps what `plan` found unreachable; packs it rewrites are compressed as this Archive
  // writes (ArchiveOptions), so gc keeps the archive's compression.
  Result<gc::GcFigures> collect_garbage(gc::GcPlan& plan, const gc::GcOptions& options = {});
  // The names `request` selects, oldest first, each once; Errc::not_found naming a name that
  // has no root. Changes nothing.
  Result<std::vector<std::string>> plan_remove(const RemoveRequest& request) const;
  // Removes every version of each of `names` (plan_remove's answer); returns those that had
  // one. Their blobs stay until gc.
  Result<std::vector<std::string>> remove(const std::vector<std::string>& names);
  // Sizes, counts, settings and what gc would reclaim.
  Result<ArchiveStats> stat() const;

  // --- writers beside pack ---
  // Runs `write` while no pack runs in this Archive (waiting for one that does, and holding
  // the next one back until it returns): for writers beside pack, such as an objects::Pager
  // paging values out, whose blobs a failing pack's take-back must not remove. Returns what
  // `write` returns. REQUIRES: `write` does not call pack() or write_exclusively().
  Result<void> write_exclusively(const std::function<Result<void>()>& write);

  // The store behind the archive, for the layers built on its roles (page-out, typed
  // objects). Writes made through it bypass take-back; see write_exclusively().
  store::BlobStore& store() noexcept;
  const store::BlobStore& store() const noexcept;

private:
  struct Impl;
  explicit Archive(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

} // namespace pagable
