// SPDX-License-Identifier: MIT OR Apache-2.0
// open_input: a file or standard input, decompressed when its first bytes say zstd or gzip.
#include <pagable/pack.hpp>

#include "pack/block_input.hpp"

#include <zlib.h>
#include <zstd.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace pagable::pack {
namespace {

enum class Compression : std::uint8_t { none, zstd, gzip };

// What the first bytes of an input say it is: zstd's and gzip's magic numbers, else plain.
Compression compression_of(const unsigned char* b, std::size_t n)
{
  if (n >= 4 && b[0] == 0x28 && b[1] == 0xB5 && b[2] == 0x2F && b[3] == 0xFD) {
    return Compression::zstd;
  }
  if (n >= 2 && b[0] == 0x1F && b[1] == 0x8B) {
    return Compression::gzip;
  }
  return Compression::none;
}

// Reads a file descriptor, decompressing as it goes. Decompression and read errors are
// thrown (std::runtime_error) out of underflow; pack_stream turns them into errors.
class InputBuf : public BlockInput {
public:
  explicit InputBuf(int fd, bool owned) : m_fd(fd), m_owned(owned) {}
  ~InputBuf() override
  {
    if (m_zstd != nullptr) {
      ZSTD_freeDStream(m_zstd);
    }
    if (m_gzip_open) {
      inflateEnd(&m_z);
    }
    if (m_owned) {
      ::close(m_fd);
    }
  }
  InputBuf(const InputBuf&) = delete;
  InputBuf& operator=(const InputBuf&) = delete;

  // Reads the first bytes and chooses the decoder. Returns false with errno on a read error.
  bool start()
  {
    if (!fill_raw()) {
      return false;
    }
    m_kind = compression_of(reinterpret_cast<const unsigned char*>(m_raw.data()), m_raw_end);
    if (m_kind == Compression::zstd) {
      m_zstd = ZSTD_createDStream();
      ZSTD_initDStream(m_zstd);
    } else if (m_kind == Compression::gzip) {
      std::memset(&m_z, 0, sizeof m_z);
      if (inflateInit2(&m_z, 16 + MAX_WBITS) != Z_OK) {
        throw std::runtime_error("cannot start gzip decompression");
      }
      m_gzip_open = true;
    }
    return true;
  }

  std::span<const char> next_block() override
  {
    if (gptr() == egptr()) {
      if (m_kind == Compression::none && m_raw_pos >= m_raw_end && !m_eof) {
        // Plain input is read straight into the block handed out: no copy on the way.
        std::size_t n = 0;
        if (!read_into(m_out.data(), m_out.size(), n)) {
          throw std::runtime_error(std::string("read error: ") + std::strerror(errno));
        }
        setg(m_out.data(), m_out.data(), m_out.data() + n);
      } else if (traits_type::eq_int_type(underflow(), traits_type::eof())) {
        return {};
      }
    }
    const std::span<const char> block(gptr(), egptr());
    setg(eback(), egptr(), egptr());
    return block;
  }

protected:
  int_type underflow() override
  {
    if (gptr() < egptr()) {
      return traits_type::to_int_type(*gptr());
    }
    std::size_t n = 0;
    while (n == 0) {
      if (m_raw_pos >= m_raw_end && !m_eof) {
        if (!fill_raw()) {
          throw std::runtime_error(std::string("read error: ") + std::strerror(errno));
        }
      }
      if (m_raw_pos >= m_raw_end && m_eof) {
        if (m_kind != Compression::none && m_in_frame) {
          throw std::runtime_error(m_kind == Compression::zstd ? "truncated zstd frame"
                                                               : "truncated gzip stream");
        }
        return traits_type::eof();
      }
      n = decode();
    }
    setg(m_out.data(), m_out.data(), m_out.data() + n);
    return traits_type::to_int_type(m_out[0]);
  }

private:
  bool fill_raw()
  {
    m_raw_pos = 0;
    m_raw_end = 0;
    return read_into(m_raw.data(), m_raw.size(), m_raw_end);
  }

