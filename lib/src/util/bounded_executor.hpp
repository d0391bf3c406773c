// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// BoundedExecutor: worker threads that run tasks in submission order, with back-pressure.
// Each task has a cost (bytes it holds, or 1); submit() waits while the tasks submitted and not
// finished yet cost more than the limit, so a producer faster than the workers holds a bounded
// amount of memory, however long it runs. A task costing more than the limit runs alone. With
// no threads, submit() runs the task on the caller's thread. The one back-pressure gate of
// the library: pack's node writer (bytes of encoded nodes) and verify's re-hash workers (packs
// in flight) both run on one.
// Thread-safety: submit() and wait_idle() may be called from any thread, but not from a task.
// Tasks must not throw (callers convert exceptions to Error).

#include "util/thread_pool.hpp"

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>

namespace pagable::util {

class BoundedExecutor {
public:
  BoundedExecutor(unsigned threads, std::size_t max_cost);
  // Waits for every task submitted, then joins the workers.
  ~BoundedExecutor();
  BoundedExecutor(const BoundedExecutor&) = delete;
  BoundedExecutor& operator=(const BoundedExecutor&) = delete;

  // Runs `task` on a worker once what is in flight leaves room for `cost`.
  void submit(std::size_t cost, std::function<void()> task);
  // Returns once every task submitted so far has finished.
  void wait_idle();
  unsigned threads() const noexcept { return m_pool ? m_pool->size() : 0; }

private:
  const std::size_t m_max_cost;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::size_t m_cost = 0;    // of the tasks in flight, guarded by m_mutex
  std::size_t m_tasks = 0;   // in flight, guarded by m_mutex
  std::unique_ptr<ThreadPool> m_pool; // last: joins before the rest goes
};

} // namespace pagable::util
