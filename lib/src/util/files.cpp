// SPDX-License-Identifier: MIT OR Apache-2.0
#include "util/files.hpp"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstdlib>

namespace pagable::util {

bool file_exists(const std::string& path)
{
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::uint64_t file_size(const std::string& path)
{
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

std::optional<FileSystemSpace> space_of(const std::string& path)
{
  std::string at = path;
  struct stat st {};
  if (::stat(at.c_str(), &st) != 0) {
    const auto slash = at.find_last_of('/');
    at = slash == std::string::npos ? "." : (slash == 0 ? "/" : at.substr(0, slash));
    if (::stat(at.c_str(), &st) != 0) {
      return std::nullopt;
    }
  }
  struct statvfs vfs {};
  if (::statvfs(at.c_str(), &vfs) != 0) {
    return std::nullopt;
  }
  return FileSystemSpace{static_cast<std::uint64_t>(st.st_dev),
                         static_cast<std::uint64_t>(vfs.f_bavail) * static_cast<std::uint64_t>(vfs.f_frsize)};
}

std::string sqlite_temp_directory()
{
  for (const char* env : {"SQLITE_TMPDIR", "TMPDIR"}) {
    const char* dir = std::getenv(env);
    struct stat st {};
    if (dir != nullptr && ::stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
      return dir;
    }
  }
  for (const char* dir : {"/var/tmp", "/usr/tmp", "/tmp"}) {
    struct stat st {};
    if (::stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
      return dir;
    }
  }
  return ".";
}

} // namespace pagable::util
