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

#include <pagable/diff.hpp>
#include <pagable/gc.hpp>
#include <pagable/hydrate.hpp>
#include <pagable/key.hpp>
#include <pagable/pack.hpp>
#include <pagable/result.hpp>
#include <pagable/retention.hpp>
#include <pagable/store.hpp>
#include <pagable/verify.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <span>
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
  // The name the document becomes a new version of (pagable/selector.hpp check_root_name:
  // refused with Errc::invalid_argument before anything is read otherwise).
  std::string name;
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
  // When the version was made, in milliseconds since the Unix epoch (0: now). For importing
  // a history (restic's `backup --time`); NAME@TIME and retention go by it.
  std::int64_t created_unix_ms = 0;
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
enum class VersionAdded : std::uint8_t { no, yes };

// What salvage_into() copied, and what it could not.
struct SalvageReport {
  struct Lost {
    store::RootRecord version; // as the damaged archive lists it
    Error why;                 // the first blob that failed, and how
  };
  std::vector<store::RootRecord> copied; // as committed in the new archive, oldest first
  std::vector<Lost> lost;
  std::uint64_t blobs_copied = 0; // distinct blobs read, checked and written
  std::uint64_t bytes_copied = 0; // their data bytes
};

// Called after each version salvage_into() has dealt with: `done` of `total`.
struct SalvageEvents {
  std::function<void(const store::RootRecord& version, std::size_t done, std::size_t total)> progress;
};

struct PackReport {
  store::RootRecord root;        // as committed (version, time and bytes_added set)
  pack::PackResult result;       // key, nodes, bytes in, references, hints
  std::optional<Key> update_of;  // the older version the new nodes were aligned with
  std::optional<Key> schema_key; // the stored schema, with PackRequest::schema
  std::uint64_t new_nodes = 0;   // blobs new to the archive
  std::uint64_t delta_nodes = 0; // of those, stored as deltas against older ones
  // What the version cost: root.bytes_added, the pages its own transactions took times the
  // page size (store::RootRecord::bytes_added); what `log` and `stat` show for it too.
  std::uint64_t bytes_added = 0;
  unsigned attempts = 1;         // times the document was read
  double seconds = 0;
  // pack::Reuse::after_reading (pack --repair): damaged or unreadable copies replaced by a
  // fresh one, and whether a version was added: none is when one already holds the document
  // (`root` is then that version).
  std::uint64_t blobs_replaced = 0;
  VersionAdded version_added = VersionAdded::yes;
};

// Whether a command that removes only says what it would remove.
enum class DryRun : std::uint8_t { no, yes };

// What forget() decided and did, name by name.
struct ForgetReport {
  struct Name {
    std::string name;
    std::vector<RetentionDecision> decisions; // newest first (pagable/retention.hpp)
    std::size_t removed = 0;                  // versions removed (0 with DryRun::yes)
  };
  std::vector<Name> names; // in name order
};

// Which versions remove() takes out: those `names` select (a name: every version of it; any
// other selector, pagable/selector.hpp: that one version), or every version of all names but
// the `keep_last` whose newest version is newest, of those whose name starts with `prefix`
// (across names, as before versions; forget's --keep-last keeps N versions per name).
struct RemoveRequest {
  std::vector<std::string> names;
  std::optional<std::size_t> keep_last;
  std::string prefix; // with keep_last only
};

// What plan_remove() selected: whole names (oldest first), and single versions by name.
struct RemovePlan {
  std::vector<std::string> names;
  std::map<std::string, std::vector<std::uint64_t>> versions;
  bool empty() const noexcept { return names.empty() && versions.empty(); }
};

// What remove() took out: "NAME" for a whole name, "NAME#N" for one version.
struct RemoveReport {
  std::vector<std::string> removed;
  std::uint64_t versions_removed = 0;
};

// Which versions list() returns.
enum class AllVersions : std::uint8_t { no, yes };
struct ListRequest {
  AllVersions all = AllVersions::no;          // every version, or each name's newest
  std::string prefix;                         // only names starting with it
  std::map<std::string, std::string> labels;  // only versions with all of these labels
};
// One line of list(): a version, and how many versions its name holds.
struct Listed {
  store::RootRecord root;
  std::size_t versions = 0;
};

