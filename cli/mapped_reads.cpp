// SPDX-License-Identifier: MIT OR Apache-2.0
#include "mapped_reads.hpp"

#include "exit_codes.hpp"

#include <csignal>

#include <unistd.h>

namespace pagable::cli {
namespace {

// Prepared before the handler is installed: it may only call async-signal-safe functions.
std::string g_stderr_text;
std::string g_stdout_text;

void write_all(int fd, const std::string& text)
{
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n <= 0) {
      return;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

extern "C" void on_bus_error(int)
{
  write_all(STDERR_FILENO, g_stderr_text);
  write_all(STDOUT_FILENO, g_stdout_text);
  ::_exit(exit_code_for(Errc::io));
}

} // namespace

void guard_mapped_reads(const std::string& archive, const Output& out)
{
  const Error error = make_error(
      Errc::io, archive + ": a memory-mapped read failed (SIGBUS): the file was truncated by another "
                          "program while it was read, or its storage returned an I/O error; nothing was "
                          "written (run the command again; verify tells whether the archive is sound)");
  g_stderr_text = "pagable: error: " + error.message() + '\n';
  g_stdout_text =
      out.json() ? error_report(error).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + '\n'
                 : std::string();
  struct sigaction sa {};
  sa.sa_handler = on_bus_error;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGBUS, &sa, nullptr);
}

} // namespace pagable::cli
