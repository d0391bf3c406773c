// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable rm ARCHIVE ROOT... | --keep-last N [--prefix P]: remove roots (gc then frees their
// blobs).
#include "app.hpp"
#include "exit_codes.hpp"

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
                   "rm takes either root names or --keep-last N, not both or neither"));
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
  auto doomed = (*archive)->plan_remove(request);
  if (!doomed) {
    return out.error(doomed.error());
  }
  auto removed = (*archive)->remove(*doomed);
  if (!removed) {
    return out.error(removed.error());
  }
  for (const auto& name : *removed) {
    out.line("removed " + name);
  }
  out.line(std::to_string(removed->size()) +
           " root(s) removed; run `pagable gc` to free their blobs");
  out.report({{"archive", args.archive}, {"removed", *removed}});
  return k_exit_ok;
}

} // namespace

void add_rm_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<RmArgs>();
  auto* cmd = app.add_subcommand(
      "rm", "Remove roots by name, or keep only the newest N (their blobs stay until gc)");
  add_archive_option(*cmd, args->archive);
  cmd->add_option("roots", args->roots, "Names of the roots to remove");
  cmd->add_option("--keep-last", args->keep_last,
                  "Remove all roots but the newest N (of those matching --prefix)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--prefix", args->prefix,
                  "With --keep-last: consider only roots whose name starts with P");
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_rm(*args, ctx, out); };
  });
}

} // namespace pagable::cli
