// SPDX-License-Identifier: MIT OR Apache-2.0
// The SQLite archive's maintenance session: one connection for verify's snapshot and gc's
// short write transactions. Layout: docs/FORMAT.md.
#include "store/sqlite_maintenance.hpp"

#include "store/child_keys.hpp"
#include "store/pack_codec.hpp"
#include "store/sqlite_catalog.hpp"
#include "store/sqlite_db.hpp"
#include "store/sqlite_schema.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace pagable::store {

Result<Bytes> decode_pack_row(const PackRow& pack, std::uint64_t max_bytes)
{
  if (pack.raw_size < 0) {
    return make_error(Errc::corrupt, "pack " + std::to_string(pack.id) + " claims a negative size");
  }
  auto out = decode_pack(static_cast<PackCodec>(pack.codec), pack.data,
                         static_cast<std::uint64_t>(pack.raw_size), max_bytes, pack.prefix);
  if (!out) {
    return std::move(out).error().with_context("pack " + std::to_string(pack.id));
  }
  return out;
}

namespace {

using sql::Db;
using sql::Stmt;

// pagable's tables and the columns each must have (docs/FORMAT.md "Tables").
const std::map<std::string, std::vector<std::string>>& expected_tables()
{
  static const std::map<std::string, std::vector<std::string>> tables = {
      {"meta", {"name", "value"}},
      {"settings", {"name", "value"}},
      {"packs", {"id", "codec", "dict_id", "depth", "raw_size", "data"}},
      {"pack_bases", {"pack", "seq", "base_pack", "offset", "size"}},
      {"blobs", {"id", "key", "pack", "offset", "size", "children"}},
      {"roots", {"name", "key", "schema_key", "created_ms", "labels", "stats"}},
  };
  return tables;
}

const std::string k_select_id = "SELECT id FROM blobs WHERE " + blob_key_is();
const std::string k_select_id_children = "SELECT id, children FROM blobs WHERE " + blob_key_is();

class SqliteMaintenance final : public MaintenanceSession {
public:
  SqliteMaintenance(SqliteMaintenanceConfig config, Db db, SessionAccess access)
      : m_config(std::move(config)), m_db(std::move(db)), m_write(access == SessionAccess::write)
  {
  }
  ~SqliteMaintenance() override { rollback(); }

  Result<void> begin_read() override
  {
    if (!m_in_txn) {
      m_db.rollback_if_open(); // whatever a failed statement left open
    }
    PAGABLE_TRY(m_db.exec("BEGIN"));
    m_in_txn = true;
    // The snapshot starts at the first read: take it now.
    PAGABLE_TRY_ASSIGN(Stmt q, m_db.prepare("SELECT count(*) FROM sqlite_schema"));
    PAGABLE_TRY(q.step("starting a read snapshot"));
    return {};
  }

  Result<void> begin_write() override
  {
    if (!m_write) {
      return make_error(Errc::invalid_argument, m_config.path + " is open read-only");
    }
    if (!m_in_txn) {
      m_db.rollback_if_open(); // whatever a failed statement left open
    }
    auto begun = m_db.exec("BEGIN IMMEDIATE");
    if (!begun) {
      if (begun.error().code() == Errc::locked) {
        return make_error(Errc::locked, m_config.path + " is busy: another process held its "
                                                        "write lock for longer than the lock wait");
      }
      return std::move(begun).error();
    }
    m_in_txn = true;
    return {};
  }

  Result<void> commit() override
  {
    if (!m_in_txn) {
      return {};
    }
    m_stmts.clear_cursors();
    auto done = m_db.exec("COMMIT");
    if (!done) {
      rollback();
      return done;
    }
    m_in_txn = false;
    return {};
  }

  void rollback() noexcept override
  {
    if (m_in_txn || m_db.in_transaction()) {
      m_stmts.clear_cursors();
      m_db.rollback_if_open();
      m_in_txn = false;
    }
  }

