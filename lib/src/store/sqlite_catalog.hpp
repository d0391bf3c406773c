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
#include <string>
#include <string_view>
#include <vector>

namespace pagable::store {

// Every root row as stored, oldest first (then by name and version), malformed ones included
// with their problem said (verify reports them).
Result<std::vector<StoredRoot>> read_stored_roots(sql::Db& db);
// Every root, oldest first (then by name and version); Errc::corrupt naming the first
// malformed row.
Result<std::vector<RootRecord>> read_roots(sql::Db& db);
// Writes `root` (its version and time set) as the row of its name: archives of format 4 hold
// one version a name, so it replaces the name's old row.
Result<void> write_root(sql::Db& db, const RootRecord& root);
// Deletes every version of `name`; returns how many rows there were.
Result<std::size_t> delete_roots(sql::Db& db, std::string_view name);
// How many root rows there are.
Result<std::uint64_t> count_roots(sql::Db& db);

Result<std::map<std::string, std::string>> read_settings(sql::Db& db);
// ArchiveSettings::init_settings's writes, inside the writer's transaction;
// `mark_current_format` marks the archive with today's format when a rootless archive's
// settings are replaced.
Result<void> record_settings(sql::Db& db, const std::map<std::string, std::string>& values,
                             SettingsWrite mode, const OlderSettings& older,
                             const std::function<Result<void>()>& mark_current_format);

} // namespace pagable::store
