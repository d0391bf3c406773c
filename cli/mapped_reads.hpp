// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// SIGBUS under a memory map (issue 20). Commands that map the archive for reading
// (`hydrate --at`, verify's walk) touch its pages as memory; when the kernel cannot serve one
// -- the file was truncated by another program while mapped, or its storage returned an I/O
// error -- it raises SIGBUS, which would end the process with no word of why (verify of an
// archive truncated under it did). guard_mapped_reads installs a handler that writes an error
// prepared beforehand (naming the archive; with --json the error report too) and exits 6.
// Mapped reads happen only in read-only work, so nothing is left half-written; a reader's
// -shm is cleaned up by the next connection. The handler cannot resume SQLite, so the
// command ends: a mapping is kept rather than dropped because it spares a cold
// `hydrate --at` a pread per page (docs/RELIABILITY.md, "a failing mapped read").

#include "output.hpp"

#include <string>

namespace pagable::cli {

// From now on a SIGBUS ends the command with an I/O error about `archive`. Call before the
// archive is opened with a mapping; calling again replaces the message.
void guard_mapped_reads(const std::string& archive, const Output& out);

} // namespace pagable::cli
