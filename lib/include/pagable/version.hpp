// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Versions of the library and of the archive format it reads and writes.

#include <cstdint>

namespace pagable {

inline constexpr const char* k_version = "0.1.0";
// The archive format (docs/FORMAT.md). 0 = unstable, may change without migration.
// The archive format this pagable writes (docs/FORMAT.md), and the oldest it reads. Format 1
// adds routed objects to format 0 and changes nothing else, so a format-0 archive is read as
// it is and marked format 1 when pagable first opens it to write.
inline constexpr std::int64_t k_format_version = 1;
inline constexpr std::int64_t k_oldest_format_read = 0;

} // namespace pagable
