// SPDX-License-Identifier: MIT OR Apache-2.0
#include "store/sqlite_catalog.hpp"

#include <pagable/version.hpp>

#include <nlohmann/json.hpp>

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

Result<std::vector<StoredRoot>> read_stored_roots(Db& db)
{
  PAGABLE_TRY_ASSIGN(Stmt q, db.prepare("SELECT name, key, schema_key, created_ms, labels, stats "
                                        "FROM roots ORDER BY created_ms, name"));
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
    out.push_back(std::move(r));
    return {};
  }));
  return out;
}

Result<std::vector<RootRecord>> read_roots(Db& db)
{
  PAGABLE_TRY_ASSIGN(auto stored, read_stored_roots(db));
  std::vector<RootRecord> out;
  out.reserve(stored.size());
  for (StoredRoot& s : stored) {
    const std::string what = "root \"" + s.name + "\"";
    if (!s.problem.empty()) {
      return make_error(Errc::corrupt, what + ": " + s.problem);
    }
    RootRecord r;
    r.name = std::move(s.name);
    r.version = s.version;
    r.key = *s.key;
    r.schema_key = s.schema_key;
    r.created_unix_ms = s.created_unix_ms;
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

Result<void> write_root(Db& db, const RootRecord& root)
{
  PAGABLE_TRY_ASSIGN(Stmt ins, db.prepare("INSERT OR REPLACE INTO roots(name, key, schema_key, "
                                          "created_ms, labels, stats) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  ins.bind(1, root.name).bind(2, root.key.bytes());
  if (root.schema_key) {
    ins.bind(3, root.schema_key->bytes());
  } else {
    ins.bind_null(3);
  }
  ins.bind(4, root.created_unix_ms).bind(5, nlohmann::json(root.labels).dump()).bind(6, root.stats_json);
  return ins.run("writing a root");
}

Result<std::size_t> delete_roots(Db& db, std::string_view name)
{
  PAGABLE_TRY_ASSIGN(Stmt del, db.prepare("DELETE FROM roots WHERE name = ?1"));
  PAGABLE_TRY(del.bind(1, name).run("removing a root"));
  return static_cast<std::size_t>(db.changes());
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
