// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable repair ARCHIVE OUT: salvage every version that still reads whole into a new
// archive, listing what was lost. Never writes ARCHIVE.
#include "app.hpp"
#include "exit_codes.hpp"
#include "interrupt.hpp"
#include "reports.hpp"

#include <filesystem>

namespace pagable::cli {
namespace {

struct RepairArgs {
  std::string archive;
  std::string out;
};

int run_repair(const RepairArgs& args, const Context& ctx, const Output& out)
{
  std::error_code ec;
  if (std::filesystem::exists(args.out, ec) || ec) {
    return out.error(make_error(Errc::invalid_argument,
                                args.out + " exists; repair writes a new archive and overwrites nothing"));
  }
  auto damaged = open_archive(args.archive, OpenMode::read_only, ctx);
  if (!damaged) {
    return out.error(damaged.error());
  }
  auto fresh = open_archive(args.out, OpenMode::create, ctx);
  if (!fresh) {
    return out.error(fresh.error());
  }
  catch_interrupts();
  SalvageEvents events;
  if (out.show_progress() && !out.json()) {
    events.progress = [&out](const store::RootRecord& v, std::size_t done, std::size_t total) {
      out.progress("repair: " + std::to_string(done) + " of " + std::to_string(total) +
                   " versions (" + printable(version_name(v)) + ")");
    };
  }
  auto report = (*damaged)->salvage_into(**fresh, interrupt_token(), events);
  out.end_progress();
  if (!report) {
    return out.error(std::move(report).error().with_context(args.out));
  }
  nlohmann::json copied = nlohmann::json::array();
  for (const auto& v : report->copied) {
    copied.push_back(to_json(v));
  }
  nlohmann::json lost = nlohmann::json::array();
  for (const auto& l : report->lost) {
    lost.push_back({{"name", l.version.name},
                    {"version", l.version.version},
                    {"key", l.version.key.to_hex()},
                    {"message", l.why.message()}});
    out.warn("lost " + printable(version_name(l.version)) + ": " + l.why.message());
  }
  const std::size_t total = report->copied.size() + report->lost.size();
  out.line("copied " + std::to_string(report->copied.size()) + " of " + std::to_string(total) +
           " versions (" + std::to_string(report->blobs_copied) + " blobs, " +
           human_bytes(report->bytes_copied) + ") into " + args.out +
           (report->lost.empty() ? "; nothing was lost"
                                 : "; " + std::to_string(report->lost.size()) + " lost (listed above)"));
  out.report({{"archive", args.archive},
              {"out", args.out},
              {"copied", copied},
              {"lost", lost},
              {"blobs_copied", report->blobs_copied},
              {"bytes_copied", report->bytes_copied},
              {"ok", report->lost.empty()}});
  return report->lost.empty() ? k_exit_ok : k_exit_problems;
}

} // namespace

void add_repair_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<RepairArgs>();
  auto* cmd = app.add_subcommand(
      "repair", "Copy every version that still reads whole into a new archive, listing what was lost");
  cmd->footer("Every blob is re-hashed as it is read; ARCHIVE is only read. OUT must not exist. "
              "Versions keep their names, numbers, times and labels. Exit status 0 when every "
              "version was copied, 3 when some were lost.");
  add_archive_option(*cmd, args->archive);
  cmd->add_option("out", args->out, "The new archive to create")->required();
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_repair(*args, ctx, out); };
  });
}

} // namespace pagable::cli
