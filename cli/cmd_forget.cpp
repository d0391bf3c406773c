// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable forget ARCHIVE [NAME...] --keep-...: remove the versions a retention policy does not
// keep (restic's semantics, pagable/retention.hpp), each name in one transaction.
#include "app.hpp"
#include "exit_codes.hpp"
#include "keep_options.hpp"
#include "reports.hpp"

#include <pagable/retention.hpp>

namespace pagable::cli {
namespace {

struct ForgetArgs {
  std::string archive;
  std::vector<std::string> names;
  KeepArgs keep;
  bool dry_run = false;
};

int run_forget(const ForgetArgs& args, const Context& ctx, const Output& out)
{
  auto policy = keep_policy(args.keep);
  if (!policy) {
    return out.error(policy.error());
  }
  auto archive = open_archive(args.archive, args.dry_run ? OpenMode::read_only : OpenMode::read_write, ctx);
  if (!archive) {
    return out.error(archive.error());
  }
  auto report = (*archive)->forget(args.names, *policy, args.dry_run ? DryRun::yes : DryRun::no);
  if (!report) {
    return out.error(report.error());
  }
  std::size_t removed = 0;
  std::size_t doomed = 0;
  for (const auto& n : report->names) {
    out.line(printable(n.name) + ":");
    for (const auto& d : n.decisions) {
      std::string why;
      for (const auto& r : d.reasons) {
        why += (why.empty() ? "" : ", ") + r;
      }
      out.line(std::string(d.keep ? "  keep    " : (args.dry_run ? "  remove  " : "  removed ")) +
               printable(version_name(d.version)) + "  " + format_time(d.version.created_unix_ms) +
               "  " + d.version.key.short_hex() + (why.empty() ? "" : "  (" + why + ")"));
      doomed += d.keep ? 0 : 1;
    }
    removed += n.removed;
  }
  if (args.dry_run) {
    out.line(std::to_string(doomed) + " version(s) would be removed (--dry-run: nothing was)");
  } else {
    out.line(std::to_string(removed) + " version(s) removed; run `pagable gc` to free their blobs");
  }
  out.report(to_json(*report, args.archive, args.dry_run ? DryRun::yes : DryRun::no));
  return k_exit_ok;
}

} // namespace

void add_forget_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<ForgetArgs>();
  auto* cmd = app.add_subcommand(
      "forget", "Remove the versions a retention policy does not keep, per name (restic's "
                "forget semantics; their blobs stay until gc)");
  add_archive_option(*cmd, args->archive);
  cmd->add_option("names", args->names, "Names to apply the policy to (default: every name)");
  add_keep_options(*cmd, args->keep);
  cmd->add_flag("--dry-run,-n", args->dry_run, "Only say what would be removed");
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_forget(*args, ctx, out); };
  });
}

} // namespace pagable::cli
