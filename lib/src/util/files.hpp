// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// What the library asks of the file system about a path, without opening it.
// Thread-safety: functions of their argument.

#include <cstdint>
#include <optional>
#include <string>

namespace pagable::util {

// Returns true iff something exists at `path`.
bool file_exists(const std::string& path);
// The size of the file at `path`; 0 when there is none (or it cannot be read).
std::uint64_t file_size(const std::string& path);

// The file system that holds `path` (which may not exist yet: its directory is asked then).
struct FileSystemSpace {
  std::uint64_t device = 0;     // st_dev: equal for two paths on one file system
  std::uint64_t free_bytes = 0; // available to an unprivileged writer
};
std::optional<FileSystemSpace> space_of(const std::string& path);
// The directory SQLite puts its temporary files in (VACUUM's copy): $SQLITE_TMPDIR, $TMPDIR,
// /var/tmp, /usr/tmp or /tmp, the first that is a directory.
std::string sqlite_temp_directory();

} // namespace pagable::util
