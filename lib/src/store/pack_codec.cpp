// SPDX-License-Identifier: MIT OR Apache-2.0
#include "store/pack_codec.hpp"

#define ZSTD_STATIC_LINKING_ONLY // ZSTD_d_stableOutBuffer: decode straight into the content buffer
#include <zstd.h>

#include <algorithm>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>
#include <string>

namespace pagable::store {
namespace {

struct CctxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DctxDeleter {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

// Decompression contexts of streams that ended, for the next pack a reader opens: making a
// context for each took 8% of a walk that pages values in at random, each from a pack the
// cache no longer holds (bench_objects pagable-paging). Never destroyed, so that a decoder
// outliving static destruction still has somewhere to put its context back.
class DctxPool {
public:
  ZSTD_DCtx* take()
  {
    {
      std::lock_guard lock(m_mutex);
      if (!m_free.empty()) {
        ZSTD_DCtx* c = m_free.back();
        m_free.pop_back();
        return c;
      }
    }
    return ZSTD_createDCtx();
  }
  void give(ZSTD_DCtx* c)
  {
    if (c == nullptr) {
      return;
    }
    std::unique_lock lock(m_mutex);
    if (m_free.size() < k_max_free) {
      m_free.push_back(c);
      return;
    }
    lock.unlock();
    ZSTD_freeDCtx(c);
  }

private:
  static constexpr std::size_t k_max_free = 16; // each up to a few hundred kB
  std::mutex m_mutex;
  std::vector<ZSTD_DCtx*> m_free;
};

DctxPool& dctx_pool()
{
  static DctxPool* pool = new DctxPool;
  return *pool;
}

struct PooledDctx {
  void operator()(ZSTD_DCtx* c) const { dctx_pool().give(c); }
};

} // namespace

EncodedPack encode_pack(std::span<const std::uint8_t> raw, int level,
                        std::span<const std::uint8_t> prefix)
{
  thread_local std::unique_ptr<ZSTD_CCtx, CctxDeleter> cctx(ZSTD_createCCtx());
  EncodedPack out;
  if (raw.empty() || !cctx) {
    out.data.assign(raw.begin(), raw.end());
    return out;
  }
  // Frames are written straight into out.data, and the raw bytes are copied only when no
  // frame is smaller (every 2 MiB pack was copied before it was compressed).
  const std::size_t bound = ZSTD_compressBound(raw.size());
  std::size_t best = raw.size(); // a frame must be smaller than the raw bytes to be kept
  Bytes spare;
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
    Bytes& buf = out.codec == PackCodec::raw ? out.data : spare; // never the kept frame
    buf.resize(bound);
    const std::size_t n = ZSTD_compress2(cctx.get(), buf.data(), buf.size(), raw.data(), raw.size());
    if (!ZSTD_isError(n) && n < best) {
      best = n;
      buf.resize(n);
      if (&buf != &out.data) {
        std::swap(out.data, spare);
      }
      out.codec = codec;
    }
  };
  attempt(false, PackCodec::zstd);
  if (!prefix.empty()) {
    attempt(true, PackCodec::zstd_prefix);
  }
  if (out.codec == PackCodec::raw) {
    out.data.assign(raw.begin(), raw.end());
  } else {
    out.data.shrink_to_fit();
  }
  return out;
}

namespace {

// The checks every decode makes before it decompresses anything.
Result<void> check_frame(PackCodec codec, std::span<const std::uint8_t> data, std::uint64_t raw_size,
                         std::uint64_t max_bytes, bool has_prefix)
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
    return {};
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
    if (codec == PackCodec::zstd_prefix && !has_prefix) {
      return make_error(Errc::corrupt, "delta pack has no base content");
    }
    return {};
  }
  case PackCodec::zstd_dict:
    return make_error(Errc::unusable_archive,
                      "pack uses codec " + std::to_string(static_cast<int>(codec)) +
                          ", which this version of pagable does not read yet");
  }
  return make_error(Errc::corrupt,
                    "pack has unknown codec " + std::to_string(static_cast<std::int64_t>(codec)));
}

