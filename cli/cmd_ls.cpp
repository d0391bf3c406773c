// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable ls ARCHIVE|REMOTE [--all] [--prefix P] [--label K=V]: names with their newest version
// and how many versions they hold, oldest first; every version with --all. A remote is listed
// from its tags and the records of the versions shown (pagable/remote.hpp RemoteCatalog).
#include "app.hpp"
#include "exit_codes.hpp"
#include "remote_options.hpp"
#include "reports.hpp"

namespace pagable::cli {
namespace {

struct LsArgs {
  std::string archive;
  bool all = false;
  std::string prefix;
  std::vector<std::string> labels;
  RemoteConnection connection;
};

Result<std::vector<Listed>> list_remote(const LsArgs& args, const ListRequest& request)
{
  PAGABLE_TRY_ASSIGN(auto registry, open_remote(args.archive, args.connection));
  PAGABLE_TRY_ASSIGN(auto catalog, remote::RemoteCatalog::read(*registry));
  return catalog.list(request);
}

Result<std::vector<Listed>> list_archive(const LsArgs& args, const ListRequest& request, const Context& ctx)
{
  PAGABLE_TRY_ASSIGN(const auto archive, open_archive(args.archive, OpenMode::read_only, ctx));
  return archive->list(request);
}

int run_ls(const LsArgs& args, const Context& ctx, const Output& out)
{
  ListRequest request;
  request.all = args.all ? AllVersions::yes : AllVersions::no;
  request.prefix = args.prefix;
  for (const auto& l : args.labels) {
    const auto eq = l.find('=');
    if (eq == std::string::npos || eq == 0) {
      return out.error(make_error(Errc::invalid_argument, "--label wants KEY=VALUE, got \"" + l + "\""));
    }
    request.labels[l.substr(0, eq)] = l.substr(eq + 1);
  }
  const bool is_remote = remote::is_remote_url(args.archive);
  auto listed = is_remote ? list_remote(args, request) : list_archive(args, request, ctx);
  if (!listed) {
    return out.error(listed.error());
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [r, count] : *listed) {
    nlohmann::json j = to_json(r);
    j["versions"] = count;
    list.push_back(j);
    std::string labels;
    for (const auto& [k, v] : r.labels) {
      labels += "  " + printable(k) + "=" + printable(v);
    }
    const std::string extra =
        args.all ? (r.bytes_added ? "  " + human_bytes(*r.bytes_added) : "  ?")
                 : "  (" + std::to_string(count) + (count == 1 ? " version)" : " versions)");
    out.line(format_time(r.created_unix_ms) + "  " + r.key.short_hex() + "  " +
             printable(version_name(r)) + extra + labels);
  }
  nlohmann::json report{{"archive", args.archive}, {"all", args.all}, {"roots", list}};
  if (is_remote) {
    name_remote(report, args.archive);
  }
  out.report(report);
  return k_exit_ok;
}

} // namespace

void add_ls_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<LsArgs>();
  auto* cmd = app.add_subcommand(
      "ls", "List names with their newest version (NAME#N) and how many versions they hold, "
            "oldest first: time, key, name, labels");
  add_archive_option(*cmd, args->archive)
      ->description("The archive file, or a remote: oci://HOST[:PORT]/REPOSITORY (default: $PAGABLE_ARCHIVE)");
  cmd->add_flag("-a,--all", args->all, "List every version, with what each added");
  cmd->add_option("--prefix", args->prefix, "Only names that start with P");
  cmd->add_option("--label", args->labels,
                  "Only versions with label KEY=VALUE (repeatable: all of them); without --all, "
                  "the newest version is the one that must have them");
  add_connection_options(*cmd, args->connection, TransferOptions::none);
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_ls(*args, ctx, out); };
  });
}

} // namespace pagable::cli
