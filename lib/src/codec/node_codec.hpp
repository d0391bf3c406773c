// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The canonical node encoding (docs/FORMAT.md "Node encoding"): how one node's JSON value is
// written as bytes, with its child nodes referenced by position in the blob's children list.
// Writers append to a Bytes buffer; NodeReader walks a blob's bytes without recursion, so
// nesting of any depth never grows the C++ stack. Finding values in a graph of nodes by JSON
// pointer is codec/navigate.hpp.
// Thread-safety: free functions are pure; a NodeReader is used by one thread at a time.

#include <pagable/blob.hpp>
#include <pagable/result.hpp>

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pagable::codec {

// One byte opening every encoded value (FORMAT.md lists them).
enum class Tag : std::uint8_t {
  null = 0x00,
  false_ = 0x01,
  true_ = 0x02,
  integer = 0x03,    // zigzag LEB128 of a signed 64-bit integer
  big_integer = 0x04, // varint length + decimal digits (an integer outside int64)
  binary64 = 0x05,   // 8 bytes little-endian IEEE 754 binary64
  string = 0x06,     // varint length + UTF-8 bytes
  array = 0x07,      // varint n + n values
  object = 0x08,     // varint n + n (varint length + name bytes, value)
  ref = 0x09,        // the value is the next child blob of this blob (children in order)
  object_chunks = 0x0A, // a chunked object: varint n, n varint member counts; children in order
  object_part = 0x0B,   // n members of a chunked object
  array_chunks = 0x0C,  // a chunked array: varint n, n varint item counts; children in order
  array_part = 0x0D,    // n items of a chunked array
  routed_object = 0x0E, // a chunked object with member fingerprints: varint m, m (parts,
                        // members) varint pairs; child 0 its chunk tree, 1..m fingerprints
  member_fingerprints = 0x0F, // varint p; per part: varint c, c 16-bit fingerprints
  wide_member_fingerprints = 0x10, // the same with 24-bit fingerprints (format 2)
};

inline constexpr std::uint8_t k_max_tag = 0x10;

// --- hashes (FORMAT.md "Chunking") ---
inline constexpr std::uint64_t k_fnv_basis = 0xcbf29ce484222325ULL;
inline std::uint64_t fnv1a64(std::span<const std::uint8_t> bytes, std::uint64_t h = k_fnv_basis)
{
  for (const std::uint8_t b : bytes) {
    h = (h ^ b) * 0x100000001b3ULL;
  }
  return h;
}
// SplitMix64's finaliser.
inline std::uint64_t mix64(std::uint64_t x)
{
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}
// Fingerprint 2 of a node's bytes (setting pack.fingerprint = 2, format 3): the bytes as
// 8-byte little-endian words (the last one padded with zeros), word i folded into lane i mod 4
// as s = rotl64((s ^ w) * k_word_prime, 29), the lanes starting at 0, 1, 2, 3, and then
// mix(s0 ^ mix(s1 ^ mix(s2 ^ mix(s3 ^ size)))). Four independent multiplies per 32 bytes
// instead of fnv1a64's one per byte: pack hashes every byte of its input this way on its
// main thread, where fnv1a64 took a quarter of the time (FORMAT.md "Chunking").
inline constexpr std::uint64_t k_word_prime = 0x9e3779b97f4a7c15ULL;
inline std::uint64_t load_u64le(const std::uint8_t* p)
{
  std::uint64_t w = 0;
  std::memcpy(&w, p, sizeof w);
  if constexpr (std::endian::native == std::endian::big) {
    w = __builtin_bswap64(w);
  }
  return w;
}
inline std::uint64_t word_hash64(std::span<const std::uint8_t> bytes)
{
  const auto fold = [](std::uint64_t s, std::uint64_t w) { return std::rotl((s ^ w) * k_word_prime, 29); };
  std::uint64_t lane[4] = {0, 1, 2, 3};
  const std::uint8_t* p = bytes.data();
  std::size_t n = bytes.size();
  for (; n >= 32; p += 32, n -= 32) {
    lane[0] = fold(lane[0], load_u64le(p));
    lane[1] = fold(lane[1], load_u64le(p + 8));
    lane[2] = fold(lane[2], load_u64le(p + 16));
    lane[3] = fold(lane[3], load_u64le(p + 24));
  }
  for (std::size_t j = 0; n > 0; ++j) {
    std::uint8_t last[8] = {};
    const std::size_t take = n < 8 ? n : 8;
    std::memcpy(last, p, take);
    lane[j] = fold(lane[j], load_u64le(last));
    p += take;
    n -= take;
  }
  return mix64(lane[0] ^ mix64(lane[1] ^ mix64(lane[2] ^ mix64(lane[3] ^ bytes.size()))));
}
// The fingerprint of a node's bytes under setting pack.fingerprint: 1 is fnv1a64 (formats 0
// to 2, and archives they made), 2 is word_hash64.
inline std::uint64_t content_hash(std::size_t version, std::span<const std::uint8_t> bytes)
{
  return version == 1 ? fnv1a64(bytes) : word_hash64(bytes);
}
// The chunking hash of a member name: mix(fnv1a64(name)).
inline std::uint64_t member_name_hash(std::string_view name)
{
  return mix64(fnv1a64({reinterpret_cast<const std::uint8_t*>(name.data()), name.size()}));
}
// The 16-bit fingerprint of a member name in a routed object's fingerprint blobs (FORMAT.md
// "Routed objects"): the top 16 bits of its chunking hash (the low bits choose part ends).
inline std::uint16_t member_fingerprint(std::uint64_t name_hash)
{
  return static_cast<std::uint16_t>(name_hash >> 48);
}
// The 24-bit fingerprint of wide fingerprint blobs: the top 24 bits of the same hash, so that
// its top 16 bits are the narrow one.
inline std::uint32_t wide_member_fingerprint(std::uint64_t name_hash)
{
  return static_cast<std::uint32_t>(name_hash >> 40);
}
// Whether `fps`, fingerprints of `width` bytes little-endian, lists `want`.
inline bool lists_fingerprint(std::span<const std::uint8_t> fps, unsigned width, std::uint32_t want)
{
  if (width < 2 || width > 3) {
    return false;
  }
  for (std::size_t i = 0; i + width <= fps.size(); i += width) {
    std::uint32_t v = 0;
    for (unsigned b = 0; b < width; ++b) {
      v |= static_cast<std::uint32_t>(fps[i + b]) << (8 * b);
    }
    if (v == want) {
      return true;
    }
  }
  return false;
}
// Bytes per fingerprint in a fingerprint blob of tag `tag` (0 for any other tag).
inline unsigned fingerprint_width(Tag tag)
{
  return tag == Tag::member_fingerprints ? 2 : tag == Tag::wide_member_fingerprints ? 3 : 0;
}

// --- writing ---
void put_varint(Bytes& out, std::uint64_t v);
void put_tag(Bytes& out, Tag tag);
void put_integer(Bytes& out, std::int64_t v);
void put_unsigned(Bytes& out, std::uint64_t v); // big_integer above INT64_MAX
// `digits`: an integer literal outside int64 ("-"? digit+, no leading zero).
void put_big_integer(Bytes& out, std::string_view digits);
void put_binary64(Bytes& out, double v);
void put_string(Bytes& out, std::string_view s);
void put_name(Bytes& out, std::string_view name); // a member name: varint length + bytes

// Encodes a JSON number literal that the parser could not hold in 64-bit integers: an integer
// literal (no fraction, no exponent) as big_integer, anything else as binary64 of `value`.
// Errc::invalid_input when `value` is not finite (binary64 overflow).
Result<void> put_number_literal(Bytes& out, std::string_view literal, double value);

// Shortest text that reads back as exactly `v`, always recognisable as a non-integer
// ("1.0", "100.0", "-0.0", "1e+300").
std::string format_binary64(double v);

// --- reading ---
class NodeReader {
public:
  explicit NodeReader(std::span<const std::uint8_t> data, std::size_t pos = 0)
      : m_data(data), m_pos(pos)
  {
  }

  std::size_t pos() const noexcept { return m_pos; }
  bool at_end() const noexcept { return m_pos >= m_data.size(); }
  // Errc::corrupt on truncation or an unknown tag.
  Result<Tag> read_tag();
  Result<Tag> peek_tag() const;
  Result<std::uint64_t> read_varint();
  Result<std::string_view> read_text(); // varint length + bytes (strings, names, big integers)
  Result<std::int64_t> read_integer_body();
  Result<double> read_binary64_body();
  // The bytes of `count` member fingerprints of `width` (2 or 3) bytes each.
  Result<std::span<const std::uint8_t>> read_fingerprints(std::uint64_t count, unsigned width);

private:
  std::span<const std::uint8_t> m_data;
  std::size_t m_pos;
};

// Skips one value starting at the reader's position (iteratively); returns the number of
// `ref` tags it passed, i.e. how many children of the blob that value uses. Chunk and part
// tags are accepted only as the value itself, never inside it (Errc::corrupt).
Result<std::size_t> skip_value(NodeReader& reader);

// Checks a blob's data is exactly one well-formed value, that its refs match its children
// count, and that chunk/part tags appear only where they may. Errc::corrupt otherwise.
Result<void> check_node(const Blob& blob);

} // namespace pagable::codec
