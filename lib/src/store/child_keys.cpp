// SPDX-License-Identifier: MIT OR Apache-2.0
#include "store/child_keys.hpp"

#include "store/sqlite_schema.hpp"

#include <array>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

namespace pagable::store {
namespace {

constexpr std::uint8_t k_refs_tag = 0x01;

void put_varint(Bytes& out, std::uint64_t v)
{
  while (v >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(v));
}

// Reads a varint at `at`; nullopt when it runs past the end or past 64 bits.
std::optional<std::uint64_t> get_varint(std::span<const std::uint8_t> in, std::size_t& at)
{
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64 && at < in.size(); shift += 7) {
    const std::uint8_t b = in[at++];
    v |= std::uint64_t{b & 0x7fU} << shift;
    if ((b & 0x80) == 0) {
      return v;
    }
  }
  return std::nullopt;
}

Error malformed(std::string_view owner, const std::string& why)
{
  return Error(Errc::corrupt, std::string(owner) + ": child list " + why);
}

} // namespace

Bytes encode_children(std::span<const Key> children)
{
  Bytes out;
  out.reserve(children.size() * Key::k_size);
  for (const Key& k : children) {
    out.insert(out.end(), k.digest().begin(), k.digest().end());
  }
  return out;
}

Result<Bytes> encode_child_refs(std::span<const Key> children,
                                const std::function<Result<std::optional<std::int64_t>>(const Key&)>& id_of)
{
  Bytes out;
  if (children.empty()) {
    return out;
  }
  out.push_back(k_refs_tag);
  put_varint(out, children.size());
  for (const Key& k : children) {
    PAGABLE_TRY_ASSIGN(const std::optional<std::int64_t> id, id_of(k));
    if (id && *id > 0) {
      put_varint(out, static_cast<std::uint64_t>(*id));
    } else {
      out.push_back(0);
      out.insert(out.end(), k.digest().begin(), k.digest().end());
    }
  }
  // A multiple of 32 bytes would read as a key list.
  if (out.size() % Key::k_size == 0) {
    out.push_back(0);
  }
  return out;
}

bool holds_row_ids(std::span<const std::uint8_t> raw) noexcept
{
  return raw.size() % Key::k_size != 0 && raw[0] == k_refs_tag;
}

Result<std::vector<ChildRef>> decode_child_refs(std::span<const std::uint8_t> raw, std::string_view owner)
{
  std::vector<ChildRef> out;
  if (raw.size() % Key::k_size == 0) {
    out.reserve(raw.size() / Key::k_size);
    for (std::size_t i = 0; i < raw.size(); i += Key::k_size) {
      PAGABLE_TRY_ASSIGN(Key k, Key::from_bytes(raw.subspan(i, Key::k_size)));
      out.push_back(ChildRef{0, k});
    }
    return out;
  }
  if (raw[0] != k_refs_tag) {
    return malformed(owner, "of " + std::to_string(raw.size()) +
                                " bytes is neither child keys (a multiple of 32) nor row ids");
  }
  std::size_t at = 1;
  const auto count = get_varint(raw, at);
  // Each child takes at least one byte: a count beyond that is damage, not a size to reserve.
  if (!count || *count > raw.size()) {
    return malformed(owner, "has an unreadable child count");
  }
  out.reserve(static_cast<std::size_t>(*count));
  for (std::uint64_t i = 0; i < *count; ++i) {
    const auto id = get_varint(raw, at);
    if (!id || *id > static_cast<std::uint64_t>(INT64_MAX)) {
      return malformed(owner, "ends inside child " + std::to_string(i));
    }
    if (*id != 0) {
      out.push_back(ChildRef{static_cast<std::int64_t>(*id), Key{}});
      continue;
    }
    if (raw.size() - at < Key::k_size) {
      return malformed(owner, "ends inside the key of child " + std::to_string(i));
    }
    PAGABLE_TRY_ASSIGN(Key k, Key::from_bytes(raw.subspan(at, Key::k_size)));
    at += Key::k_size;
    out.push_back(ChildRef{0, k});
  }
  // What may follow the last child: nothing, or the one byte that kept the length off a
  // multiple of 32.
  const std::size_t rest = raw.size() - at;
  if (!(rest == 0 || (rest == 1 && raw[at] == 0 && at % Key::k_size == 0))) {
    return malformed(owner, "has " + std::to_string(rest) + " bytes after its last child");
  }
  return out;
}

Result<std::vector<Key>> decode_children(std::span<const std::uint8_t> raw, std::string_view owner,
                                         sql::Stmt* key_of_id)
{
  PAGABLE_TRY_ASSIGN(const std::vector<ChildRef> refs, decode_child_refs(raw, owner));
  std::vector<Key> out;
  out.reserve(refs.size());
  for (const ChildRef& ref : refs) {
    if (ref.id == 0) {
      out.push_back(ref.key);
      continue;
    }
    if (key_of_id == nullptr) {
      return malformed(owner, "names row " + std::to_string(ref.id) + " where no row id is read");
    }
    key_of_id->reset();
    key_of_id->bind(1, ref.id);
    std::optional<Key> found;
    PAGABLE_TRY(key_of_id->first_row("reading a child's key", [&](const sql::Stmt& row) -> Result<void> {
      auto k = Key::from_bytes(row.column_blob(0));
      if (k) {
        found = *k;
      }
      return {};
    }));
    if (!found) {
      // Damage to this blob as a reader sees it: the list no longer says what its children
      // are (their keys went with their rows), so `pack --repair` replaces it.
      return malformed(owner, "names blob row " + std::to_string(ref.id) + ", which is not in the store");
    }
    out.push_back(*found);
  }
  return out;
}

