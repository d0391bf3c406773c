// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable log ARCHIVE|REMOTE [SELECTOR]: a name's versions, newest first (a remote's numbered by
// time and key, pagable/remote.hpp RemoteCatalog).
#include "app.hpp"
#include "exit_codes.hpp"
#include "remote_options.hpp"
#include "reports.hpp"

namespace pagable::cli {
namespace {

struct LogArgs {
  std::string archive;
  std::string selector;
  RemoteConnection connection;
};

Result<std::vector<store::RootRecord>> history(const LogArgs& args, const Context& ctx)
{
  if (remote::is_remote_url(args.archive)) {
    PAGABLE_TRY_ASSIGN(auto registry, open_remote(args.archive, args.connection));
    PAGABLE_TRY_ASSIGN(auto catalog, remote::RemoteCatalog::read(*registry));
    return catalog.history(args.selector);
  }
  PAGABLE_TRY_ASSIGN(const auto archive, open_archive(args.archive, OpenMode::read_only, ctx));
  return archive->history(args.selector);
}

int run_log(const LogArgs& args, const Context& ctx, const Output& out)
{
  auto versions = history(args, ctx);
  if (!versions) {
    return out.error(versions.error());
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& v : *versions) {
    const nlohmann::json j = to_json(v);
    list.push_back(j);
    std::string line = format_time(v.created_unix_ms) + "  " + printable(version_name(v)) + "  " +
                       v.key.short_hex();
    line += j["new_nodes"].is_null() ? "  ? nodes new" : "  " + j["new_nodes"].dump() + " nodes new";
    line += v.bytes_added ? "  " + human_bytes(*v.bytes_added) + " added" : "  ? added";
    for (const auto& [k, val] : v.labels) {
      line += "  " + printable(k) + "=" + printable(val);
    }
    out.line(line);
  }
  nlohmann::json report{{"archive", args.archive},
                        {"selector", args.selector.empty() ? nlohmann::json(nullptr) : nlohmann::json(args.selector)},
                        {"versions", list}};
  if (remote::is_remote_url(args.archive)) {
    name_remote(report, args.archive);
  }
  out.report(report);
  return k_exit_ok;
}

} // namespace

void add_log_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<LogArgs>();
  auto* cmd = app.add_subcommand(
      "log", "List versions newest first: time, NAME#N, key, nodes new, bytes added, labels");
  add_archive_option(*cmd, args->archive)
      ->description("The archive file, or a remote: oci://HOST[:PORT]/REPOSITORY (default: $PAGABLE_ARCHIVE)");
  cmd->add_option("selector", args->selector,
                  "A name (all its versions), or a selector (NAME#N, NAME~K, NAME@TIME: the name's "
                  "versions up to that one); default: every version of every name");
  add_connection_options(*cmd, args->connection, TransferOptions::none);
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_log(*args, ctx, out); };
  });
}

} // namespace pagable::cli
