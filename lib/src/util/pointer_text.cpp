// SPDX-License-Identifier: MIT OR Apache-2.0
#include "util/pointer_text.hpp"

#include "util/hex.hpp"

namespace pagable::util {

std::string percent_decode(std::string_view text)
{
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int hi = hex_digit_value(text[i + 1]);
      const int lo = hex_digit_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::string percent_encode(std::string_view text, std::string_view also_plain)
{
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       std::string_view("-._~").find(ch) != std::string_view::npos ||
                       also_plain.find(ch) != std::string_view::npos;
    if (plain) {
      out += ch;
    } else {
      out += '%';
      out += k_hex[c >> 4];
      out += k_hex[c & 15];
    }
  }
  return out;
}

std::string escape_pointer_token(std::string_view token)
{
  std::string out;
  out.reserve(token.size());
  for (const char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::vector<std::string>> parse_pointer(std::string_view pointer, PointerEscapes escapes)
{
  std::vector<std::string> tokens;
  if (pointer.empty()) {
    return tokens;
  }
  if (pointer.front() != '/') {
    return make_error(Errc::invalid_argument,
                      "a JSON pointer starts with '/': " + std::string(pointer));
  }
  std::string cur;
  for (std::size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    if (pointer[i] == '~') {
      if (i + 1 < pointer.size() && (pointer[i + 1] == '0' || pointer[i + 1] == '1')) {
        cur += pointer[i + 1] == '0' ? '~' : '/';
        ++i;
        continue;
      }
      if (escapes == PointerEscapes::strict) {
        return make_error(Errc::invalid_argument,
                          "bad escape in JSON pointer (use ~0 or ~1): " + std::string(pointer));
      }
    }
    cur += pointer[i];
  }
  return tokens;
}

} // namespace pagable::util
