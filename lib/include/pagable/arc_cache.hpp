// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// ArcCache: decoded nodes shared by everyone who loads them. Each (type, key) is decoded at
// most once while it is cached, even when many threads ask for it at the same moment (the
// others wait for the first). Bounded in bytes: least recently used entries are evicted, and
// a later decode of an evicted key is counted as a re-decode (of the last k_evicted_kept keys
// evicted: the record of evicted keys is bounded too, so a long walk does not grow it).
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

namespace pagable {

struct ArcCacheCounters {
  std::uint64_t hits = 0;       // answered from the cache (or by waiting for another decode)
  std::uint64_t decodes = 0;    // decode functions run to success
  std::uint64_t re_decodes = 0; // decodes of a key among the last ArcCache::k_evicted_kept
                                // evicted (a lower bound past that many evictions)
  std::uint64_t evictions = 0;
};

class ArcCache {
public:
  struct Decoded {
    std::shared_ptr<const void> value;
    std::size_t bytes = 0; // what the value costs, for the capacity bound
  };

  // Evicted keys remembered to count re-decodes: 65,536 keys, about 6 MB.
  static constexpr std::size_t k_evicted_kept = 65536;

  explicit ArcCache(std::size_t capacity_bytes = 64 * 1024 * 1024);
  ~ArcCache();
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
  // How many evicted keys are remembered (at most k_evicted_kept).
  std::size_t evicted_remembered() const;
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
  struct EvictedKeys; // a util::LruMap of keys (a private header)

  const std::size_t m_capacity;
  mutable std::mutex m_mutex;
  std::condition_variable m_ready;
  std::unordered_map<EntryKey, std::shared_ptr<Entry>, EntryKeyHash> m_entries;
  std::list<EntryKey> m_lru; // ready entries, most recent first
  std::unique_ptr<EvictedKeys> m_evicted;
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
