// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/key.hpp>

#include "util/hex.hpp"

// SHA-256 through OpenSSL's direct functions, not EVP: EVP_MD_fetch sets up the default
// provider and copies every legacy cipher and digest name into its name map first, 0.3-0.6 ms
// that every short command paid before its first key (hydrate --at of one leaf: 0.5 ms of
// 6.5). SHA256_Init needs no set-up and hashes a 72-byte key in 145 ns against EVP's 196
// (1,000,000 keys, this machine), with the same SHA-NI/AVX code. OpenSSL 3 marks these
// functions deprecated (for new code: they cannot select providers), but keeps them; a
// content hash needs no provider.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace pagable {

static_assert(sizeof(Key) == Key::k_size, "keys are hashed as one contiguous array");

namespace {

constexpr char k_hex[] = "0123456789abcdef";

int hex_value(char c)
{
  return util::hex_digit_value(c);
}

// Hashes the parts in order; SHA-256 cannot fail on valid arguments.
template <typename... Parts>
Key::Digest sha256_parts(const Parts&... parts)
{
  SHA256_CTX ctx;
  Key::Digest out{};
  const bool ok = SHA256_Init(&ctx) == 1 &&
                  ((parts.empty() || SHA256_Update(&ctx, parts.data(), parts.size_bytes()) == 1) &&
                   ...) &&
                  SHA256_Final(out.data(), &ctx) == 1;
  if (!ok) {
    std::abort();
  }
  return out;
}

} // namespace

Result<Key> Key::from_bytes(std::span<const std::uint8_t> bytes)
{
  if (bytes.size() != k_size) {
    return make_error(Errc::corrupt,
                      "a key must be 32 bytes, found " + std::to_string(bytes.size()));
  }
  Digest d;
  std::copy(bytes.begin(), bytes.end(), d.begin());
  return Key(d);
}

Result<Key> Key::parse(std::string_view hex)
{
  if (hex.size() != 2 * k_size) {
    return make_error(Errc::invalid_argument,
                      "a key is 64 hex digits, got " + std::to_string(hex.size()) + " characters");
  }
  Digest d;
  for (std::size_t i = 0; i < k_size; ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return make_error(Errc::invalid_argument, "not a hex key: \"" + std::string(hex) + "\"");
    }
    d[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return Key(d);
}

std::string Key::to_hex() const
{
  std::string s(2 * k_size, '0');
  for (std::size_t i = 0; i < k_size; ++i) {
    s[2 * i] = k_hex[m_digest[i] >> 4];
    s[2 * i + 1] = k_hex[m_digest[i] & 0xF];
  }
  return s;
}

std::string Key::short_hex() const
{
  return to_hex().substr(0, 12);
}

bool Key::has_hex_prefix(std::string_view prefix) const
{
  if (prefix.size() > 2 * k_size) {
    return false;
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const std::uint8_t byte = m_digest[i / 2];
    const char want = k_hex[(i % 2 == 0) ? (byte >> 4) : (byte & 0xF)];
    if (prefix[i] != want) {
      return false;
    }
  }
  return true;
}

Key compute_key(std::span<const std::uint8_t> data, std::span<const Key> children)
{
  std::uint8_t count[8];
  std::uint64_t n = children.size();
  for (auto& b : count) { // little-endian, fixed width on every platform
    b = static_cast<std::uint8_t>(n & 0xFF);
    n >>= 8;
  }
  return Key(sha256_parts(std::span<const std::uint8_t>(count), data,
                          std::span<const Key>(children)));
}

Key sha256_of(std::span<const std::uint8_t> bytes)
{
  return Key(sha256_parts(bytes));
}

Result<std::string> normalize_hex_prefix(std::string_view prefix)
{
  if (prefix.empty() || prefix.size() > 2 * Key::k_size) {
    return make_error(Errc::invalid_argument, "a key prefix is 1 to 64 hex digits");
  }
  std::string out(prefix);
  for (char& c : out) {
    if (hex_value(c) < 0) {
      return make_error(Errc::invalid_argument,
                        "not a hex key prefix: \"" + std::string(prefix) + "\"");
    }
    if (c >= 'A' && c <= 'F') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

Result<Key> resolve_unique_prefix(std::string_view prefix, std::span<const Key> candidates)
{
  PAGABLE_TRY_ASSIGN(const std::string p, normalize_hex_prefix(prefix));
  std::vector<Key> matches;
  for (const Key& k : candidates) {
    if (k.has_hex_prefix(p) && std::find(matches.begin(), matches.end(), k) == matches.end()) {
      matches.push_back(k);
    }
  }
  if (matches.empty()) {
    return make_error(Errc::not_found, "no key starts with " + p);
  }
  if (matches.size() > 1) {
    std::string list;
    for (std::size_t i = 0; i < matches.size() && i < 5; ++i) {
      list += (i ? ", " : "") + matches[i].short_hex();
    }
    return make_error(Errc::invalid_argument, "key prefix " + p + " is ambiguous: it matches " +
                                                  std::to_string(matches.size()) + " keys (" +
                                                  list + (matches.size() > 5 ? ", ..." : "") +
                                                  "); give more digits");
  }
  return matches.front();
}

} // namespace pagable
