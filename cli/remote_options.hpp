// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// What every command that reads or writes a remote (oci://, oci+http://) shares: the
// connection options and opening the registry, so that push, pull, ls and log take the
// same ones. A remote operand is never replaced by $PAGABLE_ARCHIVE (the archive positional
// falls back to it only when absent).

#include <pagable/remote.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>

namespace pagable::cli {

struct RemoteConnection {
  std::string ca_cert;
  unsigned parallel = 4;
};

// --ca-cert FILE, and --parallel N unless `transfers` is TransferOptions::none.
enum class TransferOptions : std::uint8_t { none, parallel };
void add_connection_options(CLI::App& cmd, RemoteConnection& connection, TransferOptions transfers);

// In a --json report about the remote at `url`: `remote` and `archive` hold the URL without
// its user-info (a credential is never printed).
void name_remote(nlohmann::json& report, const std::string& url);

// The hydrate cache's default directory: $XDG_CACHE_HOME/pagable, else $HOME/.cache/pagable
// ("" when neither is set).
std::string default_cache_dir();

// The registry at `url` with `connection`'s options (Errc::invalid_argument for a bad URL).
Result<std::unique_ptr<remote::Registry>> open_remote(const std::string& url, const RemoteConnection& connection);

// A remote's registry with its catalog (its tags, listed once).
struct OpenedRemote {
  std::unique_ptr<remote::Registry> registry;
  std::optional<remote::RemoteCatalog> catalog; // reads through *registry
};
Result<OpenedRemote> open_catalog(const std::string& url, const RemoteConnection& connection);

} // namespace pagable::cli
