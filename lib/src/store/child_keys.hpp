// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// blobs.children: a blob's child list (docs/FORMAT.md "Blobs"), in either of its two
// encodings, told apart by length. Key lists (every format): the concatenated 32-byte child
// keys, a multiple of 32 bytes. Reference lists (format 6): byte 0x01, a varint count, then
// per child a varint row id (>= 1) of the child's blob row, or 0 followed by its 32-byte key
// (a child with no row yet when the parent was written), and one 0x00 byte more when the
// length would otherwise be a multiple of 32. Row ids are only written into an archive whose
// blob ids are never reused (its table is AUTOINCREMENT), so an id names one blob for the
// archive's life; readers turn them back into keys, which every read re-hashes.
// Thread-safety: none of its own; a KeyOfId statement belongs to its connection's thread.

#include "store/sqlite_db.hpp"

#include <pagable/blob.hpp>
#include <pagable/key.hpp>
#include <pagable/result.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace pagable::store {

// The encoding a writer uses for the child lists it stores (chosen per archive).
enum class ChildRefs : std::uint8_t { keys, row_ids };

// The statement that resolves a row id to its key, on the connection that reads the lists.
inline constexpr const char* k_key_of_id_sql = "SELECT key FROM blobs WHERE id = ?1";

Bytes encode_children(std::span<const Key> children);

// A reference list: each child as the row id `id_of` gives it (nullopt: no row yet, so its
// key is written instead). An empty list encodes as nothing (stored as NULL).
Result<Bytes> encode_child_refs(std::span<const Key> children,
                                const std::function<Result<std::optional<std::int64_t>>(const Key&)>& id_of);

// One child as a list names it: by row id (id >= 1), or by key (id 0).
struct ChildRef {
  std::int64_t id = 0;
  Key key; // when id is 0
};

// Splits a stored child list of either encoding without resolving row ids (gc and verify
// walk them by id). Errc::corrupt, naming `owner`, when the list is malformed.
Result<std::vector<ChildRef>> decode_child_refs(std::span<const std::uint8_t> raw, std::string_view owner);

// Whether a stored list names children by row id (and so needs a KeyOfId statement to read).
bool holds_row_ids(std::span<const std::uint8_t> raw) noexcept;

// Splits a stored child list of either encoding, resolving row ids with `key_of_id` (a
// statement prepared from k_key_of_id_sql; null when the caller knows the list holds none).
// Errc::corrupt, naming `owner` ("blob 3fa2…"), when the list is malformed or names a row id
// that has no row.
Result<std::vector<Key>> decode_children(std::span<const std::uint8_t> raw, std::string_view owner,
                                         sql::Stmt* key_of_id = nullptr);

// Confirms that every blob `root` reaches has a row, walking the child lists: children named
// by row id are read by id (a rowid lookup), others through the key index. Errc::not_found
// naming the first one missing (by key, or by row id and the blob that names it).
Result<void> confirm_rows_reachable(sql::Db& db, const Key& root);

} // namespace pagable::store
