// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The order of a parallel page-out: every cell the roots reach that is not stored yet, and
// which of them wait for which. Workers take a cell once every child of it is stored, so
// that none waits for another: on a chain (each value holding its predecessors) the
// page-out walker's claim-and-wait made workers take turns, one wake-up per value, and two
// workers were slower than one. What cannot become ready -- the ancestors of a value whose
// page-out failed, the values of a cycle -- is left to the walker afterwards, which reports
// those errors (pageout.hpp).
// Thread-safety: PageOutPlan::run calls `store` from many threads at once; the plan itself
// is built and run by one caller.

#include "objects/cell.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace pagable::objects::detail {

class PageOutPlan {
public:
  // Lists the cells `roots` reach that are not stored yet, children before parents (a cell
  // whose children cannot be listed is kept as a leaf: the walker reports its error).
  explicit PageOutPlan(const std::vector<std::shared_ptr<Cell>>& roots);

  // The cells, children before parents.
  const std::vector<std::shared_ptr<Cell>>& items() const noexcept { return m_items; }
  std::vector<std::shared_ptr<Cell>>& items() noexcept { return m_items; }

  // Calls store(i) for every item whose children are all stored, on `threads` threads (the
  // caller's and run_on's), each as soon as its children are; store returns whether the item
  // is stored. Returns the items it did not call store for, children before parents.
  // `run_on(work)` runs `work` on up to threads - 1 other threads and returns once they end.
  std::vector<std::size_t> run(const std::function<bool(std::size_t)>& store,
                               const std::function<void(const std::function<void()>&)>& run_on);

private:
  std::vector<std::shared_ptr<Cell>> m_items;
  // Per item: how many of its distinct children are items (never ready: cycles).
  std::vector<std::uint32_t> m_waiting_for;
  // The items waiting for item i: m_parents[m_first_parent[i] .. m_first_parent[i + 1]).
  std::vector<std::uint32_t> m_first_parent;
  std::vector<std::uint32_t> m_parents;
};

} // namespace pagable::objects::detail
