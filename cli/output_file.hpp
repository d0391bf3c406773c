// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// A file written beside its final name and renamed into place once complete (unpack's files,
// hydrate --output): nobody ever sees a partial file under the final name, and a write that
// fails or is interrupted (Ctrl-C, SIGTERM, SIGHUP) leaves no file behind. Not thread-safe:
// one writer per file.

#include <pagable/result.hpp>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <utility>

namespace pagable::cli {

// A file descriptor, closed when it goes.
class Fd {
public:
  explicit Fd(int fd = -1) noexcept : m_fd(fd) {}
  Fd(Fd&& o) noexcept : m_fd(std::exchange(o.m_fd, -1)) {}
  Fd& operator=(Fd&& o) noexcept
  {
    std::swap(m_fd, o.m_fd);
    return *this;
  }
  ~Fd();
  int get() const noexcept { return m_fd; }

private:
  int m_fd;
};

// Errc::io naming `what` and the system's reason.
Error io_error(const std::string& what, int err);

class ReplacingFile {
public:
  // Creates LEAF.tmp in the directory `dir` -- anew: a file or hard link left there is removed
  // first, never written through, nor a symbolic link followed. `shown` names the final file
  // in errors.
  static Result<ReplacingFile> create(const Fd& dir, const std::string& leaf, std::string shown);
  ReplacingFile(ReplacingFile&&) noexcept;
  ReplacingFile& operator=(ReplacingFile&&) = delete;
  ~ReplacingFile(); // removes the temporary file unless committed

  // Where to write. A write stops failing at once after an interrupt.
  std::ostream& stream();
  // Flushes, renames the file into place and returns its size. `produced` is how the writer
  // ended; on any failure the temporary file is removed and the error says why: an interrupt
  // (Errc::cancelled), the writer's own error, or the output's (errno of the failed write).
  Result<std::uint64_t> commit(Result<void> produced);

private:
  struct State;
  explicit ReplacingFile(std::unique_ptr<State> state);
  std::unique_ptr<State> m_state;
};

} // namespace pagable::cli
