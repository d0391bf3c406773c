// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Shared by the backends' commit_root: confirms that every blob a root reaches is stored.

#include <pagable/key.hpp>
#include <pagable/result.hpp>

#include <functional>
#include <optional>
#include <vector>

namespace pagable::store {

// Walks from `root` through `children_of` (nullopt = absent) without recursion. Returns
// Errc::not_found naming the first missing blob.
Result<void> confirm_reachable(const Key& root,
                               const std::function<Result<std::optional<std::vector<Key>>>(
                                   const Key&)>& children_of);

} // namespace pagable::store