  bool writable() const noexcept override { return m_write; }

  Result<void> use_memory_map() override { return m_db.exec("PRAGMA mmap_size = 2147418112"); }
  std::uint64_t max_pack_bytes() const noexcept override { return m_config.max_pack_bytes; }

  Result<std::vector<std::string>> integrity_check(IntegrityCheck depth, int max_messages) override
  {
    PAGABLE_TRY_ASSIGN(Stmt q, m_db.prepare(depth == IntegrityCheck::quick ? "SELECT * FROM pragma_quick_check(?1)"
                                                  : "SELECT * FROM pragma_integrity_check(?1)"));
    q.bind(1, static_cast<std::int64_t>(max_messages));
    std::vector<std::string> out;
    PAGABLE_TRY(q.each_row("checking the database", [&](const Stmt& row) -> Result<void> {
      std::string msg = row.column_text(0);
      if (msg != "ok") {
        out.push_back(std::move(msg));
      }
      return {};
    }));
    return out;
  }

  Result<std::vector<std::string>> check_layout() override
  {
    std::vector<std::string> out;
    PAGABLE_TRY_ASSIGN(Stmt app, m_db.prepare("PRAGMA application_id"));
    PAGABLE_TRY(app.step("reading the application id"));
    if (app.column_int(0) != k_application_id) {
      out.push_back("application id is " + std::to_string(app.column_int(0)) + ", not pagable's (" +
                    std::to_string(k_application_id) + ")");
    }
    PAGABLE_TRY_ASSIGN(Stmt uv, m_db.prepare("PRAGMA user_version"));
    PAGABLE_TRY(uv.step("reading the user version"));
    const std::int64_t user_version = uv.column_int(0);
    if (user_version < k_oldest_format_read || user_version > k_format_version) {
      out.push_back("user_version is " + std::to_string(user_version) +
                    ", expected a format version from " + std::to_string(k_oldest_format_read) +
                    " to " + std::to_string(k_format_version));
    }
    PAGABLE_TRY_ASSIGN(Stmt cols, m_db.prepare("SELECT name FROM pragma_table_info(?1)"));
    bool tables_ok = true;
    for (const auto& [table, wanted] : expected_tables()) {
      cols.reset();
      cols.bind(1, table);
      std::unordered_set<std::string> have;
      PAGABLE_TRY(cols.each_row("reading table columns", [&](const Stmt& row) -> Result<void> {
        have.insert(row.column_text(0));
        return {};
      }));
      cols.reset();
      if (have.empty()) {
        out.push_back("table " + table + " is missing");
        tables_ok = false;
        continue;
      }
      for (const std::string& c : wanted) {
        if (have.count(c) == 0) {
          out.push_back("table " + table + " has no column " + c);
          tables_ok = false;
        }
      }
    }
    if (user_version >= 5) {
      // Format 5 keeps versions: the roots table numbers them and names remembers the numbers.
      PAGABLE_TRY_ASSIGN(const bool versioned, roots_have_versions(m_db));
      PAGABLE_TRY_ASSIGN(Stmt names, m_db.prepare("SELECT count(*) FROM pragma_table_info('names') "
                                                  "WHERE name IN ('name', 'last_version')"));
      PAGABLE_TRY(names.step("reading table columns"));
      if (!versioned) {
        out.push_back("table roots has no column version (format " + std::to_string(user_version) +
                      " keeps versions)");
        tables_ok = false;
      }
      if (names.column_int(0) != 2) {
        out.push_back("table names is missing or lacks its columns (format " +
                      std::to_string(user_version) + " numbers versions there)");
        tables_ok = false;
      }
    }
    if (!tables_ok) {
      return out;
    }
    // Without one every key lookup scans the table: correct, but a pack would take hours.
    PAGABLE_TRY_ASSIGN(Stmt idx, m_db.prepare("SELECT count(*) FROM pragma_index_list('blobs') "
                                              "WHERE name = 'blobs_key_prefix' OR \"unique\""));
    PAGABLE_TRY(idx.step("reading the blob table's indexes"));
    if (idx.column_int(0) == 0) {
      out.push_back("table blobs has no index on key, so every lookup reads the whole table; "
                    "recreate it with `sqlite3 ARCHIVE \"CREATE INDEX blobs_key_prefix ON "
                    "blobs(substr(key, 1, 8))\"`");
    }
    PAGABLE_TRY_ASSIGN(Stmt meta, m_db.prepare("SELECT name, value FROM meta"));
    std::map<std::string, std::string> m;
    PAGABLE_TRY(meta.each_row("reading metadata", [&](const Stmt& row) -> Result<void> {
      m[row.column_text(0)] = row.column_text(1);
      return {};
    }));
    if (m.count("format_version") == 0) {
      out.push_back("metadata has no format_version");
    } else if (m["format_version"] != std::to_string(user_version)) {
      out.push_back("metadata says format_version " + m["format_version"] +
                    ", but user_version is " + std::to_string(user_version));
    }
    if (m.count("key_algorithm") == 0 || m["key_algorithm"] != "sha256") {
      out.push_back("metadata key_algorithm is \"" + m["key_algorithm"] + "\", expected sha256");
    }
    return out;
  }

