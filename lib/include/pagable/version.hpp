// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Versions of the library and of the archive format it reads and writes.

#include <cstdint>

namespace pagable {

inline constexpr const char* k_version = "0.1.0";
// The archive format (docs/FORMAT.md). 0 = unstable, may change without migration.
inline constexpr std::int64_t k_format_version = 0;

} // namespace pagable
