// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable ls ARCHIVE: list roots, oldest first.
#include "app.hpp"
#include "exit_codes.hpp"
#include "reports.hpp"

namespace pagable::cli {
namespace {

struct LsArgs {
  std::string archive;
};

int run_ls(const LsArgs& args, const Context& ctx, const Output& out)
{
  auto archive = open_archive(args.archive, OpenMode::read_only, ctx);
  if (!archive) {
    return out.error(archive.error());
  }
  auto roots = (*archive)->list_roots();
  if (!roots) {
    return out.error(roots.error());
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : *roots) {
    list.push_back(to_json(r));
    std::string labels;
    for (const auto& [k, v] : r.labels) {
      labels += " " + k + "=" + v;
    }
    out.line(format_time(r.created_unix_ms) + "  " + r.key.short_hex() + "  " + r.name + labels);
  }
  out.report({{"archive", args.archive}, {"roots", list}});
  return k_exit_ok;
}

} // namespace

void add_ls_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<LsArgs>();
  auto* cmd = app.add_subcommand("ls", "List the archive's roots, oldest first: time, key, name, labels");
  add_archive_option(*cmd, args->archive);
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_ls(*args, ctx, out); };
  });
}

} // namespace pagable::cli
