// SPDX-License-Identifier: MIT OR Apache-2.0
#include "remote_options.hpp"

#include <cstdlib>

namespace pagable::cli {

void add_connection_options(CLI::App& cmd, RemoteConnection& connection, TransferOptions transfers)
{
  cmd.add_option("--ca-cert", connection.ca_cert,
                 "With a remote: trust the CA certificates in this PEM file (a private registry)")
      ->check(CLI::ExistingFile);
  if (transfers == TransferOptions::parallel) {
    cmd.add_option("--parallel", connection.parallel, "Transfers in flight at once")
        ->check(CLI::Range(1u, 64u))
        ->capture_default_str();
  }
}

std::string default_cache_dir()
{
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && xdg[0] == '/') {
    return std::string(xdg) + "/pagable"; // the XDG spec ignores a relative path
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && home[0] != '\0') {
    return std::string(home) + "/.cache/pagable";
  }
  return "";
}

Result<std::unique_ptr<remote::Registry>> open_remote(const std::string& url, const RemoteConnection& connection)
{
  PAGABLE_TRY_ASSIGN(const auto where, remote::parse_location(url));
  remote::RemoteOptions options;
  options.ca_cert = connection.ca_cert;
  options.parallel = connection.parallel;
  return remote::Registry::open(where, options);
}

Result<OpenedRemote> open_catalog(const std::string& url, const RemoteConnection& connection)
{
  OpenedRemote opened;
  PAGABLE_TRY_ASSIGN(opened.registry, open_remote(url, connection));
  PAGABLE_TRY_ASSIGN(auto catalog, remote::RemoteCatalog::read(*opened.registry));
  opened.catalog.emplace(std::move(catalog));
  return opened;
}

void name_remote(nlohmann::json& report, const std::string& url)
{
  auto location = remote::parse_location(url);
  report["remote"] = location ? location->display() : std::string("?");
  report["archive"] = report["remote"];
}

} // namespace pagable::cli
