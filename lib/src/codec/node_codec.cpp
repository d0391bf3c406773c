// SPDX-License-Identifier: MIT OR Apache-2.0
#include "codec/node_codec.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

namespace pagable::codec {
namespace {

Error corrupt(std::string what)
{
  return make_error(Errc::corrupt, "malformed node: " + std::move(what));
}

bool is_integer_literal(std::string_view s)
{
  if (!s.empty() && s.front() == '-') {
    s.remove_prefix(1);
  }
  if (s.empty()) {
    return false;
  }
  for (const char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

} // namespace

// --- writing ---

void put_varint(Bytes& out, std::uint64_t v)
{
  while (v >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(v));
}

void put_tag(Bytes& out, Tag tag)
{
  out.push_back(static_cast<std::uint8_t>(tag));
}

void put_integer(Bytes& out, std::int64_t v)
{
  put_tag(out, Tag::integer);
  const auto u = static_cast<std::uint64_t>(v);
  put_varint(out, (u << 1) ^ (v < 0 ? ~std::uint64_t{0} : 0));
}

void put_unsigned(Bytes& out, std::uint64_t v)
{
  if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    put_integer(out, static_cast<std::int64_t>(v));
    return;
  }
  put_big_integer(out, std::to_string(v));
}

void put_big_integer(Bytes& out, std::string_view digits)
{
  put_tag(out, Tag::big_integer);
  put_varint(out, digits.size());
  out.insert(out.end(), digits.begin(), digits.end());
}

void put_binary64(Bytes& out, double v)
{
  put_tag(out, Tag::binary64);
  const auto bits = std::bit_cast<std::uint64_t>(v);
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
  }
}

void put_string(Bytes& out, std::string_view s)
{
  put_tag(out, Tag::string);
  put_name(out, s);
}

void put_name(Bytes& out, std::string_view name)
{
  put_varint(out, name.size());
  out.insert(out.end(), name.begin(), name.end());
}

Result<void> put_number_literal(Bytes& out, std::string_view literal, double value)
{
  if (is_integer_literal(literal)) {
    // Canonical form: int64 values use `integer` whatever the parser did with them.
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(literal.data(), literal.data() + literal.size(), v);
    if (ec == std::errc() && end == literal.data() + literal.size()) {
      put_integer(out, v);
    } else if (literal == "-0") {
      put_integer(out, 0);
    } else {
      put_big_integer(out, literal);
    }
    return {};
  }
  if (!std::isfinite(value)) {
    return make_error(Errc::invalid_input,
                      "number " + std::string(literal) + " overflows binary64");
  }
  put_binary64(out, value);
  return {};
}

std::string format_binary64(double v)
{
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, ec == std::errc() ? end : buf);
  if (s.find_first_of(".eEn") == std::string::npos) {
    s += ".0";
  }
  return s;
}

// --- reading ---

Result<Tag> NodeReader::peek_tag() const
{
  if (m_pos >= m_data.size()) {
    return corrupt("truncated at byte " + std::to_string(m_pos));
  }
  const std::uint8_t t = m_data[m_pos];
  if (t > k_max_tag) {
    return corrupt("unknown tag " + std::to_string(t) + " at byte " + std::to_string(m_pos));
  }
  return static_cast<Tag>(t);
}

Result<Tag> NodeReader::read_tag()
{
  PAGABLE_TRY_ASSIGN(const Tag t, peek_tag());
  ++m_pos;
  return t;
}

Result<std::uint64_t> NodeReader::read_varint()
{
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (m_pos >= m_data.size()) {
      return corrupt("truncated varint at byte " + std::to_string(m_pos));
    }
    const std::uint8_t b = m_data[m_pos++];
    v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) {
      return v;
    }
  }
  return corrupt("varint longer than 64 bits at byte " + std::to_string(m_pos));
}

Result<std::string_view> NodeReader::read_text()
{
  PAGABLE_TRY_ASSIGN(const std::uint64_t n, read_varint());
  if (n > m_data.size() - m_pos) {
    return corrupt("a text of " + std::to_string(n) + " bytes runs past the end");
  }
  const std::string_view s(reinterpret_cast<const char*>(m_data.data() + m_pos),
                           static_cast<std::size_t>(n));
  m_pos += static_cast<std::size_t>(n);
  return s;
}

Result<std::int64_t> NodeReader::read_integer_body()
{
  PAGABLE_TRY_ASSIGN(const std::uint64_t z, read_varint());
  return static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1));
}

