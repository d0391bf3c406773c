// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable gc ARCHIVE [--dry-run] [--compact]: remove the blobs no root reaches.
#include "app.hpp"
#include "exit_codes.hpp"
#include "reports.hpp"

namespace pagable::cli {
namespace {

struct GcArgs {
  std::string archive;
  bool dry_run = false;
  bool compact = false;
};

int run_gc(const GcArgs& args, const Context& ctx, const Output& out)
{
  const std::uint64_t before = Archive::file_bytes(args.archive);
  gc::GcOptions options;
  options.compact = args.compact && !args.dry_run;
  gc::GcFigures f;
  {
    // A dry run opens the archive read-only: it cannot change a byte of it.
    auto archive = open_archive(
        args.archive, args.dry_run ? OpenMode::read_only : OpenMode::read_write, ctx);
    if (!archive) {
      return out.error(archive.error());
    }
    auto plan = (*archive)->plan_gc(options);
    if (!plan) {
      return out.error(plan.error());
    }
    f = plan->figures;
    if (!args.dry_run) {
      auto done = (*archive)->collect_garbage(*plan, options);
      if (!done) {
        return out.error(done.error());
      }
      f = *done;
    }
  } // closing the store folds the WAL back: the file's size is final now
  const std::uint64_t after = Archive::file_bytes(args.archive);
  const std::string verb = args.dry_run ? "would remove " : "removed ";
  out.line(verb + std::to_string(f.blobs_removed) + " of " + std::to_string(f.blobs_total) +
           " blobs (" + std::to_string(f.roots) + " roots keep " + std::to_string(f.blobs_live) +
           "), " + std::to_string(f.packs_removed) + " packs removed, " +
           std::to_string(f.packs_rewritten) + " rewritten; " + std::to_string(f.bytes_freed) +
           " bytes freed" + (args.dry_run ? " (dry run: nothing changed)" : ""));
  if (!args.dry_run) {
    out.line("file: " + std::to_string(before) + " -> " + std::to_string(after) + " bytes" +
             (args.compact ? "" : " (freed pages are reused; --compact shrinks the file)"));
  }
  nlohmann::json report = to_json(f);
  report["archive"] = args.archive;
  report["dry_run"] = args.dry_run;
  report["compact"] = options.compact;
  report["file_bytes_before"] = before;
  report["file_bytes_after"] = after;
  out.report(report);
  return k_exit_ok;
}

} // namespace

void add_gc_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<GcArgs>();
  auto* cmd =
      app.add_subcommand("gc", "Remove the blobs no root reaches and report what was freed");
  add_archive_option(*cmd, args->archive);
  cmd->add_flag("--dry-run", args->dry_run, "Report what gc would free and change nothing");
  cmd->add_flag(
      "--compact", args->compact,
      "Also shrink the file (VACUUM; needs free space of about twice the archive's size), "
      "giving an archive from before format 4 its smaller key index");
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_gc(*args, ctx, out); };
  });
}

} // namespace pagable::cli
