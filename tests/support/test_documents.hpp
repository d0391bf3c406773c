// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Documents several tests build: header-only, deterministic.

#include "support/text.hpp"

#include <nlohmann/json.hpp>

#include <random>
#include <string>

namespace test {

// An object of 3000 members of about 130 bytes (a chunked, routed object: FORMAT.md "Routed
// objects"); `version` changes the "version_added" of every 37th member, so two versions
// make an update of few changed nodes (delta packs).
// `n` letters and digits drawn from `rng`: text that compresses little.
inline std::string random_token(std::mt19937& rng, int n)
{
  std::string tok;
  for (int k = 0; k < n; ++k) {
    tok += "abcdefghijklmnopqrstuvwxyz0123456789"[rng() % 36];
  }
  return tok;
}

inline std::string versioned_object(int version)
{
  std::mt19937 rng(3);
  nlohmann::ordered_json doc = nlohmann::ordered_json::object();
  for (int i = 0; i < 3000; ++i) {
    const std::string tok = random_token(rng, 100);
    doc[test::cat("k", i)] = {{"t", tok},
                              {"version_added", i % 37 == 0 ? std::to_string(version) : "1"}};
  }
  return doc.dump();
}

} // namespace test
