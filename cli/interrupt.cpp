// SPDX-License-Identifier: MIT OR Apache-2.0
#include "interrupt.hpp"

#include <csignal>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

namespace pagable::cli {
namespace {

std::atomic<int> g_signal{0};
std::stop_source g_stop;
int g_pipe[2] = {-1, -1};

extern "C" void on_signal(int sig)
{
  // Async-signal-safe only: an atomic store and write(2).
  int expected = 0;
  g_signal.compare_exchange_strong(expected, sig);
  const unsigned char byte = static_cast<unsigned char>(sig);
  [[maybe_unused]] const auto n = ::write(g_pipe[1], &byte, 1);
}

void watch()
{
  unsigned char byte = 0;
  while (::read(g_pipe[0], &byte, 1) < 0 && errno == EINTR) {
  }
  g_stop.request_stop();
}

} // namespace

void catch_interrupts()
{
  static std::once_flag once;
  std::call_once(once, [] {
    if (::pipe2(g_pipe, O_CLOEXEC) != 0) {
      return; // the default actions stay: the process ends at the signal
    }
    std::thread(watch).detach();
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    // No SA_RESTART: a blocked write returns EINTR. SA_RESETHAND: a second signal ends the
    // process at once, as if never caught (what a write has not committed rolls back on open).
    sa.sa_flags = SA_RESETHAND;
    for (const int sig : {SIGINT, SIGTERM, SIGHUP}) {
      ::sigaction(sig, &sa, nullptr);
    }
  });
}

std::stop_token interrupt_token() noexcept
{
  return g_stop.get_token();
}

int interrupt_signal() noexcept
{
  return g_signal.load(std::memory_order_relaxed);
}

} // namespace pagable::cli
