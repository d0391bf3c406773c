// SPDX-License-Identifier: MIT OR Apache-2.0
#include "store/pack_codec.hpp"

#include <zstd.h>

#include <cstdlib>
#include <memory>
#include <string>

namespace pagable::store {
namespace {

struct CctxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DctxDeleter {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

} // namespace

EncodedPack encode_pack(std::span<const std::uint8_t> raw, int level)
{
  thread_local std::unique_ptr<ZSTD_CCtx, CctxDeleter> cctx(ZSTD_createCCtx());
  EncodedPack out;
  if (raw.empty() || !cctx) {
    out.data.assign(raw.begin(), raw.end());
    return out;
  }
  Bytes buf(ZSTD_compressBound(raw.size()));
  const std::size_t n =
      ZSTD_compressCCtx(cctx.get(), buf.data(), buf.size(), raw.data(), raw.size(), level);
  if (ZSTD_isError(n) || n >= raw.size()) {
    out.data.assign(raw.begin(), raw.end()); // compression does not pay (or failed): raw
    return out;
  }
  buf.resize(n);
  out.codec = PackCodec::zstd;
  out.data = std::move(buf);
  return out;
}

Result<Bytes> decode_pack(PackCodec codec, std::span<const std::uint8_t> data,
                          std::uint64_t raw_size, std::uint64_t max_bytes)
{
  if (raw_size > max_bytes) {
    return make_error(Errc::corrupt, "pack claims " + std::to_string(raw_size) +
                                         " uncompressed bytes, more than the limit of " +
                                         std::to_string(max_bytes));
  }
  switch (codec) {
  case PackCodec::raw:
    if (data.size() != raw_size) {
      return make_error(Errc::corrupt, "raw pack holds " + std::to_string(data.size()) +
                                           " bytes, its row says " + std::to_string(raw_size));
    }
    return Bytes(data.begin(), data.end());
  case PackCodec::zstd: {
    const unsigned long long claimed = ZSTD_getFrameContentSize(data.data(), data.size());
    if (claimed == ZSTD_CONTENTSIZE_ERROR || claimed == ZSTD_CONTENTSIZE_UNKNOWN) {
      return make_error(Errc::corrupt, "pack is not a zstd frame with a known size");
    }
    if (claimed != raw_size) {
      return make_error(Errc::corrupt, "zstd frame claims " + std::to_string(claimed) +
                                           " bytes, its row says " + std::to_string(raw_size));
    }
    thread_local std::unique_ptr<ZSTD_DCtx, DctxDeleter> dctx(ZSTD_createDCtx());
    if (!dctx) {
      return make_error(Errc::internal, "out of memory creating a zstd context");
    }
    Bytes out(raw_size);
    const std::size_t n =
        ZSTD_decompressDCtx(dctx.get(), out.data(), out.size(), data.data(), data.size());
    if (ZSTD_isError(n)) {
      return make_error(Errc::corrupt,
                        std::string("pack does not decompress: ") + ZSTD_getErrorName(n));
    }
    if (n != raw_size) {
      return make_error(Errc::corrupt, "pack decompressed to " + std::to_string(n) +
                                           " bytes, its row says " + std::to_string(raw_size));
    }
    return out;
  }
  case PackCodec::zstd_dict:
  case PackCodec::zstd_prefix:
    return make_error(Errc::unusable_archive,
                      "pack uses codec " + std::to_string(static_cast<int>(codec)) +
                          ", which this version of pagable does not read yet");
  }
  return make_error(Errc::corrupt,
                    "pack has unknown codec " + std::to_string(static_cast<std::int64_t>(codec)));
}

} // namespace pagable::store
