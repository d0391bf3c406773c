// SPDX-License-Identifier: MIT OR Apache-2.0
// A streaming JSON reader for pack: the grammar, numbers, strings and events of
// nlohmann::json::sax_parse (strict, no comments), at a fraction of its per-byte cost. It reads
// large blocks and copies runs of plain string bytes at once, where nlohmann's lexer handles
// each byte through two containers. Iterative: nesting depth costs no stack.
#pragma once

#include "pack/block_input.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <streambuf>
#include <string>
#include <utility>
#include <vector>

namespace pagable::pack {

// The input in blocks, counting the bytes and lines that pass (bytes_in and error positions).
// A BlockInput's blocks are read where they are; any other stream buffer's are copied.
class JsonSource {
public:
  explicit JsonSource(std::streambuf* src)
      : m_src(src), m_blocks(dynamic_cast<BlockInput*>(src)), m_buf(m_blocks ? 0 : k_block)
  {
  }

  std::uint64_t consumed() const { return m_before + static_cast<std::uint64_t>(m_p - m_block); }
  // Bytes read from the source so far, consumed or not: 0 only for an input with none.
  std::uint64_t read() const { return m_before + static_cast<std::uint64_t>(m_end - m_block); }

  // 1-based line and column (in bytes) of the next unread byte. The block is scanned from
  // where the last call stopped, so asking often (pack's repeated name hashes) stays cheap.
  std::pair<std::uint64_t, std::uint64_t> position() const
  {
    const std::size_t at = static_cast<std::size_t>(m_p - m_block);
    if (m_scan_block != m_blocks_read || m_scanned > at) {
      m_scan_block = m_blocks_read;
      m_scanned = 0;
      m_scan_lines = m_lines;
      m_scan_line_start = m_line_start;
    }
    for (; m_scanned < at; ++m_scanned) {
      if (m_block[m_scanned] == '\n') {
        ++m_scan_lines;
        m_scan_line_start = m_before + m_scanned + 1;
      }
    }
    return {m_scan_lines + 1, consumed() - m_scan_line_start + 1};
  }

  // The next byte (0-255) without consuming it, or -1 at the end of the input.
  int peek()
  {
    if (m_p == m_end && !refill()) {
      return -1;
    }
    return static_cast<unsigned char>(*m_p);
  }
  int get()
  {
    const int c = peek();
    if (c >= 0) {
      ++m_p;
    }
    return c;
  }
  void skip() { ++m_p; } // after a peek that returned a byte

  // The unread bytes of the current block (refilled when empty; empty at the end).
  std::pair<const char*, const char*> block()
  {
    peek();
    return {m_p, m_end};
  }
  void advance_to(const char* p) { m_p = p; }

  std::function<void()> on_refill; // after each read from the source (progress)

private:
  bool refill()
  {
    const std::size_t size = static_cast<std::size_t>(m_end - m_block);
    if (const void* last = size == 0 ? nullptr : ::memrchr(m_block, '\n', size); last != nullptr) {
      m_lines += static_cast<std::uint64_t>(std::count(m_block, m_end, '\n'));
      m_line_start = m_before + static_cast<std::uint64_t>(static_cast<const char*>(last) - m_block) + 1;
    }
    m_before += static_cast<std::uint64_t>(m_end - m_block);
    ++m_blocks_read;
    if (m_blocks != nullptr) {
      const std::span<const char> block = m_blocks->next_block();
      m_block = block.data();
      m_p = m_block;
      m_end = m_block + block.size();
      if (block.empty()) {
        m_block = m_p = m_end = nullptr;
        return false;
      }
      if (on_refill) {
        on_refill();
      }
      return true;
    }
    // What the source holds now, without waiting for a full block: a pipe's writer may pause
    // (and the nodes parsed so far are stored meanwhile).
    std::streamsize n = 0;
    if (m_src->sgetc() != std::streambuf::traits_type::eof()) {
      const std::streamsize ready = std::max<std::streamsize>(m_src->in_avail(), 1);
      n = m_src->sgetn(m_buf.data(), std::min(ready, static_cast<std::streamsize>(m_buf.size())));
    }
    m_block = m_buf.data();
    m_p = m_block;
    m_end = m_block + (n > 0 ? n : 0);
    if (n <= 0) {
      return false;
    }
    if (on_refill) {
      on_refill();
    }
    return true;
  }

