// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/arc_cache.hpp>

#include "util/lru_map.hpp"

namespace pagable {

struct ArcCache::EvictedKeys {
  util::LruMap<Key, char> keys{k_evicted_kept}; // each costs 1: a count bound
};

struct ArcCache::Entry {
  enum class State { decoding, ready } state = State::decoding;
  std::shared_ptr<const void> value;
  std::size_t bytes = 0;
  std::optional<Error> failure; // set when the decode that others wait on failed
  std::list<EntryKey>::iterator lru;
};

ArcCache::ArcCache(std::size_t capacity_bytes)
    : m_capacity(capacity_bytes), m_evicted(std::make_unique<EvictedKeys>())
{
}

ArcCache::~ArcCache() = default;

Result<std::shared_ptr<const void>>
ArcCache::get_or_decode(std::type_index type, const Key& key,
                        const std::function<Result<Decoded>()>& decode)
{
  const EntryKey ek{type, key};
  std::unique_lock lock(m_mutex);
  for (;;) {
    auto it = m_entries.find(ek);
    if (it == m_entries.end()) {
      break;
    }
    std::shared_ptr<Entry> entry = it->second;
    if (entry->state == Entry::State::ready) {
      ++m_counters.hits;
      m_lru.splice(m_lru.begin(), m_lru, entry->lru);
      return entry->value;
    }
    // Another thread is decoding this entry: wait for it rather than decode twice.
    m_ready.wait(lock, [&] { return entry->state == Entry::State::ready || entry->failure; });
    if (entry->failure) {
      return *entry->failure;
    }
    ++m_counters.hits;
    return entry->value;
  }

  auto entry = std::make_shared<Entry>();
  m_entries.emplace(ek, entry);
  lock.unlock();
  auto decoded = decode();
  lock.lock();
  if (!decoded) {
    entry->failure = decoded.error();
    m_entries.erase(ek);
    m_ready.notify_all();
    return std::move(decoded).error();
  }
  entry->value = std::move(decoded->value);
  entry->bytes = decoded->bytes;
  entry->state = Entry::State::ready;
  m_lru.push_front(ek);
  entry->lru = m_lru.begin();
  m_bytes += entry->bytes;
  ++m_counters.decodes;
  if (m_evicted->keys.erase(key)) {
    ++m_counters.re_decodes;
  }
  auto value = entry->value;
  evict_locked();
  m_ready.notify_all();
  return value;
}

void ArcCache::evict_locked()
{
  // Keep the most recent entry even when it alone exceeds the capacity.
  while (m_bytes > m_capacity && m_lru.size() > 1) {
    const EntryKey victim = m_lru.back();
    m_lru.pop_back();
    const auto it = m_entries.find(victim);
    m_bytes -= it->second->bytes;
    m_entries.erase(it);
    m_evicted->keys.insert(victim.second, 0, 1);
    ++m_counters.evictions;
  }
}

ArcCacheCounters ArcCache::counters() const
{
  std::lock_guard lock(m_mutex);
  return m_counters;
}

std::size_t ArcCache::evicted_remembered() const
{
  std::lock_guard lock(m_mutex);
  return m_evicted->keys.size();
}

std::size_t ArcCache::bytes_cached() const
{
  std::lock_guard lock(m_mutex);
  return m_bytes;
}

void ArcCache::clear()
{
  std::lock_guard lock(m_mutex);
  // Entries being decoded stay: their decoders still publish into them.
  for (auto it = m_lru.begin(); it != m_lru.end(); ++it) {
    m_entries.erase(*it);
  }
  m_lru.clear();
  m_bytes = 0;
}

} // namespace pagable
