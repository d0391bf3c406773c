// SPDX-License-Identifier: MIT OR Apache-2.0
// The pagable command. Everything it does lives in lib/; cli/ parses, calls, and prints.
#include "app.hpp"

#include <malloc.h>

#include <csignal>

int main(int argc, char** argv)
{
  // Decoded packs are buffers of up to a few MiB, allocated and freed many times by a read
  // (a delta pack decodes its base packs too). Above glibc's default mmap threshold each one
  // was a fresh mapping: page faults, kernel zeroing and munmap took 63% of a cold
  // `hydrate --at` on a 5-release delta chain. From the heap they reuse freed memory.
  mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
  // A closed standard output (`pagable hydrate A R | head`) shows as EPIPE, not as a kill in
  // the middle of a read: the archive is then closed as after any error (no -wal/-shm left
  // behind) and the command exits 141, quietly (Output::error).
  std::signal(SIGPIPE, SIG_IGN);
  return pagable::cli::run_cli(argc, argv);
}