  static constexpr std::size_t k_block = 256 * 1024;
  std::streambuf* m_src;
  BlockInput* m_blocks; // m_src when it is one
  std::vector<char> m_buf; // the current block, copied from m_src (not a BlockInput)
  const char* m_block = nullptr; // the current block's first byte
  const char* m_p = nullptr;
  const char* m_end = nullptr;
  std::uint64_t m_before = 0; // bytes before the current block
  std::uint64_t m_lines = 0;  // newlines before the current block
  std::uint64_t m_line_start = 0;
  std::uint64_t m_blocks_read = 0; // refills so far
  // position()'s progress through the current block.
  mutable std::uint64_t m_scan_block = 0;
  mutable std::size_t m_scanned = 0;
  mutable std::uint64_t m_scan_lines = 0;
  mutable std::uint64_t m_scan_line_start = 0;
};

// Parses one JSON document from `in` and calls the handler as nlohmann::json::sax_parse would:
// null(), boolean(bool), number_integer(int64), number_unsigned(uint64),
// number_float(double, const std::string& literal), string(std::string&),
// start_object(size_t), key(std::string&), end_object(), start_array(size_t), end_array().
// A syntax error calls syntax_error(message) with the message ending in
// "at line L, column C: ..." (the offending byte's position). Returns false when the document
// is not valid JSON or a handler returned false.
template <typename Handler>
class JsonReader {
public:
  JsonReader(JsonSource& in, Handler& h) : m_in(in), m_h(h) {}

  bool parse()
  {
    if (m_in.peek() == 0xEF) { // a byte order mark is skipped
      m_in.skip();
      if (m_in.get() != 0xBB || m_in.get() != 0xBF) {
        return error("syntax error while parsing value - invalid BOM; must be 0xEF 0xBB 0xBF if given");
      }
    }
    std::vector<bool> stack; // true: an object
    for (;;) {
      // A value is expected.
      skip_ws();
      int c = m_in.peek();
      switch (c) {
      case '{':
        m_in.skip();
        if (!m_h.start_object(static_cast<std::size_t>(-1))) {
          return false;
        }
        skip_ws();
        if (m_in.peek() == '}') {
          m_in.skip();
          if (!m_h.end_object()) {
            return false;
          }
          break;
        }
        stack.push_back(true);
        if (!member_key()) {
          return false;
        }
        continue;
      case '[':
        m_in.skip();
        if (!m_h.start_array(static_cast<std::size_t>(-1))) {
          return false;
        }
        skip_ws();
        if (m_in.peek() == ']') {
          m_in.skip();
          if (!m_h.end_array()) {
            return false;
          }
          break;
        }
        stack.push_back(false);
        continue;
      case '"':
        m_in.skip();
        if (!read_string() || !m_h.string(m_str)) {
          return false;
        }
        break;
      case 't':
        if (!literal("true") || !m_h.boolean(true)) {
          return false;
        }
        break;
      case 'f':
        if (!literal("false") || !m_h.boolean(false)) {
          return false;
        }
        break;
      case 'n':
        if (!literal("null") || !m_h.null()) {
          return false;
        }
        break;
      case '-':
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7':
      case '8':
      case '9':
        if (!number()) {
          return false;
        }
        break;
      case -1:
        return error("syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal");
      default:
        return error("syntax error while parsing value - unexpected " + describe(c) +
                     "; expected '[', '{', or a literal");
      }
      // A value is complete: what follows it in its container.
      for (;;) {
        if (stack.empty()) {
          skip_ws();
          c = m_in.peek();
          if (c != -1) {
            return error("syntax error while parsing value - unexpected " + describe(c) +
                         "; expected end of input");
          }
          return true;
        }
        skip_ws();
        c = m_in.peek();
        if (stack.back()) {
          if (c == ',') {
            m_in.skip();
            if (!member_key()) {
              return false;
            }
            break;
          }
          if (c == '}') {
            m_in.skip();
            stack.pop_back();
            if (!m_h.end_object()) {
              return false;
            }
            continue;
          }
          return error("syntax error while parsing object - unexpected " + describe(c) +
                       "; expected '}'");
        }
        if (c == ',') {
          m_in.skip();
          break;
        }
        if (c == ']') {
          m_in.skip();
          stack.pop_back();
          if (!m_h.end_array()) {
            return false;
          }
          continue;
        }
        return error("syntax error while parsing array - unexpected " + describe(c) + "; expected ']'");
      }
    }
  }

private:
  void skip_ws()
  {
    for (;;) {
      auto [p, end] = m_in.block();
      if (p == end) {
        return;
      }
      while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
        ++p;
      }
      m_in.advance_to(p);
      if (p < end) {
        return;
      }
    }
  }

