// SPDX-License-Identifier: MIT OR Apache-2.0
// The store in memory: blobs in a hash map, and, so that packs can be exported and imported
// as from an archive, each blob also recorded in a pack. New blobs fill a raw (uncompressed)
// pack that closes when the store is asked for packs; imported packs are kept as they came.
#include <pagable/store.hpp>
#include <pagable/version.hpp>

#include "store/pack_codec.hpp"
#include "store/reachability.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

namespace pagable::store {
namespace {

std::int64_t now_ms()
{
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A blob's place in a pack.
struct Place {
  PackDigest pack;
  std::uint64_t offset = 0;
};

// A pack: its image without entries (those are the blobs whose place names it), and its
// content decoded (a delta pack's bases are other packs' content).
struct StoredPack {
  PackImage image;
  Bytes content;
  std::uint64_t order = 0; // creation order, for bases-first listings
};

// Everything under one reader-writer lock. Writes are visible at once, so flush() has
// nothing to do.
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

  Result<Key> put(Blob blob, const PutHints& hints) override
  {
    const Key key = blob.key();
    std::unique_lock lock(m_mutex);
    ++m_counters.puts;
    const std::size_t size = blob.data.size() + blob.children.size() * Key::k_size;
    const auto stored = m_blobs.find(key);
    if (stored != m_blobs.end() && hints.replace && m_replaced.insert(key).second) {
      stored->second = std::move(blob); // not in m_written: never taken back
      ++m_counters.blobs_replaced;
      return key;
    }
    if (stored != m_blobs.end()) {
      ++m_counters.blobs_deduped;
      return key;
    }
    m_open_pack.push_back(key);
    m_blobs.emplace(key, std::move(blob));
    m_written.push_back(key);
    ++m_counters.blobs_written;
    m_counters.bytes_written += size;
    return key;
  }

  Result<void> flush() override { return {}; }

  Result<std::size_t> remove(std::span<const Key> keys) override
  {
    std::unique_lock lock(m_mutex);
    std::size_t n = 0;
    for (const Key& k : keys) {
      n += erase_locked(k);
    }
    return n;
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
    for (auto i = mark.blobs; i < m_written.size(); ++i) {
      const Key& k = m_written[i];
      if (reached.count(k) != 0) {
        ++f.blobs_kept;
      } else {
        f.blobs_removed += erase_locked(k);
      }
    }
    m_written.resize(mark.blobs);
    return f;
  }

  Result<RootRecord> commit_root(RootRecord root) override
  {
    root.version = 0;
    return commit(std::move(root));
  }

  Result<RootRecord> import_root(RootRecord root) override
  {
    if (root.version == 0) {
      return make_error(Errc::invalid_argument, "version 0 of \"" + root.name + "\": numbers start at 1");
    }
    return commit(std::move(root));
  }

  // root.version 0: the name's next number; otherwise that number, above all it was given.
  Result<RootRecord> commit(RootRecord root)
  {
    std::unique_lock lock(m_mutex);
    const auto children_of = [&](const Key& k) { return children_locked(k); };
    PAGABLE_TRY(confirm_reachable(root.key, children_of));
    if (root.schema_key) {
      PAGABLE_TRY(confirm_reachable(*root.schema_key, children_of));
    }
    if (root.created_unix_ms == 0) {
      root.created_unix_ms = now_ms();
    }
    std::uint64_t& last = m_last_version[root.name];
    if (root.version == 0) {
      root.version = ++last;
    } else if (root.version <= last) {
      return make_error(Errc::invalid_argument, "version " + std::to_string(root.version) + " of \"" +
                                                    root.name + "\": the name was given numbers up to " +
                                                    std::to_string(last) + " already");
    } else {
      last = root.version;
    }
    // The record itself, as the SQLite store counts its row's pages.
    const std::uint64_t own = root.name.size() + 2 * Key::k_size + root.stats_json.size() + 16;
    m_counters.bytes_written += own;
    root.bytes_added = root.bytes_added.value_or(0) + own;
    m_roots[root.name].emplace(root.version, root);
    return root;
  }

  Result<std::vector<RootRecord>> list_roots() const override
  {
    std::shared_lock lock(m_mutex);
    std::vector<RootRecord> out;
    for (const auto& [_, versions] : m_roots) {
      for (const auto& [number, r] : versions) {
        out.push_back(r);
      }
    }
    // By name and version already: sorting by time keeps that order among equal times.
    std::stable_sort(out.begin(), out.end(), [](const RootRecord& a, const RootRecord& b) {
      return a.created_unix_ms < b.created_unix_ms;
    });
    return out;
  }

  Result<std::size_t> remove_root(std::string_view name) override
  {
    std::unique_lock lock(m_mutex);
    const auto it = m_roots.find(name);
    if (it == m_roots.end()) {
      return std::size_t{0};
    }
    const std::size_t n = it->second.size();
    m_roots.erase(it);
    return n;
  }

  Result<std::size_t> remove_versions(std::string_view name,
                                      std::span<const std::uint64_t> versions) override
  {
    std::unique_lock lock(m_mutex);
    const auto it = m_roots.find(name);
    if (it == m_roots.end()) {
      return std::size_t{0};
    }
    std::size_t n = 0;
    for (const std::uint64_t v : versions) {
      n += it->second.erase(v);
    }
    if (it->second.empty()) {
      m_roots.erase(it);
    }
    return n;
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

  Result<std::vector<PackDigest>> packs_reached(std::span<const Key> roots) const override
  {
    std::unique_lock lock(m_mutex);
    close_pack_locked();
    std::set<std::pair<std::uint64_t, PackDigest>> packs; // in creation order: bases first
    std::unordered_set<Key> seen(roots.begin(), roots.end());
    std::vector<Key> stack(roots.begin(), roots.end());
    while (!stack.empty()) {
      const Key k = stack.back();
      stack.pop_back();
      const auto it = m_blobs.find(k);
      if (it == m_blobs.end()) {
        return make_error(Errc::not_found, "blob " + k.to_hex() + " is not in the store");
      }
      add_with_bases_locked(m_places.at(k).pack, packs);
      for (const Key& c : it->second.children) {
        if (seen.insert(c).second) {
          stack.push_back(c);
        }
      }
    }
    std::vector<PackDigest> out;
    for (const auto& [_, d] : packs) {
      out.push_back(d);
    }
    return out;
  }

  Result<std::optional<PackImage>> export_pack(const PackDigest& digest) const override
  {
    std::unique_lock lock(m_mutex);
    close_pack_locked();
    const auto it = m_packs.find(digest);
    if (it == m_packs.end()) {
      return std::optional<PackImage>();
    }
    PackImage image = it->second.image;
    for (const auto& [key, place] : m_places) {
      if (place.pack == digest) {
        const Blob& b = m_blobs.at(key);
        image.entries.push_back(PackEntry{key, place.offset, b.data.size(), b.children});
      }
    }
    std::sort(image.entries.begin(), image.entries.end(),
              [](const PackEntry& a, const PackEntry& b) { return a.offset < b.offset; });
    return std::optional<PackImage>(std::move(image));
  }

  Result<ImportFigures> import_pack(const PackImage& image) override
  {
    Bytes prefix;
    {
      std::shared_lock lock(m_mutex);
      for (const PackBase& b : image.bases) {
        const auto it = m_packs.find(b.pack);
        if (it == m_packs.end()) {
          return make_error(Errc::not_found, "pack " + image.digest.to_hex().substr(0, 12) +
                                                 ": its delta base pack " + b.pack.to_hex() +
                                                 " is not in the store");
        }
        const Bytes& content = it->second.content;
        if (b.offset > content.size() || b.size > content.size() - b.offset) {
          return make_error(Errc::corrupt, "pack " + image.digest.to_hex().substr(0, 12) +
                                               ": a delta base lies outside its pack");
        }
        prefix.insert(prefix.end(), content.begin() + static_cast<std::ptrdiff_t>(b.offset),
                      content.begin() + static_cast<std::ptrdiff_t>(b.offset + b.size));
      }
    }
    PAGABLE_TRY(check_pack_image(image, prefix, k_max_pack_bytes));
    PAGABLE_TRY_ASSIGN(const Bytes content,
                       decode_pack(static_cast<PackCodec>(image.codec), image.data, image.raw_size,
                                   k_max_pack_bytes, prefix));
    std::unique_lock lock(m_mutex);
    ImportFigures f;
    if (m_packs.count(image.digest) == 0) {
      PackImage kept = image;
      kept.entries.clear();
      m_packs.emplace(image.digest, StoredPack{std::move(kept), content, m_next_order++});
      f.pack_added = true;
    }
    for (const PackEntry& e : image.entries) {
      if (m_blobs.count(e.key) != 0) {
        ++f.blobs_present;
        continue;
      }
      Blob b;
      b.data.assign(content.begin() + static_cast<std::ptrdiff_t>(e.offset),
                    content.begin() + static_cast<std::ptrdiff_t>(e.offset + e.size));
      b.children = e.children;
      m_blobs.emplace(e.key, std::move(b));
      m_places.insert_or_assign(e.key, Place{image.digest, e.offset});
      ++f.blobs_indexed;
    }
    return f;
  }

  Result<std::uint64_t> drop_pack(const PackDigest& digest) override
  {
    std::unique_lock lock(m_mutex);
    if (m_packs.count(digest) == 0) {
      return std::uint64_t{0};
    }
    // The pack and, transitively, the packs that decode from it.
    std::set<PackDigest> doomed{digest};
    for (bool grew = true; grew;) {
      grew = false;
      for (const auto& [d, p] : m_packs) {
        const bool based = std::any_of(p.image.bases.begin(), p.image.bases.end(),
                                       [&](const PackBase& b) { return doomed.count(b.pack) != 0; });
        grew = (based && doomed.insert(d).second) || grew;
      }
    }
    std::uint64_t freed = 0;
    for (const PackDigest& d : doomed) {
      freed += m_packs.at(d).image.data.size();
      m_packs.erase(d);
    }
    for (auto it = m_places.begin(); it != m_places.end();) {
      if (doomed.count(it->second.pack) != 0) {
        m_blobs.erase(it->first);
        it = m_places.erase(it);
      } else {
        ++it;
      }
    }
    return freed;
  }

  Result<StoreStats> stats() const override
  {
    std::shared_lock lock(m_mutex);
    StoreStats s;
    s.format_version = k_format_version;
    s.blobs = m_blobs.size();
    s.names = m_roots.size();
    for (const auto& [_, versions] : m_roots) {
      s.roots += versions.size();
    }
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
    c.bytes_taken = c.bytes_written; // no pages in memory
    return c;
  }

private:
  static constexpr std::uint64_t k_max_pack_bytes = 256 * 1024 * 1024;

  Result<std::optional<std::vector<Key>>> children_locked(const Key& key) const
  {
    const auto it = m_blobs.find(key);
    if (it == m_blobs.end()) {
      return std::optional<std::vector<Key>>();
    }
    return std::optional<std::vector<Key>>(it->second.children);
  }

  std::size_t erase_locked(const Key& key)
  {
    m_places.erase(key);
    std::erase(m_open_pack, key);
    return m_blobs.erase(key);
  }

  // Turns the blobs written since the last call into a raw pack. REQUIRES: m_mutex held
  // exclusively.
  void close_pack_locked() const
  {
    if (m_open_pack.empty()) {
      return;
    }
    PackImage image;
    image.codec = static_cast<std::int64_t>(PackCodec::raw);
    std::vector<std::pair<Key, std::uint64_t>> offsets;
    for (const Key& k : m_open_pack) {
      const Blob& b = m_blobs.at(k);
      offsets.emplace_back(k, image.data.size());
      image.data.insert(image.data.end(), b.data.begin(), b.data.end());
    }
    image.raw_size = image.data.size();
    image.digest = PackDigest{sha256_of(image.data)};
    for (const auto& [k, offset] : offsets) {
      m_places.insert_or_assign(k, Place{image.digest, offset});
    }
    Bytes content = image.data;
    m_packs.emplace(image.digest, StoredPack{std::move(image), std::move(content), m_next_order++});
    m_open_pack.clear();
  }

  void add_with_bases_locked(const PackDigest& d,
                             std::set<std::pair<std::uint64_t, PackDigest>>& out) const
  {
    const StoredPack& p = m_packs.at(d);
    if (!out.emplace(p.order, d).second) {
      return;
    }
    for (const PackBase& b : p.image.bases) {
      add_with_bases_locked(b.pack, out);
    }
  }

  mutable std::shared_mutex m_mutex;
  std::unordered_map<Key, Blob> m_blobs;                     // guarded by m_mutex
  std::vector<Key> m_written;                                // new blobs in order, guarded
  std::unordered_set<Key> m_replaced;                        // PutHints::replace, once a key
  // Versions by name and number, and each name's highest number ever given (guarded).
  std::map<std::string, std::map<std::uint64_t, RootRecord>, std::less<>> m_roots;
  std::map<std::string, std::uint64_t, std::less<>> m_last_version;
  std::map<std::string, std::string> m_settings;             // guarded by m_mutex
  // Packs (guarded by m_mutex; mutable: listing packs closes the open one).
  mutable std::map<PackDigest, StoredPack> m_packs;
  mutable std::unordered_map<Key, Place> m_places; // blobs in closed packs
  mutable std::vector<Key> m_open_pack;            // blobs not in a pack yet, in order
  mutable std::uint64_t m_next_order = 0;
  StoreCounters m_counters; // guarded by m_mutex, but for gets
  mutable std::atomic<std::uint64_t> m_gets{0};
};

} // namespace

std::unique_ptr<BlobStore> make_memory_store()
{
  return std::make_unique<MemoryStore>();
}

} // namespace pagable::store
