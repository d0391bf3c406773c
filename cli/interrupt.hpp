// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Ctrl-C for commands that write (DESIGN §5): SIGINT sets a flag that the work polls, so that
// what is in flight is rolled back or removed and the command exits 130. Other signals keep
// their default (exit 128 + n).

#include <atomic>

namespace pagable::cli {

// From now on the first SIGINT sets the flag instead of ending the process; a second one ends
// it. Idempotent until the first.
void catch_interrupts();
// The flag: true once SIGINT arrived (the library's cancel options take its address).
const std::atomic<bool>& interrupt_flag() noexcept;
inline bool interrupted() noexcept { return interrupt_flag().load(std::memory_order_relaxed); }

} // namespace pagable::cli
