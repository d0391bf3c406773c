// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable diff ARCHIVE A B [--at POINTER] [--format F]: what changed between two versions.
// Exit status as diff(1)'s: 0 equal, 1 different, 2 and above trouble (the documented
// exception to the general table).
#include "app.hpp"
#include "exit_codes.hpp"
#include "reports.hpp"

#include <pagable/diff.hpp>

#include <chrono>

namespace pagable::cli {
namespace {

struct DiffArgs {
  std::string archive;
  std::string a;
  std::string b;
  std::string at;
  std::string format = "human";
  std::size_t width = 72;
};

// A value as one short line of JSON.
std::string shortened(const nlohmann::ordered_json& v, std::size_t width)
{
  std::string text = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > width) {
    text = text.substr(0, width > 3 ? width - 3 : 0) + "...";
  }
  return printable(text);
}

int trouble(const Output& out, const Error& e)
{
  // 1 says "different": any failure is 2 or more.
  const int code = out.error(e);
  return code < 2 ? k_exit_usage : code;
}

int run_diff(const DiffArgs& args, const Context& ctx, const Output& out)
{
  if (args.format != "human" && args.format != "json-patch" && args.format != "merge-patch") {
    return trouble(out, make_error(Errc::invalid_argument, "--format is human, json-patch or merge-patch"));
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto archive = open_archive(args.archive, OpenMode::read_only, ctx);
  if (!archive) {
    return trouble(out, archive.error());
  }
  diff::DiffOptions options;
  options.at = args.at;
  options.old_values = args.format == "human" && !out.json() ? diff::OldValues::yes : diff::OldValues::no;
  options.merge_patch = args.format == "merge-patch";
  auto report = (*archive)->diff(args.a, args.b, options);
  if (!report) {
    return trouble(out, report.error());
  }
  const diff::DiffResult* d = &report->result;
  const int code = d->equal() ? 0 : 1;
  if (args.format == "merge-patch" && !d->merge_patch) {
    return trouble(out, make_error(Errc::invalid_argument,
                                   "no merge patch says this change exactly: " + d->merge_patch_problem +
                                       " (use --format json-patch)"));
  }
  if (out.json()) {
    nlohmann::json j = to_json(*report, args.archive, args.at);
    j["stats"]["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.report(j);
    return code;
  }
  if (args.format == "json-patch") {
    out.document() << diff::to_json_patch(d->patch).dump(2) << '\n';
    return code;
  }
  if (args.format == "merge-patch") {
    out.document() << d->merge_patch->dump(2) << '\n';
    return code;
  }
  for (const auto& op : d->patch) {
    const std::string path = printable(op.path.empty() ? "(the document)" : op.path);
    switch (op.kind) {
    case diff::OpKind::add: out.line("+ " + path + ": " + shortened(op.value, args.width)); break;
    case diff::OpKind::remove:
      out.line("- " + path + ": " + (op.old ? shortened(*op.old, args.width) : std::string("…")));
      break;
    case diff::OpKind::replace:
      out.line("~ " + path + ": " + (op.old ? shortened(*op.old, args.width) : std::string("…")) +
               " → " + shortened(op.value, args.width));
      break;
    }
  }
  return code;
}

} // namespace

void add_diff_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<DiffArgs>();
  auto* cmd = app.add_subcommand(
      "diff", "Show what changed from version A to version B (any two selectors); exit 0 when "
              "equal, 1 when different, 2 and above on trouble");
  add_archive_option(*cmd, args->archive);
  cmd->add_option("a", args->a, "The version to compare from (a selector: NAME, NAME#N, NAME~K, "
                                "NAME@TIME, key prefix)")
      ->required();
  cmd->add_option("b", args->b, "The version to compare to")->required();
  cmd->add_option("--at", args->at, "Compare only the values at this JSON pointer");
  cmd->add_option("--format", args->format,
                  "human (one line per change: + added, - removed, ~ old → new), json-patch "
                  "(RFC 6902) or merge-patch (RFC 7386, when one is exact); --json prints the "
                  "report {a, b, equal, patch}")
      ->capture_default_str();
  cmd->add_option("--width", args->width, "Characters of each value the human view shows")
      ->capture_default_str();
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_diff(*args, ctx, out); };
  });
}

} // namespace pagable::cli
