// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// blobs.children: the concatenated 32-byte child keys of a blob (docs/FORMAT.md "Blobs").

#include <pagable/blob.hpp>
#include <pagable/key.hpp>
#include <pagable/result.hpp>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace pagable::store {

Bytes encode_children(std::span<const Key> children);

// Splits a stored child list; Errc::corrupt, naming `owner` ("blob 3fa2…"), when its length is
// not a multiple of 32.
Result<std::vector<Key>> decode_children(std::span<const std::uint8_t> raw, std::string_view owner);

} // namespace pagable::store