  Result<std::vector<StoredRoot>> roots() override { return read_stored_roots(m_db); }

  Result<std::int64_t> max_blob_id() override
  {
    PAGABLE_TRY_ASSIGN(Stmt q, m_db.prepare("SELECT coalesce(max(id), 0) FROM blobs"));
    PAGABLE_TRY(q.step("reading the blob index"));
    return q.column_int(0);
  }

  Result<std::optional<std::int64_t>> blob_id(const Key& key) override
  {
    PAGABLE_TRY_ASSIGN(Stmt & q,
                       m_stmts.get(m_db, m_stmts.blob_id, k_select_id));
    q.bind(1, key.bytes());
    auto row = q.step("looking up a blob");
    std::optional<std::int64_t> out;
    if (row && *row) {
      out = q.column_int(0);
    }
    q.reset();
    if (!row) {
      return std::move(row).error();
    }
    return out;
  }

  Result<std::optional<IndexEntry>> lookup(const Key& key) override
  {
    PAGABLE_TRY_ASSIGN(Stmt & q, m_stmts.get(m_db, m_stmts.lookup,
                                             k_select_id_children));
    q.bind(1, key.bytes());
    auto row = q.step("looking up a blob");
    if (!row || !*row) {
      q.reset();
      if (!row) {
        return std::move(row).error();
      }
      return std::optional<IndexEntry>();
    }
    IndexEntry e;
    e.id = q.column_int(0);
    e.key = key;
    read_child_refs(q.column_blob(1), e);
    // Rows come in id order within the index; a second one is a repeated key.
    auto second = q.step("looking up a blob");
    if (second && *second) {
      e.repeated_in = q.column_int(0);
    }
    q.reset();
    if (!second) {
      return std::move(second).error();
    }
    return std::optional<IndexEntry>(std::move(e));
  }

  Result<std::optional<IndexEntry>> lookup_id(std::int64_t id) override
  {
    PAGABLE_TRY_ASSIGN(Stmt & q, m_stmts.get(m_db, m_stmts.by_id, "SELECT key, children FROM blobs WHERE id = ?1"));
    q.bind(1, id);
    auto row = q.step("reading the blob index");
    if (!row || !*row) {
      q.reset();
      if (!row) {
        return std::move(row).error();
      }
      return std::optional<IndexEntry>();
    }
    auto key = Key::from_bytes(q.column_blob(0));
    if (!key) {
      q.reset();
      return make_error(Errc::corrupt, "blob row " + std::to_string(id) + ": its key is not 32 bytes");
    }
    IndexEntry e;
    e.id = id;
    e.key = *key;
    read_child_refs(q.column_blob(1), e);
    q.reset();
    return std::optional<IndexEntry>(std::move(e));
  }

