// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Duplicate member names (RFC 8259 leaves them undefined; pack refuses them). NameSet holds
// the names seen in one open object; past PackOptions::exact_member_names members it keeps
// only a hash of each name, so that a huge object's names cost a few bytes each. A repeated
// hash is then only maybe a repeated name: DuplicateSuspects keeps those until the document
// is stored, and reads the suspected objects back to find out.
// Thread-safety: one thread (the pack's parser thread).

#include <pagable/key.hpp>
#include <pagable/result.hpp>

#include "codec/navigate.hpp"
#include "pack/hash_set.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace pagable::pack {

// Most objects have a few members: those are compared linearly in strings that keep their
// capacity from object to object (the packer reuses a cleared set for the next object at its
// depth); a hash set of the names takes over above k_linear members, and above `exact_limit`
// members only a `hash_bits`-bit hash of each name (HashSet64, which keeps 60 of them).
class NameSet {
public:
  enum class Added : std::uint8_t { yes, duplicate, maybe_duplicate };

  void set_limits(std::size_t exact_limit, unsigned hash_bits);
  // maybe_duplicate only with hashes: the name is counted as a member all the same.
  Added insert(const std::string& name);
  // With hashes only, also true for a name whose hash another member's has (a chance of
  // members / 2^60).
  bool contains(std::string_view name) const;
  // Forgets the names; keeps the limits, and the small strings' capacity.
  void clear();

private:
  static constexpr std::size_t k_linear = 16;

  std::uint64_t hash(std::string_view name) const;
  void to_hashes();

  std::vector<std::string> m_small;
  std::size_t m_count = 0;
  std::unordered_set<std::string> m_big; // all names, from k_linear to exact_limit members
  HashSet64 m_hashes;                   // their hashes instead, beyond exact_limit
  std::size_t m_exact_limit = 4096;
  std::uint64_t m_mask = ~std::uint64_t{0};
};

// The members whose name's hash an earlier member of their (huge) object has, in document
// order, each with the error to report should it be a real duplicate.
class DuplicateSuspects {
public:
  // Suspects are kept until the document is stored, so their number is bounded: with 60 bits
  // of hash, only real duplicates come anywhere near it.
  static constexpr std::size_t k_max = 65536;

  // Returns true iff k_max suspects are kept: the caller refuses the next one.
  bool full() const noexcept { return m_suspects.size() >= k_max; }
  // Member `name` of the object at pointer `object`. REQUIRES: !full().
  void add(std::string object, std::string name, Error error);
  // Reads each suspected object of the document stored under `root` once, for all its
  // suspects: the first suspect in document order whose name really repeats is the error.
  // Errors reading the document are returned as they are.
  Result<void> check(const codec::BlobLoader& load, const Key& root) const;

private:
  struct Suspect {
    std::string object; // the object's pointer
    std::string name;
    Error error;
  };
  std::vector<Suspect> m_suspects;
};

} // namespace pagable::pack
