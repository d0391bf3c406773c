// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable gc ARCHIVE [--dry-run] [--compact]: remove the blobs no root reaches.
// pagable gc REMOTE --keep-... [--grace DURATION] [--dry-run]: delete the manifests of the
// versions retention drops, once past the grace period (pagable/remote.hpp remote::gc).
#include "app.hpp"
#include "exit_codes.hpp"
#include "keep_options.hpp"
#include "remote_options.hpp"
#include "reports.hpp"

#include <pagable/remote.hpp>

namespace pagable::cli {
namespace {

struct GcArgs {
  std::string archive;
  bool dry_run = false;
  bool compact = false;
  KeepArgs keep;              // REMOTE only
  std::string grace = "24h";  // REMOTE only
  RemoteConnection connection;
};

// A restic-style span as milliseconds: a month counts 30 days, a year 365.
Result<std::chrono::milliseconds> span_ms(std::string_view text)
{
  PAGABLE_TRY_ASSIGN(const auto span, parse_span(text));
  const std::int64_t hours = ((std::int64_t{span.years} * 365 + std::int64_t{span.months} * 30 + span.days) * 24) + span.hours;
  if (hours < 0) {
    return make_error(Errc::invalid_argument, "a negative span");
  }
  return std::chrono::milliseconds(hours * 3600 * 1000);
}

nlohmann::json versions_json(const std::vector<store::RootRecord>& versions)
{
  nlohmann::json out = nlohmann::json::array();
  for (const auto& v : versions) {
    out.push_back(to_json(v));
  }
  return out;
}

int run_remote_gc(const GcArgs& args, const Output& out)
{
  if (args.compact) {
    return out.error(make_error(Errc::invalid_argument,
                                "--compact shrinks an archive file; a registry's storage is its own"));
  }
  remote::RemoteGcOptions options;
  auto policy = keep_policy(args.keep);
  if (!policy) {
    return out.error(policy.error());
  }
  options.policy = *policy;
  auto grace = span_ms(args.grace);
  if (!grace) {
    return out.error(std::move(grace).error().with_context("--grace"));
  }
  options.grace = *grace;
  options.dry_run = args.dry_run ? DryRun::yes : DryRun::no;
  auto opened = open_catalog(args.archive, args.connection);
  if (!opened) {
    return out.error(opened.error());
  }
  remote::RemoteCatalog* catalog = &*opened->catalog;
  auto report = remote::gc(*catalog, options);
  if (!report) {
    return out.error(std::move(report).error().with_context("gc " + opened->registry->location().display()));
  }
  nlohmann::json names = nlohmann::json::array();
  std::size_t doomed = 0;
  for (const auto& n : report->names) {
    out.line(printable(n.name) + ":");
    nlohmann::json keep = nlohmann::json::array();
    for (const auto& d : n.decisions) {
      const bool graced = std::any_of(n.in_grace.begin(), n.in_grace.end(), [&](const auto& r) {
        return remote::version_tag(r) == remote::version_tag(d.version);
      });
      std::string why;
      for (const auto& r : d.reasons) {
        why += (why.empty() ? "" : ", ") + r;
      }
      if (graced) {
        why = "within the grace period";
      }
      const char* verb = d.keep || graced ? "  keep    " : (args.dry_run ? "  delete  " : "  deleted ");
      out.line(verb + printable(version_name(d.version)) + "  " + format_time(d.version.created_unix_ms) + "  " +
               d.version.key.short_hex() + (why.empty() ? "" : "  (" + why + ")"));
      if (d.keep) {
        nlohmann::json v = to_json(d.version);
        v["reasons"] = d.reasons;
        keep.push_back(std::move(v));
      }
    }
    doomed += n.deleted.size();
    names.push_back({{"name", n.name},
                     {"keep", keep},
                     {"in_grace", versions_json(n.in_grace)},
                     {"delete", versions_json(n.deleted)}});
  }
  if (args.dry_run) {
    out.line(std::to_string(doomed) + " manifest(s) would be deleted (--dry-run: nothing was)");
  } else {
    out.line(std::to_string(report->manifests_deleted) +
             " manifest(s) deleted; their blobs stay until the registry's own garbage collection "
             "(Distribution: registry garbage-collect)");
  }
  nlohmann::json json_report = {{"dry_run", args.dry_run},
                                {"grace_seconds", options.grace.count() / 1000},
                                {"names", names},
                                {"manifests_deleted", report->manifests_deleted},
                                {"requests", report->transfer.requests}};
  name_remote(json_report, args.archive);
  out.report(json_report);
  return k_exit_ok;
}

int run_gc(const GcArgs& args, const Context& ctx, const Output& out)
{
  if (remote::is_remote_url(args.archive)) {
    return run_remote_gc(args, out);
  }
  if (!args.keep.policy.empty() || !args.keep.within.empty() || !args.keep.labels.empty() ||
      args.grace != "24h") {
    return out.error(make_error(Errc::invalid_argument,
                                "--keep-... and --grace apply to a remote; in an archive, forget "
                                "versions first (pagable forget), then gc"));
  }
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
      app.add_subcommand("gc", "Remove the blobs no root reaches and report what was freed; on a remote, "
                                "delete the manifests of the versions retention drops, past a grace period");
  add_archive_option(*cmd, args->archive)
      ->description("The archive file, or a remote: oci://HOST[:PORT]/REPOSITORY (default: $PAGABLE_ARCHIVE)");
  cmd->add_flag("--dry-run", args->dry_run, "Report what gc would free (or delete) and change nothing");
  cmd->add_flag(
      "--compact", args->compact,
      "Also shrink the file (VACUUM; needs free space of about twice the archive's size), "
      "giving an archive from before format 4 its smaller key index");
  add_keep_options(*cmd, args->keep);
  cmd->add_option("--grace", args->grace,
                  "With a remote: delete a version retention drops only once it is older than DURATION "
                  "(e.g. 24h, 7d; a month counts 30 days)")
      ->capture_default_str();
  add_connection_options(*cmd, args->connection, TransferOptions::none);
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_gc(*args, ctx, out); };
  });
}

} // namespace pagable::cli
