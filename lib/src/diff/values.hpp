// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// What the diff reads: blobs through a cache of its own (counted), values as positions in
// them (with their key when a value is a whole blob), the members and items of containers
// and of chunk-tree parts, and values turned into JSON for the patch.
// Thread-safety: a Reader belongs to one diff() call and one thread.

#include <pagable/arc_cache.hpp>
#include <pagable/diff.hpp>
#include <pagable/store.hpp>

#include "codec/navigate.hpp"
#include "codec/node_codec.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace pagable::diff {

// A value: at `loc`, and, when it is a blob's whole data, that blob's key.
struct Val {
  codec::Location loc;
  std::optional<Key> key;
};

// One member or item of a container, with what tells equal ones apart cheaply: the key of
// a value that is a ref, else a hash of its encoded bytes and child keys.
struct Element {
  std::string_view name; // members only; valid while the blob holding it is held
  Val value;
  std::optional<Key> ref; // the child key when the value is a ref
  std::uint64_t hash = 0;
  std::span<const std::uint8_t> bytes; // its encoding inside loc.blob
  std::span<const Key> children;       // the child keys its encoding uses
};

// Returns true iff two elements hold the same value (same key, or same bytes and children).
bool same_value(const Element& a, const Element& b);

enum class Shape : std::uint8_t { scalar, object, array };

class Reader {
public:
  Reader(const store::BlobReader& store, std::size_t cache_bytes) : m_store(store), m_cache(cache_bytes) {}

  Result<std::shared_ptr<const Blob>> load(const Key& key);
  codec::BlobLoader loader();
  // The child key a ref at `v` names, without loading it; nullopt when `v` is not a ref.
  static Result<std::optional<Key>> ref_key(const Val& v);
  // Follows refs until `v` is a value that is not one (its key kept).
  Result<Val> resolve(Val v);
  static Result<codec::Tag> tag_of(const Val& v);
  static Shape shape_of(codec::Tag tag);
  // The encoded bytes of the (resolved, inline) value at `v`, refs included as tags.
  static Result<std::span<const std::uint8_t>> bytes_of(const Val& v);
  // The value at `v` as JSON, read through every ref and chunk tree (iterative: any depth).
  Result<nlohmann::ordered_json> to_json(const Val& v);

  // The members of an inline object or object part (`v` just at its tag), or the items of an
  // inline array or array part, in order.
  static Result<std::vector<Element>> elements(const Val& v);
  // Every member or item of a container value of any form (inline, chunked, routed).
  Result<std::vector<Element>> all_elements(const Val& v);

  DiffStats stats() const { return m_stats; }

private:
  const store::BlobReader& m_store;
  ArcCache m_cache;
  DiffStats m_stats;
};

} // namespace pagable::diff
