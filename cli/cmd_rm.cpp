// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable rm ARCHIVE SELECTOR... | --keep-last N [--prefix P]: remove every version of a name,
// or one version (NAME#N, NAME~K, NAME@TIME, key prefix); gc then frees their blobs.
#include "app.hpp"
#include "exit_codes.hpp"
#include "reports.hpp"

namespace pagable::cli {
namespace {

struct RmArgs {
  std::string archive;
  std::vector<std::string> roots;
  long long keep_last = -1; // -1: not given
  std::string prefix;
};

int run_rm(const RmArgs& args, const Context& ctx, const Output& out)
{
  const bool keep = args.keep_last >= 0;
  if (args.roots.empty() == !keep) {
    return out.error(
        make_error(Errc::invalid_argument,
                   "rm takes either names and versions or --keep-last N, not both or neither"));
  }
  if (!args.prefix.empty() && !keep) {
    return out.error(make_error(Errc::invalid_argument, "--prefix goes with --keep-last"));
  }
  auto archive = open_archive(args.archive, OpenMode::read_write, ctx);
  if (!archive) {
    return out.error(archive.error());
  }
  RemoveRequest request;
  request.names = args.roots;
  if (keep) {
    request.keep_last = static_cast<std::size_t>(args.keep_last);
    request.prefix = args.prefix;
  }
  auto plan = (*archive)->plan_remove(request);
  if (!plan) {
    return out.error(std::move(plan).error().with_context(args.archive));
  }
  auto removed = (*archive)->remove(*plan);
  if (!removed) {
    return out.error(removed.error());
  }
  for (const auto& what : removed->removed) {
    out.line("removed " + printable(what));
  }
  out.line(std::to_string(removed->versions_removed) +
           " version(s) removed; run `pagable gc` to free their blobs");
  out.report({{"archive", args.archive},
              {"removed", removed->removed},
              {"versions_removed", removed->versions_removed}});
  return k_exit_ok;
}

} // namespace

void add_rm_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<RmArgs>();
  auto* cmd = app.add_subcommand(
      "rm", "Remove every version of a name, or one version (NAME#N, ...), or all names but the "
            "newest N (their blobs stay until gc)");
  add_archive_option(*cmd, args->archive);
  cmd->add_option("roots", args->roots,
                  "A name (every version of it) or a selector of one version: NAME#N, NAME~K, "
                  "NAME@TIME, key prefix");
  cmd->add_option("--keep-last", args->keep_last,
                  "Remove every version of all names but the N whose newest version is newest "
                  "(of those matching --prefix); forget --keep-last keeps N versions per name")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--prefix", args->prefix,
                  "With --keep-last: consider only names that start with P");
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_rm(*args, ctx, out); };
  });
}

} // namespace pagable::cli
