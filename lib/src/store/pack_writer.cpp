// SPDX-License-Identifier: MIT OR Apache-2.0
#include "store/pack_writer.hpp"

#include "store/child_keys.hpp"
#include "store/pack_codec.hpp"
#include "store/sqlite_catalog.hpp"
#include "store/sqlite_schema.hpp"
#include "util/thread_pool.hpp"

#include <pagable/version.hpp>

#include <algorithm>

namespace pagable::store {

using sql::Db;
using sql::Stmt;

Result<void> PackWriter::open(std::string path, Db db, std::int64_t format)
{
  m_path = std::move(path);
  m_db = std::move(db);
  m_compressor = std::make_unique<util::ThreadPool>(1);
  // An older format this pagable still reads is a subset of today's. The first blob this
  // writer stores may use today's features, so that transaction marks the archive with
  // today's version (write_blob); opening, or writing no blob, leaves it as it was.
  m_format_upgrade = format != k_format_version;
  PAGABLE_TRY_ASSIGN(Stmt rows, m_db.prepare("SELECT coalesce(max(id), 0) FROM blobs"));
  PAGABLE_TRY(rows.first_row("counting the archive's blobs", [&](const Stmt& row) -> Result<void> {
    m_index_rows = row.column_int(0);
    return {};
  }));
  PAGABLE_TRY(size_page_cache());
  PAGABLE_TRY_ASSIGN(Stmt page, m_db.prepare("PRAGMA page_size"));
  PAGABLE_TRY(page.step("reading the page size"));
  m_page_bytes = page.column_int(0);
  PAGABLE_TRY_ASSIGN(m_used_pages, m_db.prepare("SELECT (SELECT page_count FROM pragma_page_count) - "
                                                "(SELECT freelist_count FROM pragma_freelist_count)"));
  // No UNIQUE constraint on key since format 4: write_blob looks the key up first, inside
  // the write transaction, so that no other writer can store it in between.
  PAGABLE_TRY_ASSIGN(m_has_blob, m_db.prepare("SELECT id FROM blobs WHERE " + blob_key_is()));
  PAGABLE_TRY_ASSIGN(m_move_row, m_db.prepare("UPDATE blobs SET id = ?1 WHERE id = ?2"));
  // Child lists name rows by id only where ids are never reused (format 6's AUTOINCREMENT
  // blob table): elsewhere a removed row's id could come back naming another blob.
  PAGABLE_TRY_ASSIGN(Stmt refs, m_db.prepare("SELECT sql LIKE '%AUTOINCREMENT%' FROM sqlite_schema "
                                             "WHERE type = 'table' AND name = 'blobs'"));
  PAGABLE_TRY(refs.first_row("reading the blob table's definition", [&](const Stmt& row) -> Result<void> {
    m_child_refs = row.column_int(0) != 0 ? ChildRefs::row_ids : ChildRefs::keys;
    return {};
  }));
  PAGABLE_TRY_ASSIGN(m_drop_rows, m_db.prepare("DELETE FROM blobs WHERE " + blob_key_is()));
  PAGABLE_TRY_ASSIGN(m_insert_blob, m_db.prepare("INSERT INTO blobs(key, pack, offset, size, children)"
                                                 " VALUES (?1, ?2, ?3, ?4, ?5)"));
  PAGABLE_TRY_ASSIGN(m_insert_pack,
                     m_db.prepare("INSERT INTO packs(id, codec, dict_id, depth, raw_size, data) "
                                  "VALUES (?1, ?2, NULL, ?3, ?4, ?5)"));
  PAGABLE_TRY_ASSIGN(m_insert_base, m_db.prepare("INSERT INTO pack_bases(pack, seq, base_pack, "
                                                 "offset, size) VALUES (?1, ?2, ?3, ?4, ?5)"));
  PAGABLE_TRY_ASSIGN(m_find_base,
                     m_db.prepare("SELECT b.pack, b.offset, b.size, p.depth FROM blobs b "
                                  "JOIN packs p ON p.id = b.pack WHERE " + blob_key_is("b.key")));
  PAGABLE_TRY_ASSIGN(m_pack_bases,
                     m_db.prepare("SELECT b.base_pack, b.offset, b.size, p.depth FROM pack_bases b "
                                  "JOIN packs p ON p.id = b.base_pack WHERE b.pack = ?1 "
                                  "ORDER BY b.seq"));
  return {};
}

void PackWriter::close()
{
  if (m_db.handle() == nullptr) {
    return;
  }
  rollback();
  m_compressor.reset(); // finishes what it was given, then joins
  m_has_blob = Stmt();
  m_move_row = Stmt();
  m_drop_rows = Stmt();
  m_used_pages = Stmt();
  m_insert_blob = Stmt();
  m_insert_pack = Stmt();
  m_insert_base = Stmt();
  m_find_base = Stmt();
  m_pack_bases = Stmt();
  // Leave one self-contained file behind: fold the WAL back into the database.
  (void)m_db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  m_db = Db();
}

void PackWriter::rollback() noexcept
{
  if (m_in_txn || m_db.in_transaction()) {
    m_db.rollback_if_open();
    m_in_txn = false;
  }
  m_format_upgrade_in_txn = false; // rolled back with the rest
  m_compressing.clear(); // their packs are dropped; the thread finishes them unread
  m_row_ids.clear();
  m_data_pack.clear();
  m_index_pack.clear();
  m_delta_pack.clear();
  m_repair_pack.clear();
}

Result<bool> PackWriter::is_stored(const Key& key)
{
  PAGABLE_TRY_ASSIGN(const std::optional<std::int64_t> id, row_id_of(key));
  return id.has_value();
}

Result<std::optional<std::int64_t>> PackWriter::row_id_of(const Key& key)
{
  if (const auto known = m_row_ids.find(key)) {
    return known;
  }
  std::optional<std::int64_t> id;
  m_has_blob.bind(1, key.bytes());
  PAGABLE_TRY(m_has_blob.first_row("looking up a blob", [&](const Stmt& row) -> Result<void> {
    id = row.column_int(0);
    return {};
  }));
  if (id && m_child_refs == ChildRefs::row_ids) {
    m_row_ids.put(key, *id); // its parent, written next, names it by this id
  }
  return id;
}

Result<void> PackWriter::insert_row(const Key& key, std::int64_t pack, std::int64_t offset,
                                    std::int64_t size, std::span<const Key> children, Logged logged)
{
  Bytes encoded;
  if (m_child_refs == ChildRefs::row_ids) {
    PAGABLE_TRY_ASSIGN(encoded, encode_child_refs(children, [&](const Key& k) { return row_id_of(k); }));
  } else {
    encoded = encode_children(children);
  }
  m_insert_blob.bind(1, key.bytes()).bind(2, pack).bind(3, offset).bind(4, size);
  if (encoded.empty()) {
    m_insert_blob.bind_null(5);
  } else {
    m_insert_blob.bind(5, encoded);
  }
  PAGABLE_TRY(m_insert_blob.run("indexing a blob"));
  const std::int64_t row_id = sqlite3_last_insert_rowid(m_db.handle());
  if (m_child_refs == ChildRefs::row_ids) {
    m_row_ids.put(key, row_id);
  }
  if (logged == Logged::yes) {
    log_row(row_id);
  }
  m_counters.written.fetch_add(1, std::memory_order_relaxed);
  if ((++m_index_rows & 0x3fff) == 0) {
    PAGABLE_TRY(size_page_cache());
  }
  // What the index row costs: key, child list and the row's integers.
  m_counters.bytes_written.fetch_add(Key::k_size + encoded.size() + 16, std::memory_order_relaxed);
  return {};
}

Result<void> PackWriter::insert_pack(std::int64_t id, PackCodec codec, std::int64_t depth,
                                     std::uint64_t raw_size, std::span<const std::uint8_t> data,
                                     std::span<const PackSlice> bases, Logged logged)
{
  PAGABLE_TRY(m_insert_pack.bind(1, id)
                  .bind(2, static_cast<std::int64_t>(codec))
                  .bind(3, depth)
                  .bind(4, static_cast<std::int64_t>(raw_size))
                  .bind(5, data)
                  .run("writing a pack"));
  if (logged == Logged::yes) {
    m_log.packs.push_back(id);
  }
  std::size_t index_bytes = 24;
  for (std::size_t i = 0; i < bases.size(); ++i) {
    const PackSlice& b = bases[i];
    PAGABLE_TRY(m_insert_base.bind(1, id)
                    .bind(2, static_cast<std::int64_t>(i))
                    .bind(3, b.pack)
                    .bind(4, b.offset)
                    .bind(5, b.size)
                    .run("writing a pack's delta bases"));
    index_bytes += 12;
  }
  m_counters.bytes_written.fetch_add(data.size() + index_bytes, std::memory_order_relaxed);
  return {};
}

Result<std::int64_t> PackWriter::deepest(std::span<const std::int64_t> packs)
{
  PAGABLE_TRY_ASSIGN(Stmt d, m_db.prepare("SELECT coalesce(max(depth), 0) FROM packs WHERE id IN "
                                          "(SELECT value FROM json_each(?1))"));
  std::string ids = "[";
  for (const std::int64_t id : packs) {
    if (ids.size() > 1) {
      ids += ',';
    }
    ids += std::to_string(id);
  }
  d.bind(1, ids + "]");
  std::int64_t depth = 0;
  PAGABLE_TRY(d.first_row("reading delta depths", [&](const Stmt& row) -> Result<void> {
    depth = row.column_int(0);
    return {};
  }));
  return depth;
}

void PackWriter::log_row(std::int64_t row_id)
{
  if (!m_log.split_rows && !m_log.rows.empty() && m_log.rows.back().second + 1 == row_id) {
    m_log.rows.back().second = row_id;
  } else {
    m_log.rows.emplace_back(row_id, row_id);
    m_log.split_rows = false;
  }
}

Result<void> PackWriter::begin()
{
  if (m_in_txn) {
    return {};
  }
  // A transaction SQLite left open after a failed statement, which a rollback that itself
  // failed (out of memory) could not end: it must not make this BEGIN fail.
  m_db.rollback_if_open();
  auto begun = m_db.exec("BEGIN IMMEDIATE");
  if (!begun) {
    if (begun.error().code() == Errc::locked) {
      return make_error(Errc::locked, m_path + " is busy: another process held its write lock "
                                               "for longer than the lock wait");
    }
    return std::move(begun).error();
  }
  m_in_txn = true;
  m_txn_started = std::chrono::steady_clock::now();
  m_lineages.clear();
  PAGABLE_TRY_ASSIGN(m_pages_at_begin, used_pages());
  // Pack ids are never reused (AUTOINCREMENT's sequence counts removed ones too), so a
  // reader's cache of pack contents by id never serves a stale pack.
  PAGABLE_TRY_ASSIGN(Stmt next, m_db.prepare(
                                    "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE "
                                    "name = 'packs'), 0), coalesce((SELECT max(id) FROM packs), 0)) + 1"));
  PAGABLE_TRY(next.step("choosing a pack id"));
  m_next_pack_id = next.column_int(0);
  return {};
}

Result<std::int64_t> PackWriter::used_pages()
{
  std::int64_t pages = 0;
  PAGABLE_TRY(m_used_pages.first_row("counting pages", [&](const Stmt& row) -> Result<void> {
    pages = row.column_int(0);
    return {};
  }));
  return pages;
}

Result<std::uint64_t> PackWriter::bytes_taken_in_transaction()
{
  if (!m_in_txn) {
    return std::uint64_t{0};
  }
  PAGABLE_TRY_ASSIGN(const std::int64_t now, used_pages());
  return static_cast<std::uint64_t>(std::max<std::int64_t>(now - m_pages_at_begin, 0) * m_page_bytes);
}

Result<void> PackWriter::mark_current_format()
{
  if (m_format_upgrade && !m_format_upgrade_in_txn) {
    // Format 5's root tables first: from this transaction on, a root may be a second version.
    PAGABLE_TRY(upgrade_roots_table(m_db));
    PAGABLE_TRY_ASSIGN(Stmt up, m_db.prepare("UPDATE meta SET value = ?1 WHERE name = "
                                              "'format_version'"));
    PAGABLE_TRY(up.bind(1, std::to_string(k_format_version)).run("marking the format version"));
    PAGABLE_TRY(m_db.exec("PRAGMA user_version = " + std::to_string(k_format_version)));
    m_format_upgrade_in_txn = true;
  }
  return {};
}

Result<void> PackWriter::write_blob(const QueuedBlob& item)
{
  PAGABLE_TRY(begin());
  PAGABLE_TRY(mark_current_format());
  // Index packs are smaller (a lookup reads a few blobs from each); so is their delta prefix.
  const std::size_t target = item.index ? std::min(m_options.pack_target_bytes,
                                                   m_options.index_pack_target_bytes)
                                        : m_options.pack_target_bytes;
  // A blob with usable delta bases goes into a delta pack of at most delta_pack_target_bytes
  // (a node that size or more alone), whose prefix is just its few nodes' bases. Mixed into
  // a large shared pack, it made a reader of any blob there decode the bases of all of them,
  // and the pack's depth was its deepest base's, so a blob whose base was shallow could not
  // be a base itself by the next version (24 mdn releases in a row: 3.41 against 2.62 MB).
  if (!item.bases.empty() && m_delta_pack.blobs > 0 &&
      item.blob.data.size() >= m_options.delta_pack_target_bytes) {
    PAGABLE_TRY(finish_pack(m_delta_pack)); // a node this big is alone in its delta pack
  }
  // A blob stored already (by anyone: this runs inside the write transaction) is not stored
  // again: a node that occurs many times is written once. (Checked after the line above, as
  // INSERT OR IGNORE was before format 4: a big unchanged node of an update still ends the
  // delta pack: 24 mdn releases take 1.82 MB, against 1.90 when that pack went on.)
  PAGABLE_TRY_ASSIGN(const bool stored, is_stored(item.key));
  if (stored && item.replace && m_replaced.insert(item.key).second) {
    return replace_blob(item);
  }
  if (stored) {
    m_counters.deduped.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  std::vector<PackSlice> bases;
  std::size_t base_bytes = m_delta_pack.base_bytes;
  std::set<PackSlice> slices; // this blob's
  bool in_prefix = false; // a base already in the delta pack's prefix, for an earlier blob
  // Puts a slice in the delta pack's prefix; one there already counts (in_prefix). Otherwise
  // the whole prefix stays within k_max_prefix_factor pack targets, except that the first
  // base is taken whatever its size (one node, within any pack limit).
  const auto take = [&](const PackSlice& b) {
    if (m_delta_pack.slices.count(b) != 0 || slices.count(b) != 0) {
      in_prefix = true;
      return true;
    }
    const auto size = static_cast<std::size_t>(b.size);
    if (base_bytes != 0 && base_bytes + size > k_max_prefix_factor * target) {
      return false;
    }
    slices.insert(b);
    bases.push_back(b);
    base_bytes += size;
    return true;
  };
  std::unordered_set<Key> seen;
  std::vector<Key> usable;
  std::vector<std::int64_t> lineages;
  for (const Key& base : item.bases) {
    if (m_delta_pack.base_keys.count(base) != 0) {
      in_prefix = true;
      continue;
    }
    if (base_bytes >= k_max_prefix_factor * target || !seen.insert(base).second) {
      continue;
    }
    Stmt& f = m_find_base;
    f.reset();
    f.bind(1, base.bytes());
    PAGABLE_TRY_ASSIGN(const bool found, f.step("looking up a delta base"));
    if (!found) {
      continue;
    }
    const PackSlice slice{f.column_int(0), f.column_int(1), f.column_int(2)};
    const std::int64_t depth = f.column_int(3);
    f.reset();
    // Bases in packs not written yet cannot be read.
    if (slice.pack == m_data_pack.id || slice.pack == m_index_pack.id ||
        slice.pack == m_delta_pack.id) {
      continue;
    }
    if (depth < k_max_delta_depth) {
      if (take(slice)) {
        usable.push_back(base);
      }
      continue;
    }
    // A base in a pack k_max_delta_depth deep is not used as it is: chains stay short, so
    // reading never decodes more than that many packs for one. What its pack decodes from is
    // used instead: the plain packs its chain starts from, which hold an older version of the
    // same node. So a node that changes in every version starts a new chain against its last
    // plain version instead of being stored whole every fifth time (24 mdn releases: 2.62 ->
    // 1.90 MB); finish_pack still stores it whole when that is smaller.
    if (m_delta_pack.lineages.count(slice.pack) != 0) {
      in_prefix = true;
      continue;
    }
    PAGABLE_TRY_ASSIGN(const std::vector<PackSlice>* older, lineage(slice.pack));
    bool any = false;
    for (const PackSlice& o : *older) {
      any = take(o) || any;
    }
    if (any) {
      lineages.push_back(slice.pack);
    }
  }
  const bool delta = !bases.empty() || in_prefix;
  OpenPack& pack = delta ? m_delta_pack : item.index ? m_index_pack : m_data_pack;
  if (pack.blobs == 0) {
    pack.id = m_next_pack_id++;
  }
  PAGABLE_TRY(insert_row(item.key, pack.id, static_cast<std::int64_t>(pack.buf.size()),
                         static_cast<std::int64_t>(item.blob.data.size()), item.blob.children));
  pack.buf.insert(pack.buf.end(), item.blob.data.begin(), item.blob.data.end());
  ++pack.blobs;
  if (&pack == &m_delta_pack) {
    pack.bases.insert(pack.bases.end(), bases.begin(), bases.end());
    pack.base_keys.insert(usable.begin(), usable.end());
    pack.lineages.insert(lineages.begin(), lineages.end());
    pack.slices.merge(slices);
    pack.base_bytes = base_bytes;
    if (pack.buf.size() >= m_options.delta_pack_target_bytes) {
      PAGABLE_TRY(finish_pack(pack));
    }
    return {};
  }
  if (pack.buf.size() >= target) {
    PAGABLE_TRY(finish_pack(pack));
  }
  return {};
}

Result<void> PackWriter::replace_blob(const QueuedBlob& item)
{
  // Every row of the key goes: format 4 allows several, and a reader takes whichever it
  // finds first. The damaged bytes stay in their pack until gc rewrites it. The new row
  // takes the first old row's id, which parents' child lists may name (format 6).
  m_row_ids.erase(item.key);
  PAGABLE_TRY_ASSIGN(const std::optional<std::int64_t> old_id, row_id_of(item.key));
  m_row_ids.erase(item.key);
  m_drop_rows.bind(1, item.key.bytes());
  PAGABLE_TRY(m_drop_rows.run("dropping a damaged blob's rows"));
  OpenPack& pack = m_repair_pack;
  if (pack.blobs == 0) {
    pack.id = m_next_pack_id++;
  }
  PAGABLE_TRY(insert_row(item.key, pack.id, static_cast<std::int64_t>(pack.buf.size()),
                         static_cast<std::int64_t>(item.blob.data.size()), item.blob.children,
                         Logged::no));
  if (old_id) {
    PAGABLE_TRY(m_move_row.bind(1, *old_id)
                    .bind(2, sqlite3_last_insert_rowid(m_db.handle()))
                    .run("giving a repaired blob its row id back"));
    if (m_child_refs == ChildRefs::row_ids) {
      m_row_ids.put(item.key, *old_id);
    }
  }
  pack.buf.insert(pack.buf.end(), item.blob.data.begin(), item.blob.data.end());
  ++pack.blobs;
  m_counters.replaced.fetch_add(1, std::memory_order_relaxed);
  if (pack.buf.size() >= m_options.pack_target_bytes) {
    PAGABLE_TRY(finish_pack(pack));
  }
  return {};
}

Result<const std::vector<PackWriter::PackSlice>*> PackWriter::lineage(std::int64_t pack)
{
  if (const auto it = m_lineages.find(pack); it != m_lineages.end()) {
    return &it->second;
  }
  std::vector<PackSlice> out; // write_blob drops repeated slices
  std::set<std::int64_t> visited{pack};
  std::vector<std::int64_t> todo{pack};
  // Each pack is visited once, so this ends, and stays linear in the packs, whatever the
  // rows say (a damaged depth only makes the new pack one that readers refuse as corrupt).
  while (!todo.empty()) {
    const std::int64_t at = todo.back();
    todo.pop_back();
    m_pack_bases.bind(1, at);
    PAGABLE_TRY(m_pack_bases.each_row("reading a delta pack's bases", [&](const Stmt& row) -> Result<void> {
      const PackSlice slice{row.column_int(0), row.column_int(1), row.column_int(2)};
      if (row.column_int(3) == 0) {
        out.push_back(slice);
      } else if (visited.insert(slice.pack).second) {
        todo.push_back(slice.pack);
      }
      return {};
    }));
  }
  return &m_lineages.emplace(pack, std::move(out)).first->second;
}

Result<void> PackWriter::finish_pack(OpenPack& open)
{
  if (open.blobs == 0) {
    return {};
  }
  const Logged logged = &open == &m_repair_pack ? Logged::no : Logged::yes;
  if (open.bases.empty()) {
    // Compressed beside the writer, which goes on indexing blobs meanwhile (level 8 took a
    // fifth of the writer's time in bench_store when compressed here).
    PAGABLE_TRY(insert_compressed(k_max_compressing - 1));
    auto raw = std::make_shared<Bytes>();
    raw->reserve(open.buf.capacity());
    raw->swap(open.buf); // open.buf keeps a buffer of the same size for the next blobs
    auto task = std::make_shared<std::packaged_task<EncodedPack()>>(
        [raw, level = m_options.compression_level] { return encode_pack(*raw, level); });
    m_compressing.push_back(Compressing{open.id, raw->size(), logged, task->get_future()});
    m_compressor->submit([task] { (*task)(); });
    open.clear();
    return {};
  }
  // A delta pack: the new nodes compress against the old nodes they replace.
  Bytes prefix;
  std::int64_t depth = 0;
  if (!open.bases.empty()) {
    PackReader::Memo loaded;
    for (const PackSlice& b : open.bases) {
      PAGABLE_TRY_ASSIGN(const auto base_pack, m_reader.load(m_db, b.pack, PackCaching::none, &loaded));
      auto slice = PackReader::slice(*base_pack, b.offset, b.size);
      if (!slice) {
        return std::move(slice).error().with_context("delta base pack " + std::to_string(b.pack));
      }
      prefix.insert(prefix.end(), slice->begin(), slice->end());
    }
    std::vector<std::int64_t> ids;
    for (const auto& [id, _] : loaded) {
      ids.push_back(id);
    }
    PAGABLE_TRY_ASSIGN(depth, deepest(ids));
    ++depth;
  }
  const EncodedPack pack = encode_pack(open.buf, m_options.compression_level, prefix);
  if (pack.codec != PackCodec::zstd_prefix) {
    depth = 0;
  }
  PAGABLE_TRY(insert_pack(open.id, pack.codec, depth, open.buf.size(), pack.data,
                          pack.codec == PackCodec::zstd_prefix ? std::span<const PackSlice>(open.bases)
                                                              : std::span<const PackSlice>(),
                          logged));
  if (pack.codec == PackCodec::zstd_prefix) {
    m_counters.delta_blobs.fetch_add(open.blobs, std::memory_order_relaxed);
  }
  open.clear();
  return {};
}

Result<void> PackWriter::insert_compressed(std::size_t keep)
{
  while (m_compressing.size() > keep) {
    Compressing& c = m_compressing.front();
    const EncodedPack pack = c.encoded.get();
    PAGABLE_TRY(insert_pack(c.id, pack.codec, 0, c.raw_size, pack.data, {}, c.logged));
    m_compressing.pop_front();
  }
  return {};
}

void PackWriter::OpenPack::clear()
{
  id = 0;
  buf.clear();
  blobs = 0;
  bases.clear();
  base_keys.clear();
  lineages.clear();
  slices.clear();
  base_bytes = 0;
}

Result<void> PackWriter::finish_packs()
{
  PAGABLE_TRY(finish_pack(m_data_pack));
  PAGABLE_TRY(finish_pack(m_delta_pack));
  PAGABLE_TRY(finish_pack(m_repair_pack));
  PAGABLE_TRY(finish_pack(m_index_pack));
  return insert_compressed(0);
}

Result<void> PackWriter::size_page_cache()
{
  // The writer appends packs, and pages it wrote stay cached until the cache is full: a
  // cache sized for them only grows with the archive (64 MB made pack's peak memory grow
  // with the document that far). But it also inserts random keys into the key index, which
  // re-reads index pages a small cache has dropped (500,000 blobs through the library: 2.5 s
  // with 64 MB, 3.4 s with 2 MB). So the cache follows the key index, about 80 bytes a
  // blob, between 2 and 64 MB.
  const std::int64_t kib = std::clamp<std::int64_t>(m_index_rows * 80 / 1024, 2048, 65536);
  if (kib == m_cache_kib) {
    return {};
  }
  m_cache_kib = kib;
  return m_db.exec("PRAGMA cache_size = -" + std::to_string(kib));
}

Result<void> PackWriter::commit()
{
  if (!m_in_txn) {
    return {};
  }
  PAGABLE_TRY(finish_packs());
  PAGABLE_TRY_ASSIGN(const std::uint64_t taken, bytes_taken_in_transaction());
  PAGABLE_TRY(m_db.exec("COMMIT"));
  // Ids learnt in a transaction hold only inside it: a gc may remove rows between two.
  m_row_ids.clear();
  m_counters.bytes_taken.fetch_add(taken, std::memory_order_relaxed);
  m_in_txn = false;
  if (m_format_upgrade_in_txn) {
    m_format_upgrade = m_format_upgrade_in_txn = false;
  }
  return {};
}

} // namespace pagable::store