  // A member's name and the colon after it.
  bool member_key()
  {
    skip_ws();
    const int c = m_in.peek();
    if (c != '"') {
      return error("syntax error while parsing object key - unexpected " + describe(c) +
                   "; expected string literal");
    }
    m_in.skip();
    if (!read_string() || !m_h.key(m_str)) {
      return false;
    }
    skip_ws();
    const int colon = m_in.peek();
    if (colon != ':') {
      return error("syntax error while parsing object separator - unexpected " + describe(colon) +
                   "; expected ':'");
    }
    m_in.skip();
    return true;
  }

  bool literal(const char* word)
  {
    for (const char* w = word; *w != '\0'; ++w) {
      if (m_in.peek() != static_cast<unsigned char>(*w)) {
        return error(std::string("syntax error while parsing value - invalid literal; expected '") +
                     word + "'");
      }
      m_in.skip();
    }
    return true;
  }

  // After the opening quote: the string's text into m_str, through the closing quote.
  bool read_string()
  {
    m_str.clear();
    for (;;) {
      auto [p, end] = m_in.block();
      const char* run = p;
      while (end - p >= 8 && all_plain(p)) {
        p += 8;
      }
      while (p < end && k_plain[static_cast<unsigned char>(*p)]) {
        ++p;
      }
      m_str.append(run, p);
      m_in.advance_to(p);
      const int c = m_in.peek();
      if (c == '"') {
        m_in.skip();
        return true;
      }
      if (c == -1) {
        return error("syntax error while parsing value - invalid string: missing closing quote");
      }
      if (c == '\\') {
        m_in.skip();
        if (!escape()) {
          return false;
        }
      } else if (c < 0x20) {
        return error("syntax error while parsing value - invalid string: control character " +
                     hex4(static_cast<unsigned>(c)) + " must be escaped");
      } else if (c >= 0x80 && !utf8_sequence()) {
        return false;
      }
    }
  }

