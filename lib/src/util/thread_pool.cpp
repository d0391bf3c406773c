// SPDX-License-Identifier: MIT OR Apache-2.0
#include "util/thread_pool.hpp"

namespace pagable::util {

ThreadPool::ThreadPool(unsigned threads)
{
  if (threads == 0) {
    threads = 1;
  }
  m_threads.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) {
    m_threads.emplace_back([this] { run(); });
  }
}

ThreadPool::~ThreadPool()
{
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_cv.notify_all();
  for (auto& t : m_threads) {
    t.join();
  }
}

void ThreadPool::submit(std::function<void()> task)
{
  {
    std::lock_guard lock(m_mutex);
    m_tasks.push_back(std::move(task));
  }
  m_cv.notify_one();
}

void ThreadPool::run()
{
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(m_mutex);
      m_cv.wait(lock, [&] { return m_stopping || !m_tasks.empty(); });
      if (m_tasks.empty()) {
        return; // stopping and drained
      }
      task = std::move(m_tasks.front());
      m_tasks.pop_front();
    }
    task();
  }
}

unsigned hardware_threads() noexcept
{
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

} // namespace pagable::util
