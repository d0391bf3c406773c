// SPDX-License-Identifier: MIT OR Apache-2.0
#include "util/files.hpp"

#include <sys/stat.h>

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

} // namespace pagable::util
