// SPDX-License-Identifier: MIT OR Apache-2.0
// Large buffers (decoded packs): usable memory of any size, huge pages where the kernel has them.
#include "util/large_buffer.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

using namespace pagable;

namespace {

constexpr std::size_t kHuge = std::size_t{2} << 20;

long minor_faults_of_this_thread()
{
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_minflt;
}

} // namespace

TEST_CASE("large buffers: every size is writable memory, whole 2 MiB stretches aligned",
          "[util]")
{
  for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{4096}, kHuge - 1, kHuge,
                              kHuge + 12345, 5 * kHuge / 2}) {
    INFO("bytes " << n);
    const std::size_t len = n == 0 ? 1 : n;
    auto b = util::allocate_large_buffer(n);
    REQUIRE(b != nullptr);
    std::memset(b.get(), 0xab, len);
    CHECK(b[len - 1] == 0xab);
    CHECK(b[0] == 0xab);
    const std::size_t huge = util::large_buffer_huge_bytes(n);
    CHECK(huge == n / kHuge * kHuge); // never more than asked for
    if (huge != 0) {
      CHECK(reinterpret_cast<std::uintptr_t>(b.get()) % kHuge == 0);
    }
  }
}

TEST_CASE("large buffers: filling 6 MiB of one costs far fewer page faults than its 1,536 pages",
          "[util]")
{
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::stringstream mode;
  mode << f.rdbuf();
  // Only "madvise" tells: with "always" every large region gets huge pages, advised or not.
  if (mode.str().find("[madvise]") == std::string::npos) {
    PAGABLE_SKIP("transparent huge pages are not in madvise mode here (" << mode.str() << ")");
  }
  const std::size_t n = 4 * kHuge;
  auto b = util::allocate_large_buffer(n);
  // From the second stretch on: an allocator may write the first bytes it hands out
  // (AddressSanitizer fills the first 4 KiB), and a stretch one 4 KiB page of which is
  // already in memory can no longer fault in as one huge page.
  const long before = minor_faults_of_this_thread();
  for (std::size_t i = kHuge; i < n; i += 4096) {
    b[i] = 1;
  }
  const long faults = minor_faults_of_this_thread() - before;
  // Without the advice each of the 1,536 pages of 4 KiB faults; with it, each 2 MiB once.
  CHECK(faults < 768);
}
