// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/blob.hpp>
#include <pagable/key.hpp>

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <openssl/sha.h>

#include <unordered_set>

using pagable::Key;

TEST_CASE("key: SHA-256 over u64le child count, data, child keys", "[hash][key]")
{
  const auto data = test::bytes("hello");
  const Key child = pagable::compute_key(test::bytes("c"), {});
  // Build the documented input by hand and hash it with OpenSSL's one-shot SHA256.
  std::vector<std::uint8_t> input{1, 0, 0, 0, 0, 0, 0, 0};
  input.insert(input.end(), data.begin(), data.end());
  input.insert(input.end(), child.digest().begin(), child.digest().end());
  Key::Digest expected{};
  SHA256(input.data(), input.size(), expected.data());
  const std::vector<Key> children{child};
  CHECK(pagable::compute_key(data, children) == Key(expected));
}

TEST_CASE("key: blob boundaries are unambiguous", "[hash][key]")
{
  const Key c = pagable::compute_key(test::bytes("x"), {});
  // Same concatenated bytes, split differently between data and children.
  std::vector<std::uint8_t> data_with_key = test::bytes("ab");
  data_with_key.insert(data_with_key.end(), c.digest().begin(), c.digest().end());
  const std::vector<Key> one{c};
  CHECK(pagable::compute_key(test::bytes("ab"), one) != pagable::compute_key(data_with_key, {}));
  CHECK(pagable::compute_key({}, {}) != pagable::compute_key(test::bytes(""), one));
}

TEST_CASE("key: hex form, parsing and prefixes", "[hash][key]")
{
  const Key k = pagable::compute_key(test::bytes("abc"), {});
  const std::string hex = k.to_hex();
  CHECK(hex.size() == 64);
  CHECK(Key::parse(hex).value() == k);
  std::string upper = hex;
  for (char& ch : upper) {
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  CHECK(Key::parse(upper).value() == k);
  CHECK(k.short_hex() == hex.substr(0, 12));
  CHECK(k.has_hex_prefix(hex.substr(0, 7)));
  CHECK_FALSE(Key::parse("xyz").has_value());
  CHECK_FALSE(Key::parse(std::string(64, 'g')).has_value());
  CHECK(Key::parse(std::string(63, '0')).error().code() == pagable::Errc::invalid_argument);
  CHECK(Key::from_bytes(std::vector<std::uint8_t>(31)).error().code() == pagable::Errc::corrupt);
}

TEST_CASE("key: comparison and hashing", "[hash][key]")
{
  const Key a = pagable::compute_key(test::bytes("a"), {});
  const Key b = pagable::compute_key(test::bytes("b"), {});
  CHECK(a != b);
  CHECK((a < b) != (b < a));
  std::unordered_set<Key> set{a, b, a};
  CHECK(set.size() == 2);
}

TEST_CASE("key: unique-prefix lookup for the CLI", "[hash][key]")
{
  std::vector<Key> keys;
  for (int i = 0; i < 300; ++i) {
    keys.push_back(pagable::compute_key(test::bytes(std::to_string(i)), {}));
  }
  const std::string full = keys[17].to_hex();
  CHECK(pagable::resolve_unique_prefix(full.substr(0, 10), keys).value() == keys[17]);
  // One hex digit matches many of 300 keys: ambiguous, and the message says so.
  auto amb = pagable::resolve_unique_prefix(full.substr(0, 1), keys);
  REQUIRE_FALSE(amb);
  CHECK(amb.error().code() == pagable::Errc::invalid_argument);
  CHECK_THAT(amb.error().message(), Catch::Contains("ambiguous"));
  const Key outsider = pagable::compute_key(test::bytes("outsider"), {});
  std::string absent = outsider.to_hex();
  bool clash = false;
  for (const auto& k : keys) {
    clash = clash || k.has_hex_prefix(absent.substr(0, 12));
  }
  REQUIRE_FALSE(clash);
  CHECK(pagable::resolve_unique_prefix(absent.substr(0, 12), keys).error().code() ==
        pagable::Errc::not_found);
  CHECK(pagable::resolve_unique_prefix("zz", keys).error().code() ==
        pagable::Errc::invalid_argument);
}