namespace {

// A set of row ids, as bits in blocks of 32,768 ids made when first needed: ids are dense
// (given in order), so the walk of a root that reaches every row of an archive sets one bit
// a row instead of allocating a hash node for each.
class RowIdSet {
public:
  // Returns true iff `id` was not in the set.
  bool insert(std::int64_t id)
  {
    if (id < 0 || static_cast<std::uint64_t>(id) >= k_bitmap_ids) {
      return m_far.insert(id).second;
    }
    const auto block = static_cast<std::size_t>(id >> k_block_bits);
    if (block >= m_blocks.size()) {
      m_blocks.resize(block + 1);
    }
    auto& bits = m_blocks[block];
    if (!bits) {
      bits = std::make_unique<std::array<std::uint64_t, k_block_words>>();
      bits->fill(0);
    }
    const auto at = static_cast<std::size_t>(id) & ((std::size_t{1} << k_block_bits) - 1);
    const std::uint64_t mask = std::uint64_t{1} << (at % 64);
    if (((*bits)[at / 64] & mask) != 0) {
      return false;
    }
    (*bits)[at / 64] |= mask;
    return true;
  }
  bool contains(std::int64_t id) const
  {
    if (id < 0 || static_cast<std::uint64_t>(id) >= k_bitmap_ids) {
      return m_far.count(id) != 0;
    }
    const auto block = static_cast<std::size_t>(id >> k_block_bits);
    if (block >= m_blocks.size() || !m_blocks[block]) {
      return false;
    }
    const auto at = static_cast<std::size_t>(id) & ((std::size_t{1} << k_block_bits) - 1);
    return ((*m_blocks[block])[at / 64] >> (at % 64) & 1) != 0;
  }

private:
  static constexpr int k_block_bits = 15;
  static constexpr std::size_t k_block_words = (std::size_t{1} << k_block_bits) / 64;
  static constexpr std::uint64_t k_bitmap_ids = std::uint64_t{1} << 32; // beyond: hashed
  std::vector<std::unique_ptr<std::array<std::uint64_t, k_block_words>>> m_blocks;
  std::unordered_set<std::int64_t> m_far;
};

} // namespace

Result<void> confirm_rows_reachable(sql::Db& db, const Key& root)
{
  PAGABLE_TRY_ASSIGN(sql::Stmt by_key, db.prepare("SELECT id, children FROM blobs WHERE " + blob_key_is()));
  PAGABLE_TRY_ASSIGN(sql::Stmt by_id, db.prepare("SELECT id, children FROM blobs WHERE id = ?1"));
  struct Edge {
    ChildRef child;
    Key parent; // for messages
  };
  RowIdSet seen;
  std::unordered_set<Key> seen_keys; // children named by key, each looked up once
  std::vector<Edge> stack{Edge{ChildRef{0, root}, root}};
  while (!stack.empty()) {
    const Edge edge = stack.back();
    stack.pop_back();
    if (edge.child.id != 0 ? seen.contains(edge.child.id)
                           : !seen_keys.insert(edge.child.key).second) {
      continue;
    }
    sql::Stmt& q = edge.child.id != 0 ? by_id : by_key;
    if (edge.child.id != 0) {
      q.bind(1, edge.child.id);
    } else {
      q.bind(1, edge.child.key.bytes());
    }
    // Iterative, as user graphs may be arbitrarily deep; the row's key is needed only for
    // messages, so lists are read without resolving ids.
    std::int64_t id = 0;
    std::vector<ChildRef> children;
    PAGABLE_TRY_ASSIGN(const bool found, q.first_row("confirming a root's blobs", [&](const sql::Stmt& row) -> Result<void> {
      id = row.column_int(0);
      if (!seen.contains(id)) {
        const std::string owner = edge.child.id != 0 ? "blob row " + std::to_string(id)
                                                      : "blob " + edge.child.key.to_hex();
        PAGABLE_TRY_ASSIGN(children, decode_child_refs(row.column_blob(1), owner));
      }
      return {};
    }));
    if (!found) {
      return make_error(Errc::not_found,
                        edge.child.id != 0
                            ? "blob row " + std::to_string(edge.child.id) + ", reached from blob " +
                                  edge.parent.to_hex() + " by root " + root.short_hex() +
                                  ", is not in the store"
                            : "blob " + edge.child.key.to_hex() + " reached by root " +
                                  root.short_hex() + " is not in the store");
    }
    if (!seen.insert(id)) {
      continue;
    }
    // A child named by id has no key at hand: its parent's names the edge in messages.
    const Key parent = edge.child.id != 0 ? edge.parent : edge.child.key;
    for (const ChildRef& c : children) {
      stack.push_back(Edge{c, parent});
    }
  }
  return {};
}

} // namespace pagable::store