  // One read(2) into `out`: its byte count in `n`, 0 at the end (which sets m_eof).
  bool read_into(char* out, std::size_t size, std::size_t& n)
  {
    for (;;) {
      const ssize_t r = ::read(m_fd, out, size);
      if (r < 0 && errno == EINTR) {
        continue;
      }
      if (r < 0) {
        return false;
      }
      if (r == 0) {
        m_eof = true;
      }
      n = static_cast<std::size_t>(r);
      return true;
    }
  }

  std::size_t decode()
  {
    if (m_kind == Compression::none) {
      const std::size_t n = std::min(m_out.size(), m_raw_end - m_raw_pos);
      std::memcpy(m_out.data(), m_raw.data() + m_raw_pos, n);
      m_raw_pos += n;
      return n;
    }
    if (m_kind == Compression::zstd) {
      ZSTD_inBuffer in{m_raw.data(), m_raw_end, m_raw_pos};
      ZSTD_outBuffer out{m_out.data(), m_out.size(), 0};
      const std::size_t r = ZSTD_decompressStream(m_zstd, &out, &in);
      if (ZSTD_isError(r) != 0) {
        throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(r));
      }
      m_in_frame = r != 0;
      m_raw_pos = in.pos;
      return out.pos;
    }
    m_z.next_in = reinterpret_cast<Bytef*>(m_raw.data() + m_raw_pos);
    m_z.avail_in = static_cast<uInt>(m_raw_end - m_raw_pos);
    m_z.next_out = reinterpret_cast<Bytef*>(m_out.data());
    m_z.avail_out = static_cast<uInt>(m_out.size());
    m_in_frame = true;
    const int r = inflate(&m_z, Z_NO_FLUSH);
    m_raw_pos = m_raw_end - m_z.avail_in;
    const std::size_t n = m_out.size() - m_z.avail_out;
    if (r == Z_STREAM_END) {
      // Concatenated gzip members are one stream (as gzip -d reads them).
      m_in_frame = false;
      inflateReset(&m_z);
    } else if (r != Z_OK && r != Z_BUF_ERROR) {
      throw std::runtime_error(std::string("gzip: ") + (m_z.msg != nullptr ? m_z.msg : "corrupt data"));
    }
    return n;
  }

  int m_fd;
  bool m_owned;
  Compression m_kind = Compression::none;
  std::array<char, 64 * 1024> m_raw{};
  std::size_t m_raw_pos = 0;
  std::size_t m_raw_end = 0;
  bool m_eof = false;
  bool m_in_frame = false;
  std::array<char, 256 * 1024> m_out{}; // decoded bytes (plain input: read straight here)
  ZSTD_DStream* m_zstd = nullptr;
  z_stream m_z{};
  bool m_gzip_open = false;
};

class InputStream : public std::istream {
public:
  explicit InputStream(std::unique_ptr<InputBuf> buf) : std::istream(buf.get()), m_buf(std::move(buf)) {}

private:
  std::unique_ptr<InputBuf> m_buf;
};

} // namespace

std::optional<std::uint64_t> plain_input_size(const std::string& path)
{
  struct stat st {};
  if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return std::nullopt;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return std::nullopt;
  }
  unsigned char head[4] = {};
  const auto n = ::read(fd, head, sizeof head);
  ::close(fd);
  if (n < 0 || compression_of(head, static_cast<std::size_t>(n)) != Compression::none) {
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(st.st_size);
}

Result<std::unique_ptr<std::istream>> open_input(const std::string& path)
{
  int fd = STDIN_FILENO;
  const bool owned = path != "-";
  if (owned) {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int e = errno;
      // The caller names the file (pack and validate put it before the message).
      return make_error(e == ENOENT ? Errc::not_found : Errc::io, std::strerror(e));
    }
  }
  auto buf = std::make_unique<InputBuf>(fd, owned);
  try {
    if (!buf->start()) {
      return make_error(Errc::io, std::strerror(errno));
    }
  } catch (const std::exception& e) {
    return make_error(Errc::invalid_input, path + ": " + e.what());
  }
  return std::unique_ptr<std::istream>(std::make_unique<InputStream>(std::move(buf)));
}

} // namespace pagable::pack