  Result<Bytes> child_keys_of(std::span<const std::uint8_t> raw, std::int64_t id) override
  {
    PAGABLE_TRY_ASSIGN(Stmt & key_of_id, m_stmts.get(m_db, m_stmts.key_of_id, k_key_of_id_sql));
    PAGABLE_TRY_ASSIGN(const auto children,
                       decode_children(raw, "blob row " + std::to_string(id), &key_of_id));
    return encode_children(children);
  }

  Result<std::optional<IndexNode>> node(std::int64_t id) override
  {
    PAGABLE_TRY_ASSIGN(auto entry, lookup_id(id));
    if (!entry) {
      return std::optional<IndexNode>();
    }
    if (!entry->malformed.empty()) {
      return make_error(Errc::corrupt, entry->malformed);
    }
    IndexNode n{entry->key, {}};
    n.children.reserve(entry->children.size());
    for (const ChildRef& c : entry->children) {
      if (c.id == 0) {
        n.children.push_back(c.key);
        continue;
      }
      PAGABLE_TRY_ASSIGN(const auto child, lookup_id(c.id));
      if (!child) {
        return make_error(Errc::corrupt, "blob row " + std::to_string(id) +
                                             ": its child list names blob row " +
                                             std::to_string(c.id) + ", which is not in the store");
      }
      n.children.push_back(child->key);
    }
    return std::optional<IndexNode>(std::move(n));
  }

  Result<void> for_each_blob(std::int64_t after_id, std::int64_t up_to_id, std::size_t limit,
                             const std::function<Result<void>(const IndexRow&)>& fn) override
  {
    PAGABLE_TRY_ASSIGN(Stmt q,
                       m_db.prepare("SELECT id, key, pack, offset, size, children FROM "
                                    "blobs WHERE id > ?1 AND id <= ?2 ORDER BY id LIMIT ?3"));
    q.bind(1, after_id)
        .bind(2, up_to_id)
        .bind(3, limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(limit));
    return q.each_row("reading the blob index", [&](const Stmt& row) {
      IndexRow r;
      r.id = row.column_int(0);
      r.key = row.column_blob(1);
      r.pack = row.column_int(2);
      r.offset = row.column_int(3);
      r.size = row.column_int(4);
      r.children = row.column_blob(5);
      return fn(r);
    });
  }

  Result<std::optional<PackRow>> pack(std::int64_t id) override
  {
    std::unordered_map<std::int64_t, Bytes> memo;
    return pack_with_prefix(id, memo, static_cast<int>(k_max_delta_depth) + 1);
  }

