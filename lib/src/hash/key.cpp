// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/key.hpp>

#include "util/hex.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

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

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// One context per thread: EVP_MD_CTX_new per key showed up in profiles of small blobs.
EVP_MD_CTX* thread_ctx()
{
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx) {
    std::abort(); // out of memory inside OpenSSL: nothing sensible to return
  }
  return ctx.get();
}

// SHA-256 fetched from the default provider once. Passing EVP_sha256() to every init makes
// OpenSSL 3 fetch the implementation again each time: 470 ns per 70-byte key against 196 ns
// with the fetched one (1,000,000 keys, this machine), which pack, every read and verify pay.
// Without OPENSSL_INIT_NO_LOAD_CONFIG the first fetch parses the system's openssl.cnf, about
// 0.5 ms of every short command (hydrate --at of one leaf); a content hash needs none of it.
EVP_MD* fetch_sha256()
{
  OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr);
  return EVP_MD_fetch(nullptr, "SHA256", nullptr);
}

const EVP_MD* sha256()
{
  static const std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md(fetch_sha256(), &EVP_MD_free);
  if (!md) {
    std::abort(); // no SHA-256 in OpenSSL's default provider: nothing can work
  }
  return md.get();
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
  EVP_MD_CTX* ctx = thread_ctx();
  std::uint8_t count[8];
  std::uint64_t n = children.size();
  for (auto& b : count) { // little-endian, fixed width on every platform
    b = static_cast<std::uint8_t>(n & 0xFF);
    n >>= 8;
  }
  Key::Digest out{};
  unsigned int len = 0;
  const bool ok = EVP_DigestInit_ex2(ctx, sha256(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, count, sizeof count) == 1 &&
                  EVP_DigestUpdate(ctx, data.data(), data.size()) == 1 &&
                  (children.empty() ||
                   EVP_DigestUpdate(ctx, children.data(), children.size() * Key::k_size) == 1) &&
                  EVP_DigestFinal_ex(ctx, out.data(), &len) == 1;
  if (!ok || len != Key::k_size) {
    std::abort(); // SHA-256 cannot fail on valid arguments
  }
  return Key(out);
}

Key sha256_of(std::span<const std::uint8_t> bytes)
{
  EVP_MD_CTX* ctx = thread_ctx();
  Key::Digest out{};
  unsigned int len = 0;
  const bool ok = EVP_DigestInit_ex2(ctx, sha256(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, bytes.data(), bytes.size()) == 1 &&
                  EVP_DigestFinal_ex(ctx, out.data(), &len) == 1;
  if (!ok || len != Key::k_size) {
    std::abort(); // SHA-256 cannot fail on valid arguments
  }
  return Key(out);
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
