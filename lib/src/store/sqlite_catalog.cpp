// SPDX-License-Identifier: MIT OR Apache-2.0
#include "store/sqlite_catalog.hpp"

#include <pagable/version.hpp>

#include "store/sqlite_schema.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace pagable::store {
namespace {

using sql::Db;
using sql::Stmt;

// A key column: 32 bytes, or else what is wrong with it (`what` names the column).
std::optional<Key> key_column(const Stmt& q, int col, std::string_view what, std::string& problem)
{
  auto k = Key::from_bytes(q.column_blob(col));
  if (!k && problem.empty()) {
    problem = "its " + std::string(what) + " is " + std::to_string(q.column_blob(col).size()) +
              " bytes long, not 32";
  }
  return k ? std::optional<Key>(*k) : std::nullopt;
}

} // namespace

Result<bool> roots_have_versions(Db& db)
{
  PAGABLE_TRY_ASSIGN(Stmt q, db.prepare("SELECT count(*) FROM pragma_table_info('roots') "
                                        "WHERE name = 'version'"));
  PAGABLE_TRY(q.step("reading the root table's columns"));
  return q.column_int(0) != 0;
}

Result<std::vector<StoredRoot>> read_stored_roots(Db& db, std::optional<std::string_view> name)
{
  // Format 4 and older kept one row a name, without a version: each is version 1.
  PAGABLE_TRY_ASSIGN(const bool versioned, roots_have_versions(db));
  const std::string columns = versioned ? "version, bytes_added" : "1, NULL";
  const std::string where = name ? " WHERE name = ?1" : "";
  // By position: a table from before format 5 has no version column (column 7 is "1").
  const std::string order = name ? " ORDER BY 7" : " ORDER BY created_ms, name, 7";
  PAGABLE_TRY_ASSIGN(Stmt q, db.prepare("SELECT name, key, schema_key, created_ms, labels, stats, " +
                                        columns + " FROM roots" + where + order));
  if (name) {
    q.bind(1, *name);
  }
  std::vector<StoredRoot> out;
  PAGABLE_TRY(q.each_row("listing roots", [&](const Stmt& row) -> Result<void> {
    StoredRoot r;
    r.name = row.column_text(0);
    r.key = key_column(row, 1, "key", r.problem);
    if (!row.column_is_null(2)) {
      r.schema_key = key_column(row, 2, "schema key", r.problem);
    }
    r.created_unix_ms = row.column_int(3);
    r.labels_json = row.column_text(4);
    r.stats_json = row.column_text(5);
    const std::int64_t version = row.column_int(6);
    if (version < 1 && r.problem.empty()) {
      r.problem = "its version is " + std::to_string(version) + ", not a number from 1";
    }
    r.version = static_cast<std::uint64_t>(std::max<std::int64_t>(version, 1));
    if (!row.column_is_null(7)) {
      r.bytes_added = static_cast<std::uint64_t>(std::max<std::int64_t>(row.column_int(7), 0));
    }
    out.push_back(std::move(r));
    return {};
  }));
  return out;
}

Result<std::vector<RootRecord>> read_roots(Db& db, std::optional<std::string_view> name)
{
  PAGABLE_TRY_ASSIGN(auto stored, read_stored_roots(db, name));
  std::vector<RootRecord> out;
  out.reserve(stored.size());
  for (StoredRoot& s : stored) {
    const std::string what = "root \"" + s.name + "\" version " + std::to_string(s.version);
    if (!s.problem.empty()) {
      return make_error(Errc::corrupt, what + ": " + s.problem);
    }
    RootRecord r;
    r.name = std::move(s.name);
    r.version = s.version;
    r.key = *s.key;
    r.schema_key = s.schema_key;
    r.created_unix_ms = s.created_unix_ms;
    r.bytes_added = s.bytes_added;
    try {
      r.labels = nlohmann::json::parse(s.labels_json).get<std::map<std::string, std::string>>();
    } catch (const std::exception& e) {
      return make_error(Errc::corrupt, what + ": labels are not a JSON object: " + e.what());
    }
    r.stats_json = std::move(s.stats_json);
    out.push_back(std::move(r));
  }
  return out;
}