// A decompression context for one frame: the window may be as large as a writer's prefix.
Result<void> prepare_dctx(ZSTD_DCtx* dctx, std::span<const std::uint8_t> prefix)
{
  if (dctx == nullptr) {
    return make_error(Errc::internal, "out of memory creating a zstd context");
  }
  ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);
  ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 27);
  if (!prefix.empty()) {
    ZSTD_DCtx_refPrefix(dctx, prefix.data(), prefix.size());
  }
  return {};
}

Error not_decompressing(std::size_t zstd_code)
{
  return Error(Errc::corrupt, std::string("pack does not decompress: ") + ZSTD_getErrorName(zstd_code));
}

Error wrong_size(std::uint64_t got, std::uint64_t raw_size)
{
  return Error(Errc::corrupt, "pack decompressed to " + std::to_string(got) +
                                  " bytes, its row says " + std::to_string(raw_size));
}

} // namespace

Result<Bytes> decode_pack(PackCodec codec, std::span<const std::uint8_t> data,
                          std::uint64_t raw_size, std::uint64_t max_bytes,
                          std::span<const std::uint8_t> prefix)
{
  PAGABLE_TRY(check_frame(codec, data, raw_size, max_bytes, !prefix.empty()));
  if (codec == PackCodec::raw) {
    return Bytes(data.begin(), data.end());
  }
  thread_local std::unique_ptr<ZSTD_DCtx, DctxDeleter> dctx(ZSTD_createDCtx());
  PAGABLE_TRY(prepare_dctx(dctx.get(), codec == PackCodec::zstd_prefix ? prefix
                                                                      : std::span<const std::uint8_t>{}));
  Bytes out(raw_size);
  const std::size_t n =
      ZSTD_decompressDCtx(dctx.get(), out.data(), out.size(), data.data(), data.size());
  if (ZSTD_isError(n)) {
    return not_decompressing(n);
  }
  if (n != raw_size) {
    return wrong_size(n, raw_size);
  }
  return out;
}

struct PackDecoder::Stream {
  std::unique_ptr<ZSTD_DCtx, PooledDctx> dctx; // reset by prepare_dctx before each frame
  Bytes data;               // the compressed frame
  std::size_t in_pos = 0;   // how much of it zstd has consumed
  std::size_t next_in = 64; // zstd's hint: the input its next step wants (a block)
  Bytes prefix;             // referenced by dctx until the frame ends
};

PackDecoder::PackDecoder(std::uint64_t raw_size)
    : m_raw_size(raw_size), m_out(util::allocate_large_buffer(raw_size))
{
}

PackDecoder::~PackDecoder() = default;

Result<std::shared_ptr<PackDecoder>> PackDecoder::open(PackCodec codec,
                                                      std::span<const std::uint8_t> data,
                                                      std::uint64_t raw_size,
                                                      std::uint64_t max_bytes, Bytes prefix,
                                                      std::atomic<std::uint64_t>* decoded_bytes)
{
  PAGABLE_TRY(check_frame(codec, data, raw_size, max_bytes, !prefix.empty()));
  std::shared_ptr<PackDecoder> d(new PackDecoder(raw_size));
  d->m_decoded_bytes = decoded_bytes;
  if (codec == PackCodec::raw) {
    std::copy(data.begin(), data.end(), d->m_out.get());
    d->m_done = raw_size;
    if (decoded_bytes != nullptr) {
      decoded_bytes->fetch_add(raw_size, std::memory_order_relaxed);
    }
    return d;
  }
  auto stream = std::make_unique<Stream>();
  stream->dctx.reset(dctx_pool().take());
  stream->data.assign(data.begin(), data.end());
  if (codec == PackCodec::zstd_prefix) {
    stream->prefix = std::move(prefix);
  }
  PAGABLE_TRY(prepare_dctx(stream->dctx.get(), stream->prefix));
  // zstd writes each block straight into the content buffer, which never moves.
  ZSTD_DCtx_setParameter(stream->dctx.get(), ZSTD_d_stableOutBuffer, 1);
  d->m_stream = std::move(stream);
  return d;
}

