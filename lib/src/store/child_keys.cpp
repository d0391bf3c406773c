// SPDX-License-Identifier: MIT OR Apache-2.0
#include "store/child_keys.hpp"

#include <string>

namespace pagable::store {

Bytes encode_children(std::span<const Key> children)
{
  Bytes out;
  out.reserve(children.size() * Key::k_size);
  for (const Key& k : children) {
    out.insert(out.end(), k.digest().begin(), k.digest().end());
  }
  return out;
}

Result<std::vector<Key>> decode_children(std::span<const std::uint8_t> raw, std::string_view owner)
{
  if (raw.size() % Key::k_size != 0) {
    return make_error(Errc::corrupt, std::string(owner) + ": child key list of " +
                                         std::to_string(raw.size()) +
                                         " bytes is not a multiple of 32");
  }
  std::vector<Key> out;
  out.reserve(raw.size() / Key::k_size);
  for (std::size_t i = 0; i < raw.size(); i += Key::k_size) {
    PAGABLE_TRY_ASSIGN(Key k, Key::from_bytes(raw.subspan(i, Key::k_size)));
    out.push_back(k);
  }
  return out;
}

} // namespace pagable::store
