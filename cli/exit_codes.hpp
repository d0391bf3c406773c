// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The exit-code table of DESIGN §5, in one place. man/pagable.1 lists the same table
// (EXIT STATUS); tests/cli checks the codes end to end.

#include <pagable/result.hpp>

namespace pagable::cli {

enum ExitCode : int {
  k_exit_ok = 0,
  k_exit_bad_input = 1,      // JSON syntax, schema validation, dangling reference, limits
  k_exit_usage = 2,          // bad options or arguments (also: a named root does not exist)
  k_exit_problems = 3,       // verify found problems; repair lost versions
  k_exit_busy = 4,           // the write lock was not free within --lock-wait
  k_exit_unusable = 5,       // missing, not a pagable archive, newer format, corrupt
  k_exit_io = 6,             // disk full, out of memory, permission denied, SIGBUS under a map
  k_exit_network = 7,        // a remote store unreachable, or its registry refused
  k_exit_unsupported = 8,    // the registry does not allow it (gc REMOTE: deleting manifests)
  k_exit_internal = 70,      // a bug in pagable (EX_SOFTWARE); please report it
  k_exit_interrupted = 130,  // SIGINT; 128 + n for other signals
  k_exit_broken_pipe = 141,  // 128 + SIGPIPE: standard output's reader went away (quietly)
};

// Maps a library error to the exit code the CLI returns for it.
int exit_code_for(Errc code) noexcept;

} // namespace pagable::cli
