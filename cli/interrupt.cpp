// SPDX-License-Identifier: MIT OR Apache-2.0
#include "interrupt.hpp"

#include <csignal>

namespace pagable::cli {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_interrupt(int)
{
  g_interrupted.store(true);
}

} // namespace

void catch_interrupts()
{
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  // No SA_RESTART: a blocked write returns EINTR. SA_RESETHAND: a second Ctrl-C ends the
  // process at once, as if never caught (what a write has not committed rolls back on open).
  sa.sa_flags = SA_RESETHAND;
  ::sigaction(SIGINT, &sa, nullptr);
}

const std::atomic<bool>& interrupt_flag() noexcept
{
  return g_interrupted;
}

} // namespace pagable::cli