  // A pack row; for a delta pack also the prefix its frame needs, rebuilt from the base
  // packs it lists (each decoded once per call, chains bounded by `depth_budget`).
  Result<std::optional<PackRow>> pack_with_prefix(std::int64_t id,
                                                  std::unordered_map<std::int64_t, Bytes>& memo,
                                                  int depth_budget)
  {
    PAGABLE_TRY_ASSIGN(auto row, plain_pack(id));
    if (!row || row->codec != static_cast<std::int64_t>(PackCodec::zstd_prefix)) {
      return row;
    }
    if (depth_budget <= 0) {
      return make_error(Errc::corrupt, "pack " + std::to_string(id) +
                                           ": delta bases nest deeper than any pagable writes");
    }
    std::vector<std::array<std::int64_t, 3>> slices;
    {
      PAGABLE_TRY_ASSIGN(Stmt b, m_db.prepare("SELECT base_pack, offset, size FROM pack_bases "
                                              "WHERE pack = ?1 ORDER BY seq"));
      b.bind(1, id);
      PAGABLE_TRY(b.each_row("reading a pack's delta bases", [&](const Stmt& base) -> Result<void> {
        slices.push_back({base.column_int(0), base.column_int(1), base.column_int(2)});
        return {};
      }));
    }
    for (const auto& [base, off, size] : slices) {
      auto it = memo.find(base);
      if (it == memo.end()) {
        PAGABLE_TRY_ASSIGN(auto base_row, pack_with_prefix(base, memo, depth_budget - 1));
        if (!base_row) {
          return make_error(Errc::corrupt, "pack " + std::to_string(id) + ": its delta base pack " +
                                               std::to_string(base) + " is missing");
        }
        auto content = decode_pack_row(*base_row, m_config.max_pack_bytes);
        if (!content) {
          // Named as the cause: verify lists this pack's keys with it (issue 20).
          return make_error(content.error().code(),
                            "pack " + std::to_string(id) + ": its delta base pack " +
                                std::to_string(base) + " does not decode (" +
                                content.error().message() + ")");
        }
        it = memo.emplace(base, std::move(content).value()).first;
      }
      const Bytes& content = it->second;
      if (off < 0 || size < 0 || static_cast<std::uint64_t>(off) > content.size() ||
          static_cast<std::uint64_t>(size) > content.size() - static_cast<std::uint64_t>(off)) {
        return make_error(Errc::corrupt, "pack " + std::to_string(id) +
                                             ": a delta base lies outside pack " + std::to_string(base));
      }
      row->prefix.insert(row->prefix.end(), content.begin() + off, content.begin() + off + size);
    }
    return row;
  }

  Result<std::optional<PackRow>> plain_pack(std::int64_t id)
  {
    PAGABLE_TRY_ASSIGN(Stmt & q, m_stmts.get(m_db, m_stmts.pack,
                                             "SELECT codec, raw_size, data FROM packs WHERE id = ?1"));
    q.bind(1, id);
    auto row = q.step("reading a pack");
    if (!row || !*row) {
      q.reset();
      if (!row) {
        return std::move(row).error();
      }
      return std::optional<PackRow>();
    }
    PackRow p;
    p.id = id;
    p.codec = q.column_int(0);
    p.raw_size = q.column_int(1);
    const auto data = q.column_blob(2);
    p.data.assign(data.begin(), data.end());
    q.reset();
    return std::optional<PackRow>(std::move(p));
  }

  Result<void> for_each_pack(const std::function<Result<void>(const PackInfo&)>& fn) override
  {
    std::unordered_set<std::int64_t> bases;
    {
      PAGABLE_TRY_ASSIGN(Stmt b, m_db.prepare("SELECT DISTINCT base_pack FROM pack_bases"));
      PAGABLE_TRY(b.each_row("reading packs", [&](const Stmt& row) -> Result<void> {
        bases.insert(row.column_int(0));
        return {};
      }));
    }
    PAGABLE_TRY_ASSIGN(Stmt q, m_db.prepare("SELECT id, codec, raw_size, length(data) FROM packs "
                                            "ORDER BY id"));
    return q.each_row("reading packs", [&](const Stmt& row) {
      PackInfo p;
      p.id = row.column_int(0);
      p.codec = row.column_int(1);
      p.raw_size = row.column_int(2);
      p.stored_bytes = row.column_int(3);
      p.is_delta_base = bases.count(p.id) != 0;
      return fn(p);
    });
  }

  Result<bool> delete_blob(std::int64_t id) override
  {
    PAGABLE_TRY_ASSIGN(Stmt & q, m_stmts.get(m_db, m_stmts.del, "DELETE FROM blobs WHERE id = ?1"));
    q.bind(1, id);
    PAGABLE_TRY(q.run("removing a blob"));
    return m_db.changes() > 0;
  }

  Result<PackRewriteResult> rewrite_packs(std::span<const std::int64_t> pack_ids) override;

