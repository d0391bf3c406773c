// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// verify: checks an archive and reports every problem it finds, with the roots each affects
// (DESIGN §5, STYLE R13). Never writes; runs inside one read snapshot, so concurrent packs and
// gcs cannot make it report damage that is not there. Damage is data (VerifyReport); the
// Result fails only when verification could not run at all.
// Thread-safety: run() may be called from any thread; it uses its own connection and workers.

#include <pagable/key.hpp>
#include <pagable/result.hpp>
#include <pagable/store.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagable::verify {

// The levels of DESIGN §5, each including the ones before it.
enum class VerifyLevel : std::uint8_t {
  // Every level runs SQLite's quick_check, not integrity_check: the latter also cross-checks
  // the key index against the table, costs more than the whole walk, and an index that lost
  // a key shows up anyway as a missing blob.
  quick,        // SQLite's quick_check, pagable's tables, key index, metadata and format version
  connectivity, // + every root's key and every child key reachable from a root is stored, in
                //   one index row
  full,         // + every reachable blob decodes and re-hashes to its key
  deep,         // + every root with a stored schema validates against it (roots without one
                //   are counted as not schema-checked, not reported as problems)
};
std::string_view level_name(VerifyLevel level) noexcept;

// Run n of t (1 <= n <= t): the blobs whose key's first two bytes, as a big-endian number k,
// satisfy k * t / 65536 == n - 1. The t runs 1/t .. t/t check every blob exactly once.
struct Subset {
  unsigned n = 1;
  unsigned t = 1;
  bool contains(const Key& key) const noexcept;
};
// Parses "n/t". Errc::invalid_argument unless 1 <= n <= t <= 65536.
Result<Subset> parse_subset(std::string_view text);

struct VerifyOptions {
  VerifyLevel level = VerifyLevel::full;
  std::vector<std::string> roots; // only what these roots reach (empty: every root)
  Subset subset;
  unsigned jobs = 0;                  // decompress+rehash workers; 0 = one per hardware thread
  std::size_t max_problems = 100'000; // stop collecting beyond this many (report says so)
};

// Stable names (JSON reports): see kind_name().
enum class ProblemKind : std::uint8_t {
  sqlite_integrity, // SQLite's own check failed (key absent)
  bad_layout,       // pagable's tables, metadata or format version are wrong (key absent)
  bad_root,         // a root row is malformed (key absent when unreadable)
  missing_blob,     // a key reached from a root is not stored
  bad_index_row,    // a blob's index row is malformed (child list, key length)
  undecodable_blob, // its pack is missing or does not decode, or its bytes lie outside it
  hash_mismatch,    // its stored data and children do not hash to its key
  schema_violation, // deep: the root's document does not match its stored schema (key absent;
                    // its stored schema cannot be loaded: key = the schema blob)
  duplicate_key,    // a key a root reaches has more than one index row (format 4 leaves that
                    // to the writer, not to a UNIQUE constraint); gc removes the extra rows
};
std::string_view kind_name(ProblemKind kind) noexcept;

struct Problem {
  ProblemKind kind = ProblemKind::missing_blob;
  std::optional<Key> key;         // the blob concerned, when there is one
  std::vector<std::string> roots; // the roots that reach it (sorted)
  std::string detail;             // human text: what is wrong and where
  // schema_violation only: where in the document, and which schema keyword.
  std::string instance_location;
  std::string schema_location;
};

// What to do about the problems found: data for the caller to word (the CLI names its
// commands), not text.
enum class NextStep : std::uint8_t {
  none,              // no problem
  fix_documents,     // only schema violations: the data is intact; fix and pack them again
  remove_duplicates, // only duplicate index rows: gc keeps the row each key is found by
  restore_file,      // SQLite's file itself is damaged: restore it, or salvage what reads
  repack_or_remove,  // blobs are missing or damaged: pack the affected documents again, or
                     // remove their roots and collect the garbage
};
std::string_view next_step_name(NextStep step) noexcept;

struct VerifyReport {
  VerifyLevel level = VerifyLevel::full;
  Subset subset;
  std::uint64_t roots_checked = 0;
  std::uint64_t blobs_reached = 0; // blobs reachable from the checked roots (in the snapshot)
  std::uint64_t blobs_checked = 0; // blobs decoded and re-hashed (full and deep levels)
  std::uint64_t bytes_checked = 0; // their data bytes
  std::vector<Problem> problems;
  bool truncated = false;    // more problems than max_problems: the rest were not listed
  NextStep next_step = NextStep::none;
  double walk_seconds = 0;   // the connectivity walk (index lookups, one per edge)
  double rehash_seconds = 0; // reading, decompressing and re-hashing (full level)
  std::uint64_t roots_schema_checked = 0; // deep: roots validated against their stored schema
  std::uint64_t roots_without_schema = 0; // deep: roots packed without a schema (not problems)
  double schema_seconds = 0;              // deep: hydrating and validating

  bool ok() const noexcept { return problems.empty(); }
};

// Verifies the archive behind `store` (it must support the maintenance role: the SQLite
// store). Errc::not_found when a named root does not exist. The deep level hydrates each
// root that has a schema (one document in memory at a time) and validates it with the schema
// compiled from its stored bundle (pagable/stored_schema.hpp); each error becomes a problem,
// up to SchemaOptions::max_errors per root.
Result<VerifyReport> run(const store::BlobStore& store, const VerifyOptions& options = {});

} // namespace pagable::verify
