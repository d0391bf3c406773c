// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Navigation in a graph of nodes (docs/FORMAT.md "Node encoding", "Chunking", "Routed
// objects"): finding the value at a JSON pointer, listing an object's member names, an
// array's length, and the batch questions pack asks of a document it has just stored. Blobs
// come through a caller-supplied BlobLoader, and only the blobs a question needs are loaded:
// the nodes on the pointer's path, and a chunked object's parts one at a time, so memory
// stays that of the path and one part whatever the document's size.
// Errors: Errc::not_found when a pointer names no value (only where a function says so);
// Errc::invalid_argument for a malformed pointer; Errc::corrupt for malformed nodes, or when
// the loader finds no blob (a null pointer); the loader's own errors as they are.
// Thread-safety: the functions are pure; they call the loader from the calling thread only.

#include <pagable/blob.hpp>
#include <pagable/key.hpp>
#include <pagable/result.hpp>

#include "codec/node_codec.hpp"
#include "util/pointer_text.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pagable::codec {

// The blob stored under a key: null when there is none (navigation reports Errc::corrupt).
using BlobLoader = std::function<Result<std::shared_ptr<const Blob>>(const Key&)>;

// What a loader over a store returns for `blob`, the store's answer for `key`: the blob,
// once check_node finds it well-formed, so that navigation never meets a malformed node.
// Errc::corrupt naming `key` when it is absent (a node's child must be stored) or malformed.
Result<std::shared_ptr<const Blob>> checked_blob(const Key& key, std::optional<Blob> blob);

// The blob under `key` through `cache` (an ArcCache): on a miss read from `store` (a
// store::BlobReader), checked by checked_blob and counted in `stats` (blobs_read, bytes_read);
// it costs the cache its data, its child keys and a little bookkeeping. What hydrate's and
// diff's loaders share.
template <typename Cache, typename Store, typename Stats>
Result<std::shared_ptr<const Blob>> cached_blob(Cache& cache, const Store& store, const Key& key, Stats& stats)
{
  return cache.template get<Blob>(key, [&]() -> Result<std::pair<std::shared_ptr<const Blob>, std::size_t>> {
    PAGABLE_TRY_ASSIGN(auto stored, store.get(key));
    PAGABLE_TRY_ASSIGN(auto blob, checked_blob(key, std::move(stored)));
    ++stats.blobs_read;
    stats.bytes_read += blob->data.size();
    const std::size_t cost = blob->data.size() + blob->children.size() * Key::k_size + 64;
    return std::make_pair(std::move(blob), cost);
  });
}

// A value's position: inside `blob`, starting at byte `pos`, whose first ref (if any) is
// child number `next_child`.
struct Location {
  std::shared_ptr<const Blob> blob;
  std::size_t pos = 0;
  std::size_t next_child = 0;
};

// A routed object that locate found a member of by scanning its parts, because its routing
// could not be read: the object's pointer and why.
struct RoutingDetour {
  std::string pointer;
  std::string reason;
};

// JSON Pointers are parsed by util::parse_pointer (strict escapes).
using util::parse_pointer;
// Decodes the fragment of "#/..." (percent-decoding) into a JSON pointer string.
Result<std::string> fragment_to_pointer(std::string_view ref);
using util::escape_pointer_token;
// Parses an RFC 6901 array index ("0", or digits without a leading zero).
std::optional<std::uint64_t> parse_index(std::string_view token);

// --- one value ---
// The value at `tokens` under the node `root`, following child refs and chunk trees (an
// array chunk tree is descended by its item counts; a routed object's fingerprints lead to the
// parts that may hold a member; any other chunked object is scanned part by part).
// Errc::not_found naming the pointer when there is no such value.
// A routed object whose fingerprint blobs are damaged (missing or failing their checks) is
// scanned part by part instead, as an object without routing is: the answer is the same, only
// slower. Each such detour is added to `detours` when given (issue 20: one damaged routing
// blob made every --at under its object fail although the parts were intact).
Result<Location> locate(const BlobLoader& load, const Key& root,
                        const std::vector<std::string>& tokens,
                        std::vector<RoutingDetour>* detours = nullptr);
// The same, from a position inside an already loaded blob.
Result<Location> locate_from(const BlobLoader& load, Location start,
                             const std::vector<std::string>& tokens,
                             std::vector<RoutingDetour>* detours = nullptr);
// Calls `fn(name)` for every member name of the object at `loc` (after following refs), in
// document order; false when the value there is not an object. A chunked object is read one
// part at a time, so memory stays that of one part whatever the object's size.
Result<bool> for_each_member_name(const BlobLoader& load, Location loc,
                                  const std::function<void(std::string_view)>& fn);
// The number of items of the array at `loc` (after following refs), read from its header
// or its chunk list alone; std::nullopt when the value there is not an array.
Result<std::optional<std::uint64_t>> array_length(const BlobLoader& load, Location loc);
// Follows refs at `loc` until it points at a value that is not a ref.
Result<Location> resolve_refs(const BlobLoader& load, Location loc);

// --- many questions at once ---
// For each of `pointers` under the node `root`, in order: true iff a value exists there ("" is
// the document itself). Pointers that share a parent have it located and its members
// streamed once, so memory is about that of the pointers, not of the objects they name. A
// pointer whose parent does not exist is simply false; Errc::invalid_argument for a pointer
// that is not one.
Result<std::vector<bool>> has_values(const BlobLoader& load, const Key& root,
                                     const std::vector<std::string>& pointers);
// How many members of the object at `pointer` under `root` bear each of `names`: one count
// per name, in order. Streams the object's members once. Errc::not_found when there is no
// value at `pointer`; all counts 0 when it is not an object.
Result<std::vector<std::uint64_t>> count_members(const BlobLoader& load, const Key& root,
                                                 std::string_view pointer,
                                                 const std::vector<std::string_view>& names);

} // namespace pagable::codec
