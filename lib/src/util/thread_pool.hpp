// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// A fixed set of worker threads draining one FIFO of tasks. Tasks must not throw (they are
// wrapped by callers that convert exceptions to Error). The destructor runs every queued task
// and joins. Thread-safety: submit() may be called from any thread.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace pagable::util {

class ThreadPool {
public:
  explicit ThreadPool(unsigned threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void submit(std::function<void()> task);
  unsigned size() const noexcept { return static_cast<unsigned>(m_threads.size()); }

private:
  void run();

  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<std::function<void()>> m_tasks; // guarded by m_mutex
  bool m_stopping = false;                   // guarded by m_mutex
  std::vector<std::thread> m_threads;
};

// Number of hardware threads, at least 1.
unsigned hardware_threads() noexcept;

} // namespace pagable::util
