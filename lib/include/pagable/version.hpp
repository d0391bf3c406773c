// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Versions of the library and of the archive format it reads and writes.

#include <cstdint>

namespace pagable {

inline constexpr const char* k_version = "0.1.0";
// The archive format this pagable writes (docs/FORMAT.md), and the oldest it reads. Format 1
// adds routed objects to format 0, format 2 wide member fingerprints to format 1, format 3
// the faster chunking fingerprint of new archives (setting pack.fingerprint), format 4 finds
// keys through an index on their first 8 bytes in new archives, and format 5 keeps versions
// of each root name (tables roots and names) and gives new archives SQLite's incremental
// vacuum. An older archive is read as it is (one version per root) and marked with today's
// format, its root table moved into format 5's, by the first transaction that writes a blob
// or a root into it.
inline constexpr std::int64_t k_format_version = 6;
inline constexpr std::int64_t k_oldest_format_read = 0;

} // namespace pagable
