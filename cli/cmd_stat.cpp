// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable stat ARCHIVE: sizes and counts.
#include "app.hpp"

#include <algorithm>

#include <pagable/gc.hpp>
#include <pagable/pack.hpp>

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
  auto stats = (*archive)->store().stats();
  if (!stats) {
    return out.error(stats.error());
  }
  const auto& s = *stats;
  // What gc would give back: a dry-run plan (marks through the index; reads no blob data).
  auto reclaim = gc::plan((*archive)->store());
  if (!reclaim) {
    return out.error(reclaim.error());
  }
  const gc::GcFigures& g = reclaim->figures;
  auto roots = (*archive)->store().list_roots();
  if (!roots) {
    return out.error(roots.error());
  }
  // What versions cost: each version's own pages (RootRecord::bytes_added), the newest one's
  // as pack printed it, and all of them (those from before format 5 recorded nothing).
  std::uint64_t added_total = 0;
  const store::RootRecord* newest = nullptr;
  for (const auto& r : *roots) {
    added_total += r.bytes_added.value_or(0);
    if (newest == nullptr || r.created_unix_ms >= newest->created_unix_ms) {
      newest = &r;
    }
  }
  const auto with_schema = static_cast<std::uint64_t>(std::count_if(
      roots->begin(), roots->end(), [](const store::RootRecord& r) { return r.schema_key.has_value(); }));
  // The node boundaries the archive's keys were made with (none before its first pack).
  auto settings = (*archive)->store().settings();
  if (!settings) {
    return out.error(settings.error());
  }
  // A setting out of range is reported, not fatal: stat is where one looks when pack refuses.
  nlohmann::json boundaries = nullptr;
  std::string boundaries_error;
  std::string boundaries_text = "not fixed yet (the first pack fixes them)";
  if (settings->count("pack.node_bytes") != 0) {
    if (auto b = pack::BoundarySettings::from_archive(*settings); b) {
      boundaries = nlohmann::json::object();
      boundaries_text.clear();
      for (const auto& [name, value] : b->to_settings()) {
        boundaries[name.substr(5)] = std::stoull(value);
        boundaries_text += (boundaries_text.empty() ? "" : " ") + name.substr(5) + "=" + value;
      }
    } else {
      boundaries_error = b.error().message();
      boundaries_text = "unusable: " + boundaries_error + " (pack refuses this archive)";
    }
  }
  const double ratio =
      s.bytes_stored == 0 ? 0.0 : static_cast<double>(s.bytes_logical) / s.bytes_stored;
  out.line("format:         " + std::to_string(s.format_version));
  out.line("roots:          " + std::to_string(s.roots) + " versions of " + std::to_string(s.names) +
           " names");
  if (newest != nullptr) {
    out.line("newest version: " + printable(version_name(*newest)) + ", " +
             (newest->bytes_added ? human_bytes(*newest->bytes_added) + " added" : std::string("bytes added unknown")) +
             " (" + std::to_string(added_total) + " bytes added by all versions)");
  }
  out.line("with a schema:  " + std::to_string(with_schema) + " roots (pack --schema)");
  out.line("blobs:          " + std::to_string(s.blobs));
  out.line("bytes logical:  " + std::to_string(s.bytes_logical) + " (distinct blob data)");
  out.line("bytes stored:   " + std::to_string(s.bytes_stored) + " (compressed packs)");
  out.line("file bytes:     " + std::to_string(s.file_bytes) + " (" + std::to_string(s.free_bytes) +
           " in free pages: reused by later packs; gc --compact gives them back)");
  out.line("reclaimable:    " + std::to_string(g.bytes_freed) + " bytes (" +
           std::to_string(g.blobs_removed) + " unreachable blobs, " +
           std::to_string(s.pack_bytes_dead) + " dead pack bytes; run pagable gc)");
  out.line("boundaries:     " + boundaries_text);
  nlohmann::json report = {{"archive", args.archive},
              {"roots", s.roots},
              {"names", s.names},
              {"newest_version", newest != nullptr ? version_json(*newest) : nlohmann::json(nullptr)},
              {"bytes_added_total", added_total},
              {"blobs", s.blobs},
              {"bytes_logical", s.bytes_logical},
              {"bytes_stored", s.bytes_stored},
              {"file_bytes", s.file_bytes},
              {"free_bytes", s.free_bytes},
              {"compression_ratio", ratio},
              {"unreachable_blobs", g.blobs_removed},
              {"pack_bytes_dead", s.pack_bytes_dead},
              {"reclaimable_bytes", g.bytes_freed},
              {"roots_with_schema", with_schema},
              {"format_version", s.format_version},
              {"boundaries", boundaries}};
  if (!boundaries_error.empty()) {
    report["boundaries_error"] = boundaries_error;
    out.warn(args.archive + ": " + boundaries_error);
  }
  out.report(report);
  return 0;
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
