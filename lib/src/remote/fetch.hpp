// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// What pull and the hydrate cache share to bring a version's packs from a registry into a
// local store: the version's layers read from its manifest, its index blobs fetched (one
// parallel round) and checked against the packs beside them, and a fetched pack imported
// through PackTransfer::import_pack, which re-hashes every blob against its key before
// anything is stored (the registry checked the pack's digest on arrival).
// Thread-safety: functions only; the Registry they take is used from one thread at a time.

#include "remote/mapping.hpp"

#include <pagable/remote.hpp>
#include <pagable/store.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pagable::remote {

// A version's packs (bases first, as the manifest lists them) with their index rows.
struct VersionPacks {
  std::vector<Key> pack_digests;
  std::vector<Key> index_digests;
  std::vector<PackIndex> indexes;      // beside pack_digests
  std::map<Key, std::size_t> by_pack;  // pack digest: its position
  std::uint64_t index_bytes = 0;       // what the index blobs took on the wire
};

// The packs and indexes `manifest` (of version `tag`) lists, their index blobs downloaded in
// parallel and decoded. Errc::corrupt for a layer that is not a pack followed by its index,
// or an index describing another pack.
Result<VersionPacks> fetch_version_packs(Registry& registry, const VersionManifest& manifest, std::string_view tag);

// Stores the pack `index` describes, with `data` its bytes as downloaded, into `store`
// (checked by import_pack: digest, bases present, every key).
Result<store::ImportFigures> import_fetched(store::PackTransfer& store, const PackIndex& index, Bytes data);

} // namespace pagable::remote
