// SPDX-License-Identifier: MIT OR Apache-2.0
#include "output.hpp"

#include "exit_codes.hpp"

#include <pagable/selector.hpp>

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>

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

void Output::report(const nlohmann::json& report) const
{
  if (m_options.json) {
    std::cout << report.dump(2) << '\n';
  }
}

void Output::error_line(const Error& error) const
{
  std::cout.flush();
  std::cerr << "pagable: error: " << error.message() << '\n';
}

int Output::error(const Error& error) const
{
  error_line(error);
  const int code = exit_code_for(error.code());
  if (m_options.json) {
    report({{"error",
             {{"code", std::string(errc_name(error.code()))},
              {"message", error.message()},
              {"exit_code", code}}}});
  }
  return code;
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

std::string human_bytes(std::uint64_t bytes)
{
  if (bytes < 1000) {
    return std::to_string(bytes) + " bytes";
  }
  const char* units[] = {"kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes) / 1000.0;
  std::size_t u = 0;
  while (v >= 999.95 && u + 1 < std::size(units)) {
    v /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 9.995 ? "%.2f %s" : (v < 99.95 ? "%.1f %s" : "%.0f %s"), v, units[u]);
  return buf;
}

std::string printable(std::string_view text)
{
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += k_hex[c >> 4];
      out += k_hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

nlohmann::json version_json(const store::RootRecord& r)
{
  nlohmann::json stats = nlohmann::json::parse(r.stats_json, nullptr, false);
  if (!stats.is_object()) {
    stats = nlohmann::json::object();
  }
  const auto figure = [&](const char* name) {
    return stats.contains(name) && stats[name].is_number_unsigned() ? stats[name] : nlohmann::json(nullptr);
  };
  return {{"name", r.name},
          {"version", r.version},
          {"key", r.key.to_hex()},
          {"schema_key", r.schema_key ? nlohmann::json(r.schema_key->to_hex()) : nlohmann::json(nullptr)},
          {"created", format_time(r.created_unix_ms)},
          {"created_unix_ms", r.created_unix_ms},
          {"labels", r.labels},
          {"stats", stats},
          {"nodes", figure("nodes")},
          {"new_nodes", figure("new_nodes")},
          {"bytes_added", r.bytes_added ? nlohmann::json(*r.bytes_added) : nlohmann::json(nullptr)}};
}

std::string version_name(const store::RootRecord& r)
{
  return r.name + "#" + std::to_string(r.version);
}

} // namespace pagable::cli