  Result<void> vacuum() override
  {
    if (!m_write) {
      return make_error(Errc::invalid_argument, m_config.path + " is open read-only");
    }
    m_stmts.clear_cursors();
    PAGABLE_TRY(rebuild_blob_table());
    // VACUUM gives the copy it builds the same page cache as the main database: with the
    // write session's 64 MB that was 145 MB of RSS for a 150 MB archive, over gc's 100 MB.
    // VACUUM reads and writes sequentially, so a small cache costs it nothing.
    PAGABLE_TRY(m_db.exec("PRAGMA cache_size = -8192"));
    const auto vacuumed = m_db.exec("VACUUM");
    (void)m_db.exec("PRAGMA cache_size = -65536");
    PAGABLE_TRY(vacuumed);
    return m_db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }

  Result<void> checkpoint() override
  {
    if (m_in_txn) {
      return make_error(Errc::internal, "checkpoint inside a transaction");
    }
    // Without waiting: a reader still in the WAL keeps it (truncated by a later checkpoint);
    // its wait would be lock_wait per gc step.
    sqlite3_busy_timeout(m_db.handle(), 0);
    auto done = m_db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_busy_timeout(m_db.handle(), static_cast<int>(m_config.lock_wait.count()));
    return done;
  }

private:
  // A stored child list into `e`, or why it cannot be read.
  static void read_child_refs(std::span<const std::uint8_t> raw, IndexEntry& e)
  {
    auto refs = decode_child_refs(raw, "blob " + e.key.to_hex());
    if (refs) {
      e.children = std::move(refs).value();
    } else {
      e.malformed = refs.error().message();
    }
  }

  // An archive from before format 4 has a UNIQUE index on the whole key, which only a new
  // table drops: its rows move, ids and all, into today's table, and the archive is marked
  // with today's format (its roots moved into format 5's tables) in the same transaction (an older pagable would store a key twice in it). Nothing else
  // changes, so the VACUUM that follows gives back the old index's pages.
  Result<void> rebuild_blob_table()
  {
    // Format 6's table also never reuses a row id (AUTOINCREMENT), which child lists need
    // before they name children by id: an older table is rebuilt for that too.
    PAGABLE_TRY_ASSIGN(Stmt q, m_db.prepare("SELECT (SELECT count(*) FROM pragma_index_list('blobs') "
                                            "WHERE name = 'blobs_key_prefix'), (SELECT sql LIKE "
                                            "'%AUTOINCREMENT%' FROM sqlite_schema WHERE name = 'blobs')"));
    PAGABLE_TRY(q.step("reading the blob table's indexes"));
    if (q.column_int(0) != 0 && q.column_int(1) != 0) {
      return {};
    }
    q = Stmt();
    m_stmts = Cache(); // statements on the old table would keep it locked
    PAGABLE_TRY(begin_write());
    auto rebuilt = [&]() -> Result<void> {
      PAGABLE_TRY(m_db.exec(blobs_table_sql("blobs_format_6")));
      PAGABLE_TRY(m_db.exec("INSERT INTO blobs_format_6(id, key, pack, offset, size, children) "
                            "SELECT id, key, pack, offset, size, children FROM blobs"));
      PAGABLE_TRY(m_db.exec("DROP TABLE blobs"));
      PAGABLE_TRY(m_db.exec("ALTER TABLE blobs_format_6 RENAME TO blobs"));
      PAGABLE_TRY(m_db.exec(k_blobs_index_sql));
      // Marked with today's format, so its roots take today's tables too.
      PAGABLE_TRY(upgrade_roots_table(m_db));
      PAGABLE_TRY(m_db.exec("UPDATE meta SET value = '" + std::to_string(k_format_version) +
                            "' WHERE name = 'format_version'"));
      return m_db.exec("PRAGMA user_version = " + std::to_string(k_format_version));
    }();
    if (!rebuilt) {
      rollback();
      return std::move(rebuilt).error().with_context("rebuilding the blob table in format 6");
    }
    return commit();
  }