Result<void> upgrade_roots_table(Db& db)
{
  PAGABLE_TRY_ASSIGN(const bool versioned, roots_have_versions(db));
  if (versioned) {
    return {};
  }
  // Each row of the old table is its name's version 1; what it cost was not recorded.
  PAGABLE_TRY(db.exec(roots_table_sql("roots_format_5")));
  PAGABLE_TRY(db.exec("INSERT INTO roots_format_5(name, version, key, schema_key, created_ms, "
                      "labels, stats, bytes_added) SELECT name, 1, key, schema_key, created_ms, "
                      "labels, stats, NULL FROM roots"));
  PAGABLE_TRY(db.exec("DROP TABLE roots"));
  PAGABLE_TRY(db.exec("ALTER TABLE roots_format_5 RENAME TO roots"));
  PAGABLE_TRY(db.exec(k_names_table_sql));
  return db.exec("INSERT INTO names(name, last_version) SELECT name, max(version) FROM roots "
                 "GROUP BY name");
}

namespace {

// One more than any number `name` was given: the names table remembers numbers whose
// versions were removed since; the versions themselves are asked too, so that a names row
// lost or behind never gives a number twice.
Result<std::int64_t> first_unused_version(Db& db, std::string_view name)
{
  PAGABLE_TRY_ASSIGN(Stmt q, db.prepare("SELECT max(coalesce((SELECT last_version FROM names "
                                        "WHERE name = ?1), 0), coalesce((SELECT max(version) "
                                        "FROM roots WHERE name = ?1), 0)) + 1"));
  q.bind(1, name);
  PAGABLE_TRY(q.step("numbering a version"));
  return q.column_int(0);
}

Result<void> remember_version(Db& db, std::string_view name, std::int64_t version)
{
  PAGABLE_TRY_ASSIGN(Stmt up, db.prepare("INSERT OR REPLACE INTO names(name, last_version) "
                                         "VALUES (?1, ?2)"));
  return up.bind(1, name).bind(2, version).run("numbering a version");
}

} // namespace

Result<void> claim_version(Db& db, std::string_view name, std::uint64_t version)
{
  PAGABLE_TRY_ASSIGN(const std::int64_t next, first_unused_version(db, name));
  if (version < static_cast<std::uint64_t>(next)) {
    return make_error(Errc::invalid_argument, "version " + std::to_string(version) + " of \"" +
                                                  std::string(name) + "\": the name was given numbers up to " +
                                                  std::to_string(next - 1) + " already");
  }
  return remember_version(db, name, static_cast<std::int64_t>(version));
}

Result<std::uint64_t> next_version(Db& db, std::string_view name)
{
  PAGABLE_TRY_ASSIGN(const std::int64_t next, first_unused_version(db, name));
  PAGABLE_TRY(remember_version(db, name, next));
  return static_cast<std::uint64_t>(next);
}

