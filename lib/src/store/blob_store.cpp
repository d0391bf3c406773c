// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/store.hpp>

#include "store/maintenance.hpp"
#include "store/reachability.hpp"
#include "util/thread_pool.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <unordered_set>

namespace pagable::store {

std::future<Result<std::optional<Blob>>> BlobReader::get_async(const Key& key) const
{
  // Backends with a reader pool override this; the default runs on a shared pool so that a
  // caller never blocks on I/O.
  static util::ThreadPool pool(std::max(2u, util::hardware_threads()));
  auto promise = std::make_shared<std::promise<Result<std::optional<Blob>>>>();
  auto future = promise->get_future();
  pool.submit([this, key, promise] { promise->set_value(get(key)); });
  return future;
}

Result<std::vector<RootRecord>> RootCatalog::list_versions(std::string_view name) const
{
  PAGABLE_TRY_ASSIGN(auto roots, list_roots());
  std::vector<RootRecord> out;
  for (auto& r : roots) {
    if (r.name == name) {
      out.push_back(std::move(r));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const RootRecord& a, const RootRecord& b) { return a.version < b.version; });
  return out;
}

Result<std::optional<RootRecord>> RootCatalog::get_root(std::string_view name) const
{
  PAGABLE_TRY_ASSIGN(auto versions, list_versions(name));
  if (versions.empty()) {
    return std::optional<RootRecord>();
  }
  return std::optional<RootRecord>(std::move(versions.back()));
}

Result<std::unique_ptr<MaintenanceSession>> open_maintenance(const BlobStore& store,
                                                             SessionAccess access)
{
  const auto* provider = dynamic_cast<const MaintenanceProvider*>(&store);
  if (provider == nullptr) {
    return make_error(Errc::invalid_argument,
                      "verify and gc need an archive file (this store has no maintenance role)");
  }
  return provider->open_maintenance(access);
}

Result<void> confirm_reachable(const Key& root,
                               const std::function<Result<std::optional<std::vector<Key>>>(
                                   const Key&)>& children_of)
{
  // Iterative: user graphs may be arbitrarily deep.
  std::unordered_set<Key> seen{root};
  std::vector<Key> stack{root};
  while (!stack.empty()) {
    const Key key = stack.back();
    stack.pop_back();
    PAGABLE_TRY_ASSIGN(const auto children, children_of(key));
    if (!children) {
      return make_error(Errc::not_found, "blob " + key.to_hex() + " reached by root " +
                                             root.short_hex() + " is not in the store");
    }
    for (const Key& child : *children) {
      if (seen.insert(child).second) {
        stack.push_back(child);
      }
    }
  }
  return {};
}

std::vector<Key> roots_changed_since(const std::vector<RootRecord>& then,
                                     const std::vector<RootRecord>& now)
{
  // A version, once committed, never changes, and its number is never given again; the keys
  // are compared too, so that a root table from before format 5 (one version a name,
  // replaced by each commit) is judged right.
  using Seen = std::tuple<std::string_view, std::uint64_t, Key, std::optional<Key>>;
  std::set<Seen> before;
  for (const RootRecord& r : then) {
    before.emplace(r.name, r.version, r.key, r.schema_key);
  }
  std::vector<Key> keys;
  for (const RootRecord& r : now) {
    if (before.count(Seen(r.name, r.version, r.key, r.schema_key)) != 0) {
      continue;
    }
    keys.push_back(r.key);
    if (r.schema_key) {
      keys.push_back(*r.schema_key);
    }
  }
  return keys;
}

} // namespace pagable::store
