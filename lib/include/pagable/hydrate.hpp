// SPDX-License-Identifier: MIT OR Apache-2.0
// Hydrate: load a packed document back, lazily. A Document reads only the blobs that a walk
// touches (through a bounded ArcCache that decodes each node at most once while cached), and
// either writes JSON to a stream as it walks or hands each value to a ValueVisitor, without
// building the whole document in memory.
// Thread-safety: a Document is used by one thread at a time; the store may be shared.
#pragma once

#include <pagable/arc_cache.hpp>
#include <pagable/key.hpp>
#include <pagable/result.hpp>
#include <pagable/store.hpp>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace pagable::hydrate {

enum class ExpandRefs : std::uint8_t { no, yes };

// How a node that the document reaches more than once (a value shared by several parents: a
// C++ graph's handle, a repeated sub-tree) is written.
enum class SharedNodes : std::uint8_t {
  tree, // in full each time: the document as it was packed (a chain of shared values grows
        // exponentially: bound it with max_output_bytes)
  refs, // in full the first time, then as {"$ref": "#/pointer/of/the/first"}; packing that
        // output stores the references, so its nodes get other keys than the original's
};

struct WriteOptions {
  // Spaces per level; negative = compact (one line).
  int indent = -1;
  // Replace each {"$ref": "#/..."} by the value it points at; a ref met again while it is
  // being expanded (a cycle) stays as it is, and so does one that does not resolve.
  ExpandRefs expand_refs = ExpandRefs::no;
  SharedNodes shared = SharedNodes::tree;
  // Beyond this many bytes of JSON the write stops with Errc::invalid_input (what was written
  // stays written); 0: no limit.
  std::uint64_t max_output_bytes = 0;
};

struct HydrateStats {
  std::uint64_t blobs_read = 0; // blobs fetched from the store (each decoded at most once)
  std::uint64_t bytes_read = 0; // their data bytes, uncompressed
  std::uint64_t cache_hits = 0;
  std::uint64_t re_decodes = 0; // blobs fetched again after the cache evicted them
  std::uint64_t bytes_out = 0;  // JSON bytes written
};

// A member found by scanning its object's parts because the object's routing (its member
// fingerprint blobs) could not be read: the answer is right, but the archive is damaged there
// (pagable verify names the blob) and the lookup was slower.
struct RoutingDetour {
  std::string pointer; // the routed object's
  std::string reason;  // why its routing could not be used
};

// What Document::walk reports, value by value in document order (a SAX walk). Each call may
// stop the walk by returning an error, which walk then returns. Views are valid during the
// call only.
class ValueVisitor {
public:
  virtual ~ValueVisitor() = default;
  virtual Result<void> null_value() = 0;
  virtual Result<void> boolean(bool value) = 0;
  virtual Result<void> integer(std::int64_t value) = 0;
  // An integer beyond 64 bits, as its decimal digits (with a leading '-' when negative).
  virtual Result<void> big_integer(std::string_view digits) = 0;
  // A number that is not an integer literal (docs/FORMAT.md "Numbers").
  virtual Result<void> number(double value) = 0;
  virtual Result<void> string(std::string_view value) = 0;
  virtual Result<void> begin_object() = 0;
  // The name of the member whose value comes next.
  virtual Result<void> member(std::string_view name) = 0;
  virtual Result<void> end_object() = 0;
  virtual Result<void> begin_array() = 0;
  virtual Result<void> end_array() = 0;
};

class Document {
public:
  // REQUIRES: `store` outlives the Document. Reads nothing until asked.
  Document(const store::BlobReader& store, const Key& root,
           std::size_t cache_bytes = 64 * 1024 * 1024);
  ~Document();
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;

  // Writes the value at `pointer` (RFC 6901; "" = the whole document) to `out` as JSON with
  // the document's member order. Errc::not_found naming the pointer when there is no value;
  // Errc::invalid_argument for a malformed pointer or expand_refs with SharedNodes::refs;
  // Errc::io when `out` fails; Errc::corrupt for malformed or missing blobs;
  // Errc::invalid_input past options.max_output_bytes.
  Result<void> write_json(std::ostream& out, std::string_view pointer,
                          const WriteOptions& options = {});
  // Hands the value at `pointer` to `visitor`, value by value, with the document's member
  // order; `expand` as WriteOptions::expand_refs. Errors as write_json's, and the first error
  // the visitor returns.
  Result<void> walk(std::string_view pointer, ValueVisitor& visitor,
                    ExpandRefs expand = ExpandRefs::no);
  // Returns true iff a value exists at `pointer`; reads only the blobs on its path.
  Result<bool> has_value(std::string_view pointer);

  HydrateStats stats() const;
  // The detours the lookups so far took (RoutingDetour), in the order they were taken.
  std::vector<RoutingDetour> detours() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace pagable::hydrate
