// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// TempDir: a fresh directory removed at scope exit -- unless the test failed, in which case
// it is kept and its path printed, so the archive can be inspected.

#include <pagable/blob.hpp>

#include <string>
#include <string_view>

namespace test {

class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const noexcept { return m_path; }
  std::string file(std::string_view name) const { return m_path + "/" + std::string(name); }

private:
  std::string m_path;
};

// Bytes of a string, for payloads.
pagable::Bytes bytes(std::string_view text);
// Writes `content` to `path` (replacing it).
void write_file(const std::string& path, std::string_view content);
std::string read_file(const std::string& path);

// The shared folder beside the project, or "" when it is absent (tests then SKIP visibly).
std::string shared_dir();

// Ends the current test case as skipped, saying why. CTest reports it as "Skipped", not
// "Passed" (tests/CMakeLists.txt matches the marker), so a missing corpus never passes silently.
#define PAGABLE_SKIP(reason)                                                                       \
  do {                                                                                             \
    WARN("PAGABLE_TEST_SKIPPED: " << reason);                                                      \
    return;                                                                                        \
  } while (false)

} // namespace test
