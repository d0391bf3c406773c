// SPDX-License-Identifier: MIT OR Apache-2.0
// Marking the blobs a key reaches, through the index only (verify and gc share it).
#include "store/maintenance.hpp"

namespace pagable::store {

bool IdBitmap::test(std::int64_t id) const noexcept
{
  if (id < 1) {
    return false;
  }
  const auto word = static_cast<std::uint64_t>(id) / 64;
  return word < m_words.size() &&
         ((m_words[word] >> (static_cast<std::uint64_t>(id) % 64)) & 1U) != 0;
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
  // Pending edges (the child as its parent names it, row id of that parent; 0 for the
  // start): one lookup per edge, no recursion, 48 bytes per pending edge. A child named by
  // row id is found by id, and one already marked is passed over without a lookup.
  struct Edge {
    ChildRef child;
    std::int64_t parent = 0;
  };
  std::vector<Edge> stack{Edge{ChildRef{0, start}, 0}};
  while (!stack.empty()) {
    const Edge edge = stack.back();
    stack.pop_back();
    if (edge.child.id != 0 && marked.test(edge.child.id)) {
      continue;
    }
    std::optional<IndexEntry> entry;
    if (edge.child.id != 0) {
      PAGABLE_TRY_ASSIGN(entry, session.lookup_id(edge.child.id));
    } else {
      PAGABLE_TRY_ASSIGN(entry, session.lookup(edge.child.key));
    }
    if (!entry) {
      if (edge.child.id != 0) {
        if (callbacks.on_bad_row) {
          // Not node(): it resolves every id of the parent's list, this one too.
          PAGABLE_TRY_ASSIGN(const auto parent, session.lookup_id(edge.parent));
          callbacks.on_bad_row(edge.parent,
                               make_error(Errc::not_found,
                                          "blob " + (parent ? parent->key.to_hex() : std::string("?")) +
                                              ": its child list names blob row " +
                                              std::to_string(edge.child.id) +
                                              ", which is not in the store"));
        }
        continue;
      }
      if (callbacks.on_missing) {
        std::optional<Key> parent;
        if (edge.parent != 0) {
          PAGABLE_TRY_ASSIGN(const auto node, session.node(edge.parent));
          if (node) {
            parent = node->key;
          }
        }
        callbacks.on_missing(edge.child.key, parent);
      }
      continue;
    }
    if (!marked.set(entry->id)) {
      continue; // seen already
    }
    if (callbacks.on_blob) {
      callbacks.on_blob(entry->id, entry->key);
    }
    if (entry->repeated_in != 0 && callbacks.on_repeated) {
      callbacks.on_repeated(entry->id, entry->repeated_in, entry->key);
    }
    if (!entry->malformed.empty()) {
      if (callbacks.on_bad_row) {
        callbacks.on_bad_row(entry->id, make_error(Errc::corrupt, entry->malformed));
      }
      continue;
    }
    for (auto it = entry->children.rbegin(); it != entry->children.rend(); ++it) {
      stack.push_back(Edge{*it, entry->id});
    }
  }
  return {};
}

} // namespace pagable::store
