// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Reading packs out of the SQLite archive (docs/FORMAT.md "Packs"): a pack row becomes a
// PackDecoder that decodes as far as it is read, a delta pack after its base packs, and
// readers share a cache of decoded packs bounded in bytes. Pack ids are never reused (packs is
// AUTOINCREMENT), so a cached pack is never stale.
// Thread-safety: load() may be called from many threads at once, each with a connection of
// its own.

#include <pagable/blob.hpp>
#include <pagable/result.hpp>

#include "store/pack_codec.hpp"
#include "store/sqlite_db.hpp"
#include "store/sqlite_schema.hpp"
#include "util/lru_map.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>

namespace pagable::store {

// Whether a load goes through the readers' shared cache. The writer, reading inside its own
// transaction, does not: what it sees may not be committed yet.
enum class PackCaching : std::uint8_t { shared, none };

class PackReader {
public:
  // Decoders already loaded during one load, so that a load does not decode a base pack once
  // per slice (exponential in the chain's depth).
  using Memo = std::unordered_map<std::int64_t, std::shared_ptr<PackDecoder>>;

  PackReader(std::uint64_t max_pack_bytes, std::size_t cache_bytes)
      : m_max_pack_bytes(max_pack_bytes), m_cache(cache_bytes)
  {
  }

  // The decoder of pack `pack_id` read through `db`; callers decode it as far as they read.
  // A delta pack loads its bases first, at most `depth_budget` levels deep (Errc::corrupt
  // beyond: a cycle). Errc::corrupt when the pack is missing or its row is malformed.
  Result<std::shared_ptr<PackDecoder>> load(sql::Db& db, std::int64_t pack_id, PackCaching caching,
                                            Memo* memo = nullptr,
                                            int depth_budget = k_max_delta_depth + 1) const;

  // Bytes [offset, offset + size) of a pack's content; Errc::corrupt when they lie outside it.
  static Result<std::span<const std::uint8_t>> slice(PackDecoder& pack, std::int64_t offset,
                                                     std::int64_t size);

  std::uint64_t max_pack_bytes() const noexcept { return m_max_pack_bytes; }
  std::uint64_t packs_decoded() const noexcept { return m_packs_decoded.load(); }
  std::uint64_t bytes_decoded() const noexcept { return m_bytes_decoded.load(); }

private:
  const std::uint64_t m_max_pack_bytes;
  mutable std::mutex m_cache_mutex;
  mutable util::LruMap<std::int64_t, std::shared_ptr<PackDecoder>> m_cache; // by m_cache_mutex
  mutable std::atomic<std::uint64_t> m_packs_decoded{0};
  mutable std::atomic<std::uint64_t> m_bytes_decoded{0};
};

} // namespace pagable::store