// Two versions and the patch between them (diff()).
struct DiffReport {
  store::RootRecord a;
  store::RootRecord b;
  diff::DiffResult result;
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
  // The newest version of any name (latest created), and what every version added together
  // (those from before format 5 recorded nothing: store::RootRecord::bytes_added).
  std::optional<store::RootRecord> newest;
  std::uint64_t bytes_added_total = 0;
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

  // The version `selector` names (pagable/selector.hpp: NAME, NAME#N, NAME~K, NAME@TIME, or
  // a key prefix when no name matches exactly). Errc::not_found naming the candidates when
  // there is none; Errc::invalid_argument for a malformed selector, or naming the documents
  // a key prefix matches when it matches several.
  Result<store::RootRecord> find_root(std::string_view selector) const;
  // Every version of every name, oldest first.
  Result<std::vector<store::RootRecord>> list_roots() const;
  // Every version of `name`, by number; empty when the name has none.
  Result<std::vector<store::RootRecord>> list_versions(std::string_view name) const;

  // Applies `policy` (pagable/retention.hpp) to the versions of each of `names` (every name
  // when empty) and, unless `dry_run`, removes the versions it does not keep, each name's in
  // one transaction. Their blobs stay until gc, which keeps whatever the remaining versions
  // reach, delta bases included. Errc::invalid_argument for an empty policy (it would keep
  // everything: restic says so and does nothing); Errc::not_found for a name with no version,
  // before anything is removed.
  Result<ForgetReport> forget(std::span<const std::string> names, const KeepPolicy& policy,
                              DryRun dry_run);
  // The versions `request` selects with their names' version counts, oldest first.
  Result<std::vector<Listed>> list(const ListRequest& request) const;
  // The versions `selectors` name, in their order (unpack): each selector one version, or
  // with AllVersions::yes a bare name every version of it. No selectors: each name's newest
  // version (every version with AllVersions::yes), oldest first. find_root's errors.
  Result<std::vector<store::RootRecord>> select(std::span<const std::string> selectors,
                                                AllVersions all) const;
  // A name's history, newest first: for a bare name every version of it; for another selector
  // the versions of its name up to the one it selects (as `git log REV`); for "" every
  // version of every name.
  Result<std::vector<store::RootRecord>> history(std::string_view selector) const;
  // The patch turning the version selector `a` names into the one `b` names (pagable/diff.hpp),
  // reading only what differs. Errors name the side ("A: ...", "B: ...") whose selector failed.
  Result<DiffReport> diff(std::string_view a, std::string_view b,
                          const diff::DiffOptions& options = {}) const;

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
  // verify::run on this archive (DESIGN §5's levels). options.roots are selectors: a name
  // checks every version of it, another selector the version it names.
  Result<verify::VerifyReport> verify(const verify::VerifyOptions& options = {}) const;
  // gc::plan on this archive: what a collection would remove and free; changes nothing.
  Result<gc::GcPlan> plan_gc(const gc::GcOptions& options = {}) const;
  // Sweeps what `plan` found unreachable; packs it rewrites are compressed as this Archive
  // writes (ArchiveOptions), so gc keeps the archive's compression.
  Result<gc::GcFigures> collect_garbage(gc::GcPlan& plan, const gc::GcOptions& options = {});
  // The names and versions `request` selects, each once; every selector must resolve
  // (find_root's errors) before anything is removed. Changes nothing.
  Result<RemovePlan> plan_remove(const RemoveRequest& request) const;
  // Removes what `plan` lists: every version of its names, and its single versions (each
  // name's in one transaction). Their blobs stay until gc, which keeps what the remaining
  // versions reach, delta bases included.
  Result<RemoveReport> remove(const RemovePlan& plan);
  // Sizes, counts, settings and what gc would reclaim.
  Result<ArchiveStats> stat() const;
  // Copies every version whose blobs all read back sound (each re-hashed as it is read) into
  // `out`, which must have no version yet: the same names, numbers, times, labels, keys and
  // boundary settings, each version with everything it reaches (and its schema), blobs
  // shared between versions copied once, each compressed against the same position in its
  // name's previous version. Never writes this archive. A version that cannot be read whole
  // is listed in SalvageReport::lost with why, and nothing of it stays in `out`. Stops with
  // Errc::cancelled when `stop` is requested (what `out` committed stays).
  Result<SalvageReport> salvage_into(Archive& out, std::stop_token stop = {},
                                     const SalvageEvents& events = {}) const;

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
