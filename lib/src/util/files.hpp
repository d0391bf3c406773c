// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// What the library asks of the file system about a path, without opening it.
// Thread-safety: functions of their argument.

#include <cstdint>
#include <string>

namespace pagable::util {

// Returns true iff something exists at `path`.
bool file_exists(const std::string& path);
// The size of the file at `path`; 0 when there is none (or it cannot be read).
std::uint64_t file_size(const std::string& path);

} // namespace pagable::util
