// SPDX-License-Identifier: MIT OR Apache-2.0
#include "util/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace pagable::util {
namespace {

// The length of the well-formed sequence starting at s[i] (1 to 4), or 0 when none does.
std::size_t sequence_at(std::string_view s, std::size_t i) noexcept
{
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    return 1;
  }
  std::size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 2;
    lo = c == 0xE0 ? 0xA0 : 0x80;
    hi = c == 0xED ? 0x9F : 0xBF;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 3;
    lo = c == 0xF0 ? 0x90 : 0x80;
    hi = c == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  for (std::size_t k = 1; k <= n; ++k) {
    if (i + k >= s.size()) {
      return 0;
    }
    const auto b = static_cast<unsigned char>(s[i + k]);
    const unsigned char l = k == 1 ? lo : 0x80;
    const unsigned char h = k == 1 ? hi : 0xBF;
    if (b < l || b > h) {
      return 0;
    }
  }
  return n + 1;
}

} // namespace

bool is_utf8(std::string_view s) noexcept
{
  std::size_t i = 0;
  while (i < s.size()) {
    // ASCII eight bytes at a time: most strings are, and each value's are checked once.
    while (i + 8 <= s.size()) {
      std::uint64_t word = 0;
      std::memcpy(&word, s.data() + i, 8);
      if ((word & 0x8080808080808080ULL) != 0) {
        break;
      }
      i += 8;
    }
    if (i == s.size()) {
      break;
    }
    const std::size_t n = sequence_at(s, i);
    if (n == 0) {
      return false;
    }
    i += n;
  }
  return true;
}

std::string utf8_repaired(std::string_view s, char replacement, std::size_t max_bytes)
{
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = sequence_at(s, i);
    if (out.size() + (n == 0 ? 1 : n) > max_bytes) {
      break;
    }
    if (n == 0) {
      out += replacement;
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

} // namespace pagable::util
