// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable push ARCHIVE REMOTE [SELECTOR...] and pagable pull ARCHIVE REMOTE [SELECTOR...]: versions
// to and from an OCI registry (pagable/remote.hpp; docs/FORMAT.md "Remote stores").
#include "app.hpp"
#include "exit_codes.hpp"
#include "remote_options.hpp"
#include "reports.hpp"

#include <pagable/remote.hpp>

namespace pagable::cli {
namespace {

struct RemoteArgs {
  std::string archive;
  std::string remote;
  std::vector<std::string> selectors;
  RemoteConnection connection;
};

nlohmann::json roots_json(const std::vector<store::RootRecord>& roots)
{
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : roots) {
    list.push_back(to_json(r));
  }
  return list;
}

std::function<void(std::string_view, std::uint64_t, std::uint64_t)> progress_of(const Output& out)
{
  if (!out.show_progress()) {
    return {};
  }
  return [&out](std::string_view what, std::uint64_t done, std::uint64_t total) {
    out.progress(std::string(what) + ": " + std::to_string(done) + "/" + std::to_string(total));
  };
}

int run_push(const RemoteArgs& args, const Context& ctx, const Output& out)
{
  auto registry = open_remote(args.remote, args.connection);
  if (!registry) {
    return out.error(registry.error());
  }
  auto archive = open_archive(args.archive, OpenMode::read_only, ctx);
  if (!archive) {
    return out.error(archive.error());
  }
  remote::TransferEvents events;
  events.progress = progress_of(out);
  auto report = remote::push((*archive)->store(), **registry, remote::Selection{args.selectors}, events);
  out.end_progress();
  if (!report) {
    return out.error(std::move(report).error().with_context("push to " + (*registry)->location().display()));
  }
  for (const auto& r : report->pushed) {
    out.line("pushed " + r.key.short_hex() + "  " + r.name + "  " + format_time(r.created_unix_ms) + "  as " +
             remote::version_tag(r));
  }
  out.line(std::to_string(report->pushed.size()) + " versions pushed, " + std::to_string(report->present.size()) +
           " there already; " + std::to_string(report->packs_uploaded) + " packs uploaded (" +
           std::to_string(report->bytes_uploaded) + " bytes), " + std::to_string(report->packs_present) +
           " there already; " + std::to_string(report->transfer.requests) + " requests");
  out.report({{"archive", args.archive},
              {"remote", (*registry)->location().display()},
              {"pushed", roots_json(report->pushed)},
              {"present", roots_json(report->present)},
              {"packs_uploaded", report->packs_uploaded},
              {"packs_present", report->packs_present},
              {"bytes_uploaded", report->bytes_uploaded},
              {"requests", report->transfer.requests},
              {"retries", report->transfer.retries},
              {"bytes_sent", report->transfer.bytes_sent},
              {"bytes_received", report->transfer.bytes_received},
              {"seconds", report->seconds}});
  return k_exit_ok;
}

int run_pull(const RemoteArgs& args, const Context& ctx, const Output& out)
{
  auto registry = open_remote(args.remote, args.connection);
  if (!registry) {
    return out.error(registry.error());
  }
  auto archive = open_archive(args.archive, OpenMode::create, ctx);
  if (!archive) {
    return out.error(archive.error());
  }
  remote::TransferEvents events;
  events.progress = progress_of(out);
  std::optional<Result<remote::PullReport>> report;
  // Held like a pack: no take-back of this process's packs may remove what pull stores.
  const auto held = (*archive)->write_exclusively([&]() -> Result<void> {
    report.emplace(remote::pull(**registry, (*archive)->store(), remote::Selection{args.selectors}, events));
    return {};
  });
  out.end_progress();
  if (!held) {
    return out.error(held.error());
  }
  Result<remote::PullReport>& pulled = *report;
  if (!pulled) {
    return out.error(std::move(pulled).error().with_context("pull from " + (*registry)->location().display()));
  }
  const auto& r = pulled.value();
  for (const auto& root : r.pulled) {
    out.line("pulled " + root.key.short_hex() + "  " + root.name + "  " + format_time(root.created_unix_ms));
  }
  out.line(std::to_string(r.pulled.size()) + " versions pulled, " + std::to_string(r.present.size()) +
           " there already; " + std::to_string(r.packs_downloaded) + " packs downloaded, " +
           std::to_string(r.packs_present) + " not needed; " + std::to_string(r.bytes_downloaded) + " bytes, " +
           std::to_string(r.transfer.requests) + " requests");
  out.report({{"archive", args.archive},
              {"remote", (*registry)->location().display()},
              {"pulled", roots_json(r.pulled)},
              {"present", roots_json(r.present)},
              {"packs_downloaded", r.packs_downloaded},
              {"packs_present", r.packs_present},
              {"bytes_downloaded", r.bytes_downloaded},
              {"requests", r.transfer.requests},
              {"retries", r.transfer.retries},
              {"bytes_sent", r.transfer.bytes_sent},
              {"bytes_received", r.transfer.bytes_received},
              {"seconds", r.seconds}});
  return k_exit_ok;
}

void add_remote_options(CLI::App& cmd, RemoteArgs& args)
{
  cmd.add_option("remote", args.remote,
                 "The remote: oci://HOST[:PORT]/REPOSITORY (HTTPS), or oci+http://… (plain HTTP, for "
                 "loopback and tests)")
      ->required();
  cmd.add_option("selectors", args.selectors,
                 "What moves: a name (every version of it), or NAME#N, NAME~K, NAME@TIME or a key prefix "
                 "(that one version; on the remote, numbered by time and key); default: every version");
  add_connection_options(cmd, args.connection, TransferOptions::parallel);
}

} // namespace

void add_push_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<RemoteArgs>();
  auto* cmd = app.add_subcommand(
      "push", "Upload versions and the packs they reach to an OCI registry, skipping what it has");
  add_archive_option(*cmd, args->archive);
  add_remote_options(*cmd, *args);
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_push(*args, ctx, out); };
  });
}

void add_pull_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<RemoteArgs>();
  auto* cmd = app.add_subcommand(
      "pull", "Download versions from an OCI registry into the archive (created if missing), checking "
              "every digest and key, fetching only the packs it lacks");
  add_archive_option(*cmd, args->archive);
  add_remote_options(*cmd, *args);
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_pull(*args, ctx, out); };
  });
}

} // namespace pagable::cli
