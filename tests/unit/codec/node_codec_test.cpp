// SPDX-License-Identifier: MIT OR Apache-2.0
#include "codec/node_codec.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string_view>
#include <vector>

using namespace pagable;
using codec::NodeReader;
using codec::Tag;

TEST_CASE("codec: integers are zigzag varints, exact at the int64 edges", "[codec]")
{
  for (const std::int64_t v : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1}, std::int64_t{63},
                               std::int64_t{-64}, std::int64_t{300},
                               std::numeric_limits<std::int64_t>::max(),
                               std::numeric_limits<std::int64_t>::min()}) {
    Bytes b;
    codec::put_integer(b, v);
    NodeReader r(b);
    CHECK(r.read_tag().value() == Tag::integer);
    CHECK(r.read_integer_body().value() == v);
    CHECK(r.at_end());
  }
  Bytes small;
  codec::put_integer(small, -1);
  CHECK(small == Bytes{0x03, 0x01});
  Bytes big;
  codec::put_unsigned(big, std::numeric_limits<std::uint64_t>::max());
  NodeReader r(big);
  CHECK(r.read_tag().value() == Tag::big_integer);
  CHECK(r.read_text().value() == "18446744073709551615");
}

TEST_CASE("codec: number literals keep integers exact and reject overflow", "[codec]")
{
  Bytes b;
  REQUIRE(codec::put_number_literal(b, "123456789012345678901234567890", 1.2e29));
  CHECK(b.front() == static_cast<std::uint8_t>(Tag::big_integer));
  Bytes i;
  REQUIRE(codec::put_number_literal(i, "-0", -0.0));
  CHECK(i == Bytes{0x03, 0x00});
  Bytes d;
  REQUIRE(codec::put_number_literal(d, "1.0", 1.0));
  CHECK(d.front() == static_cast<std::uint8_t>(Tag::binary64));
  Bytes bad;
  const auto r = codec::put_number_literal(bad, "1e400", std::numeric_limits<double>::infinity());
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == Errc::invalid_input);
}

TEST_CASE("codec: binary64 is written in shortest round-trip form, never as an integer", "[codec]")
{
  CHECK(codec::format_binary64(1.0) == "1.0");
  CHECK(codec::format_binary64(100.0) == "100.0");
  CHECK(codec::format_binary64(-0.0) == "-0.0");
  CHECK(codec::format_binary64(0.1) == "0.1");
  CHECK(codec::format_binary64(1e300) == "1e+300");
  CHECK(codec::format_binary64(2.5) == "2.5");
}

TEST_CASE("codec: check_node accepts well-formed nodes and refuses malformed ones", "[codec]")
{
  Bytes data;
  codec::put_tag(data, Tag::object);
  codec::put_varint(data, 2);
  codec::put_name(data, "a");
  codec::put_tag(data, Tag::ref);
  codec::put_name(data, "b");
  codec::put_string(data, "x");
  const Key child = compute_key(data, {});
  CHECK(codec::check_node(Blob{data, {child}}));
  CHECK_FALSE(codec::check_node(Blob{data, {}}));                  // refs != children
  CHECK_FALSE(codec::check_node(Blob{Bytes(data.begin(), data.end() - 1), {child}})); // truncated
  Bytes nested{static_cast<std::uint8_t>(Tag::array), 1, static_cast<std::uint8_t>(Tag::object_part), 0};
  CHECK_FALSE(codec::check_node(Blob{nested, {}}));
  CHECK_FALSE(codec::check_node(Blob{Bytes{0x7F}, {}}));
}

TEST_CASE("codec: check_node knows routed objects and member fingerprints (format 1)", "[codec]")
{
  const auto tag = [](Tag t) { return static_cast<std::uint8_t>(t); };
  const Key a = compute_key(Bytes{1}, {}), b = compute_key(Bytes{2}, {});
  // One fingerprint blob covering 1 part of 2 members: children are the tree and that blob.
  const Bytes routed{tag(Tag::routed_object), 1, 1, 2};
  CHECK(codec::check_node(Blob{routed, {a, b}}));
  CHECK_FALSE(codec::check_node(Blob{routed, {a}}));
  CHECK_FALSE(codec::check_node(Blob{Bytes{tag(Tag::routed_object), 1, 1}, {a, b}})); // truncated
  const Bytes fps{tag(Tag::member_fingerprints), 1, 2, 0x34, 0x12, 0xcd, 0xab};
  CHECK(codec::check_node(Blob{fps, {}}));
  CHECK_FALSE(codec::check_node(Blob{Bytes(fps.begin(), fps.end() - 1), {}})); // half a fingerprint
  CHECK_FALSE(codec::check_node(Blob{fps, {a}}));
  // Neither may appear inside a value.
  CHECK_FALSE(codec::check_node(Blob{Bytes{tag(Tag::array), 1, tag(Tag::routed_object), 0}, {a}}));
  CHECK_FALSE(codec::check_node(Blob{Bytes{tag(Tag::array), 1, tag(Tag::member_fingerprints), 0}, {}}));
  // The fingerprint of a name is the top of its chunking hash.
  CHECK(codec::member_fingerprint(codec::member_name_hash("k1")) ==
        static_cast<std::uint16_t>(codec::mix64(codec::fnv1a64(Bytes{'k', '1'})) >> 48));
}

