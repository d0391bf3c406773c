// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The mapping of docs/FORMAT.md "Remote stores": how packs, their index rows, root records
// and versions become OCI blobs, manifests and tags, and back. Pure functions: no network.
// Decoders check what they read (Errc::corrupt naming the problem).
// Thread-safety: functions only.

#include <pagable/remote.hpp>
#include <pagable/store.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace pagable::remote {

inline constexpr std::string_view k_manifest_type = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view k_artifact_type = "application/vnd.pagable.version.v1";
inline constexpr std::string_view k_root_type = "application/vnd.pagable.root.v1+json";
inline constexpr std::string_view k_pack_type = "application/vnd.pagable.pack.v1";
inline constexpr std::string_view k_index_type = "application/vnd.pagable.pack-index.v1.json+zstd";

// A pack image without its bytes, as its index blob tells it.
struct PackIndex {
  store::PackDigest pack;
  std::int64_t codec = 0;
  std::uint64_t raw_size = 0;
  std::uint64_t stored_size = 0;
  std::vector<store::PackBase> bases;
  std::vector<store::PackEntry> entries; // by offset
};

// The index blob of `image` (zstd-compressed JSON; the same image gives the same bytes).
Bytes encode_index(const store::PackImage& image);
Result<PackIndex> decode_index(std::span<const std::uint8_t> blob);

// The config blob of a version: the root record as JSON.
Bytes encode_root(const store::RootRecord& root);
Result<store::RootRecord> decode_root(std::span<const std::uint8_t> blob);

struct Descriptor {
  std::string media_type;
  Key digest;
  std::uint64_t size = 0;
};

// A version's manifest: the root record's blob as config, then each pack and its index.
struct VersionManifest {
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

VersionManifest version_manifest(const store::RootRecord& root, const Descriptor& config,
                                 std::vector<Descriptor> layers, const std::optional<Key>& parent);
Bytes encode_manifest(const VersionManifest& manifest);
Result<VersionManifest> decode_manifest(std::span<const std::uint8_t> bytes);

// `r`, its error (if any) prefixed with `what`.
template <typename T>
Result<T> in_context(Result<T> r, std::string_view what)
{
  if (!r) {
    return std::move(r).error().with_context(what);
  }
  return r;
}

// How many packs (each with its index) fit in a manifest of `limit` bytes, about.
std::size_t packs_per_manifest(std::size_t limit);

} // namespace pagable::remote
