// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Taking back what one writer stored since a mark (BlobWriter::discard_writes_since): the
// SQL that removes a failed document's blob rows and packs without touching what anyone
// else, or any root, still needs.
// Thread-safety: runs on the writer's connection, inside its open write transaction.

#include <pagable/store.hpp>

#include "store/sqlite_db.hpp"

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace pagable::store {

// Deletes the blob rows in `rows` (inclusive id ranges this writer inserted since the mark)
// that still lie in one of `packs` (the packs it inserted since: a row id freed by a
// concurrent gc may have been reused by another writer) and that no root committed or
// replaced since `then` reaches (the whole graph of those roots is walked: row ids do not
// tell age), then the packs of `packs` left without rows, unless another pack decodes from
// them.
Result<DiscardFigures> take_back(sql::Db& db, std::span<const std::pair<std::int64_t, std::int64_t>> rows,
                                 std::span<const std::int64_t> packs,
                                 const std::vector<RootRecord>& then);

} // namespace pagable::store
