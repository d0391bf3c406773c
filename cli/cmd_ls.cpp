// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable ls ARCHIVE: list roots, oldest first.
#include "app.hpp"

#include <ctime>

namespace pagable::cli {
namespace {

struct LsArgs {
  std::string archive;
};

std::string format_time(std::int64_t unix_ms)
{
  const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int run_ls(const LsArgs& args, const Context& ctx, const Output& out)
{
  auto archive = open_archive(args.archive, OpenMode::read_only, ctx);
  if (!archive) {
    return out.error(archive.error());
  }
  auto roots = (*archive)->store().list_roots();
  if (!roots) {
    return out.error(roots.error());
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : *roots) {
    nlohmann::json stats = nlohmann::json::parse(r.stats_json, nullptr, false);
    if (stats.is_discarded()) {
      stats = nlohmann::json::object();
    }
    list.push_back({{"name", r.name},
                    {"key", r.key.to_hex()},
                    {"schema_key", r.schema_key ? nlohmann::json(r.schema_key->to_hex()) : nullptr},
                    {"created", format_time(r.created_unix_ms)},
                    {"labels", r.labels},
                    {"stats", stats}});
    std::string labels;
    for (const auto& [k, v] : r.labels) {
      labels += " " + k + "=" + v;
    }
    out.line(format_time(r.created_unix_ms) + "  " + r.key.short_hex() + "  " + r.name + labels);
  }
  out.report({{"archive", args.archive}, {"roots", list}});
  return 0;
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
