// SPDX-License-Identifier: MIT OR Apache-2.0
#include "schema/format.hpp"

#include "schema/regex.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <string>

namespace pagable::schema {
namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n)
{
  if (pos + n > s.size()) {
    return false;
  }
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

int num(std::string_view s, std::size_t pos, std::size_t n)
{
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

bool check_date(std::string_view s)
{
  if (s.size() != 10 || !digits(s, 0, 4) || s[4] != '-' || !digits(s, 5, 2) || s[7] != '-' ||
      !digits(s, 8, 2)) {
    return false;
  }
  const int y = num(s, 0, 4);
  const int m = num(s, 5, 2);
  const int d = num(s, 8, 2);
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) {
    return false;
  }
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= days[m - 1] + (m == 2 && leap ? 1 : 0);
}

bool check_time(std::string_view s)
{
  // HH:MM:SS[.frac](Z|+HH:MM|-HH:MM), leap second only at 23:59:60 UTC.
  if (s.size() < 9 || !digits(s, 0, 2) || s[2] != ':' || !digits(s, 3, 2) || s[5] != ':' ||
      !digits(s, 6, 2)) {
    return false;
  }
  int h = num(s, 0, 2);
  int m = num(s, 3, 2);
  const int sec = num(s, 6, 2);
  if (h > 23 || m > 59 || sec > 60) {
    return false;
  }
  std::size_t i = 8;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      ++i;
    }
    if (i == start) {
      return false;
    }
  }
  if (i >= s.size()) {
    return false;
  }
  int off = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    if (i + 1 != s.size()) {
      return false;
    }
  } else if (s[i] == '+' || s[i] == '-') {
    if (s.size() != i + 6 || !digits(s, i + 1, 2) || s[i + 3] != ':' || !digits(s, i + 4, 2)) {
      return false;
    }
    const int oh = num(s, i + 1, 2);
    const int om = num(s, i + 4, 2);
    if (oh > 23 || om > 59) {
      return false;
    }
    off = (oh * 60 + om) * (s[i] == '+' ? 1 : -1);
  } else {
    return false;
  }
  if (sec == 60) {
    int total = ((h * 60 + m) - off) % (24 * 60);
    if (total < 0) {
      total += 24 * 60;
    }
    h = total / 60;
    m = total % 60;
    return h == 23 && m == 59;
  }
  return true;
}

bool check_date_time(std::string_view s)
{
  if (s.size() < 20 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ')) {
    return false;
  }
  return check_date(s.substr(0, 10)) && check_time(s.substr(11));
}

bool check_duration(std::string_view s)
{
  // P(nY)(nM)(nD)(T(nH)(nM)(nS)) | PnW
  if (s.size() < 2 || s[0] != 'P') {
    return false;
  }
  std::size_t i = 1;
  bool in_time = false;
  bool any = false;
  bool time_any = false;
  std::string order = "YMD";
  std::size_t order_pos = 0;
  while (i < s.size()) {
    if (s[i] == 'T') {
      if (in_time) {
        return false;
      }
      in_time = true;
      order = "HMS";
      order_pos = 0;
      ++i;
      continue;
    }
    const std::size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      ++i;
    }
    if (i == start || i >= s.size()) {
      return false;
    }
    const char unit = s[i++];
    if (unit == 'W') {
      return !any && !in_time && i == s.size();
    }
    const auto at = order.find(unit, order_pos);
    // Units are contiguous (RFC 3339 appendix A): P1Y2D and PT1H2S are not durations.
    const bool first_in_part = order_pos == 0;
    if (at == std::string::npos || (!first_in_part && at != order_pos)) {
      return false;
    }
    order_pos = at + 1;
    any = true;
    time_any = time_any || in_time;
  }
  return any && (!in_time || time_any);
}

bool check_hostname(std::string_view s)
{
  if (s.empty() || s.size() > 253) {
    return false;
  }
  std::size_t start = 0;
  while (true) {
    const auto dot = s.find('.', start);
    const auto label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (const char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
        return false;
      }
    }
    if (label.size() >= 4 && label[2] == '-' && label[3] == '-' && label.substr(0, 2) != "xn") {
      return false;
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    start = dot + 1;
  }
}

bool check_email(std::string_view s, bool international)
{
  const auto at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == s.size()) {
    return false;
  }
  const auto local = s.substr(0, at);
  const auto domain = s.substr(at + 1);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return false;
  }
  for (const char c : local) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      if (!international) {
        return false;
      }
      continue;
    }
    if (!std::isalnum(u) && std::string_view("!#$%&'*+-/=?^_`{|}~.").find(c) == std::string_view::npos) {
      return false;
    }
  }
  if (domain.front() == '[' && domain.back() == ']') {
    std::string inner(domain.substr(1, domain.size() - 2));
    unsigned char buf[16];
    if (inner.rfind("IPv6:", 0) == 0) {
      return inet_pton(AF_INET6, inner.c_str() + 5, buf) == 1;
    }
    return inet_pton(AF_INET, inner.c_str(), buf) == 1;
  }
  if (international) {
    for (const char c : domain) {
      if (static_cast<unsigned char>(c) >= 0x80) {
        return true; // IDN labels: accept, punycode checks are out of scope
      }
    }
  }
  return check_hostname(domain);
}

