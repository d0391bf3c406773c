// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// A BlobStore that forwards to another and counts what its callers do.

#include <pagable/store.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

namespace test {

// Counts put() and get() calls, like the seed's CountingStorage, and remembers which threads
// called put().
class CountingStore final : public pagable::store::BlobStore {
public:
  explicit CountingStore(std::unique_ptr<pagable::store::BlobStore> inner)
      : m_inner(std::move(inner))
  {
  }
  std::atomic<int> puts{0};
  mutable std::atomic<int> gets{0};

  std::set<std::thread::id> put_threads() const
  {
    std::lock_guard lock(m_mutex);
    return m_put_threads;
  }

  pagable::Result<std::optional<pagable::Blob>> get(const pagable::Key& k) const override
  {
    ++gets;
    return m_inner->get(k);
  }
  pagable::Result<bool> contains(const pagable::Key& k) const override
  {
    return m_inner->contains(k);
  }
  pagable::Result<std::optional<std::vector<pagable::Key>>>
  children_of(const pagable::Key& k) const override
  {
    return m_inner->children_of(k);
  }
  pagable::Result<std::vector<pagable::Key>> find_keys_with_prefix(std::string_view p,
                                                                   std::size_t n) const override
  {
    return m_inner->find_keys_with_prefix(p, n);
  }
  pagable::Result<pagable::Key> put(pagable::Blob b, const pagable::store::PutHints& h) override
  {
    ++puts;
    {
      std::lock_guard lock(m_mutex);
      m_put_threads.insert(std::this_thread::get_id());
    }
    return m_inner->put(std::move(b), h);
  }
  pagable::Result<void> flush() override { return m_inner->flush(); }
  pagable::Result<void>
  for_each_key(const std::function<pagable::Result<void>(const pagable::Key&)>& fn) const override
  {
    return m_inner->for_each_key(fn);
  }
  pagable::Result<std::size_t> remove(std::span<const pagable::Key> keys) override
  {
    return m_inner->remove(keys);
  }
  pagable::Result<pagable::store::WriteMark> mark_writes() override { return m_inner->mark_writes(); }
  pagable::Result<pagable::store::DiscardFigures>
  discard_writes_since(const pagable::store::WriteMark& mark) override
  {
    return m_inner->discard_writes_since(mark);
  }
  pagable::Result<pagable::store::RootRecord> commit_root(pagable::store::RootRecord r) override
  {
    return m_inner->commit_root(std::move(r));
  }
  pagable::Result<pagable::store::RootRecord> import_root(pagable::store::RootRecord r) override
  {
    return m_inner->import_root(std::move(r));
  }
  pagable::Result<std::optional<pagable::store::RootRecord>>
  get_root(std::string_view n) const override
  {
    return m_inner->get_root(n);
  }
  pagable::Result<std::vector<pagable::store::RootRecord>> list_roots() const override
  {
    return m_inner->list_roots();
  }
  pagable::Result<std::vector<pagable::store::RootRecord>> list_versions(std::string_view n) const override
  {
    return m_inner->list_versions(n);
  }
  pagable::Result<std::size_t> remove_versions(std::string_view n,
                                               std::span<const std::uint64_t> versions) override
  {
    return m_inner->remove_versions(n, versions);
  }
  pagable::Result<std::size_t> remove_root(std::string_view n) override
  {
    return m_inner->remove_root(n);
  }
  pagable::Result<std::map<std::string, std::string>> settings() const override
  {
    return m_inner->settings();
  }
  pagable::Result<std::map<std::string, std::string>>
  init_settings(const std::map<std::string, std::string>& v, pagable::store::SettingsWrite mode,
                const pagable::store::OlderSettings& older) override
  {
    return m_inner->init_settings(v, mode, older);
  }
  pagable::Result<std::vector<pagable::store::PackDigest>>
  packs_reached(std::span<const pagable::Key> roots) const override
  {
    return m_inner->packs_reached(roots);
  }
  pagable::Result<std::optional<pagable::store::PackImage>>
  export_pack(const pagable::store::PackDigest& d) const override
  {
    return m_inner->export_pack(d);
  }
  pagable::Result<pagable::store::ImportFigures> import_pack(const pagable::store::PackImage& p) override
  {
    return m_inner->import_pack(p);
  }
  pagable::Result<std::uint64_t> drop_pack(const pagable::store::PackDigest& d) override
  {
    return m_inner->drop_pack(d);
  }
  pagable::Result<pagable::store::StoreStats> stats() const override { return m_inner->stats(); }
  pagable::store::StoreCounters counters() const override { return m_inner->counters(); }

private:
  std::unique_ptr<pagable::store::BlobStore> m_inner;
  mutable std::mutex m_mutex;
  std::set<std::thread::id> m_put_threads; // guarded by m_mutex
};

} // namespace test
