// SPDX-License-Identifier: MIT OR Apache-2.0
#include "output.hpp"

#include "exit_codes.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

namespace pagable::cli {

Output::Output(OutputOptions options)
    : m_options(options),
      m_progress(!options.quiet && (options.progress || ::isatty(STDERR_FILENO) == 1))
{
}

void Output::line(const std::string& text) const
{
  if (!m_options.json && !m_options.quiet) {
    std::cout << text << '\n';
  }
}

void Output::data_line(const std::string& text) const
{
  if (!m_options.json) {
    std::cout << text << '\n';
  }
}

Result<void> Output::finish() const
{
  std::cout.flush();
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0 || !std::cout) {
    const int e = errno;
    return make_error(Errc::io, std::string("writing standard output: ") +
                                    (e != 0 ? std::strerror(e) : "failed"));
  }
  return {};
}

std::ostream& Output::document() const
{
  return std::cout;
}

void Output::stats(const nlohmann::json& figures) const
{
  std::cout.flush();
  std::cerr << figures.dump() << '\n';
}

void Output::report(const nlohmann::json& report) const
{
  if (m_options.json) {
    // A file name need not be UTF-8; JSON text must be (invalid bytes show as U+FFFD).
    std::cout << report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  }
}

void Output::error_line(const Error& error) const
{
  std::cout.flush();
  std::cerr << "pagable: error: " << error.message() << '\n';
}

bool stdout_reader_gone()
{
  // No events asked: POLLERR is reported regardless, and a pipe's write end has it once its
  // last reader closed (`pagable hydrate ... | head`).
  pollfd p{STDOUT_FILENO, 0, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLERR) != 0;
}

int Output::error(const Error& error) const
{
  // The reader of our output went away: nothing went wrong that it could want to read about.
  // The command ends as one killed by SIGPIPE looks to the shell (main ignores the signal,
  // so that the archive is closed as after any error).
  if (error.code() == Errc::io && stdout_reader_gone()) {
    return k_exit_broken_pipe;
  }
  error_line(error);
  if (m_options.json) {
    report(error_report(error));
  }
  return exit_code_for(error.code());
}

nlohmann::json error_report(const Error& error)
{
  return {{"error",
           {{"code", std::string(errc_name(error.code()))},
            {"message", error.message()},
            {"exit_code", exit_code_for(error.code())}}}};
}

void Output::warn(const std::string& text) const
{
  if (!m_options.quiet) {
    std::cerr << "pagable: warning: " << text << '\n';
  }
}

void Output::progress(const std::string& text) const
{
  if (m_progress) {
    std::cerr << '\r' << text << "\x1b[K" << std::flush;
  }
}

void Output::progress_done(const std::string& text) const
{
  if (m_progress) {
    std::cerr << '\r' << text << "\x1b[K\n" << std::flush;
  }
}

void Output::end_progress() const
{
  if (m_progress) {
    std::cerr << "\r\x1b[K" << std::flush;
  }
}

} // namespace pagable::cli