  // Statements used per row, prepared once.
  struct Cache {
    Stmt blob_id, pack, del, lookup, key_of_id, by_id;
    Result<std::reference_wrapper<Stmt>> get(Db& db, Stmt& slot, const std::string& text)
    {
      if (!slot.prepared()) {
        PAGABLE_TRY_ASSIGN(slot, db.prepare(text));
      }
      return std::ref(slot);
    }
    void clear_cursors()
    {
      for (Stmt* st : {&blob_id, &pack, &del, &lookup, &key_of_id, &by_id}) {
        if (st->prepared()) {
          st->reset();
        }
      }
    }
  };

  SqliteMaintenanceConfig m_config;
  Db m_db;
  bool m_write = false;
  bool m_in_txn = false;
  Cache m_stmts;
};

Result<PackRewriteResult> SqliteMaintenance::rewrite_packs(std::span<const std::int64_t> pack_ids)
{
  PackRewriteResult result;
  if (pack_ids.empty()) {
    return result;
  }
  PAGABLE_TRY(m_db.exec("CREATE TEMP TABLE IF NOT EXISTS gc_batch(id INTEGER PRIMARY KEY); "
                        "DELETE FROM temp.gc_batch;"));
  {
    PAGABLE_TRY_ASSIGN(Stmt ins,
                       m_db.prepare("INSERT OR IGNORE INTO temp.gc_batch(id) VALUES (?1)"));
    for (const std::int64_t id : pack_ids) {
      PAGABLE_TRY(ins.bind(1, id).run("listing packs to rewrite"));
    }
  }
  struct Row {
    std::int64_t id, offset, size;
  };
  // The rows that use these packs now, inside this write transaction: exact, whatever
  // happened since gc planned.
  std::map<std::int64_t, std::vector<Row>> rows;
  {
    PAGABLE_TRY_ASSIGN(Stmt q,
                       m_db.prepare("SELECT id, pack, offset, size FROM blobs WHERE pack IN "
                                    "(SELECT id FROM temp.gc_batch) ORDER BY pack, offset"));
    PAGABLE_TRY(q.each_row("reading the blob index", [&](const Stmt& row) -> Result<void> {
      rows[row.column_int(1)].push_back(Row{row.column_int(0), row.column_int(2), row.column_int(3)});
      return {};
    }));
  }
  // AUTOINCREMENT's sequence remembers removed ids too: new ids are never reused.
  PAGABLE_TRY_ASSIGN(Stmt max_q, m_db.prepare(
                                     "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE "
                                     "name = 'packs'), 0), coalesce((SELECT max(id) FROM packs), 0))"));
  PAGABLE_TRY(max_q.step("reading packs"));
  std::int64_t max_pack = max_q.column_int(0);
  PAGABLE_TRY_ASSIGN(Stmt base_q, m_db.prepare("SELECT 1 FROM pack_bases WHERE base_pack = ?1 LIMIT 1"));
  PAGABLE_TRY_ASSIGN(Stmt del_pack, m_db.prepare("DELETE FROM packs WHERE id = ?1"));
  PAGABLE_TRY_ASSIGN(Stmt del_bases, m_db.prepare("DELETE FROM pack_bases WHERE pack = ?1"));
  PAGABLE_TRY_ASSIGN(Stmt ins_pack, m_db.prepare("INSERT INTO packs(id, codec, dict_id, depth, "
                                                 "raw_size, data) VALUES (?1, ?2, NULL, 0, ?3, ?4)"));
  PAGABLE_TRY_ASSIGN(Stmt move_blob, m_db.prepare("UPDATE blobs SET pack = ?2, offset = ?3 WHERE id = ?1"));

  for (const std::int64_t id : pack_ids) {
    PAGABLE_TRY_ASSIGN(auto old, pack(id));
    if (!old) {
      continue; // gone already (another gc)
    }
    base_q.bind(1, id);
    PAGABLE_TRY_ASSIGN(const bool is_base, base_q.step("reading packs"));
    base_q.reset();
    const bool known_codec = old->codec == static_cast<std::int64_t>(PackCodec::raw) ||
                             old->codec == static_cast<std::int64_t>(PackCodec::zstd);
    const auto it = rows.find(id);
    const bool unused = it == rows.end() || it->second.empty();
    if (is_base || (!known_codec && !unused)) {
      ++result.packs_skipped;
      continue;
    }
    if (unused) {
      result.stored_bytes_before += old->data.size();
      PAGABLE_TRY(del_pack.bind(1, id).run("removing a pack"));
      PAGABLE_TRY(del_bases.bind(1, id).run("removing a pack's delta bases"));
      ++result.packs_removed;
      continue;
    }
    auto content = decode_pack_row(*old, m_config.max_pack_bytes);
    if (!content) {
      ++result.packs_skipped; // damaged: leave it for verify to report
      continue;
    }
    Bytes fresh;
    bool in_bounds = true;
    for (const Row& r : it->second) {
      if (r.offset < 0 || r.size < 0 ||
          static_cast<std::uint64_t>(r.offset) + static_cast<std::uint64_t>(r.size) >
              content->size()) {
        in_bounds = false;
        break;
      }
    }
    if (!in_bounds) {
      ++result.packs_skipped;
      continue;
    }
    const std::int64_t new_id = ++max_pack;
    std::vector<std::pair<std::int64_t, std::int64_t>> moves; // blob id -> new offset
    for (const Row& r : it->second) {
      moves.emplace_back(r.id, static_cast<std::int64_t>(fresh.size()));
      fresh.insert(fresh.end(), content->begin() + r.offset, content->begin() + r.offset + r.size);
    }
    const EncodedPack enc = encode_pack(fresh, m_config.compression_level);
    PAGABLE_TRY(ins_pack.bind(1, new_id)
                    .bind(2, static_cast<std::int64_t>(enc.codec))
                    .bind(3, static_cast<std::int64_t>(fresh.size()))
                    .bind(4, enc.data)
                    .run("writing a pack"));
    for (const auto& [blob, offset] : moves) {
      PAGABLE_TRY(move_blob.bind(1, blob).bind(2, new_id).bind(3, offset).run("moving a blob"));
    }
    PAGABLE_TRY(del_pack.bind(1, id).run("removing a pack"));
    result.stored_bytes_before += old->data.size();
    result.stored_bytes_after += enc.data.size();
    ++result.packs_rewritten;
  }
  return result;
}

} // namespace