Result<std::span<const std::uint8_t>> PackDecoder::decode_to(std::uint64_t end)
{
  std::lock_guard lock(m_mutex);
  if (m_error) {
    return *m_error;
  }
  end = std::min(end, m_raw_size);
  // Asked for everything, the frame is read to its end, so that trailing damage is found.
  if (m_stream && (m_done < end || end == m_raw_size)) {
    auto stepped = step(end);
    if (!stepped) {
      m_error = stepped.error();
      m_stream.reset();
      return std::move(stepped).error();
    }
  }
  return std::span<const std::uint8_t>(m_out.get(), m_done);
}

Result<void> PackDecoder::step(std::uint64_t end)
{
  Stream& s = *m_stream;
  // One block per call: zstd decodes a block once all of it is in its input, so feeding it
  // the size it hints stops decoding soon after `end` instead of at the end of the pack.
  ZSTD_outBuffer out{m_out.get(), m_raw_size, m_done};
  for (;;) {
    ZSTD_inBuffer in{s.data.data(), std::min(s.data.size(), s.in_pos + s.next_in), s.in_pos};
    const std::size_t before_in = in.pos, before_out = out.pos;
    const std::size_t hint = ZSTD_decompressStream(s.dctx.get(), &out, &in);
    if (ZSTD_isError(hint)) {
      return not_decompressing(hint);
    }
    s.in_pos = in.pos;
    if (m_decoded_bytes != nullptr) {
      m_decoded_bytes->fetch_add(out.pos - before_out, std::memory_order_relaxed);
    }
    m_done = out.pos;
    if (hint == 0) { // the frame is complete
      if (out.pos != m_raw_size) {
        return wrong_size(out.pos, m_raw_size);
      }
      if (in.pos != s.data.size()) {
        return make_error(Errc::corrupt, "pack holds bytes after its zstd frame");
      }
      m_stream.reset();
      return {};
    }
    s.next_in = hint;
    if (in.pos == before_in && out.pos == before_out) {
      if (in.size == s.data.size()) {
        return make_error(Errc::corrupt, "pack's zstd frame is truncated");
      }
      s.next_in = std::max(hint, 2 * (in.size - in.pos)); // never stall: offer more input
    }
    if (out.pos >= end && out.pos < m_raw_size) {
      return {};
    }
  }
}

Result<void> check_pack_image(const PackImage& image, std::span<const std::uint8_t> prefix,
                              std::uint64_t max_bytes)
{
  const std::string what = "pack " + image.digest.to_hex().substr(0, 12);
  if (sha256_of(image.data) != image.digest.sha256) {
    return make_error(Errc::corrupt, what + ": its bytes do not hash to its digest");
  }
  const auto codec = static_cast<PackCodec>(image.codec);
  if (codec != PackCodec::raw && codec != PackCodec::zstd && codec != PackCodec::zstd_prefix) {
    return make_error(Errc::corrupt, what + ": unknown codec " + std::to_string(image.codec));
  }
  if ((codec == PackCodec::zstd_prefix) == image.bases.empty()) {
    return make_error(Errc::corrupt, what + ": a delta pack has bases, and only a delta pack");
  }
  auto content = decode_pack(codec, image.data, image.raw_size, max_bytes, prefix);
  if (!content) {
    return std::move(content).error().with_context(what);
  }
  for (const PackEntry& e : image.entries) {
    if (e.offset > content->size() || e.size > content->size() - e.offset) {
      return make_error(Errc::corrupt, what + ": blob " + e.key.to_hex() +
                                           " lies outside the pack's content");
    }
    const std::span<const std::uint8_t> bytes(content->data() + e.offset, e.size);
    if (compute_key(bytes, e.children) != e.key) {
      return make_error(Errc::corrupt, what + ": blob " + e.key.to_hex() +
                                           ": its data does not match its key");
    }
  }
  return {};
}

} // namespace pagable::store
