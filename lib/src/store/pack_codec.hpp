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
  zstd_prefix = 3, // one zstd frame compressed with a raw-content prefix: the concatenated
                   // slices of older packs listed in pack_bases (a delta)
};

struct EncodedPack {
  PackCodec codec = PackCodec::raw;
  Bytes data;
};

// Compresses `raw` at `level`; keeps it raw when compression saves nothing. With a non-empty
// `prefix` (bytes the content resembles: older versions of the same nodes) it also tries a
// zstd frame that references the prefix and keeps whichever is smaller.
EncodedPack encode_pack(std::span<const std::uint8_t> raw, int level,
                        std::span<const std::uint8_t> prefix = {});

// Decodes a pack whose row says (codec, raw_size); `prefix` is required for zstd_prefix and
// must be the bytes it was encoded with. Errc::corrupt when the frame is damaged, claims a
// size other than raw_size, or raw_size exceeds max_bytes.
Result<Bytes> decode_pack(PackCodec codec, std::span<const std::uint8_t> data,
                          std::uint64_t raw_size, std::uint64_t max_bytes,
                          std::span<const std::uint8_t> prefix = {});

} // namespace pagable::store
