// SPDX-License-Identifier: MIT OR Apache-2.0
#include "remote_options.hpp"

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

Result<std::unique_ptr<remote::Registry>> open_remote(const std::string& url, const RemoteConnection& connection)
{
  PAGABLE_TRY_ASSIGN(const auto where, remote::parse_location(url));
  remote::RemoteOptions options;
  options.ca_cert = connection.ca_cert;
  options.parallel = connection.parallel;
  return remote::Registry::open(where, options);
}

void name_remote(nlohmann::json& report, const std::string& url)
{
  auto location = remote::parse_location(url);
  report["remote"] = location ? location->display() : std::string("?");
  report["archive"] = report["remote"];
}

} // namespace pagable::cli
