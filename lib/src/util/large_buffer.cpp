// SPDX-License-Identifier: MIT OR Apache-2.0
#include "util/large_buffer.hpp"

#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace pagable::util {
namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20; // x86-64's and arm64's (4 KiB pages)

} // namespace

std::size_t large_buffer_huge_bytes(std::size_t bytes) noexcept
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  return bytes / kHugePage * kHugePage;
#else
  (void)bytes;
  return 0;
#endif
}

LargeBuffer allocate_large_buffer(std::size_t bytes)
{
  if (bytes == 0) {
    bytes = 1;
  }
  const std::size_t huge = large_buffer_huge_bytes(bytes);
  void* p = nullptr;
  if (huge == 0) {
    p = std::malloc(bytes);
  } else if (::posix_memalign(&p, kHugePage, bytes) != 0) {
    p = nullptr;
  }
  if (p == nullptr) {
    throw std::bad_alloc();
  }
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (huge != 0) {
    (void)::madvise(p, huge, MADV_HUGEPAGE); // advice: where refused, the memory is ordinary
  }
#endif
  return LargeBuffer(static_cast<std::uint8_t*>(p));
}

} // namespace pagable::util
