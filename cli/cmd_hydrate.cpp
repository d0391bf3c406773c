// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable hydrate ARCHIVE ROOT: write one root (or the value at --at) to stdout as JSON.
#include "app.hpp"

#include <pagable/hydrate.hpp>

#include <chrono>
#include <iostream>

namespace pagable::cli {
namespace {

struct HydrateArgs {
  std::string archive;
  std::string root;
  std::string at;
  int indent = -1;
  bool expand_refs = false;
  bool stats = false;
};

int run_hydrate(const HydrateArgs& args, const Context& ctx, const Output& out)
{
  const auto t0 = std::chrono::steady_clock::now();
  auto store = open_archive(args.archive, store::OpenMode::read_only, ctx);
  if (!store) {
    return out.error(store.error());
  }
  auto root = find_root(**store, args.root);
  if (!root) {
    return out.error(root.error());
  }
  hydrate::Document doc(**store, root->key);
  hydrate::WriteOptions options;
  options.indent = args.indent;
  options.expand_refs = args.expand_refs ? hydrate::ExpandRefs::yes : hydrate::ExpandRefs::no;
  auto written = doc.write_json(std::cout, args.at, options);
  std::cout.flush();
  if (!written) {
    return out.error(std::move(written).error().with_context(root->name + args.at));
  }
  if (args.stats) {
    const auto s = doc.stats();
    const nlohmann::json stats = {
        {"root", root->name},
        {"key", root->key.to_hex()},
        {"pointer", args.at},
        {"blobs_read", s.blobs_read},
        {"bytes_read", s.bytes_read},
        {"cache_hits", s.cache_hits},
        {"re_decodes", s.re_decodes},
        {"bytes_out", s.bytes_out},
        {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
    std::cerr << stats.dump() << '\n';
  }
  return 0;
}

} // namespace

void add_hydrate_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<HydrateArgs>();
  auto* cmd = app.add_subcommand(
      "hydrate", "Write a root (or the value at --at) to stdout as JSON, reading only the "
                 "blobs it needs");
  add_archive_option(*cmd, args->archive);
  cmd->add_option("root", args->root, "Root name (or a unique prefix of its key)")->required();
  cmd->add_option("--at", args->at, "JSON pointer (RFC 6901) of the value to write");
  cmd->add_option("--indent", args->indent, "Spaces per level (default: compact, one line)");
  cmd->add_flag("--expand-refs", args->expand_refs,
                "Replace {\"$ref\": \"#/...\"} by its target (cycles stay as $ref)");
  cmd->add_flag("--stats", args->stats,
                "Print blobs_read and other counters as JSON on stderr");
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_hydrate(*args, ctx, out); };
  });
}

} // namespace pagable::cli
