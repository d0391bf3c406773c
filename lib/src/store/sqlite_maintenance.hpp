// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The SQLite store's maintenance role (store/maintenance.hpp), built by SqliteStore.

#include "store/maintenance.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace pagable::store {

struct SqliteMaintenanceConfig {
  std::string path;      // for messages
  std::string read_uri;  // how the store's readers open the file (immutable when read-only)
  int read_flags = 0;    // SQLITE_OPEN_* for reading
  std::string write_uri; // empty when the store was opened read-only
  std::chrono::milliseconds lock_wait{10'000};
  int compression_level = 3;
  std::uint64_t max_pack_bytes = 256 * 1024 * 1024;
};

Result<std::unique_ptr<MaintenanceSession>>
open_sqlite_maintenance(const SqliteMaintenanceConfig& config, SessionAccess access);

} // namespace pagable::store
