// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Aligning two sequences: the pairs of a longest common subsequence (Myers' O((N+M)D)
// algorithm), so that what is not paired is the smallest set of insertions and removals.
// The diff aligns chunk-tree entries by key and array items by key or bytes with it.
// Thread-safety: a pure function.

#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

namespace pagable::diff {

// The index pairs (i, j), increasing in both, of a longest common subsequence of a[0..n) and
// b[0..m) under `equal(i, j)`. Common ends are paired first; past `max_edits` insertions and
// removals in the middle the search gives up there, pairing nothing more (a correct but
// longer edit), so that time and memory stay bounded on unrelated sequences.
std::vector<std::pair<std::size_t, std::size_t>>
align(std::size_t n, std::size_t m, const std::function<bool(std::size_t, std::size_t)>& equal,
      std::size_t max_edits = 1024);

} // namespace pagable::diff
