// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Blob: what the store keeps for one node -- its canonical bytes and the ordered keys of its
// children. The store treats `data` as opaque. A value type.

#include <pagable/key.hpp>

#include <cstdint>
#include <vector>

namespace pagable {

using Bytes = std::vector<std::uint8_t>;

struct Blob {
  Bytes data;
  std::vector<Key> children;

  // The content address of this blob (compute_key over data and children).
  Key key() const { return compute_key(data, children); }
  friend bool operator==(const Blob&, const Blob&) = default;
};

} // namespace pagable
