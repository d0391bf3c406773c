// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The SQL of the root catalogue and the settings table (docs/FORMAT.md "Roots", "Settings"),
// shared by the store's readers, its writer and the maintenance session: the one place that
// reads and writes those tables.
// Thread-safety: functions of a connection, which belongs to one thread at a time. Each runs
// inside whatever transaction the caller has open (a reader's snapshot, the writer's).

#include <pagable/store.hpp>

#include "store/maintenance.hpp"
#include "store/sqlite_db.hpp"

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pagable::store {

// Returns true iff the roots table is format 5's (with versions); formats 0 to 4 kept one
// row a name.
Result<bool> roots_have_versions(sql::Db& db);
// Every root row as stored (of `name` only, when given), malformed ones included with their
// problem said (verify reports them). All names: oldest first (then by name and version);
// one name: by version. A table from before format 5 reads as version 1 of each name.
Result<std::vector<StoredRoot>> read_stored_roots(sql::Db& db,
                                                  std::optional<std::string_view> name = {});
// The same, checked: Errc::corrupt naming the first malformed row.
Result<std::vector<RootRecord>> read_roots(sql::Db& db, std::optional<std::string_view> name = {});
// Moves an older archive's roots table (one row a name) into format 5's tables: each row
// becomes version 1 of its name. Does nothing to format 5's. In the caller's write
// transaction, which also marks the archive with today's format.
Result<void> upgrade_roots_table(sql::Db& db);
// Gives `name` its next version number (never one given before, even to a version removed
// since) and records it as the name's highest. In the commit's write transaction.
Result<std::uint64_t> next_version(sql::Db& db, std::string_view name);
// Claims `version` for `name` (import_root): Errc::invalid_argument unless it is above every
// number the name was given; the names table then remembers it.
Result<void> claim_version(sql::Db& db, std::string_view name, std::uint64_t version);
// Inserts `root` (version, time and figures set) as a row of format 5's table.
Result<void> write_root(sql::Db& db, const RootRecord& root);
// Records what version `version` of `name` added (RootRecord::bytes_added).
Result<void> set_bytes_added(sql::Db& db, std::string_view name, std::uint64_t version,
                             std::uint64_t bytes);
// Deletes the given versions of `name` (all of them when `versions` is absent); returns how
// many rows there were. The names table keeps the name's highest number.
Result<std::size_t> delete_roots(sql::Db& db, std::string_view name,
                                 std::optional<std::span<const std::uint64_t>> versions = {});
// How many root rows (versions) there are.
Result<std::uint64_t> count_roots(sql::Db& db);

Result<std::map<std::string, std::string>> read_settings(sql::Db& db);
// ArchiveSettings::init_settings's writes, inside the writer's transaction;
// `mark_current_format` marks the archive with today's format when a rootless archive's
// settings are replaced.
Result<void> record_settings(sql::Db& db, const std::map<std::string, std::string>& values,
                             SettingsWrite mode, const OlderSettings& older,
                             const std::function<Result<void>()>& mark_current_format);

} // namespace pagable::store
