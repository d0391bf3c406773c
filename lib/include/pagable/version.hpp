// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Versions of the library and of the archive format it reads and writes.

#include <cstdint>

namespace pagable {

inline constexpr const char* k_version = "0.1.0";
// The archive format this pagable writes (docs/FORMAT.md), and the oldest it reads. Format 1
// adds routed objects to format 0, format 2 wide member fingerprints to format 1, format 3
// the faster chunking fingerprint of new archives (setting pack.fingerprint), format 4 finds
// keys through an index on their first 8 bytes in new archives, and none changes anything
// else, so an older archive is read as it is and marked with today's format when pagable
// first stores a blob in it.
inline constexpr std::int64_t k_format_version = 4;
inline constexpr std::int64_t k_oldest_format_read = 0;

} // namespace pagable
