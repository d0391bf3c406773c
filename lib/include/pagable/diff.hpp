// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Structural diff of two packed documents, in time proportional to what changed: the two
// graphs are walked side by side through the node encoding (docs/FORMAT.md), and a subtree
// whose key is the same on both sides is skipped without reading it. Chunked objects and
// arrays are aligned by the keys of their chunk trees' entries, level by level, so only the
// parts that differ are read; inside them, object members are matched by name and array
// items by their keys or encoded bytes (an LCS), so that an item inserted or removed is one
// operation, not a shifted tail. The result is an RFC 6902 JSON Patch turning A into B, and
// an RFC 7386 merge patch when one expresses the change exactly.
// Thread-safety: diff() may be called from many threads at once on one store; each call
// reads through a cache of its own.

#include <pagable/key.hpp>
#include <pagable/result.hpp>
#include <pagable/store.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pagable::diff {

enum class OpKind : std::uint8_t { add, remove, replace };

// One RFC 6902 operation. Paths are JSON pointers into the document as the operations before
// this one left it (array indices shift as items are added or removed: the operations on an
// array come from its end to its start, so the indices of A are those of the document).
struct Op {
  OpKind kind = OpKind::replace;
  std::string path;
  nlohmann::ordered_json value;              // add, replace: the new value
  std::optional<nlohmann::ordered_json> old; // remove, replace, with OldValues::yes
};

// Whether the operations carry the values they replace or remove (for a human view: they
// are read from A, which costs the blobs of those values).
enum class OldValues : std::uint8_t { no, yes };

struct DiffOptions {
  // Compare the values at this JSON pointer in A and B ("" = the documents); the patch's
  // paths are relative to it. Errc::not_found when neither has a value there.
  std::string at;
  OldValues old_values = OldValues::no;
  // Build the RFC 7386 merge patch too (it reads B's arrays that changed, whole).
  bool merge_patch = false;
  std::size_t cache_bytes = 64 * 1024 * 1024; // decoded blobs kept while walking
};

struct DiffStats {
  std::uint64_t blobs_read = 0; // blobs fetched from the store, both sides
  std::uint64_t bytes_read = 0; // their data bytes, uncompressed
};

struct DiffResult {
  std::vector<Op> patch;
  // With DiffOptions::merge_patch: the merge patch, unless none is exact (a member of B set
  // to null, which a merge patch reads as "remove"); then merge_patch_problem says why.
  std::optional<nlohmann::ordered_json> merge_patch;
  std::string merge_patch_problem;
  DiffStats stats;
  bool equal() const noexcept { return patch.empty(); }
};

// The patch turning the document with key `a` into the one with key `b`. Errc::corrupt for
// malformed or missing blobs; Errc::invalid_argument for a malformed DiffOptions::at.
Result<DiffResult> diff(const store::BlobReader& store, const Key& a, const Key& b,
                        const DiffOptions& options = {});

// The operations as an RFC 6902 document: [{"op": "add", "path": "/a", "value": 1}, ...].
nlohmann::ordered_json to_json_patch(const std::vector<Op>& patch);

// "add", "remove", "replace".
const char* op_name(OpKind kind) noexcept;

} // namespace pagable::diff
