// SPDX-License-Identifier: MIT OR Apache-2.0
// The README's five-minute tour is run as written, so that it cannot rot.
#include "support/run_pagable.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>

namespace {

// The commands of the first ```sh block after `heading`, continuation lines joined.
std::vector<std::string> commands_after(const std::string& text, const std::string& heading)
{
  std::vector<std::string> out;
  std::istringstream in(text.substr(text.find(heading)));
  std::string line;
  bool inside = false;
  std::string pending;
  while (std::getline(in, line)) {
    if (!inside) {
      inside = line == "```sh";
      continue;
    }
    if (line == "```") {
      break;
    }
    if (!line.empty() && line.back() == '\\') {
      pending += line.substr(0, line.size() - 1);
      continue;
    }
    out.push_back(pending + line);
    pending.clear();
  }
  return out;
}

} // namespace

TEST_CASE("README: the five-minute tour runs as written", "[cli][docs]")
{
  const std::string readme = test::read_file(std::string(PAGABLE_SOURCE_DIR) + "/README.md");
  const auto commands = commands_after(readme, "## A five-minute tour");
  REQUIRE(commands.size() >= 8);
  test::TempDir dir;
  std::filesystem::create_directory_symlink(std::string(PAGABLE_SOURCE_DIR) + "/examples",
                                            dir.file("examples"));
  const std::string bin = std::filesystem::path(PAGABLE_BINARY).parent_path().string();
  for (const auto& command : commands) {
    INFO(command);
    const auto r = test::run_process(
        {"/bin/sh", "-c", "cd '" + dir.path() + "' && PATH='" + bin + "':$PATH && " + command});
    INFO(r.out);
    INFO(r.err);
    CHECK(r.exit_code == 0);
  }
  // What the tour claims: the second pack of the same document stored nothing new, and the
  // whole document came back.
  CHECK(std::filesystem::file_size(dir.file("back.json")) > 0);
}
