// SPDX-License-Identifier: MIT OR Apache-2.0
#include "diff/align.hpp"

#include <algorithm>
#include <cstdint>

namespace pagable::diff {

std::vector<std::pair<std::size_t, std::size_t>>
align(std::size_t n, std::size_t m, const std::function<bool(std::size_t, std::size_t)>& equal,
      std::size_t max_edits)
{
  std::vector<std::pair<std::size_t, std::size_t>> head;
  std::size_t lo = 0;
  while (lo < n && lo < m && equal(lo, lo)) {
    head.emplace_back(lo, lo);
    ++lo;
  }
  std::size_t an = n;
  std::size_t bm = m;
  std::vector<std::pair<std::size_t, std::size_t>> tail;
  while (an > lo && bm > lo && equal(an - 1, bm - 1)) {
    --an;
    --bm;
    tail.emplace_back(an, bm);
  }
  // Myers on a[lo..an) and b[lo..bm): v[k] is the furthest x on diagonal k = x - y; each
  // round's v is kept to walk the path back.
  const auto N = static_cast<std::int64_t>(an - lo);
  const auto M = static_cast<std::int64_t>(bm - lo);
  std::vector<std::pair<std::size_t, std::size_t>> middle;
  if (N > 0 && M > 0) {
    const std::int64_t max_d = std::min<std::int64_t>(N + M, static_cast<std::int64_t>(max_edits));
    const std::int64_t offset = max_d + 1;
    std::vector<std::int64_t> v(static_cast<std::size_t>(2 * offset + 1), 0);
    const auto at = [&](const std::vector<std::int64_t>& vec, std::int64_t k) {
      return vec[static_cast<std::size_t>(offset + k)];
    };
    // Round d's starting v on diagonals -d..d only: memory grows as D², not D × (N + M).
    std::vector<std::vector<std::int64_t>> trace;
    std::int64_t found = -1;
    for (std::int64_t d = 0; d <= max_d && found < 0; ++d) {
      trace.emplace_back(v.begin() + (offset - d), v.begin() + (offset + d + 1));
      for (std::int64_t k = -d; k <= d; k += 2) {
        std::int64_t x = (k == -d || (k != d && at(v, k - 1) < at(v, k + 1))) ? at(v, k + 1)
                                                                               : at(v, k - 1) + 1;
        std::int64_t y = x - k;
        while (x < N && y < M && equal(lo + static_cast<std::size_t>(x), lo + static_cast<std::size_t>(y))) {
          ++x;
          ++y;
        }
        v[static_cast<std::size_t>(offset + k)] = x;
        if (x >= N && y >= M) {
          found = d;
          break;
        }
      }
    }
    if (found >= 0) {
      // Walk back: each round d came from round d - 1 by one edit, then a snake of pairs.
      std::int64_t x = N;
      std::int64_t y = M;
      for (std::int64_t d = found; d > 0; --d) {
        const auto& pv = trace[static_cast<std::size_t>(d)]; // diagonals -d..d
        const auto prev = [&](std::int64_t k) { return pv[static_cast<std::size_t>(k + d)]; };
        const std::int64_t k = x - y;
        const bool down = k == -d || (k != d && prev(k - 1) < prev(k + 1));
        const std::int64_t pk = down ? k + 1 : k - 1;
        const std::int64_t px = prev(pk);
        const std::int64_t py = px - pk;
        const std::int64_t sx = down ? px : px + 1; // where the snake of round d starts
        while (x > sx && y > sx - k) {
          --x;
          --y;
          middle.emplace_back(lo + static_cast<std::size_t>(x), lo + static_cast<std::size_t>(y));
        }
        x = px;
        y = py;
      }
      while (x > 0 && y > 0) { // round 0's snake
        --x;
        --y;
        middle.emplace_back(lo + static_cast<std::size_t>(x), lo + static_cast<std::size_t>(y));
      }
      std::reverse(middle.begin(), middle.end());
    }
  }
  head.insert(head.end(), middle.begin(), middle.end());
  head.insert(head.end(), tail.rbegin(), tail.rend());
  return head;
}

} // namespace pagable::diff
