// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Pack transfer for the SQLite archive (pagable/store.hpp, PackTransfer): packs leave and
// enter by the SHA-256 of their stored bytes, which the archive does not store; it is
// computed from the pack rows when first needed and remembered by row id (a pack row never
// changes and its id is never reused).
// Thread-safety: PackDigests may be shared by every connection of one store; the functions
// run on the connection they are given, inside the caller's transaction.

#include <pagable/store.hpp>

#include "store/pack_reader.hpp"
#include "store/pack_writer.hpp"
#include "store/sqlite_db.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace pagable::store {

class PackDigests {
public:
  // The digest of pack `id`; Errc::corrupt when there is no such pack.
  Result<PackDigest> of(sql::Db& db, std::int64_t id);
  // The id of the pack with that digest, hashing the packs not hashed yet; nullopt if none.
  Result<std::optional<std::int64_t>> find(sql::Db& db, const PackDigest& digest);

private:
  std::mutex m_mutex;
  std::unordered_map<std::int64_t, PackDigest> m_by_id; // guarded by m_mutex
  std::map<PackDigest, std::int64_t> m_by_digest;       // guarded by m_mutex
  std::int64_t m_hashed_up_to = 0; // every pack id up to this is hashed (guarded)
};

// PackTransfer::packs_reached over `db` (a reader's snapshot).
Result<std::vector<PackDigest>> packs_reached(sql::Db& db, PackDigests& digests,
                                              std::span<const Key> roots);
// PackTransfer::export_pack over `db`.
Result<std::optional<PackImage>> export_pack(sql::Db& db, PackDigests& digests,
                                             const PackDigest& digest);
// PackTransfer::import_pack, on the writer's connection: checks `image`, then stores it in
// the writer's transaction (the caller commits).
Result<ImportFigures> import_pack(PackWriter& writer, const PackReader& reader,
                                  PackDigests& digests, const PackImage& image);
// PackTransfer::drop_pack, on the writer's connection, in the writer's transaction.
Result<std::uint64_t> drop_pack(PackWriter& writer, PackDigests& digests, const PackDigest& digest);

} // namespace pagable::store