Result<void> write_root(Db& db, const RootRecord& root)
{
  PAGABLE_TRY_ASSIGN(Stmt ins, db.prepare("INSERT INTO roots(name, version, key, schema_key, "
                                          "created_ms, labels, stats, bytes_added) VALUES "
                                          "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  ins.bind(1, root.name).bind(2, static_cast<std::int64_t>(root.version)).bind(3, root.key.bytes());
  if (root.schema_key) {
    ins.bind(4, root.schema_key->bytes());
  } else {
    ins.bind_null(4);
  }
  ins.bind(5, root.created_unix_ms).bind(6, nlohmann::json(root.labels).dump()).bind(7, root.stats_json);
  if (root.bytes_added) {
    ins.bind(8, static_cast<std::int64_t>(*root.bytes_added));
  } else {
    ins.bind_null(8);
  }
  return ins.run("writing a root");
}

Result<void> set_bytes_added(Db& db, std::string_view name, std::uint64_t version,
                             std::uint64_t bytes)
{
  PAGABLE_TRY_ASSIGN(Stmt up, db.prepare("UPDATE roots SET bytes_added = ?3 WHERE name = ?1 AND "
                                         "version = ?2"));
  return up.bind(1, name)
      .bind(2, static_cast<std::int64_t>(version))
      .bind(3, static_cast<std::int64_t>(bytes))
      .run("recording what a version added");
}

Result<std::size_t> delete_roots(Db& db, std::string_view name,
                                 std::optional<std::span<const std::uint64_t>> versions)
{
  if (!versions) {
    PAGABLE_TRY_ASSIGN(Stmt del, db.prepare("DELETE FROM roots WHERE name = ?1"));
    PAGABLE_TRY(del.bind(1, name).run("removing a root"));
    return static_cast<std::size_t>(db.changes());
  }
  PAGABLE_TRY_ASSIGN(const bool versioned, roots_have_versions(db));
  PAGABLE_TRY_ASSIGN(Stmt del, db.prepare(versioned ? "DELETE FROM roots WHERE name = ?1 AND version = ?2"
                                                    : "DELETE FROM roots WHERE name = ?1 AND ?2 = 1"));
  std::size_t removed = 0;
  for (const std::uint64_t v : *versions) {
    PAGABLE_TRY(del.bind(1, name).bind(2, static_cast<std::int64_t>(v)).run("removing a version"));
    removed += static_cast<std::size_t>(db.changes());
  }
  return removed;
}

Result<std::uint64_t> count_roots(Db& db)
{
  PAGABLE_TRY_ASSIGN(Stmt q, db.prepare("SELECT count(*) FROM roots"));
  std::uint64_t n = 0;
  PAGABLE_TRY(q.first_row("counting roots", [&](const Stmt& row) -> Result<void> {
    n = static_cast<std::uint64_t>(row.column_int(0));
    return {};
  }));
  return n;
}

Result<std::map<std::string, std::string>> read_settings(Db& db)
{
  PAGABLE_TRY_ASSIGN(Stmt q, db.prepare("SELECT name, value FROM settings"));
  std::map<std::string, std::string> out;
  PAGABLE_TRY(q.each_row("reading settings", [&](const Stmt& row) -> Result<void> {
    out.emplace(row.column_text(0), row.column_text(1));
    return {};
  }));
  return out;
}

Result<void> record_settings(Db& db, const std::map<std::string, std::string>& values,
                             SettingsWrite mode, const OlderSettings& older,
                             const std::function<Result<void>()>& mark_current_format)
{
  bool replace = false;
  if (mode == SettingsWrite::replace_while_rootless) {
    PAGABLE_TRY_ASSIGN(Stmt r, db.prepare("SELECT count(*) FROM roots"));
    PAGABLE_TRY(r.step("counting roots"));
    replace = r.column_int(0) == 0;
  }
  // Read in the write transaction: the marks only change in one.
  PAGABLE_TRY_ASSIGN(Stmt uv, db.prepare("PRAGMA user_version"));
  PAGABLE_TRY(uv.step("reading the format version"));
  const std::int64_t marked = uv.column_int(0);
  if (replace && marked < k_format_version) {
    PAGABLE_TRY(mark_current_format());
  }
  // Settings are recorded all at once, so a name missing beside others was unknown to the
  // pagable that recorded them: it went by the older value, whatever the marks say now (a
  // `gc --compact` marks an old archive with today's format and records no setting).
  PAGABLE_TRY_ASSIGN(Stmt any, db.prepare("SELECT count(*) FROM settings"));
  PAGABLE_TRY(any.step("reading settings"));
  const bool use_older = !replace && (marked < older.since || any.column_int(0) != 0);
  PAGABLE_TRY_ASSIGN(Stmt ins, db.prepare(replace ? "INSERT OR REPLACE INTO settings(name, value) "
                                                    "VALUES (?1, ?2)"
                                                  : "INSERT OR IGNORE INTO settings(name, value) "
                                                    "VALUES (?1, ?2)"));
  for (const auto& [n, v] : values) {
    const auto o = older.values.find(n);
    const std::string& value = use_older && o != older.values.end() ? o->second : v;
    PAGABLE_TRY(ins.bind(1, n).bind(2, value).run("writing settings"));
  }
  return {};
}

} // namespace pagable::store
