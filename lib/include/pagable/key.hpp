// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Key: the content address of a blob, SHA-256 over (child count, canonical bytes, child
// keys) -- see docs/FORMAT.md "Keys". A value type; thread-safe as values are.

#include <pagable/result.hpp>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pagable {

class Key {
public:
  static constexpr std::size_t k_size = 32;
  using Digest = std::array<std::uint8_t, k_size>;

  constexpr Key() = default; // all zero: never the key of a blob in practice
  explicit constexpr Key(const Digest& digest) : m_digest(digest) {}

  // Reads 32 raw bytes. Returns Errc::corrupt if `bytes` is not exactly 32 bytes long.
  static Result<Key> from_bytes(std::span<const std::uint8_t> bytes);
  // Parses exactly 64 hex digits (either case). Errc::invalid_argument otherwise.
  static Result<Key> parse(std::string_view hex);

  const Digest& digest() const noexcept { return m_digest; }
  std::span<const std::uint8_t> bytes() const noexcept { return m_digest; }
  // 64 lower-case hex digits.
  std::string to_hex() const;
  // The first 12 hex digits, for messages.
  std::string short_hex() const;
  // Returns true iff to_hex() starts with `hex_prefix` (lower case expected).
  bool has_hex_prefix(std::string_view hex_prefix) const;

  friend auto operator<=>(const Key&, const Key&) = default;
  friend bool operator==(const Key&, const Key&) = default;

private:
  Digest m_digest{};
};

// Key of a blob: SHA-256 over u64le(children.size()) || data || children[0] || ... (FORMAT.md).
Key compute_key(std::span<const std::uint8_t> data, std::span<const Key> children);

// The plain SHA-256 of `bytes` (no child count): how a pack is named outside its archive
// (pagable/store.hpp, PackDigest), as OCI registries name blobs.
Key sha256_of(std::span<const std::uint8_t> bytes);

// Checks that `prefix` is 1..64 hex digits and returns it in lower case, else
// Errc::invalid_argument. Used by the CLI's unique-prefix lookup.
Result<std::string> normalize_hex_prefix(std::string_view prefix);

// Finds the one key among `candidates` with the given hex prefix. Errc::not_found when none
// matches, Errc::invalid_argument (naming the matches) when more than one does.
Result<Key> resolve_unique_prefix(std::string_view prefix, std::span<const Key> candidates);

} // namespace pagable

template <>
struct std::hash<pagable::Key> {
  std::size_t operator()(const pagable::Key& key) const noexcept
  {
    // The digest is uniformly distributed: its first word is a perfect hash.
    std::size_t h;
    std::memcpy(&h, key.digest().data(), sizeof h);
    return h;
  }
};
