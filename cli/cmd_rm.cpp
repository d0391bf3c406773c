// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable rm ARCHIVE ROOT... | --keep-last N [--prefix P]: remove roots (gc then frees their
// blobs).
#include <algorithm>

#include "app.hpp"

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
                   "rm takes either root names or --keep-last N, not both or neither"));
  }
  if (!args.prefix.empty() && !keep) {
    return out.error(make_error(Errc::invalid_argument, "--prefix goes with --keep-last"));
  }
  auto archive = open_archive(args.archive, OpenMode::read_write, ctx);
  if (!archive) {
    return out.error(archive.error());
  }
  auto roots = (*archive)->store().list_roots(); // oldest first
  if (!roots) {
    return out.error(roots.error());
  }
  std::vector<std::string> doomed;
  if (keep) {
    const auto n = static_cast<std::size_t>(args.keep_last);
    std::vector<std::string> matching;
    for (const auto& r : *roots) {
      if (r.name.rfind(args.prefix, 0) == 0) {
        matching.push_back(r.name);
      }
    }
    if (matching.size() > n) {
      doomed.assign(matching.begin(), matching.end() - static_cast<std::ptrdiff_t>(n));
    }
  } else {
    // Every name must exist before anything is removed.
    for (const auto& name : args.roots) {
      const bool found = std::any_of(roots->begin(), roots->end(),
                                     [&](const store::RootRecord& r) { return r.name == name; });
      if (!found) {
        return out.error(
            make_error(Errc::not_found, "no root named \"" + name + "\" in " + args.archive));
      }
      if (std::find(doomed.begin(), doomed.end(), name) == doomed.end()) {
        doomed.push_back(name);
      }
    }
  }
  std::vector<std::string> removed;
  for (const auto& name : doomed) {
    auto r = (*archive)->store().remove_root(name);
    if (!r) {
      return out.error(r.error());
    }
    if (*r != 0) {
      removed.push_back(name);
      out.line("removed " + name);
    }
  }
  out.line(std::to_string(removed.size()) +
           " root(s) removed; run `pagable gc` to free their blobs");
  out.report({{"archive", args.archive}, {"removed", removed}});
  return 0;
}

} // namespace

void add_rm_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<RmArgs>();
  auto* cmd = app.add_subcommand(
      "rm", "Remove roots by name, or keep only the newest N (their blobs stay until gc)");
  add_archive_option(*cmd, args->archive);
  cmd->add_option("roots", args->roots, "Names of the roots to remove");
  cmd->add_option("--keep-last", args->keep_last,
                  "Remove all roots but the newest N (of those matching --prefix)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--prefix", args->prefix,
                  "With --keep-last: consider only roots whose name starts with P");
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_rm(*args, ctx, out); };
  });
}

} // namespace pagable::cli