  // One multi-byte UTF-8 sequence, checked as nlohmann checks it (RFC 3629).
  bool utf8_sequence()
  {
    const int lead = m_in.peek();
    int lo = 0x80;
    int hi = 0xBF;
    int more = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
      more = 1;
    } else if (lead == 0xE0) {
      more = 2;
      lo = 0xA0;
    } else if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) {
      more = 2;
    } else if (lead == 0xED) {
      more = 2;
      hi = 0x9F;
    } else if (lead == 0xF0) {
      more = 3;
      lo = 0x90;
    } else if (lead >= 0xF1 && lead <= 0xF3) {
      more = 3;
    } else if (lead == 0xF4) {
      more = 3;
      hi = 0x8F;
    } else {
      return bad_utf8();
    }
    m_in.skip();
    m_str.push_back(static_cast<char>(lead));
    for (int i = 0; i < more; ++i) {
      const int c = m_in.peek();
      if (c < lo || c > hi) {
        return bad_utf8();
      }
      m_in.skip();
      m_str.push_back(static_cast<char>(c));
      lo = 0x80;
      hi = 0xBF;
    }
    return true;
  }

  bool bad_utf8() { return error("syntax error while parsing value - invalid string: ill-formed UTF-8 byte"); }

  // After a backslash.
  bool escape()
  {
    const int c = m_in.get();
    switch (c) {
    case '"':
      m_str.push_back('"');
      return true;
    case '\\':
      m_str.push_back('\\');
      return true;
    case '/':
      m_str.push_back('/');
      return true;
    case 'b':
      m_str.push_back('\b');
      return true;
    case 'f':
      m_str.push_back('\f');
      return true;
    case 'n':
      m_str.push_back('\n');
      return true;
    case 'r':
      m_str.push_back('\r');
      return true;
    case 't':
      m_str.push_back('\t');
      return true;
    case 'u':
      break;
    default:
      return error_before("syntax error while parsing value - invalid string: forbidden character after backslash");
    }
    std::uint32_t cp = 0;
    if (!hex_digits(cp)) {
      return false;
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (m_in.get() != '\\' || m_in.get() != 'u') {
        return error_before("syntax error while parsing value - invalid string: surrogate U+D800..U+DBFF "
                            "must be followed by U+DC00..U+DFFF");
      }
      std::uint32_t low = 0;
      if (!hex_digits(low)) {
        return false;
      }
      if (low < 0xDC00 || low > 0xDFFF) {
        return error_before("syntax error while parsing value - invalid string: surrogate U+D800..U+DBFF "
                            "must be followed by U+DC00..U+DFFF");
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      return error_before("syntax error while parsing value - invalid string: surrogate U+DC00..U+DFFF "
                          "must follow U+D800..U+DBFF");
    }
    put_utf8(cp);
    return true;
  }

  bool hex_digits(std::uint32_t& cp)
  {
    for (int i = 0; i < 4; ++i) {
      const int c = m_in.get();
      std::uint32_t d = 0;
      if (c >= '0' && c <= '9') {
        d = static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        d = static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        d = static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return error_before("syntax error while parsing value - invalid string: '\\u' must be followed by 4 hex digits");
      }
      cp = cp * 16 + d;
    }
    return true;
  }

  void put_utf8(std::uint32_t cp)
  {
    if (cp < 0x80) {
      m_str.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      m_str.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      m_str.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      m_str.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      m_str.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      m_str.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      m_str.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      m_str.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      m_str.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      m_str.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, typed as nlohmann types it: an integer
  // without '-' that fits is unsigned, with '-' signed, anything else a double.
  bool number()
  {
    m_num.clear();
    bool integer = true;
    if (m_in.peek() == '-') {
      take_digit_or_sign();
    }
    const int first = m_in.peek();
    if (first == '0') {
      take_digit_or_sign();
    } else if (first >= '1' && first <= '9') {
      take_digits();
    } else {
      return invalid_number();
    }
    if (m_in.peek() == '.') {
      integer = false;
      take_digit_or_sign();
      if (!is_digit(m_in.peek())) {
        return invalid_number();
      }
      take_digits();
    }
    if (m_in.peek() == 'e' || m_in.peek() == 'E') {
      integer = false;
      take_digit_or_sign();
      if (m_in.peek() == '+' || m_in.peek() == '-') {
        take_digit_or_sign();
      }
      if (!is_digit(m_in.peek())) {
        return invalid_number();
      }
      take_digits();
    }
    if (integer) {
      char* end = nullptr;
      errno = 0;
      if (m_num[0] != '-') {
        const unsigned long long v = std::strtoull(m_num.c_str(), &end, 10);
        if (errno == 0) {
          return m_h.number_unsigned(static_cast<std::uint64_t>(v));
        }
      } else {
        const long long v = std::strtoll(m_num.c_str(), &end, 10);
        if (errno == 0) {
          return m_h.number_integer(static_cast<std::int64_t>(v));
        }
      }
    }
    // One number policy (man/pagable.1, NUMBERS): an integer is kept exactly at any length
    // (beyond 64 bits, the handler gets the literal and its nearest double, perhaps infinite);
    // a literal with a fraction or an exponent must be a finite binary64, and one that is not
    // zero must not round to zero.
    char* end = nullptr;
    const double v = std::strtod(m_num.c_str(), &end);
    if (!integer && !(v - v == 0.0)) { // not finite
      return error("number " + m_num + " overflows binary64 (its largest is about 1.8e308)");
    }
    if (!integer && v == 0.0 && nonzero_mantissa()) {
      return error("number " + m_num + " is not zero but rounds to zero in binary64 "
                             "(its smallest is about 4.9e-324)");
    }
    return m_h.number_float(v, m_num);
  }

  // Whether the literal in m_num has a digit other than 0 before its exponent.
  bool nonzero_mantissa() const
  {
    for (const char c : m_num) {
      if (c == 'e' || c == 'E') {
        return false;
      }
      if (c >= '1' && c <= '9') {
        return true;
      }
    }
    return false;
  }

  static bool is_digit(int c) { return c >= '0' && c <= '9'; }
  void take_digit_or_sign() { m_num.push_back(static_cast<char>(m_in.get())); }
  void take_digits()
  {
    while (is_digit(m_in.peek())) {
      take_digit_or_sign();
    }
  }
  bool invalid_number()
  {
    const int c = m_in.peek();
    return error("syntax error while parsing value - invalid number; unexpected " + describe(c) +
                 " after '" + m_num + "'");
  }

  static std::string hex4(unsigned c)
  {
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string s = "U+00";
    s += k_hex[(c >> 4) & 0xF];
    s += k_hex[c & 0xF];
    return s;
  }

  static std::string describe(int c)
  {
    if (c == -1) {
      return "end of input";
    }
    if (c < 0x20 || c >= 0x7F) {
      return "byte 0x" + hex4(static_cast<unsigned>(c)).substr(4);
    }
    return std::string("'") + static_cast<char>(c) + "'";
  }

  // At the next unread byte: the offending one.
  bool error(const std::string& what)
  {
    const auto [line, col] = m_in.position();
    return report(line, col, what);
  }
  // At the byte just read.
  bool error_before(const std::string& what)
  {
    const auto [line, col] = m_in.position();
    return report(line, col > 1 ? col - 1 : col, what);
  }
  bool report(std::uint64_t line, std::uint64_t col, const std::string& what)
  {
    m_h.syntax_error("parse error at line " + std::to_string(line) + ", column " +
                     std::to_string(col) + ": " + what);
    return false;
  }

  // Bytes that a string holds as they are: printable ASCII but '"' and '\'.
  static constexpr std::array<bool, 256> k_plain = [] {
    std::array<bool, 256> t{};
    for (int c = 0x20; c < 0x80; ++c) {
      t[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
    }
    return t;
  }();

  // Whether the 8 bytes at `p` are all k_plain, tested together (a string's text is most of
  // a document's bytes, and pack reads them all on one thread). For each test, a byte's high
  // bit is set by (x - 0x01) & ~x where x is 0, by (x - 0x20) & ~x where x < 0x20, and in x
  // where x >= 0x80: exact for the word as a whole, which is all the loop asks.
  static bool all_plain(const char* p)
  {
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    std::uint64_t w = 0;
    std::memcpy(&w, p, sizeof w);
    const std::uint64_t quote = w ^ (ones * '"');
    const std::uint64_t backslash = w ^ (ones * '\\');
    const std::uint64_t special = ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) |
                                  ((w - ones * 0x20) & ~w) | w;
    return (special & highs) == 0;
  }

  JsonSource& m_in;
  Handler& m_h;
  std::string m_str;
  std::string m_num;
};

} // namespace pagable::pack
