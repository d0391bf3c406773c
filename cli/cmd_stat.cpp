// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable stat ARCHIVE: sizes and counts.
#include "app.hpp"
#include "exit_codes.hpp"
#include "reports.hpp"

namespace pagable::cli {
namespace {

struct StatArgs {
  std::string archive;
};

int run_stat(const StatArgs& args, const Context& ctx, const Output& out)
{
  auto archive = open_archive(args.archive, OpenMode::read_only, ctx);
  if (!archive) {
    return out.error(archive.error());
  }
  auto stats = (*archive)->stat();
  if (!stats) {
    return out.error(stats.error());
  }
  const store::StoreStats& s = stats->store;
  const gc::GcFigures& g = stats->reclaimable;
  std::string boundaries = "not fixed yet (the first pack fixes them)";
  if (stats->boundaries) {
    boundaries.clear();
    for (const auto& [name, value] : stats->boundaries->to_settings()) {
      boundaries += (boundaries.empty() ? "" : " ") + name.substr(5) + "=" + value;
    }
  } else if (!stats->boundaries_error.empty()) {
    boundaries = "unusable: " + stats->boundaries_error + " (pack refuses this archive)";
  }
  out.line("format:         " + std::to_string(s.format_version));
  out.line("roots:          " + std::to_string(s.roots) + " versions of " + std::to_string(s.names) +
           " names");
  if (stats->newest) {
    const store::RootRecord& newest = *stats->newest;
    out.line("newest version: " + printable(version_name(newest)) + ", " +
             (newest.bytes_added ? human_bytes(*newest.bytes_added) + " added"
                                 : std::string("bytes added unknown")) +
             " (" + std::to_string(stats->bytes_added_total) + " bytes added by all versions)");
  }
  out.line("with a schema:  " + std::to_string(stats->roots_with_schema) + " roots (pack --schema)");
  out.line("blobs:          " + std::to_string(s.blobs));
  out.line("bytes logical:  " + std::to_string(s.bytes_logical) + " (distinct blob data)");
  out.line("bytes stored:   " + std::to_string(s.bytes_stored) + " (compressed packs)");
  out.line("file bytes:     " + std::to_string(s.file_bytes) + " (" + std::to_string(s.free_bytes) +
           " in free pages: reused by later packs; gc --compact gives them back)");
  out.line("reclaimable:    " + std::to_string(g.bytes_freed) + " bytes (" +
           std::to_string(g.blobs_removed) + " unreachable blobs, " +
           std::to_string(s.pack_bytes_dead) + " dead pack bytes; run pagable gc)");
  out.line("boundaries:     " + boundaries);
  if (!stats->boundaries_error.empty()) {
    out.warn(args.archive + ": " + stats->boundaries_error);
  }
  nlohmann::json report = to_json(*stats);
  report["archive"] = args.archive;
  out.report(report);
  return k_exit_ok;
}

} // namespace

void add_stat_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<StatArgs>();
  auto* cmd = app.add_subcommand("stat", "Show the archive's sizes and counts");
  add_archive_option(*cmd, args->archive);
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_stat(*args, ctx, out); };
  });
}

} // namespace pagable::cli
