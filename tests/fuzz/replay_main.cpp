// SPDX-License-Identifier: MIT OR Apache-2.0
// Runs a fuzz target's LLVMFuzzerTestOneInput on files, without libFuzzer: how the default
// test run checks the targets' properties on their seed corpora (and how a crash input found
// by a fuzzing run is replayed under gdb). A target aborts on a broken property, so a clean
// exit means every input passed. Usage: TARGET_replay FILE_OR_DIR...
#include "support/gcc_false_positive.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool run_file(const std::filesystem::path& p)
{
  std::ifstream in(p, std::ios::binary);
  // g++ 12 false positive inside std::istreambuf_iterator.
  PAGABLE_GCC_FALSE_POSITIVE_BEGIN("-Wnull-dereference")
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  PAGABLE_GCC_FALSE_POSITIVE_END
  if (!in.good() && !in.eof()) {
    std::cerr << "replay: cannot read " << p << "\n";
    return false;
  }
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  return true;
}

} // namespace

int main(int argc, char** argv)
{
  std::size_t n = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      for (const auto& e : std::filesystem::directory_iterator(arg, ec)) {
        if (e.is_regular_file()) {
          files.push_back(e.path());
        }
      }
    } else if (std::filesystem::is_regular_file(arg, ec)) {
      files.push_back(arg);
    } else {
      std::cerr << "replay: no input file or folder at " << arg << "\n";
      return 1;
    }
    for (const auto& f : files) {
      if (!run_file(f)) {
        return 1;
      }
      ++n;
    }
  }
  if (n == 0) {
    std::cerr << "replay: no inputs\n";
    return 1;
  }
  std::cout << "replay: " << n << " inputs passed\n";
  return 0;
}
