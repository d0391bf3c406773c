// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// ArcCache: decoded nodes shared by everyone who loads them. Each (type, key) is decoded at
// most once while it is cached, even when many threads ask for it at the same moment (the
// others wait for the first). Bounded in bytes: least recently used entries are evicted, and
// a later decode of an evicted key is counted as a re-decode.
// Thread-safety: all methods may be called concurrently.

#include <pagable/key.hpp>
#include <pagable/result.hpp>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <typeindex>
#include <unordered_map>
#include <unordered_set>

namespace pagable {

struct ArcCacheCounters {
  std::uint64_t hits = 0;       // answered from the cache (or by waiting for another decode)
  std::uint64_t decodes = 0;    // decode functions run to success
  std::uint64_t re_decodes = 0; // decodes of a key that had been evicted before
  std::uint64_t evictions = 0;
};

class ArcCache {
public:
  struct Decoded {
    std::shared_ptr<const void> value;
    std::size_t bytes = 0; // what the value costs, for the capacity bound
  };

  explicit ArcCache(std::size_t capacity_bytes = 64 * 1024 * 1024);
  ArcCache(const ArcCache&) = delete;
  ArcCache& operator=(const ArcCache&) = delete;

  // The value for (type, key): cached, or produced by `decode`, run at most once at a time
  // per entry. If decode fails, its error is returned to the caller that ran it and to the
  // callers waiting on it; nothing is cached and a later call tries again.
  Result<std::shared_ptr<const void>> get_or_decode(std::type_index type, const Key& key,
                                                    const std::function<Result<Decoded>()>& decode);

  // Typed convenience: T is the decoded type; decode returns (shared_ptr<const T>, bytes).
  template <typename T, typename F>
  Result<std::shared_ptr<const T>> get(const Key& key, F&& decode);

  ArcCacheCounters counters() const;
  std::size_t bytes_cached() const;
  void clear();

private:
  struct Entry;
  using EntryKey = std::pair<std::type_index, Key>;
  struct EntryKeyHash {
    std::size_t operator()(const EntryKey& k) const noexcept
    {
      return std::hash<Key>{}(k.second) ^ k.first.hash_code();
    }
  };
  void evict_locked();

  const std::size_t m_capacity;
  mutable std::mutex m_mutex;
  std::condition_variable m_ready;
  std::unordered_map<EntryKey, std::shared_ptr<Entry>, EntryKeyHash> m_entries;
  std::list<EntryKey> m_lru; // ready entries, most recent first
  std::unordered_set<Key> m_evicted;
  std::size_t m_bytes = 0;
  ArcCacheCounters m_counters;
};

// --- Inline implementations ---

template <typename T, typename F>
Result<std::shared_ptr<const T>> ArcCache::get(const Key& key, F&& decode)
{
  auto r = get_or_decode(std::type_index(typeid(T)), key, [&]() -> Result<Decoded> {
    auto d = decode();
    if (!d) {
      return std::move(d).error();
    }
    auto [ptr, bytes] = std::move(d).value();
    return Decoded{std::shared_ptr<const void>(std::move(ptr)), bytes};
  });
  if (!r) {
    return std::move(r).error();
  }
  return std::static_pointer_cast<const T>(std::move(r).value());
}

} // namespace pagable
