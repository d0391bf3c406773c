// SPDX-License-Identifier: MIT OR Apache-2.0
#include "store/pack_reader.hpp"

#include <string>

namespace pagable::store {

using sql::Stmt;

Result<std::shared_ptr<PackDecoder>> PackReader::load(sql::Db& db, std::int64_t pack_id,
                                                      PackCaching caching, Memo* memo,
                                                      int depth_budget) const
{
  Memo local;
  if (memo == nullptr) {
    memo = &local;
  }
  if (const auto it = memo->find(pack_id); it != memo->end()) {
    return it->second;
  }
  if (caching == PackCaching::shared) {
    std::lock_guard lock(m_cache_mutex);
    if (const auto* cached = m_cache.find(pack_id)) {
      return *cached;
    }
  }
  const std::string what = "pack " + std::to_string(pack_id);
  if (depth_budget <= 0) {
    return make_error(Errc::corrupt, what + ": delta bases nest deeper than any pagable writes "
                                            "(a cycle?)");
  }
  PAGABLE_TRY_ASSIGN(Stmt q, db.prepare("SELECT codec, raw_size, data FROM packs WHERE id = ?1"));
  q.bind(1, pack_id);
  PAGABLE_TRY_ASSIGN(const bool row, q.step("reading a pack"));
  if (!row) {
    return make_error(Errc::corrupt, what + " is missing");
  }
  const auto codec = static_cast<PackCodec>(q.column_int(0));
  const std::int64_t raw_size = q.column_int(1);
  Bytes prefix;
  if (codec == PackCodec::zstd_prefix) {
    PAGABLE_TRY_ASSIGN(Stmt b, db.prepare("SELECT base_pack, offset, size FROM pack_bases "
                                          "WHERE pack = ?1 ORDER BY seq"));
    b.bind(1, pack_id);
    PAGABLE_TRY(b.each_row("reading a pack's delta bases", [&](const Stmt& base) -> Result<void> {
      const std::int64_t base_id = base.column_int(0);
      PAGABLE_TRY_ASSIGN(const auto base_pack, load(db, base_id, caching, memo, depth_budget - 1));
      auto bytes = slice(*base_pack, base.column_int(1), base.column_int(2));
      if (!bytes) {
        return std::move(bytes).error().with_context(what + ": delta base pack " +
                                                     std::to_string(base_id));
      }
      if (prefix.size() + bytes->size() > m_max_pack_bytes) {
        return make_error(Errc::corrupt, what + ": its delta bases exceed the largest pack");
      }
      prefix.insert(prefix.end(), bytes->begin(), bytes->end());
      return {};
    }));
  }
  auto opened = PackDecoder::open(codec, q.column_blob(2),
                                  raw_size < 0 ? ~std::uint64_t{0} : static_cast<std::uint64_t>(raw_size),
                                  m_max_pack_bytes, std::move(prefix), &m_bytes_decoded);
  if (!opened) {
    return std::move(opened).error().with_context(what);
  }
  m_packs_decoded.fetch_add(1, std::memory_order_relaxed);
  auto pack = std::move(opened).value();
  memo->emplace(pack_id, pack);
  // Charged at its full size: what a reader may yet decode of it. A pack larger than the
  // whole cache is not kept.
  if (caching == PackCaching::shared && pack->raw_size() <= m_cache.capacity()) {
    std::lock_guard lock(m_cache_mutex);
    if (!m_cache.contains(pack_id)) {
      m_cache.insert(pack_id, pack, pack->raw_size());
    }
  }
  return pack;
}

Result<std::span<const std::uint8_t>> PackReader::slice(PackDecoder& pack, std::int64_t offset,
                                                        std::int64_t size)
{
  if (offset < 0 || size < 0 || static_cast<std::uint64_t>(offset) > pack.raw_size() ||
      static_cast<std::uint64_t>(size) > pack.raw_size() - static_cast<std::uint64_t>(offset)) {
    return make_error(Errc::corrupt, "bytes [" + std::to_string(offset) + ", +" +
                                         std::to_string(size) + ") lie outside its " +
                                         std::to_string(pack.raw_size()) + " bytes");
  }
  const std::uint64_t end = static_cast<std::uint64_t>(offset) + static_cast<std::uint64_t>(size);
  PAGABLE_TRY_ASSIGN(const auto content, pack.decode_to(end));
  return content.subspan(static_cast<std::size_t>(offset), static_cast<std::size_t>(size));
}

} // namespace pagable::store