bool check_uri_chars(std::string_view s, bool international)
{
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u >= 0x80) {
      if (!international) {
        return false;
      }
      continue;
    }
    if (u <= 0x20 || u == 0x7F || std::string_view("\"<>\\^`{|}").find(s[i]) != std::string_view::npos) {
      return false;
    }
    if (s[i] == '%') {
      if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
        return false;
      }
    }
  }
  return true;
}

bool has_scheme(std::string_view s)
{
  const auto colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || !std::isalpha(static_cast<unsigned char>(s[0]))) {
    return false;
  }
  for (std::size_t i = 1; i < colon; ++i) {
    const char c = s[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

bool check_uri(std::string_view s, bool absolute, bool international)
{
  if (!check_uri_chars(s, international)) {
    return false;
  }
  if (absolute && !has_scheme(s)) {
    return false;
  }
  // An authority's host may not hold '[' unless it is an IP literal; '#' at most once.
  const auto hash = s.find('#');
  if (hash != std::string_view::npos && s.find('#', hash + 1) != std::string_view::npos) {
    return false;
  }
  const auto auth = s.find("//");
  if (auth != std::string_view::npos && (auth == 0 || (has_scheme(s) && auth == s.find(':') + 1))) {
    const auto end = s.find_first_of("/?#", auth + 2);
    const auto authority = s.substr(auth + 2, end == std::string_view::npos ? std::string_view::npos : end - auth - 2);
    const auto at = authority.rfind('@');
    const auto host_port = at == std::string_view::npos ? authority : authority.substr(at + 1);
    if (!host_port.empty() && host_port[0] == '[') {
      return host_port.find(']') != std::string_view::npos;
    }
    if (host_port.find_first_of("[]") != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool check_uuid(std::string_view s)
{
  if (s.size() != 36) {
    return false;
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') {
        return false;
      }
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

bool check_json_pointer(std::string_view s)
{
  if (!s.empty() && s[0] != '/') {
    return false;
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '~' && (i + 1 >= s.size() || (s[i + 1] != '0' && s[i + 1] != '1'))) {
      return false;
    }
  }
  return true;
}

bool check_relative_json_pointer(std::string_view s)
{
  std::size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    ++i;
  }
  if (i == 0 || (i > 1 && s[0] == '0')) {
    return false;
  }
  const auto rest = s.substr(i);
  return rest == "#" || check_json_pointer(rest);
}

} // namespace

Format format_from_name(std::string_view name) noexcept
{
  struct Entry {
    std::string_view name;
    Format format;
  };
  static const Entry table[] = {
      {"date-time", Format::date_time}, {"date", Format::date}, {"time", Format::time},
      {"duration", Format::duration}, {"email", Format::email}, {"idn-email", Format::idn_email},
      {"hostname", Format::hostname}, {"idn-hostname", Format::idn_hostname},
      {"ipv4", Format::ipv4}, {"ipv6", Format::ipv6}, {"uri", Format::uri},
      {"uri-reference", Format::uri_reference}, {"iri", Format::iri},
      {"iri-reference", Format::iri_reference}, {"uuid", Format::uuid}, {"regex", Format::regex},
      {"json-pointer", Format::json_pointer}, {"relative-json-pointer", Format::relative_json_pointer},
  };
  for (const auto& e : table) {
    if (e.name == name) {
      return e.format;
    }
  }
  return Format::none;
}

bool check_format(Format format, std::string_view v)
{
  unsigned char buf[16];
  switch (format) {
  case Format::none:
    return true;
  case Format::date_time:
    return check_date_time(v);
  case Format::date:
    return check_date(v);
  case Format::time:
    return check_time(v);
  case Format::duration:
    return check_duration(v);
  case Format::email:
    return check_email(v, false);
  case Format::idn_email:
    return check_email(v, true);
  case Format::hostname:
    return check_hostname(v);
  case Format::idn_hostname:
    return !v.empty();
  case Format::ipv4:
    return inet_pton(AF_INET, std::string(v).c_str(), buf) == 1;
  case Format::ipv6:
    return v.find('%') == std::string_view::npos && inet_pton(AF_INET6, std::string(v).c_str(), buf) == 1;
  case Format::uri:
    return check_uri(v, true, false);
  case Format::uri_reference:
    return check_uri(v, false, false);
  case Format::iri:
    return check_uri(v, true, true);
  case Format::iri_reference:
    return check_uri(v, false, true);
  case Format::uuid:
    return check_uuid(v);
  case Format::regex:
    return Regex::compile(v).has_value();
  case Format::json_pointer:
    return check_json_pointer(v);
  case Format::relative_json_pointer:
    return check_relative_json_pointer(v);
  }
  return true;
}

} // namespace pagable::schema
