// SPDX-License-Identifier: MIT OR Apache-2.0
// Marking the blobs a key reaches, through the index only (verify and gc share it).
#include <pagable/store_maintenance.hpp>

namespace pagable::store {

bool IdBitmap::test(std::int64_t id) const noexcept
{
  if (id < 1) {
    return false;
  }
  const auto word = static_cast<std::uint64_t>(id) / 64;
  return word < m_words.size() && ((m_words[word] >> (static_cast<std::uint64_t>(id) % 64)) & 1U) != 0;
}

bool IdBitmap::set(std::int64_t id)
{
  if (id < 1) {
    return false;
  }
  const auto word = static_cast<std::uint64_t>(id) / 64;
  if (word >= m_words.size()) {
    m_words.resize(std::max<std::size_t>(word + 1, m_words.size() + m_words.size() / 2), 0);
  }
  const std::uint64_t bit = std::uint64_t{1} << (static_cast<std::uint64_t>(id) % 64);
  const bool was_clear = (m_words[word] & bit) == 0;
  m_words[word] |= bit;
  return was_clear;
}

Result<void> mark_reachable(MaintenanceSession& session, const Key& start, IdBitmap& marked,
                            const WalkCallbacks& callbacks)
{
  // Visits one key: marks it and queues it for expansion when it is stored and new.
  std::vector<std::int64_t> stack;
  const auto visit = [&](const Key& key, const std::optional<Key>& parent) -> Result<void> {
    PAGABLE_TRY_ASSIGN(const auto id, session.blob_id(key));
    if (!id) {
      if (callbacks.on_missing) {
        callbacks.on_missing(key, parent);
      }
      return {};
    }
    if (marked.set(*id)) {
      if (callbacks.on_blob) {
        callbacks.on_blob(*id, key);
      }
      stack.push_back(*id);
    }
    return {};
  };
  PAGABLE_TRY(visit(start, std::nullopt));
  while (!stack.empty()) {
    const std::int64_t id = stack.back();
    stack.pop_back();
    auto node = session.node(id);
    if (!node) {
      if (node.error().code() == Errc::corrupt) {
        if (callbacks.on_bad_row) {
          callbacks.on_bad_row(id, node.error());
        }
        continue;
      }
      return std::move(node).error();
    }
    if (!*node) {
      continue; // removed since its id was looked up: only possible outside one transaction
    }
    for (const Key& child : (*node)->children) {
      PAGABLE_TRY(visit(child, (*node)->key));
    }
  }
  return {};
}

} // namespace pagable::store
