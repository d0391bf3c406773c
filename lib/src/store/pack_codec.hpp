// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Compression of packs (groups of blob payloads), docs/FORMAT.md "Packs". zstd where it pays,
// raw where it does not; decompression refuses frames that claim absurd sizes.
// Thread-safety: free functions; each call uses its own (thread-local) zstd context.

#include <pagable/blob.hpp>
#include <pagable/result.hpp>

#include <cstdint>
#include <span>

namespace pagable::store {

enum class PackCodec : std::int64_t {
  raw = 0,         // data stored as is
  zstd = 1,        // one zstd frame
  zstd_dict = 2,   // reserved: one zstd frame with the dictionary dicts.id = packs.dict_id
  zstd_prefix = 3, // reserved: one zstd frame whose prefix is the content of packs.base_pack
};

struct EncodedPack {
  PackCodec codec = PackCodec::raw;
  Bytes data;
};

// Compresses `raw` at `level`; keeps it raw when compression saves nothing.
EncodedPack encode_pack(std::span<const std::uint8_t> raw, int level);

// Decodes a pack whose row says (codec, raw_size). Errc::corrupt when the frame is damaged,
// claims a size other than raw_size, or raw_size exceeds max_bytes.
Result<Bytes> decode_pack(PackCodec codec, std::span<const std::uint8_t> data,
                          std::uint64_t raw_size, std::uint64_t max_bytes);

} // namespace pagable::store
