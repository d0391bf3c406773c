// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/store.hpp>
#include <pagable/version.hpp>

#include "store/reachability.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

namespace pagable::store {
namespace {

std::int64_t now_unix_ms()
{
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Everything in two hash maps under one reader-writer lock. Writes are visible at once, so
// flush() has nothing to do.
class MemoryStore final : public BlobStore {
public:
  Result<std::optional<Blob>> get(const Key& key) const override
  {
    m_gets.fetch_add(1, std::memory_order_relaxed);
    std::shared_lock lock(m_mutex);
    const auto it = m_blobs.find(key);
    if (it == m_blobs.end()) {
      return std::optional<Blob>();
    }
    return std::optional<Blob>(it->second);
  }

  Result<bool> contains(const Key& key) const override
  {
    std::shared_lock lock(m_mutex);
    return m_blobs.count(key) != 0;
  }

  Result<std::optional<std::vector<Key>>> children_of(const Key& key) const override
  {
    std::shared_lock lock(m_mutex);
    return children_locked(key);
  }

  Result<std::vector<Key>> find_keys_with_prefix(std::string_view hex_prefix,
                                                 std::size_t limit) const override
  {
    PAGABLE_TRY_ASSIGN(const std::string prefix, normalize_hex_prefix(hex_prefix));
    std::vector<Key> out;
    {
      std::shared_lock lock(m_mutex);
      for (const auto& [k, _] : m_blobs) {
        if (k.has_hex_prefix(prefix)) {
          out.push_back(k);
        }
      }
    }
    std::sort(out.begin(), out.end());
    if (out.size() > limit) {
      out.resize(limit);
    }
    return out;
  }

  Result<Key> put(Blob blob, const PutHints&) override
  {
    const Key key = blob.key();
    std::unique_lock lock(m_mutex);
    ++m_counters.puts;
    const std::size_t size = blob.data.size() + blob.children.size() * Key::k_size;
    if (m_blobs.emplace(key, std::move(blob)).second) {
      m_written.push_back(key);
      ++m_counters.blobs_written;
      m_counters.bytes_written += size;
    } else {
      ++m_counters.blobs_deduped;
    }
    return key;
  }

  Result<void> flush() override { return {}; }

  Result<void> for_each_key(const std::function<Result<void>(const Key&)>& fn) const override
  {
    std::vector<Key> keys;
    {
      std::shared_lock lock(m_mutex);
      keys.reserve(m_blobs.size());
      for (const auto& [k, _] : m_blobs) {
        keys.push_back(k);
      }
    }
    for (const Key& k : keys) {
      PAGABLE_TRY(fn(k));
    }
    return {};
  }

  Result<std::size_t> remove(std::span<const Key> keys) override
  {
    std::unique_lock lock(m_mutex);
    std::size_t n = 0;
    for (const Key& k : keys) {
      n += m_blobs.erase(k);
    }
    return n;
  }

  Result<void> commit_root(RootRecord root) override
  {
    std::unique_lock lock(m_mutex);
    PAGABLE_TRY(confirm_reachable(root.key, [&](const Key& k) { return children_locked(k); }));
    if (root.created_unix_ms == 0) {
      root.created_unix_ms = now_unix_ms();
    }
    const std::string name = root.name;
    m_roots.insert_or_assign(name, std::move(root));
    return {};
  }

  Result<WriteMark> mark_writes() override
  {
    PAGABLE_TRY_ASSIGN(auto roots, list_roots());
    std::shared_lock lock(m_mutex);
    return WriteMark{m_written.size(), 0, std::move(roots)};
  }

  Result<DiscardFigures> discard_writes_since(const WriteMark& mark) override
  {
    PAGABLE_TRY_ASSIGN(const auto roots, list_roots());
    std::unique_lock lock(m_mutex);
    DiscardFigures f;
    if (mark.blobs >= m_written.size()) {
      return f;
    }
    std::unordered_set<Key> reached;
    for (const Key& start : roots_changed_since(mark.roots, roots)) {
      std::vector<Key> stack{start};
      while (!stack.empty()) {
        const Key k = stack.back();
        stack.pop_back();
        const auto it = m_blobs.find(k);
        if (it != m_blobs.end() && reached.insert(k).second) {
          stack.insert(stack.end(), it->second.children.begin(), it->second.children.end());
        }
      }
    }
    for (auto i = static_cast<std::ptrdiff_t>(mark.blobs); i < static_cast<std::ptrdiff_t>(m_written.size()); ++i) {
      const Key& k = m_written[static_cast<std::size_t>(i)];
      if (reached.count(k) != 0) {
        ++f.blobs_kept;
      } else {
        f.blobs_removed += m_blobs.erase(k);
      }
    }
    m_written.resize(mark.blobs);
    return f;
  }

  Result<std::optional<RootRecord>> get_root(const std::string& name) const override
  {
    std::shared_lock lock(m_mutex);
    const auto it = m_roots.find(name);
    if (it == m_roots.end()) {
      return std::optional<RootRecord>();
    }
    return std::optional<RootRecord>(it->second);
  }

  Result<std::vector<RootRecord>> list_roots() const override
  {
    std::shared_lock lock(m_mutex);
    std::vector<RootRecord> out;
    for (const auto& [_, r] : m_roots) {
      out.push_back(r);
    }
    std::stable_sort(out.begin(), out.end(), [](const RootRecord& a, const RootRecord& b) {
      return a.created_unix_ms < b.created_unix_ms;
    });
    return out;
  }

  Result<bool> remove_root(const std::string& name) override
  {
    std::unique_lock lock(m_mutex);
    return m_roots.erase(name) != 0;
  }

  Result<std::map<std::string, std::string>> settings() const override
  {
    std::shared_lock lock(m_mutex);
    return m_settings;
  }

  Result<std::map<std::string, std::string>>
  init_settings(const std::map<std::string, std::string>& values, SettingsWrite mode,
                const OlderSettings& /*older: always today's format*/) override
  {
    std::unique_lock lock(m_mutex);
    const bool replace = mode == SettingsWrite::replace_while_rootless && m_roots.empty();
    for (const auto& [k, v] : values) {
      if (replace) {
        m_settings[k] = v;
      } else {
        m_settings.emplace(k, v);
      }
    }
    return m_settings;
  }

  Result<StoreStats> stats() const override
  {
    std::shared_lock lock(m_mutex);
    StoreStats s;
    s.format_version = k_format_version;
    s.blobs = m_blobs.size();
    s.roots = m_roots.size();
    for (const auto& [_, b] : m_blobs) {
      s.bytes_logical += b.data.size();
      s.bytes_stored += b.data.size() + b.children.size() * Key::k_size;
    }
    return s;
  }

  StoreCounters counters() const override
  {
    std::shared_lock lock(m_mutex);
    StoreCounters c = m_counters;
    c.gets = m_gets.load(std::memory_order_relaxed);
    return c;
  }

private:
  Result<std::optional<std::vector<Key>>> children_locked(const Key& key) const
  {
    const auto it = m_blobs.find(key);
    if (it == m_blobs.end()) {
      return std::optional<std::vector<Key>>();
    }
    return std::optional<std::vector<Key>>(it->second.children);
  }

  mutable std::shared_mutex m_mutex;
  std::unordered_map<Key, Blob> m_blobs;             // guarded by m_mutex
  std::vector<Key> m_written;                        // new blobs in order, guarded by m_mutex
  std::map<std::string, RootRecord> m_roots;         // guarded by m_mutex
  std::map<std::string, std::string> m_settings;     // guarded by m_mutex
  StoreCounters m_counters;                          // guarded by m_mutex, but for gets
  mutable std::atomic<std::uint64_t> m_gets{0};
};

} // namespace

std::unique_ptr<BlobStore> make_memory_store()
{
  return std::make_unique<MemoryStore>();
}

} // namespace pagable::store
