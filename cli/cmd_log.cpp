// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable log ARCHIVE [SELECTOR]: a name's versions, newest first.
#include "app.hpp"
#include "exit_codes.hpp"
#include "reports.hpp"

namespace pagable::cli {
namespace {

struct LogArgs {
  std::string archive;
  std::string selector;
};

int run_log(const LogArgs& args, const Context& ctx, const Output& out)
{
  auto archive = open_archive(args.archive, OpenMode::read_only, ctx);
  if (!archive) {
    return out.error(archive.error());
  }
  auto versions = (*archive)->history(args.selector);
  if (!versions) {
    return out.error(versions.error());
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& v : *versions) {
    const nlohmann::json j = to_json(v);
    list.push_back(j);
    std::string line = format_time(v.created_unix_ms) + "  " + printable(version_name(v)) + "  " +
                       v.key.short_hex();
    line += j["new_nodes"].is_null() ? "  ? nodes new" : "  " + j["new_nodes"].dump() + " nodes new";
    line += v.bytes_added ? "  " + human_bytes(*v.bytes_added) + " added" : "  ? added";
    for (const auto& [k, val] : v.labels) {
      line += "  " + printable(k) + "=" + printable(val);
    }
    out.line(line);
  }
  out.report({{"archive", args.archive},
              {"selector", args.selector.empty() ? nlohmann::json(nullptr) : nlohmann::json(args.selector)},
              {"versions", list}});
  return k_exit_ok;
}

} // namespace

void add_log_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<LogArgs>();
  auto* cmd = app.add_subcommand(
      "log", "List versions newest first: time, NAME#N, key, nodes new, bytes added, labels");
  add_archive_option(*cmd, args->archive);
  cmd->add_option("selector", args->selector,
                  "A name (all its versions), or a selector (NAME#N, NAME~K, NAME@TIME: the name's "
                  "versions up to that one); default: every version of every name");
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_log(*args, ctx, out); };
  });
}

} // namespace pagable::cli
