// SPDX-License-Identifier: MIT OR Apache-2.0
#include "output_file.hpp"

#include "interrupt.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <streambuf>
#include <vector>

namespace pagable::cli {
namespace {

// An output stream buffer over a file descriptor that gives up once an interrupt arrived, so
// that a long write stops at once and its file can be removed.
class FdOutBuf : public std::streambuf {
public:
  explicit FdOutBuf(int fd) : m_fd(fd), m_buf(256 * 1024) { setp(m_buf.data(), m_buf.data() + m_buf.size()); }
  int error() const noexcept { return m_errno; }

protected:
  int_type overflow(int_type c) override
  {
    if (!drain()) {
      return traits_type::eof();
    }
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override { return drain() ? 0 : -1; }

private:
  bool drain()
  {
    const char* p = pbase();
    while (p < pptr()) {
      if (interrupted()) {
        m_errno = EINTR;
        return false;
      }
      const ssize_t n = ::write(m_fd, p, static_cast<std::size_t>(pptr() - p));
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        m_errno = errno;
        return false;
      }
      p += n;
    }
    setp(m_buf.data(), m_buf.data() + m_buf.size());
    return true;
  }

  int m_fd;
  std::vector<char> m_buf;
  int m_errno = 0;
};

} // namespace

Fd::~Fd()
{
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

Error io_error(const std::string& what, int err)
{
  return make_error(Errc::io, what + ": " + std::strerror(err));
}

struct ReplacingFile::State {
  State(int dir_fd, std::string leaf_name, std::string shown_name, Fd fd)
      : dir(::dup(dir_fd)), leaf(std::move(leaf_name)), tmp(leaf + ".tmp"), shown(std::move(shown_name)),
        out(std::move(fd)), buf(out.get()), os(&buf)
  {
  }
  void remove() const { ::unlinkat(dir.get(), tmp.c_str(), 0); }

  Fd dir;
  std::string leaf;
  std::string tmp;
  std::string shown;
  Fd out;
  FdOutBuf buf;
  std::ostream os;
  bool done = false;
};

ReplacingFile::ReplacingFile(std::unique_ptr<State> state) : m_state(std::move(state)) {}
ReplacingFile::ReplacingFile(ReplacingFile&&) noexcept = default;

ReplacingFile::~ReplacingFile()
{
  if (m_state && !m_state->done) {
    m_state->out = Fd();
    m_state->remove();
  }
}

Result<ReplacingFile> ReplacingFile::create(const Fd& dir, const std::string& leaf, std::string shown)
{
  const std::string tmp = leaf + ".tmp";
  // A fresh file: a leftover .tmp is removed first, so that one planted as a hard link to a
  // file elsewhere is not written through (O_EXCL refuses whatever is still there).
  ::unlinkat(dir.get(), tmp.c_str(), 0);
  Fd out(::openat(dir.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666));
  if (out.get() < 0) {
    return io_error(shown + ".tmp", errno);
  }
  return ReplacingFile(std::make_unique<State>(dir.get(), leaf, std::move(shown), std::move(out)));
}

std::ostream& ReplacingFile::stream()
{
  return m_state->os;
}

Result<std::uint64_t> ReplacingFile::commit(Result<void> produced)
{
  State& s = *m_state;
  s.done = true;
  s.os.flush();
  struct stat st {};
  const bool ok = produced && s.os && ::fstat(s.out.get(), &st) == 0;
  const int err = s.buf.error() != 0 ? s.buf.error() : errno;
  s.out = Fd();
  if (!ok) {
    s.remove();
    if (interrupted()) {
      return make_error(Errc::cancelled, "interrupted; " + s.shown + " was not written");
    }
    // The writer's own error as it said it, unless the output failed first: errno may be
    // long stale by now.
    if (!produced && (s.buf.error() == 0 || produced.error().code() != Errc::io)) {
      return std::move(produced).error();
    }
    return io_error(s.shown, err);
  }
  if (::renameat(s.dir.get(), s.tmp.c_str(), s.dir.get(), s.leaf.c_str()) != 0) {
    const int e = errno;
    s.remove();
    return io_error(s.shown, e);
  }
  return static_cast<std::uint64_t>(st.st_size);
}

} // namespace pagable::cli
