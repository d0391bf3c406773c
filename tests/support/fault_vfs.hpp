// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// A fault-injection SQLite VFS for tests (issue 20; SQLite's own I/O-error tests, applied to
// pagable): a shim over the default VFS that counts every write, sync and read of every file
// SQLite opens (the archive, its -wal and -shm, journals), and can fail the Nth one with EIO,
// ENOSPC, or a short write (half the bytes written, then "disk full", as SQLite's unix VFS
// reports one). It also counts SQLite's allocations (its malloc and growing realloc, through
// SQLITE_CONFIG_MALLOC, as SQLite's own malloc tests do) and can fail the Nth with "out of
// memory". Memory-mapped reads are switched off while it is installed (xFetch hands back
// no mapping), so that every read goes through xRead and can fail.
//
// Usage: FaultVfs::Scope scope; (installs it as the default VFS for connections opened from
// now on, and the counting allocator; the previous ones come back when the scope ends), then
// arm() / disarm(). The allocator can only be swapped while SQLite is shut down: create and
// end a Scope while no connection is open in the process.
// Thread-safety: the counters are atomic; arm and disarm from the test's thread while no
// connection is in use.

#include <atomic>
#include <cstdint>
#include <string>

namespace test::fault {

enum class Op : std::uint8_t { write, sync, read, alloc };
// eio, enospc and short_write are for writes (eio also for syncs and reads); nomem for allocations.
enum class Failure : std::uint8_t { eio, enospc, short_write, nomem };

std::string op_name(Op op);
std::string failure_name(Failure failure);

class FaultVfs {
public:
  // Installs the shim as SQLite's default VFS for the scope's lifetime.
  class Scope {
  public:
    Scope();
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
  };

  // From now on, the `nth` (1-based) operation of kind `op` fails with `failure`; each later
  // one of that kind fails too while `persistent` (a disk that stays full), else only that one.
  static void arm(Op op, std::uint64_t nth, Failure failure, bool persistent);
  static void disarm();
  // Operations of each kind since the last arm() or reset_counts().
  static std::uint64_t count(Op op);
  static void reset_counts();
  // Returns true iff the armed fault has fired since arm().
  static bool fired();
};

} // namespace test::fault
