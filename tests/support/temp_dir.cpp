// SPDX-License-Identifier: MIT OR Apache-2.0
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace test {

TempDir::TempDir()
{
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/pagable-test-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  m_path = tmpl;
}

TempDir::~TempDir()
{
  auto* ctx = Catch::getCurrentContext().getResultCapture();
  if (ctx != nullptr && !ctx->lastAssertionPassed()) {
    std::cerr << "test failed: keeping " << m_path << '\n';
    return;
  }
  std::error_code ec;
  std::filesystem::permissions(m_path, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::add, ec);
  std::filesystem::remove_all(m_path, ec);
}

pagable::Bytes bytes(std::string_view text)
{
  return pagable::Bytes(text.begin(), text.end());
}

void write_file(const std::string& path, std::string_view content)
{
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) {
    throw std::runtime_error("cannot write " + path);
  }
}

std::string read_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string shared_dir()
{
  if (const char* env = std::getenv("PAGABLE_SHARED_DIR"); env && *env) {
    return std::filesystem::exists(env) ? env : "";
  }
#ifdef PAGABLE_SHARED_DIR
  if (std::filesystem::exists(PAGABLE_SHARED_DIR "/corpora")) {
    return PAGABLE_SHARED_DIR;
  }
#endif
  return "";
}

} // namespace test
