// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable ls ARCHIVE [--all] [--prefix P] [--label K=V]: names with their newest version and
// how many versions they hold, oldest first; every version with --all.
#include "app.hpp"

#include <pagable/selector.hpp>

#include <map>

namespace pagable::cli {
namespace {

struct LsArgs {
  std::string archive;
  bool all = false;
  std::string prefix;
  std::vector<std::string> labels;
};

int run_ls(const LsArgs& args, const Context& ctx, const Output& out)
{
  std::map<std::string, std::string> wanted;
  for (const auto& l : args.labels) {
    const auto eq = l.find('=');
    if (eq == std::string::npos || eq == 0) {
      return out.error(make_error(Errc::invalid_argument, "--label wants KEY=VALUE, got \"" + l + "\""));
    }
    wanted[l.substr(0, eq)] = l.substr(eq + 1);
  }
  auto archive = open_archive(args.archive, OpenMode::read_only, ctx);
  if (!archive) {
    return out.error(archive.error());
  }
  auto roots = (*archive)->list_roots(); // oldest first
  if (!roots) {
    return out.error(roots.error());
  }
  // Each name's newest version and count (the newest is the highest number).
  std::map<std::string, std::pair<const store::RootRecord*, std::size_t>> names;
  for (const auto& r : *roots) {
    auto& [newest, count] = names[r.name];
    ++count;
    if (newest == nullptr || r.version > newest->version) {
      newest = &r;
    }
  }
  const auto shown = [&](const store::RootRecord& r) {
    if (!r.name.starts_with(args.prefix)) {
      return false;
    }
    for (const auto& [k, v] : wanted) {
      const auto it = r.labels.find(k);
      if (it == r.labels.end() || it->second != v) {
        return false;
      }
    }
    return true;
  };
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : *roots) {
    const auto& [newest, count] = names[r.name];
    if ((!args.all && newest != &r) || !shown(r)) {
      continue;
    }
    nlohmann::json j = version_json(r);
    j["versions"] = count;
    list.push_back(j);
    std::string labels;
    for (const auto& [k, v] : r.labels) {
      labels += "  " + printable(k) + "=" + printable(v);
    }
    const std::string extra = args.all ? (r.bytes_added ? "  " + human_bytes(*r.bytes_added) : "  ?")
                                       : "  (" + std::to_string(count) + (count == 1 ? " version)" : " versions)");
    out.line(format_time(r.created_unix_ms) + "  " + r.key.short_hex() + "  " +
             printable(version_name(r)) + extra + labels);
  }
  out.report({{"archive", args.archive}, {"all", args.all}, {"roots", list}});
  return 0;
}

} // namespace

void add_ls_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<LsArgs>();
  auto* cmd = app.add_subcommand(
      "ls", "List names with their newest version (NAME#N) and how many versions they hold, "
            "oldest first: time, key, name, labels");
  add_archive_option(*cmd, args->archive);
  cmd->add_flag("-a,--all", args->all, "List every version, with what each added");
  cmd->add_option("--prefix", args->prefix, "Only names that start with P");
  cmd->add_option("--label", args->labels,
                  "Only versions with label KEY=VALUE (repeatable: all of them); without --all, "
                  "the newest version is the one that must have them");
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_ls(*args, ctx, out); };
  });
}

} // namespace pagable::cli
