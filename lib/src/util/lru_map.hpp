// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// LruMap: a map bounded by the summed cost of its values, which drops the least recently
// used entries first. The one LRU of the library: the SQLite store's cache of decoded packs
// and the arc cache's decoded nodes both keep theirs in one.
// Thread-safety: none; the owner locks.

#include <cstddef>
#include <functional>
#include <list>
#include <unordered_map>
#include <utility>

namespace pagable::util {

template <typename K, typename V, typename Hash = std::hash<K>>
class LruMap {
public:
  explicit LruMap(std::size_t capacity) : m_capacity(capacity) {}

  // The value under `key`, made the most recently used; nullptr when absent. Valid until the
  // next insert or erase.
  V* find(const K& key)
  {
    const auto it = m_index.find(key);
    if (it == m_index.end()) {
      return nullptr;
    }
    m_order.splice(m_order.begin(), m_order, it->second);
    return &it->second->value;
  }

  // Returns true iff `key` is present, without making it recent.
  bool contains(const K& key) const { return m_index.count(key) != 0; }

  // Adds (or replaces) `key` as the most recently used, costing `cost`, then drops the least
  // recently used entries while the total exceeds the capacity, calling on_evict on each.
  // The entry just added stays even when it alone exceeds the capacity.
  void insert(const K& key, V value, std::size_t cost,
              const std::function<void(const K&, V&)>& on_evict = {})
  {
    erase(key);
    m_order.push_front(Node{key, std::move(value), cost});
    m_index.emplace(key, m_order.begin());
    m_cost += cost;
    while (m_cost > m_capacity && m_order.size() > 1) {
      Node& victim = m_order.back();
      if (on_evict) {
        on_evict(victim.key, victim.value);
      }
      m_cost -= victim.cost;
      m_index.erase(victim.key);
      m_order.pop_back();
    }
  }

  // Removes `key`; returns true iff it was there.
  bool erase(const K& key)
  {
    const auto it = m_index.find(key);
    if (it == m_index.end()) {
      return false;
    }
    m_cost -= it->second->cost;
    m_order.erase(it->second);
    m_index.erase(it);
    return true;
  }

  void clear()
  {
    m_index.clear();
    m_order.clear();
    m_cost = 0;
  }

  std::size_t cost() const noexcept { return m_cost; }
  std::size_t size() const noexcept { return m_order.size(); }
  std::size_t capacity() const noexcept { return m_capacity; }

private:
  struct Node {
    K key;
    V value;
    std::size_t cost;
  };
  const std::size_t m_capacity;
  std::list<Node> m_order; // most recent first
  std::unordered_map<K, typename std::list<Node>::iterator, Hash> m_index;
  std::size_t m_cost = 0;
};

} // namespace pagable::util
