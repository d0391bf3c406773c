// SPDX-License-Identifier: MIT OR Apache-2.0
#include "store/take_back.hpp"

#include "store/child_keys.hpp"
#include "store/reachability.hpp"
#include "store/sqlite_catalog.hpp"
#include "store/sqlite_schema.hpp"

#include <algorithm>
#include <unordered_set>

namespace pagable::store {

using sql::Stmt;

Result<DiscardFigures> take_back(sql::Db& db, std::span<const std::pair<std::int64_t, std::int64_t>> rows,
                                 std::span<const std::int64_t> packs,
                                 const std::vector<RootRecord>& then)
{
  DiscardFigures figures;
  // Roots read inside the transaction: none can commit until it ends.
  PAGABLE_TRY_ASSIGN(const std::vector<RootRecord> now, read_roots(db));
  // What the changed roots reach. The whole of their graphs is walked: row ids are not
  // monotonic (SQLite reuses the highest ids after a concurrent gc deletes them), so a row
  // with a low id may be another writer's, written since the mark, whose children are ours.
  std::unordered_set<std::int64_t> reached;
  {
    PAGABLE_TRY_ASSIGN(Stmt q, db.prepare("SELECT id, children FROM blobs WHERE " + blob_key_is()));
    PAGABLE_TRY_ASSIGN(Stmt key_of_id, db.prepare(k_key_of_id_sql));
    std::vector<Key> stack = roots_changed_since(then, now);
    // So do other writers' rows written since our first, of documents not committed yet:
    // from format 6 their child lists may name our rows by id, which would then name nothing
    // for good (a child named by key is simply stored again by its writer).
    if (!rows.empty()) {
      std::int64_t first = rows.front().first;
      for (const auto& range : rows) {
        first = std::min(first, range.first);
      }
      const std::unordered_set<std::int64_t> our_packs(packs.begin(), packs.end());
      PAGABLE_TRY_ASSIGN(Stmt newer, db.prepare("SELECT key, pack FROM blobs WHERE id >= ?1"));
      newer.bind(1, first);
      PAGABLE_TRY(newer.each_row("finding other writers' rows", [&](const Stmt& row) -> Result<void> {
        if (our_packs.count(row.column_int(1)) == 0) {
          if (auto k = Key::from_bytes(row.column_blob(0))) {
            stack.push_back(*k);
          }
        }
        return {};
      }));
    }
    while (!stack.empty()) {
      const Key k = stack.back();
      stack.pop_back();
      q.reset();
      q.bind(1, k.bytes());
      PAGABLE_TRY_ASSIGN(const bool row, q.step("walking a root's blobs"));
      if (!row || !reached.insert(q.column_int(0)).second) {
        continue;
      }
      PAGABLE_TRY_ASSIGN(const auto children, decode_children(q.column_blob(1), "blob " + k.to_hex(), &key_of_id));
      stack.insert(stack.end(), children.begin(), children.end());
    }
    q.reset();
  }
  std::unordered_set<std::int64_t> kept_packs;
  {
    // A row id of ours may have been reused by another writer (after a gc removed our row):
    // a row is ours only while it also lies in one of our packs.
    const std::unordered_set<std::int64_t> our_packs(packs.begin(), packs.end());
    PAGABLE_TRY_ASSIGN(Stmt pack_of, db.prepare("SELECT pack FROM blobs WHERE id = ?1"));
    PAGABLE_TRY_ASSIGN(Stmt del, db.prepare("DELETE FROM blobs WHERE id = ?1"));
    for (const auto& [lo, hi] : rows) {
      for (std::int64_t id = lo; id <= hi; ++id) {
        pack_of.reset();
        PAGABLE_TRY_ASSIGN(const bool row, pack_of.bind(1, id).step("finding a blob's pack"));
        const std::int64_t pack = row ? pack_of.column_int(0) : 0;
        pack_of.reset();
        if (!row || our_packs.count(pack) == 0) {
          continue; // gone, or not ours any more
        }
        if (reached.count(id) == 0) {
          PAGABLE_TRY(del.bind(1, id).run("removing a blob"));
          figures.blobs_removed += static_cast<std::uint64_t>(db.changes());
          continue;
        }
        ++figures.blobs_kept;
        kept_packs.insert(pack);
      }
    }
  }
  {
    PAGABLE_TRY_ASSIGN(Stmt is_base, db.prepare("SELECT 1 FROM pack_bases WHERE base_pack = ?1 LIMIT 1"));
    PAGABLE_TRY_ASSIGN(Stmt del_bases, db.prepare("DELETE FROM pack_bases WHERE pack = ?1"));
    PAGABLE_TRY_ASSIGN(Stmt del_pack, db.prepare("DELETE FROM packs WHERE id = ?1"));
    for (const std::int64_t id : packs) {
      if (kept_packs.count(id) != 0) {
        continue;
      }
      is_base.reset();
      PAGABLE_TRY_ASSIGN(const bool base, is_base.bind(1, id).step("looking for packs based on a pack"));
      is_base.reset();
      if (base) {
        continue; // another pack decodes from it: gc's to judge
      }
      PAGABLE_TRY(del_bases.bind(1, id).run("removing a pack's delta bases"));
      PAGABLE_TRY(del_pack.bind(1, id).run("removing a pack"));
      figures.packs_removed += static_cast<std::uint64_t>(db.changes());
    }
  }
  return figures;
}

} // namespace pagable::store
