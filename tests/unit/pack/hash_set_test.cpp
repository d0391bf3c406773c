// SPDX-License-Identifier: MIT OR Apache-2.0
#include "pack/hash_set.hpp"

#include <catch2/catch.hpp>

#include <random>

using pagable::pack::HashSet64;

TEST_CASE("HashSet64 keeps every hash through its shards' growth", "[pack]")
{
  // 300,000 hashes: each of the 4096 shards grows from 8 slots many times over.
  std::mt19937_64 rng(42);
  std::vector<std::uint64_t> in(300000);
  for (auto& h : in) {
    h = rng() | 1;
  }
  HashSet64 set;
  CHECK(set.empty());
  CHECK_FALSE(set.contains(in[0]));
  for (std::size_t i = 0; i < in.size(); ++i) {
    REQUIRE(set.insert(in[i]));
    if (i % 1000 == 0) {
      REQUIRE(set.contains(in[i / 2])); // an earlier one, after the growth since
    }
  }
  std::size_t missing = 0;
  std::size_t repeated = 0;
  for (const std::uint64_t h : in) {
    missing += set.contains(h) ? 0 : 1;
    repeated += set.insert(h) ? 1 : 0; // false: already there
  }
  CHECK(missing == 0);
  CHECK(repeated == 0);
  std::size_t false_hits = 0;
  for (int i = 0; i < 300000; ++i) {
    false_hits += set.contains(rng()) ? 1 : 0;
  }
  CHECK(false_hits == 0); // 60 bits count: a chance of 300,000 / 2^60 each
  set.clear();
  CHECK(set.empty());
  CHECK_FALSE(set.contains(in[5]));
  CHECK(set.insert(in[5]));
}

TEST_CASE("HashSet64 tells hashes apart by 60 bits, small values included", "[pack]")
{
  HashSet64 set;
  for (std::uint64_t h = 1; h <= 5000; ++h) {
    REQUIRE(set.insert(h));
  }
  for (std::uint64_t h = 1; h <= 5000; ++h) {
    REQUIRE(set.contains(h));
    REQUIRE_FALSE(set.insert(h));
  }
  for (std::uint64_t h = 5001; h <= 10000; ++h) {
    REQUIRE_FALSE(set.contains(h));
  }
}
