// SPDX-License-Identifier: MIT OR Apache-2.0
// Writes the fuzz targets' seed corpora from a few small documents that, under the targets'
// small node boundaries, have chunk trees, index levels, routed objects of both fingerprint
// widths and $refs: as JSON text for pack_fuzz, and packed, in parse_fuzz_archive's form, for
// archive_fuzz. Usage: fuzz_seeds PACK_DIR ARCHIVE_DIR
#include "fuzz_support.hpp"

#include <fstream>
#include <iostream>
#include <string>
#include <vector>

using namespace pagable;

namespace {

std::string members(int n, const std::string& value)
{
  std::string s = "{";
  for (int i = 0; i < n; ++i) {
    s += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + value;
  }
  return s + "}";
}

std::vector<std::string> documents()
{
  std::string items = "[";
  for (int i = 0; i < 60; ++i) {
    items += (i ? "," : "") + std::to_string(i * 7919) + (i % 3 ? ".5" : "");
  }
  items += "]";
  return {
      members(12, "{\"v\":\"some text here\",\"n\":1}"),          // routed, narrow
      members(40, "\"value of a member\""),                       // routed, wide
      "{\"list\":" + items + ",\"big\":123456789012345678901234567890,\"z\":-0.0}",
      "{\"a\":" + members(10, "[1,2,3,{\"x\":null}]") +
          ",\"b\":{\"$ref\":\"#/a/k3\"},\"c\":[{\"$ref\":\"#/c\"},\"\\u00e9\\ud83c\\udf89\"]}",
      "[[[[[[[[\"deep\"]]]]]]],{\"\":true,\"~/\":false}]",
  };
}

} // namespace

int main(int argc, char** argv)
{
  if (argc != 3) {
    std::cerr << "usage: fuzz_seeds PACK_DIR ARCHIVE_DIR\n";
    return 2;
  }
  int n = 0;
  for (const std::string& text : documents()) {
    auto s = store::make_memory_store();
    const auto key = fuzz::pack_text(*s, text);
    if (!key) {
      std::cerr << "fuzz_seeds: pack refused seed " << n << ": " << key.error().message()
                << "\n";
      return 1;
    }
    const auto bytes = fuzz::write_fuzz_archive(*s, *key);
    if (!bytes) {
      std::cerr << "fuzz_seeds: seed " << n << ": " << bytes.error().message() << "\n";
      return 1;
    }
    const std::string name = "/seed-" + std::to_string(n++);
    std::ofstream(argv[1] + name, std::ios::binary) << text;
    std::ofstream(argv[2] + name, std::ios::binary) << *bytes;
  }
  std::cout << "fuzz_seeds: wrote " << n << " seeds to " << argv[1] << " and " << argv[2] << "\n";
  return 0;
}