TEST_CASE("codec: check_node knows wide member fingerprints (format 2)", "[codec]")
{
  const auto tag = [](Tag t) { return static_cast<std::uint8_t>(t); };
  // 1 part of 2 members, 3 bytes each.
  const Bytes fps{tag(Tag::wide_member_fingerprints), 1, 2, 0x56, 0x34, 0x12, 0xef, 0xcd, 0xab};
  CHECK(codec::check_node(Blob{fps, {}}));
  CHECK_FALSE(codec::check_node(Blob{Bytes(fps.begin(), fps.end() - 1), {}}));
  CHECK_FALSE(codec::check_node(Blob{Bytes(fps.begin(), fps.end() - 2), {}}));
  CHECK_FALSE(codec::check_node(
      Blob{Bytes{tag(Tag::array), 1, tag(Tag::wide_member_fingerprints), 0}, {}}));
  codec::NodeReader r(fps, 3);
  const auto two = r.read_fingerprints(2, 3).value();
  CHECK(codec::lists_fingerprint(two, 3, 0x123456));
  CHECK(codec::lists_fingerprint(two, 3, 0xabcdef));
  CHECK_FALSE(codec::lists_fingerprint(two, 3, 0x3412ef)); // straddles two fingerprints
  CHECK_FALSE(codec::lists_fingerprint(two.first(5), 3, 0xabcdef)); // a partial one is not listed
  CHECK(codec::lists_fingerprint(two, 2, 0x3456));
  CHECK_FALSE(r.read_fingerprints(1, 3)); // nothing left
  codec::NodeReader huge(fps, 3);
  CHECK_FALSE(huge.read_fingerprints(~std::uint64_t{0} / 2, 2)); // count * width overflows
  // The narrow fingerprint is the top 16 of the wide one's 24 bits.
  const std::uint64_t h = codec::member_name_hash("k1");
  CHECK(codec::wide_member_fingerprint(h) == (h >> 40));
  CHECK(codec::member_fingerprint(h) == codec::wide_member_fingerprint(h) >> 8);
}

TEST_CASE("codec: fingerprint 2 is the word hash FORMAT.md specifies", "[codec]")
{
  // Expected values from a separate implementation of FORMAT.md "Chunking" (Python, written
  // from its text): every tail length, a whole 32-byte round, and more than one.
  const auto hash = [](std::size_t n, bool zeros = false) {
    std::vector<std::uint8_t> b(n);
    for (std::size_t i = 0; i < n; ++i) {
      b[i] = zeros ? 0 : static_cast<std::uint8_t>(i);
    }
    return codec::word_hash64(b);
  };
  const auto text = [](std::string_view s) {
    return codec::word_hash64({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  };
  CHECK(hash(0) == 0x1694a3180310745aULL);
  CHECK(text("a") == 0x9b1ca644ebef2d05ULL);
  CHECK(text("abcdefgh") == 0xa20882e60137b4a0ULL);
  CHECK(text("abcdefghi") == 0x8a06310066e69583ULL);
  CHECK(hash(31) == 0x92b14917c70ab5bcULL);
  CHECK(hash(32) == 0x43fbb5f3c620c08bULL);
  CHECK(hash(33) == 0x2d78c4a841304b95ULL);
  CHECK(hash(100) == 0x81a857265a7d81bdULL);
  // Zero padding does not make 8 zero bytes hash as the empty string: the size is mixed in.
  CHECK(hash(8, true) == 0xbd1d2dcc242e2277ULL);
  CHECK(codec::content_hash(2, {}) == hash(0));
  CHECK(codec::content_hash(1, {}) == codec::k_fnv_basis);
}
