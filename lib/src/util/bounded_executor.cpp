// SPDX-License-Identifier: MIT OR Apache-2.0
#include "util/bounded_executor.hpp"

namespace pagable::util {

BoundedExecutor::BoundedExecutor(unsigned threads, std::size_t max_cost) : m_max_cost(max_cost)
{
  if (threads > 0) {
    m_pool = std::make_unique<ThreadPool>(threads);
  }
}

BoundedExecutor::~BoundedExecutor()
{
  wait_idle();
}

void BoundedExecutor::submit(std::size_t cost, std::function<void()> task)
{
  if (!m_pool) {
    task();
    return;
  }
  {
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [&] { return m_tasks == 0 || m_cost + cost <= m_max_cost; });
    m_cost += cost;
    ++m_tasks;
  }
  m_pool->submit([this, cost, task = std::move(task)] {
    task();
    std::lock_guard lock(m_mutex);
    m_cost -= cost;
    --m_tasks;
    m_changed.notify_all();
  });
}

void BoundedExecutor::wait_idle()
{
  std::unique_lock lock(m_mutex);
  m_changed.wait(lock, [&] { return m_tasks == 0; });
}

} // namespace pagable::util
