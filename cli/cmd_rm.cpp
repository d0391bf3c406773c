// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable rm ARCHIVE SELECTOR... | --keep-last N [--prefix P]: remove every version of a name,
// or one version (NAME#N, NAME~K, NAME@TIME, key prefix); gc then frees their blobs.
#include "app.hpp"

#include <pagable/selector.hpp>

#include <algorithm>
#include <map>
#include <set>

namespace pagable::cli {
namespace {

struct RmArgs {
  std::string archive;
  std::vector<std::string> roots;
  long long keep_last = -1; // -1: not given
  std::string prefix;
};

int run_rm(const RmArgs& args, const Context& ctx, const Output& out)
{
  const bool keep = args.keep_last >= 0;
  if (args.roots.empty() == !keep) {
    return out.error(
        make_error(Errc::invalid_argument,
                   "rm takes either names and versions or --keep-last N, not both or neither"));
  }
  if (!args.prefix.empty() && !keep) {
    return out.error(make_error(Errc::invalid_argument, "--prefix goes with --keep-last"));
  }
  auto archive = open_archive(args.archive, OpenMode::read_write, ctx);
  if (!archive) {
    return out.error(archive.error());
  }
  auto roots = (*archive)->list_roots(); // oldest first
  if (!roots) {
    return out.error(roots.error());
  }
  // What goes: whole names, and single versions (name -> numbers).
  std::vector<std::string> whole;
  std::map<std::string, std::set<std::uint64_t>> single;
  if (keep) {
    // Across names, as before versions: the N names whose newest version is newest stay,
    // with all their versions (forget --keep-last keeps N versions per name instead).
    std::map<std::string, std::int64_t> newest;
    for (const auto& r : *roots) {
      if (r.name.starts_with(args.prefix)) {
        newest[r.name] = std::max(newest[r.name], r.created_unix_ms);
      }
    }
    std::vector<std::pair<std::int64_t, std::string>> by_age;
    for (const auto& [name, ms] : newest) {
      by_age.emplace_back(ms, name);
    }
    std::sort(by_age.begin(), by_age.end());
    const auto n = static_cast<std::size_t>(args.keep_last);
    for (std::size_t i = 0; i + n < by_age.size(); ++i) {
      whole.push_back(by_age[i].second);
    }
  } else {
    // Every selector must resolve before anything is removed.
    std::set<std::string> names;
    for (const auto& r : *roots) {
      names.insert(r.name);
    }
    for (const auto& s : args.roots) {
      if (names.count(s) != 0) {
        if (std::find(whole.begin(), whole.end(), s) == whole.end()) {
          whole.push_back(s);
        }
        continue;
      }
      auto v = (*archive)->find_root(s);
      if (!v) {
        return out.error(std::move(v).error().with_context(args.archive));
      }
      single[v->name].insert(v->version);
    }
  }
  std::vector<std::string> removed;
  std::uint64_t versions_removed = 0;
  for (const auto& name : whole) {
    auto r = (*archive)->store().remove_root(name);
    if (!r) {
      return out.error(r.error());
    }
    if (*r != 0) {
      removed.push_back(name);
      versions_removed += *r;
      out.line("removed " + printable(name) + " (" + std::to_string(*r) + " version" + (*r == 1 ? ")" : "s)"));
    }
    single.erase(name);
  }
  for (const auto& [name, numbers] : single) {
    const std::vector<std::uint64_t> list(numbers.begin(), numbers.end());
    auto r = (*archive)->store().remove_versions(name, list);
    if (!r) {
      return out.error(r.error());
    }
    versions_removed += *r;
    for (const auto v : list) {
      removed.push_back(name + "#" + std::to_string(v));
      out.line("removed " + printable(name) + "#" + std::to_string(v));
    }
  }
  out.line(std::to_string(versions_removed) + " version(s) removed; run `pagable gc` to free their blobs");
  out.report({{"archive", args.archive}, {"removed", removed}, {"versions_removed", versions_removed}});
  return 0;
}

} // namespace

void add_rm_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<RmArgs>();
  auto* cmd = app.add_subcommand(
      "rm", "Remove every version of a name, or one version (NAME#N, ...), or all names but the "
            "newest N (their blobs stay until gc)");
  add_archive_option(*cmd, args->archive);
  cmd->add_option("roots", args->roots,
                  "A name (every version of it) or a selector of one version: NAME#N, NAME~K, "
                  "NAME@TIME, key prefix");
  cmd->add_option("--keep-last", args->keep_last,
                  "Remove every version of all names but the N whose newest version is newest "
                  "(of those matching --prefix); forget --keep-last keeps N versions per name")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--prefix", args->prefix,
                  "With --keep-last: consider only names that start with P");
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_rm(*args, ctx, out); };
  });
}

} // namespace pagable::cli
