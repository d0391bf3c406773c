// SPDX-License-Identifier: MIT OR Apache-2.0
// HashSet64: pack's compact set of member-name hashes for huge objects (see NameSet).
#pragma once

#include "codec/node_codec.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pagable::pack {

// A set of 64-bit hashes in about 8 bytes each: 4096 open-addressing shards (linear probing,
// at most 13/16 full, growing by a quarter) chosen by the hash's top 12 bits, each slot
// holding 48 of the other bits (0: empty), so that a member counts when 60 of its hash's bits
// match. Each shard stays small: a growing set never holds two large tables at once.
class HashSet64 {
public:
  // False when `h` is there already (as far as its 60 bits tell).
  bool insert(std::uint64_t h)
  {
    if (m_shards.empty()) {
      m_shards.resize(k_shards);
    }
    const std::uint64_t m = codec::mix64(h);
    Shard& s = m_shards[m >> 52];
    if ((s.used + 1) * 16 > s.size() * 13) {
      grow(s);
    }
    return place(s, stored(m));
  }

  bool contains(std::uint64_t h) const
  {
    if (m_shards.empty()) {
      return false;
    }
    const std::uint64_t m = codec::mix64(h);
    const Shard& s = m_shards[m >> 52];
    const std::uint64_t v = stored(m);
    for (std::size_t i = first_slot(s, v), n = s.size(); n != 0; i = i + 1 == n ? 0 : i + 1) {
      const std::uint64_t at = s.at(i);
      if (at == v) {
        return true;
      }
      if (at == 0) {
        return false;
      }
    }
    return false;
  }

  bool empty() const { return m_shards.empty(); }
  void clear() { std::vector<Shard>().swap(m_shards); }

private:
  static constexpr std::size_t k_shards = 4096;
  static constexpr std::size_t k_slot = 6; // bytes

  struct Shard {
    std::vector<std::uint8_t> bytes; // k_slot bytes a slot, little-endian
    std::size_t used = 0;

    std::size_t size() const { return bytes.size() / k_slot; }
    std::uint64_t at(std::size_t i) const
    {
      const std::uint8_t* p = bytes.data() + i * k_slot;
      std::uint64_t v = 0;
      for (std::size_t b = 0; b < k_slot; ++b) {
        v |= std::uint64_t{p[b]} << (8 * b);
      }
      return v;
    }
    void set(std::size_t i, std::uint64_t v)
    {
      std::uint8_t* p = bytes.data() + i * k_slot;
      for (std::size_t b = 0; b < k_slot; ++b) {
        p[b] = static_cast<std::uint8_t>(v >> (8 * b));
      }
    }
  };

  // The 48 bits kept of the mixed hash `m` (below its shard's 12), never 0.
  static std::uint64_t stored(std::uint64_t m)
  {
    const std::uint64_t v = (m >> 4) & 0xFFFFFFFFFFFFULL;
    return v == 0 ? 1 : v;
  }
  // The first slot to probe for the stored value `v` (from it alone, so that a growing shard
  // can place its values again).
  static std::size_t first_slot(const Shard& s, std::uint64_t v)
  {
    return static_cast<std::size_t>(((v & 0xFFFFFFFFU) * s.size()) >> 32);
  }

  static bool place(Shard& s, std::uint64_t v)
  {
    std::size_t i = first_slot(s, v);
    for (; s.at(i) != 0; i = i + 1 == s.size() ? 0 : i + 1) {
      if (s.at(i) == v) {
        return false;
      }
    }
    s.set(i, v);
    ++s.used;
    return true;
  }

  static void grow(Shard& s)
  {
    Shard old;
    old.bytes.swap(s.bytes);
    s.bytes.assign(std::max<std::size_t>(8, old.size() + old.size() / 4) * k_slot, 0);
    s.used = 0;
    for (std::size_t i = 0; i < old.size(); ++i) {
      if (const std::uint64_t v = old.at(i); v != 0) {
        place(s, v);
      }
    }
  }

  std::vector<Shard> m_shards; // none until the first insert
};

} // namespace pagable::pack
