// SPDX-License-Identifier: MIT OR Apache-2.0
#include "store/sqlite_transfer.hpp"

#include "store/child_keys.hpp"
#include "store/pack_codec.hpp"
#include "store/sqlite_schema.hpp"

#include <algorithm>
#include <functional>
#include <set>
#include <unordered_set>

namespace pagable::store {

using sql::Db;
using sql::Stmt;

namespace {

Result<bool> pack_exists(Db& db, std::int64_t id)
{
  PAGABLE_TRY_ASSIGN(Stmt q, db.prepare("SELECT 1 FROM packs WHERE id = ?1"));
  q.bind(1, id);
  return q.first_row("looking up a pack", [](const Stmt&) -> Result<void> { return {}; });
}

} // namespace

Result<PackDigest> PackDigests::of(Db& db, std::int64_t id)
{
  {
    std::lock_guard lock(m_mutex);
    if (const auto it = m_by_id.find(id); it != m_by_id.end()) {
      return it->second;
    }
  }
  PAGABLE_TRY_ASSIGN(Stmt q, db.prepare("SELECT data FROM packs WHERE id = ?1"));
  q.bind(1, id);
  std::optional<PackDigest> digest;
  PAGABLE_TRY(q.first_row("reading a pack", [&](const Stmt& row) -> Result<void> {
    digest = PackDigest{sha256_of(row.column_blob(0))};
    return {};
  }));
  if (!digest) {
    return make_error(Errc::corrupt, "pack " + std::to_string(id) + " is missing");
  }
  std::lock_guard lock(m_mutex);
  m_by_id.emplace(id, *digest);
  m_by_digest.emplace(*digest, id);
  return *digest;
}

Result<std::optional<std::int64_t>> PackDigests::find(Db& db, const PackDigest& digest)
{
  std::int64_t after = 0;
  {
    std::lock_guard lock(m_mutex);
    if (const auto it = m_by_digest.find(digest); it != m_by_digest.end()) {
      const std::int64_t id = it->second;
      // gc removes packs (and rewrites them under new ids); an id is never reused.
      PAGABLE_TRY_ASSIGN(const bool there, pack_exists(db, id));
      if (there) {
        return std::optional<std::int64_t>(id);
      }
      m_by_digest.erase(it);
      m_by_id.erase(id);
    }
    after = m_hashed_up_to;
  }
  // Packs are hashed once each, in id order, a batch at a time.
  PAGABLE_TRY_ASSIGN(Stmt q, db.prepare("SELECT id, data FROM packs WHERE id > ?1 ORDER BY id"));
  q.bind(1, after);
  std::optional<std::int64_t> found;
  std::int64_t last = after;
  PAGABLE_TRY(q.each_row("hashing packs", [&](const Stmt& row) -> Result<void> {
    const std::int64_t id = row.column_int(0);
    const PackDigest d{sha256_of(row.column_blob(1))};
    std::lock_guard lock(m_mutex);
    m_by_id.emplace(id, d);
    m_by_digest.emplace(d, id);
    last = id;
    if (d == digest && !found) {
      found = id;
    }
    return {};
  }));
  std::lock_guard lock(m_mutex);
  m_hashed_up_to = std::max(m_hashed_up_to, last);
  return found;
}

Result<std::vector<PackDigest>> packs_reached(Db& db, PackDigests& digests, std::span<const Key> roots)
{
  PAGABLE_TRY_ASSIGN(Stmt row_of, db.prepare("SELECT pack, children FROM blobs WHERE " + blob_key_is()));
  PAGABLE_TRY_ASSIGN(Stmt key_of_id, db.prepare(k_key_of_id_sql));
  std::set<std::int64_t> packs;
  std::unordered_set<Key> seen(roots.begin(), roots.end());
  std::vector<Key> stack(roots.begin(), roots.end());
  while (!stack.empty()) {
    const Key key = stack.back();
    stack.pop_back();
    row_of.bind(1, key.bytes());
    PAGABLE_TRY_ASSIGN(const bool stored,
                       row_of.first_row("walking a root's blobs", [&](const Stmt& row) -> Result<void> {
                         packs.insert(row.column_int(0));
                         PAGABLE_TRY_ASSIGN(const auto children,
                                            decode_children(row.column_blob(1), "blob " + key.to_hex(), &key_of_id));
                         for (const Key& c : children) {
                           if (seen.insert(c).second) {
                             stack.push_back(c);
                           }
                         }
                         return {};
                       }));
    if (!stored) {
      return make_error(Errc::not_found, "blob " + key.to_hex() + " is not in the store");
    }
  }
  // Bases before the packs that decode from them: a depth-first walk down the base edges,
  // each pack emitted after its bases, packs taken in id (creation) order.
  PAGABLE_TRY_ASSIGN(Stmt bases_of, db.prepare("SELECT base_pack FROM pack_bases WHERE pack = ?1 "
                                               "ORDER BY seq"));
  std::vector<PackDigest> out;
  std::set<std::int64_t> emitted;
  std::set<std::int64_t> on_path;
  std::function<Result<void>(std::int64_t, int)> visit = [&](std::int64_t id, int depth) -> Result<void> {
    if (emitted.count(id) != 0) {
      return {};
    }
    if (depth > k_max_delta_depth + 1 || !on_path.insert(id).second) {
      return make_error(Errc::corrupt, "pack " + std::to_string(id) +
                                           ": delta bases nest deeper than any pagable writes (a cycle?)");
    }
    std::vector<std::int64_t> bases;
    bases_of.bind(1, id);
    PAGABLE_TRY(bases_of.each_row("reading a pack's delta bases", [&](const Stmt& row) -> Result<void> {
      bases.push_back(row.column_int(0));
      return {};
    }));
    for (const std::int64_t b : bases) {
      PAGABLE_TRY(visit(b, depth + 1));
    }
    on_path.erase(id);
    emitted.insert(id);
    PAGABLE_TRY_ASSIGN(const PackDigest d, digests.of(db, id));
    out.push_back(d);
    return {};
  };
  for (const std::int64_t id : packs) {
    PAGABLE_TRY(visit(id, 0));
  }
  return out;
}

Result<std::optional<PackImage>> export_pack(Db& db, PackDigests& digests, const PackDigest& digest)
{
  PAGABLE_TRY_ASSIGN(const auto id, digests.find(db, digest));
  if (!id) {
    return std::optional<PackImage>();
  }
  PackImage image;
  image.digest = digest;
  PAGABLE_TRY_ASSIGN(Stmt pack, db.prepare("SELECT codec, raw_size, data FROM packs WHERE id = ?1"));
  pack.bind(1, *id);
  PAGABLE_TRY_ASSIGN(const bool found, pack.first_row("reading a pack", [&](const Stmt& row) -> Result<void> {
    image.codec = row.column_int(0);
    image.raw_size = static_cast<std::uint64_t>(std::max<std::int64_t>(0, row.column_int(1)));
    const auto data = row.column_blob(2);
    image.data.assign(data.begin(), data.end());
    return {};
  }));
  if (!found) {
    return std::optional<PackImage>(); // removed by a gc since it was found
  }
  PAGABLE_TRY_ASSIGN(Stmt bases, db.prepare("SELECT base_pack, offset, size FROM pack_bases "
                                            "WHERE pack = ?1 ORDER BY seq"));
  bases.bind(1, *id);
  PAGABLE_TRY(bases.each_row("reading a pack's delta bases", [&](const Stmt& row) -> Result<void> {
    PAGABLE_TRY_ASSIGN(const PackDigest base, digests.of(db, row.column_int(0)));
    image.bases.push_back(PackBase{base, static_cast<std::uint64_t>(row.column_int(1)),
                                   static_cast<std::uint64_t>(row.column_int(2))});
    return {};
  }));
  // No index leads from a pack to its blobs: this reads the whole blob table (the remote
  // store, which moves many packs, wants one pass for all of them).
  PAGABLE_TRY_ASSIGN(Stmt rows, db.prepare("SELECT key, offset, size, children FROM blobs "
                                           "WHERE pack = ?1 ORDER BY offset"));
  PAGABLE_TRY_ASSIGN(Stmt key_of_id, db.prepare(k_key_of_id_sql));
  rows.bind(1, *id);
  PAGABLE_TRY(rows.each_row("listing a pack's blobs", [&](const Stmt& row) -> Result<void> {
    PackEntry e;
    PAGABLE_TRY_ASSIGN(e.key, Key::from_bytes(row.column_blob(0)));
    e.offset = static_cast<std::uint64_t>(row.column_int(1));
    e.size = static_cast<std::uint64_t>(row.column_int(2));
    PAGABLE_TRY_ASSIGN(e.children, decode_children(row.column_blob(3), "blob " + e.key.to_hex(), &key_of_id));
    image.entries.push_back(std::move(e));
    return {};
  }));
  return std::optional<PackImage>(std::move(image));
}

Result<ImportFigures> import_pack(PackWriter& writer, const PackReader& reader, PackDigests& digests,
                                  const PackImage& image)
{
  PAGABLE_TRY(writer.begin());
  Db& db = writer.db();
  // Looked up before this transaction inserts a pack: the digests remembered are then those
  // of committed packs only, whose ids are never reused.
  PAGABLE_TRY_ASSIGN(const auto existing, digests.find(db, image.digest));
  std::vector<PackWriter::PackSlice> slices;
  std::vector<std::int64_t> base_ids;
  Bytes prefix;
  PackReader::Memo loaded;
  for (const PackBase& b : image.bases) {
    PAGABLE_TRY_ASSIGN(const auto id, digests.find(db, b.pack));
    if (!id) {
      return make_error(Errc::not_found, "pack " + image.digest.to_hex().substr(0, 12) +
                                             ": its delta base pack " + b.pack.to_hex() +
                                             " is not in the store");
    }
    PAGABLE_TRY_ASSIGN(const auto base, reader.load(db, *id, PackCaching::none, &loaded));
    PAGABLE_TRY_ASSIGN(const auto bytes, PackReader::slice(*base, static_cast<std::int64_t>(b.offset),
                                                           static_cast<std::int64_t>(b.size)));
    if (prefix.size() + bytes.size() > reader.max_pack_bytes()) {
      return make_error(Errc::corrupt, "pack " + image.digest.to_hex().substr(0, 12) +
                                           ": its delta bases exceed the largest pack");
    }
    prefix.insert(prefix.end(), bytes.begin(), bytes.end());
    slices.push_back({*id, static_cast<std::int64_t>(b.offset), static_cast<std::int64_t>(b.size)});
    base_ids.push_back(*id);
  }
  PAGABLE_TRY(check_pack_image(image, prefix, reader.max_pack_bytes()));
  ImportFigures figures;
  std::int64_t id = 0;
  if (existing) {
    id = *existing;
  } else {
    std::int64_t depth = 0;
    if (!base_ids.empty()) {
      PAGABLE_TRY_ASSIGN(depth, writer.deepest(base_ids));
      ++depth;
      if (depth > k_max_delta_depth) {
        return make_error(Errc::corrupt, "pack " + image.digest.to_hex().substr(0, 12) +
                                             ": its delta chain is deeper than any pagable reads");
      }
    }
    PAGABLE_TRY(writer.mark_current_format());
    id = writer.take_pack_id();
    PAGABLE_TRY(writer.insert_pack(id, static_cast<PackCodec>(image.codec), depth, image.raw_size,
                                   image.data, slices));
    figures.pack_added = true;
  }
  for (const PackEntry& e : image.entries) {
    PAGABLE_TRY_ASSIGN(const bool stored, writer.is_stored(e.key));
    if (stored) {
      ++figures.blobs_present;
      continue;
    }
    PAGABLE_TRY(writer.insert_row(e.key, id, static_cast<std::int64_t>(e.offset),
                                  static_cast<std::int64_t>(e.size), e.children));
    ++figures.blobs_indexed;
  }
  return figures;
}

Result<std::uint64_t> drop_pack(PackWriter& writer, PackDigests& digests, const PackDigest& digest)
{
  PAGABLE_TRY(writer.begin());
  Db& db = writer.db();
  PAGABLE_TRY_ASSIGN(const auto id, digests.find(db, digest));
  if (!id) {
    return std::uint64_t{0};
  }
  // The pack and, transitively, every pack that decodes from it.
  PAGABLE_TRY_ASSIGN(Stmt based_on, db.prepare("SELECT pack FROM pack_bases WHERE base_pack = ?1"));
  std::set<std::int64_t> doomed{*id};
  std::vector<std::int64_t> stack{*id};
  while (!stack.empty()) {
    const std::int64_t p = stack.back();
    stack.pop_back();
    based_on.bind(1, p);
    PAGABLE_TRY(based_on.each_row("finding the packs based on a pack", [&](const Stmt& row) -> Result<void> {
      if (doomed.insert(row.column_int(0)).second) {
        stack.push_back(row.column_int(0));
      }
      return {};
    }));
  }
  PAGABLE_TRY_ASSIGN(Stmt size_of, db.prepare("SELECT length(data) FROM packs WHERE id = ?1"));
  PAGABLE_TRY_ASSIGN(Stmt del_blobs, db.prepare("DELETE FROM blobs WHERE pack = ?1"));
  PAGABLE_TRY_ASSIGN(Stmt del_bases, db.prepare("DELETE FROM pack_bases WHERE pack = ?1"));
  PAGABLE_TRY_ASSIGN(Stmt del_pack, db.prepare("DELETE FROM packs WHERE id = ?1"));
  std::uint64_t freed = 0;
  for (const std::int64_t p : doomed) {
    size_of.bind(1, p);
    PAGABLE_TRY(size_of.first_row("measuring a pack", [&](const Stmt& row) -> Result<void> {
      freed += static_cast<std::uint64_t>(std::max<std::int64_t>(0, row.column_int(0)));
      return {};
    }));
    PAGABLE_TRY(del_blobs.bind(1, p).run("removing a pack's blobs"));
    PAGABLE_TRY(del_bases.bind(1, p).run("removing a pack's delta bases"));
    PAGABLE_TRY(del_pack.bind(1, p).run("removing a pack"));
  }
  return freed;
}

} // namespace pagable::store
