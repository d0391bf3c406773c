// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Interruptions for commands that write (DESIGN §5): SIGINT, SIGTERM (what CI runners send
// when a job is cancelled) and SIGHUP stop the work, which rolls back or removes what is in
// flight, and the command exits 128 + the signal's number. The signal handler only writes the
// signal's number to a pipe; a watcher thread reads it and requests the stop, since
// std::stop_source::request_stop may not be called from a signal handler.

#include <atomic>
#include <stop_token>

namespace pagable::cli {

// From now on the first SIGINT, SIGTERM or SIGHUP stops the work instead of ending the
// process; a second one ends it. Idempotent.
void catch_interrupts();
// Stopped once one of those signals arrived.
std::stop_token interrupt_token() noexcept;
// The signal that stopped the work (0: none yet).
int interrupt_signal() noexcept;
inline bool interrupted() noexcept
{
  return interrupt_signal() != 0;
}

} // namespace pagable::cli
