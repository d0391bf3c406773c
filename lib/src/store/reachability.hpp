// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Shared by the backends' commit_root: confirms that every blob a root reaches is stored.

#include <pagable/key.hpp>
#include <pagable/result.hpp>
#include <pagable/store.hpp>

#include <functional>
#include <optional>
#include <vector>

namespace pagable::store {

// Walks from `root` through `children_of` (nullopt = absent) without recursion. Returns
// Errc::not_found naming the first missing blob.
Result<void> confirm_reachable(const Key& root,
                               const std::function<Result<std::optional<std::vector<Key>>>(
                                   const Key&)>& children_of);

// The keys (document and schema) of the roots in `now` that are not in `then` as they are:
// new, or replaced since. Only these can reach a blob stored after `then` was read (a root
// unchanged since then reached only blobs that existed then, which nothing may remove while
// it reaches them, so none was stored anew). For discard_writes_since.
std::vector<Key> roots_changed_since(const std::vector<RootRecord>& then,
                                     const std::vector<RootRecord>& now);

} // namespace pagable::store