Result<std::unique_ptr<MaintenanceSession>>
open_sqlite_maintenance(const SqliteMaintenanceConfig& config, SessionAccess access)
{
  const bool write = access == SessionAccess::write;
  if (write && config.write_uri.empty()) {
    return make_error(Errc::invalid_argument, config.path + " is open read-only");
  }
  auto db =
      write ? Db::open(config.write_uri, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                       config.lock_wait)
            : Db::open(config.read_uri, config.read_flags | SQLITE_OPEN_NOMUTEX, config.lock_wait);
  if (!db) {
    return std::move(db).error().with_context(config.path);
  }
  if (!write) {
    PAGABLE_TRY(db->exec("PRAGMA query_only = ON"));
  }
  // Bounded memory whatever the archive's size: a fixed page cache (larger for gc's write
  // session: its walk and deletes seek randomly in the key index), temp data on disk.
  // Write sessions commit like the store's writer: WAL with synchronous = NORMAL (a crash may
  // lose the last transactions, never consistency), so gc's many short transactions do not
  // each wait for an fsync.
  // secure_delete = FAST: see open_write_connection (sqlite_file.cpp).
  PAGABLE_TRY(db->exec(write ? "PRAGMA cache_size = -65536; PRAGMA temp_store = FILE; "
                               "PRAGMA synchronous = NORMAL; PRAGMA secure_delete = FAST;"
                             : "PRAGMA cache_size = -16384; PRAGMA temp_store = FILE;"));
  return std::unique_ptr<MaintenanceSession>(
      std::make_unique<SqliteMaintenance>(config, std::move(db).value(), access));
}

} // namespace pagable::store
