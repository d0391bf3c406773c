// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Compression of packs (groups of blob payloads), docs/FORMAT.md "Packs". zstd where it pays,
// raw where it does not; decompression refuses frames that claim absurd sizes.
// Thread-safety: free functions; each call uses its own (thread-local) zstd context.

#include <pagable/blob.hpp>
#include <pagable/result.hpp>
#include <pagable/store.hpp>

#include "util/large_buffer.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
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

// A pack decoded front to back only as far as readers have asked: a read of one blob near
// the start of a 2 MiB pack decompresses what precedes it, not the whole pack, and a later
// read further on resumes where the last one stopped. Bytes already decoded never move or
// change, so views of them stay valid for the decoder's life.
// Thread-safety: decode_to and decoded may be called from any thread.
class PackDecoder {
public:
  // Takes the row's (codec, raw_size, data) and, for zstd_prefix, the prefix bytes; the same
  // checks as decode_pack, but damage past the point read so far is found only when reached.
  // `decoded_bytes`, when given, is advanced by every byte of content decoded (and must
  // outlive the decoder).
  static Result<std::shared_ptr<PackDecoder>> open(PackCodec codec, std::span<const std::uint8_t> data,
                                                   std::uint64_t raw_size, std::uint64_t max_bytes,
                                                   Bytes prefix = {},
                                                   std::atomic<std::uint64_t>* decoded_bytes = nullptr);
  ~PackDecoder();
  PackDecoder(const PackDecoder&) = delete;
  PackDecoder& operator=(const PackDecoder&) = delete;

  // The content's first min(end, raw_size) bytes at least (more when a zstd block ends later).
  Result<std::span<const std::uint8_t>> decode_to(std::uint64_t end);
  std::uint64_t raw_size() const noexcept { return m_raw_size; }

private:
  struct Stream;
  PackDecoder(std::uint64_t raw_size);
  Result<void> step(std::uint64_t end); // m_mutex held

  const std::uint64_t m_raw_size;
  util::LargeBuffer m_out;               // raw_size bytes, written front to back
  std::atomic<std::uint64_t>* m_decoded_bytes = nullptr;
  std::mutex m_mutex;
  std::uint64_t m_done = 0;              // guarded by m_mutex: bytes of m_out decoded
  std::unique_ptr<Stream> m_stream;      // guarded by m_mutex: null once complete
  std::optional<Error> m_error;          // guarded by m_mutex: a damaged frame stays damaged
};

// The checks import_pack makes of an image, shared by every backend: its digest, that it
// decodes (with `prefix`, its bases' slices, for codec 3) to raw_size bytes of at most
// max_bytes, and that every entry lies inside the content and hashes to its key.
Result<void> check_pack_image(const PackImage& image, std::span<const std::uint8_t> prefix,
                              std::uint64_t max_bytes);

} // namespace pagable::store
