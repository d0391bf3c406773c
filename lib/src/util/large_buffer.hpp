// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Buffers of megabytes that are filled front to back once, such as a decoded pack. Filling
// fresh memory costs one page fault per 4 KiB page it touches; where a fault is expensive (in
// a virtual machine, 10-25 us each) a 2 MiB pack costs more in faults than in decompression.
// A large buffer therefore starts on a 2 MiB boundary and its whole 2 MiB stretches are
// offered to the kernel for transparent huge pages (madvise), each then faulting in at once;
// the tail past the last whole stretch, and every buffer where the kernel declines, is
// ordinary memory. Nothing is rounded up. The advice stays with the memory after it is freed:
// a later small allocation in such a stretch of the heap may fault in a whole huge page, so a
// process may hold up to 2 MiB more per such stretch than it touched.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace pagable::util {

struct LargeBufferFree {
  void operator()(std::uint8_t* p) const noexcept { std::free(p); }
};
using LargeBuffer = std::unique_ptr<std::uint8_t[], LargeBufferFree>;

// Uninitialised memory for `bytes` bytes (at least one); throws std::bad_alloc when there is
// none.
LargeBuffer allocate_large_buffer(std::size_t bytes);

// How many leading bytes of allocate_large_buffer(bytes) are offered for huge pages: the whole
// 2 MiB stretches on Linux, 0 elsewhere.
std::size_t large_buffer_huge_bytes(std::size_t bytes) noexcept;

} // namespace pagable::util
