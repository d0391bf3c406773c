// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable verify ARCHIVE [ROOT...]: check the archive at one of the levels of DESIGN §5 and
// list every problem with the roots it affects. Exit 0 clean, 3 problems, 5 unreadable. A
// remote (oci://...) is checked by remote::verify: its versions' blobs there and sound.
#include "app.hpp"
#include "exit_codes.hpp"
#include "mapped_reads.hpp"
#include "remote_options.hpp"
#include "reports.hpp"

namespace pagable::cli {
namespace {

struct VerifyArgs {
  std::string archive;
  std::vector<std::string> roots;
  bool quick = false;
  bool connectivity = false;
  bool deep = false;
  std::string subset;
  unsigned jobs = 0;
  RemoteConnection connection;
};

constexpr const char* k_remote_next_step =
    "the registry lost or spoilt blobs of these versions: delete their tags at the registry, then "
    "push them again from an archive that holds them";

Result<verify::VerifyReport> verify_remote(const VerifyArgs& args, verify::VerifyLevel level)
{
  if (!args.subset.empty()) {
    return make_error(Errc::invalid_argument, "--subset is for an archive file, not a remote");
  }
  PAGABLE_TRY_ASSIGN(auto registry, open_remote(args.archive, args.connection));
  PAGABLE_TRY_ASSIGN(auto catalog, remote::RemoteCatalog::read(*registry));
  return remote::verify(catalog, args.roots, level);
}

int run_verify(const VerifyArgs& args, const Context& ctx, const Output& out)
{
  verify::VerifyOptions options;
  options.level = args.quick          ? verify::VerifyLevel::quick
                  : args.connectivity ? verify::VerifyLevel::connectivity
                  : args.deep         ? verify::VerifyLevel::deep
                                      : verify::VerifyLevel::full;
  options.roots = args.roots;
  options.jobs = args.jobs;
  if (!args.subset.empty()) {
    auto subset = verify::parse_subset(args.subset);
    if (!subset) {
      return out.error(subset.error());
    }
    options.subset = *subset;
  }
  const bool is_remote = remote::is_remote_url(args.archive);
  std::unique_ptr<Archive> opened;
  if (!is_remote) {
    // The walk reads through a memory map (verify.cpp says why).
    guard_mapped_reads(args.archive, out);
    auto archive = open_archive(args.archive, OpenMode::read_only, ctx);
    if (!archive) {
      if (archive.error().code() == Errc::corrupt) {
        // SQLite cannot even read the schema (a truncated file, say): exit 5, with the way out.
        return out.error(
            make_error(Errc::corrupt, archive.error().message() +
                                          "; the file is damaged beyond reading: restore it from a "
                                          "backup, or salvage what is readable with `sqlite3 " +
                                          args.archive + " .recover`"));
      }
      return out.error(archive.error());
    }
    opened = std::move(archive).value();
  }
  auto result = is_remote ? verify_remote(args, options.level) : opened->verify(options);
  if (!result) {
    return out.error(result.error());
  }
  const verify::VerifyReport& r = *result;
  for (const auto& p : r.problems) {
    std::string roots;
    for (const auto& name : p.roots) {
      roots += (roots.empty() ? "" : ", ") + name;
    }
    out.line(std::string(verify::kind_name(p.kind)) + (p.key ? " " + p.key->to_hex() : "") + ": " +
             p.detail + (roots.empty() ? "" : " [roots: " + roots + "]"));
  }
  if (r.truncated) {
    out.line("(more problems were found than are listed)");
  }
  out.line("verify (" + std::string(verify::level_name(r.level)) +
           (r.subset.t > 1 ? ", subset " + std::to_string(r.subset.n) + "/" + std::to_string(r.subset.t)
                           : "") +
           "): " + (r.ok() ? "ok" : std::to_string(r.problems.size()) + " problem(s)") + "; " +
           std::to_string(r.roots_checked) + " roots, " + std::to_string(r.blobs_reached) +
           " blobs reached, " + std::to_string(r.blobs_checked) + " re-hashed");
  if (r.level == verify::VerifyLevel::deep) {
    out.line("schemas: " + std::to_string(r.roots_schema_checked) +
             " roots validated against their stored schema, " +
             std::to_string(r.roots_without_schema) + " roots have no schema (not schema-checked)");
  }
  if (!r.ok()) {
    out.line("next step: " + (is_remote ? std::string(k_remote_next_step)
                                        : next_step_text(r.next_step, args.archive)));
  }
  nlohmann::json report = to_json(r, args.archive);
  report["archive"] = args.archive;
  if (is_remote) {
    name_remote(report, args.archive);
    report["suggestion"] = r.ok() ? "" : k_remote_next_step;
  }
  out.report(report);
  return r.ok() ? k_exit_ok : k_exit_problems;
}

} // namespace

void add_verify_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<VerifyArgs>();
  auto* cmd = app.add_subcommand(
      "verify", "Check the archive and list every problem with the roots it affects "
                "(exit 0 clean, 3 problems found, 5 unreadable)");
  add_archive_option(*cmd, args->archive)
      ->description("The archive file, or a remote: oci://HOST[:PORT]/REPOSITORY (default: $PAGABLE_ARCHIVE)");
  cmd->add_option("roots", args->roots,
                  "Check only what these roots reach (default: every root); selectors, on a remote "
                  "by its numbering");
  auto* quick = cmd->add_flag("--quick", args->quick,
                              "Only SQLite's quick check, pagable's tables, key index, metadata "
                              "and format");
  auto* conn =
      cmd->add_flag("--connectivity", args->connectivity,
                    "Also check that every key the roots reach is stored, in one index "
                    "row (reads no blob data)");
  auto* deep =
      cmd->add_flag("--deep", args->deep,
                    "Also validate every root that has a stored schema against it (roots "
                    "packed without --schema are counted, not reported)");
  quick->excludes(conn)->excludes(deep);
  conn->excludes(deep);
  cmd->add_option("--subset", args->subset,
                  "n/t: check only the n-th of t key ranges, so that t runs cover every blob once");
  cmd->add_option("-j,--jobs", args->jobs,
                  "Worker threads that decompress and re-hash (default: one per core)")
      ->check(CLI::Range(1u, 1024u));
  add_connection_options(*cmd, args->connection, TransferOptions::none);
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_verify(*args, ctx, out); };
  });
}

} // namespace pagable::cli