Result<double> NodeReader::read_binary64_body()
{
  if (m_data.size() - m_pos < 8) {
    return corrupt("truncated binary64");
  }
  std::uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) {
    bits |= static_cast<std::uint64_t>(m_data[m_pos + static_cast<std::size_t>(i)]) << (8 * i);
  }
  m_pos += 8;
  const double v = std::bit_cast<double>(bits);
  if (!std::isfinite(v)) {
    return corrupt("a binary64 that is not finite");
  }
  return v;
}

Result<std::span<const std::uint8_t>> NodeReader::read_fingerprints(std::uint64_t count,
                                                                   unsigned width)
{
  if (width < 2 || width > 3) {
    return corrupt("a fingerprint width of " + std::to_string(width) + " bytes");
  }
  if (count > (m_data.size() - m_pos) / width) {
    return corrupt("truncated fingerprints");
  }
  const auto n = static_cast<std::size_t>(count) * width;
  const auto out = m_data.subspan(m_pos, n);
  m_pos += n;
  return out;
}

Result<std::size_t> skip_value(NodeReader& reader)
{
  // Each entry: values still to skip in an open container, and whether it is an object
  // (whose members start with a name).
  struct Open {
    std::uint64_t remaining;
    bool object;
  };
  std::vector<Open> open;
  std::size_t refs = 0;
  bool first = true;
  while (first || !open.empty()) {
    if (!first) {
      Open& top = open.back();
      if (top.remaining == 0) {
        open.pop_back();
        continue;
      }
      --top.remaining;
      if (top.object) {
        PAGABLE_TRY(reader.read_text());
      }
    }
    first = false;
    PAGABLE_TRY_ASSIGN(const Tag tag, reader.read_tag());
    switch (tag) {
    case Tag::null:
    case Tag::false_:
    case Tag::true_: break;
    case Tag::integer: PAGABLE_TRY(reader.read_varint()); break;
    case Tag::big_integer:
    case Tag::string: PAGABLE_TRY(reader.read_text()); break;
    case Tag::binary64: PAGABLE_TRY(reader.read_binary64_body()); break;
    case Tag::ref: ++refs; break;
    case Tag::routed_object: {
      if (!open.empty()) {
        return corrupt("a routed object inside a value");
      }
      PAGABLE_TRY_ASSIGN(const std::uint64_t m, reader.read_varint());
      if (m == 0) {
        return corrupt("a routed object without fingerprints");
      }
      for (std::uint64_t i = 0; i < m; ++i) {
        PAGABLE_TRY(reader.read_varint());
        PAGABLE_TRY(reader.read_varint());
      }
      refs += 1 + static_cast<std::size_t>(m);
      break;
    }
    case Tag::member_fingerprints:
    case Tag::wide_member_fingerprints: {
      if (!open.empty()) {
        return corrupt("member fingerprints inside a value");
      }
      PAGABLE_TRY_ASSIGN(const std::uint64_t parts, reader.read_varint());
      for (std::uint64_t i = 0; i < parts; ++i) {
        PAGABLE_TRY_ASSIGN(const std::uint64_t c, reader.read_varint());
        PAGABLE_TRY(reader.read_fingerprints(c, fingerprint_width(tag)));
      }
      break;
    }
    case Tag::object_part:
    case Tag::array_part:
    case Tag::object_chunks:
    case Tag::array_chunks:
      if (!open.empty()) {
        return corrupt("a chunk tag inside a value");
      }
      if (tag == Tag::object_chunks || tag == Tag::array_chunks) {
        PAGABLE_TRY_ASSIGN(const std::uint64_t n, reader.read_varint());
        for (std::uint64_t i = 0; i < n; ++i) {
          PAGABLE_TRY(reader.read_varint());
        }
        refs += static_cast<std::size_t>(n);
        break;
      }
      [[fallthrough]];
    case Tag::array:
    case Tag::object: {
      PAGABLE_TRY_ASSIGN(const std::uint64_t n, reader.read_varint());
      open.push_back({n, tag == Tag::object || tag == Tag::object_part});
      break;
    }
    }
  }
  return refs;
}

Result<void> check_node(const Blob& blob)
{
  NodeReader reader(blob.data);
  PAGABLE_TRY_ASSIGN(const Tag top, reader.peek_tag());
  PAGABLE_TRY_ASSIGN(const std::size_t refs, skip_value(reader));
  if (!reader.at_end()) {
    return corrupt("trailing bytes after the value");
  }
  if (refs != blob.children.size()) {
    return corrupt(std::to_string(refs) + " references for " +
                   std::to_string(blob.children.size()) + " children");
  }
  if ((top == Tag::object_chunks || top == Tag::array_chunks) && refs == 0) {
    return corrupt("an empty chunk list");
  }
  return {};
}

} // namespace pagable::codec
