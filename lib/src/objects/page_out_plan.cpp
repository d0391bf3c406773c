// SPDX-License-Identifier: MIT OR Apache-2.0
#include "objects/page_out_plan.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace pagable::objects::detail {

namespace {

constexpr std::uint32_t k_none = std::numeric_limits<std::uint32_t>::max();

} // namespace

PageOutPlan::PageOutPlan(const std::vector<std::shared_ptr<Cell>>& roots)
{
  // Iterative depth-first search (graphs may be arbitrarily deep). A cell's index is k_none
  // while it is on the stack: a child in that state is its own ancestor (a cycle).
  std::unordered_map<const Cell*, std::uint32_t> index;
  struct Frame {
    std::shared_ptr<Cell> cell;
    std::vector<std::shared_ptr<pageout::Node>> children;
    std::size_t next = 0;
  };
  std::vector<Frame> stack;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> edges; // (child, parent)
  std::vector<std::uint32_t> kids;
  const auto enter = [&](std::shared_ptr<Cell> c) {
    if (!c || c->key() || !index.emplace(c.get(), k_none).second) {
      return;
    }
    Frame f{std::move(c), {}, 0};
    (void)f.cell->children(f.children);
    stack.push_back(std::move(f));
  };
  for (const auto& root : roots) {
    enter(root);
    while (!stack.empty()) {
      Frame& top = stack.back();
      if (top.next < top.children.size()) {
        enter(std::static_pointer_cast<Cell>(top.children[top.next++]));
        continue;
      }
      const auto me = static_cast<std::uint32_t>(m_items.size());
      kids.clear();
      std::uint32_t never = 0;
      for (const auto& child : top.children) {
        const auto it = index.find(static_cast<const Cell*>(child.get()));
        if (it == index.end()) {
          continue; // stored already
        }
        if (it->second == k_none) {
          ++never; // an ancestor: a cycle, which the walker refuses
          continue;
        }
        kids.push_back(it->second);
      }
      std::sort(kids.begin(), kids.end());
      kids.erase(std::unique(kids.begin(), kids.end()), kids.end());
      for (const std::uint32_t k : kids) {
        edges.emplace_back(k, me);
      }
      m_waiting_for.push_back(static_cast<std::uint32_t>(kids.size()) + never);
      index[top.cell.get()] = me;
      m_items.push_back(std::move(top.cell));
      stack.pop_back();
    }
  }
  // The parents of each item, contiguous (counting sort of the edges by child).
  m_first_parent.assign(m_items.size() + 1, 0);
  for (const auto& e : edges) {
    ++m_first_parent[e.first + 1];
  }
  for (std::size_t i = 1; i < m_first_parent.size(); ++i) {
    m_first_parent[i] += m_first_parent[i - 1];
  }
  m_parents.resize(edges.size());
  std::vector<std::uint32_t> fill(m_first_parent.begin(), m_first_parent.end() - 1);
  for (const auto& e : edges) {
    m_parents[fill[e.first]++] = e.second;
  }
}

std::vector<std::size_t> PageOutPlan::run(const std::function<bool(std::size_t)>& store,
                                          const std::function<void(const std::function<void()>&)>& run_on)
{
  const std::size_t n = m_items.size();
  std::vector<std::atomic<std::uint32_t>> waiting(n);
  std::vector<std::uint32_t> ready; // guarded by mutex
  for (std::size_t i = n; i-- > 0;) {
    waiting[i].store(m_waiting_for[i], std::memory_order_relaxed);
    if (m_waiting_for[i] == 0) {
      ready.push_back(static_cast<std::uint32_t>(i)); // the first leaf last: taken first
    }
  }
  std::vector<std::uint8_t> called(n, 0); // each written by the one worker that took the item
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t running = 0; // workers storing an item, guarded by mutex

  const auto work = [&] {
    std::uint32_t next = k_none;
    std::vector<std::uint32_t> more;
    for (;;) {
      if (next == k_none) {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return !ready.empty() || running == 0; });
        if (ready.empty()) {
          return; // nothing ready and nobody storing: nothing will become ready
        }
        next = ready.back();
        ready.pop_back();
        ++running;
      }
      called[next] = 1;
      const bool stored = store(next);
      // The parents this item was the last child of are ready: this worker goes on with the
      // first (on a chain, one worker stores it all without a hand-over), the others queue.
      std::uint32_t go_on = k_none;
      more.clear();
      if (stored) {
        for (std::uint32_t k = m_first_parent[next]; k < m_first_parent[next + 1]; ++k) {
          const std::uint32_t parent = m_parents[k];
          if (waiting[parent].fetch_sub(1, std::memory_order_acq_rel) != 1) {
            continue;
          }
          if (go_on == k_none) {
            go_on = parent;
          } else {
            more.push_back(parent);
          }
        }
      }
      next = go_on;
      if (go_on != k_none && more.empty()) {
        continue;
      }
      bool wake = !more.empty();
      {
        std::lock_guard lock(mutex);
        ready.insert(ready.end(), more.begin(), more.end());
        if (go_on == k_none && --running == 0) {
          wake = true; // the others may be waiting to learn that it is over
        }
      }
      if (wake) {
        changed.notify_all();
      }
    }
  };
  run_on(work);

  std::vector<std::size_t> left;
  for (std::size_t i = 0; i < n; ++i) {
    if (called[i] == 0) {
      left.push_back(i);
    }
  }
  return left;
}

} // namespace pagable::objects::detail
