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

EncodedPack encode_pack(std::span<const std::uint8_t> raw, int level,
                        std::span<const std::uint8_t> prefix)
{
  thread_local std::unique_ptr<ZSTD_CCtx, CctxDeleter> cctx(ZSTD_createCCtx());
  EncodedPack out;
  out.data.assign(raw.begin(), raw.end()); // raw unless compression pays
  if (raw.empty() || !cctx) {
    return out;
  }
  Bytes buf(ZSTD_compressBound(raw.size()));
  const auto attempt = [&](bool with_prefix, PackCodec codec) {
    ZSTD_CCtx_reset(cctx.get(), ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_contentSizeFlag, 1);
    if (with_prefix) {
      // The window must reach back over the whole prefix.
      int log = 10;
      while (log < 27 && (std::size_t{1} << log) < prefix.size() + raw.size()) {
        ++log;
      }
      ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_windowLog, log);
      ZSTD_CCtx_refPrefix(cctx.get(), prefix.data(), prefix.size());
    }
    const std::size_t n = ZSTD_compress2(cctx.get(), buf.data(), buf.size(), raw.data(), raw.size());
    if (!ZSTD_isError(n) && n < out.data.size()) {
      out.codec = codec;
      out.data.assign(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    }
  };
  attempt(false, PackCodec::zstd);
  if (!prefix.empty()) {
    attempt(true, PackCodec::zstd_prefix);
  }
  return out;
}

Result<Bytes> decode_pack(PackCodec codec, std::span<const std::uint8_t> data,
                          std::uint64_t raw_size, std::uint64_t max_bytes,
                          std::span<const std::uint8_t> prefix)
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
  case PackCodec::zstd:
  case PackCodec::zstd_prefix: {
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
    ZSTD_DCtx_reset(dctx.get(), ZSTD_reset_session_and_parameters);
    ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, 27);
    if (codec == PackCodec::zstd_prefix) {
      if (prefix.empty()) {
        return make_error(Errc::corrupt, "delta pack has no base content");
      }
      ZSTD_DCtx_refPrefix(dctx.get(), prefix.data(), prefix.size());
    }
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
    return make_error(Errc::unusable_archive,
                      "pack uses codec " + std::to_string(static_cast<int>(codec)) +
                          ", which this version of pagable does not read yet");
  }
  return make_error(Errc::corrupt,
                    "pack has unknown codec " + std::to_string(static_cast<std::int64_t>(codec)));
}

} // namespace pagable::store
