// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable hydrate ARCHIVE ROOT: write one root (or the value at --at) to stdout as JSON.
#include "app.hpp"
#include "exit_codes.hpp"
#include "reports.hpp"

#include <chrono>

namespace pagable::cli {
namespace {

struct HydrateArgs {
  std::string archive;
  std::string root;
  std::string at;
  int indent = -1;
  bool expand_refs = false;
  bool share_refs = false;
  std::uint64_t max_output_bytes = std::uint64_t{4} << 30;
  bool stats = false;
  bool types = false;
};

// --types: "POINTER<TAB>TYPE" per value that has a stable type name (plus "<TAB>VARIANT"
// when a discriminator picked it), or one JSON report with --json.
int write_types(const Archive& archive, const store::RootRecord& root, const HydrateArgs& args,
                const Output& out)
{
  auto types = archive.types(root, args.at);
  if (!types) {
    const Error& e = types.error();
    if (e.code() == Errc::invalid_argument) { // no schema: say how to get one
      return out.error(make_error(e.code(), e.message() + " (pack it with --schema to get them)"));
    }
    if (e.code() == Errc::not_found) {
      return out.error(make_error(e.code(), root.name + ": " + e.message()));
    }
    return out.error(std::move(types).error().with_context(root.name));
  }
  if (out.json()) {
    nlohmann::json listing = nlohmann::json::array();
    for (const auto& t : *types) {
      listing.push_back(to_json(t));
    }
    out.report({{"root", root.name}, {"pointer", args.at}, {"types", listing}});
    return k_exit_ok;
  }
  for (const auto& t : *types) {
    out.data_line(t.pointer + '\t' + t.type + (t.variant.empty() ? "" : '\t' + t.variant));
  }
  return k_exit_ok;
}

int run_hydrate(const HydrateArgs& args, const Context& ctx, const Output& out)
{
  const auto t0 = std::chrono::steady_clock::now();
  ArchiveOptions open_options;
  if (!args.at.empty() && !args.types) {
    // A short random read: mapping the file spares a pread per page (ArchiveOptions says what
    // it risks). A whole document is read through system calls, so that its RSS stays small.
    open_options.read_mmap_bytes = 256 * 1024 * 1024;
  }
  auto archive = open_archive(args.archive, OpenMode::read_only, ctx, open_options);
  if (!archive) {
    return out.error(archive.error());
  }
  auto root = (*archive)->find_root(args.root);
  if (!root) {
    return out.error(root.error());
  }
  if (args.types) {
    return write_types(**archive, *root, args, out);
  }
  const auto doc = (*archive)->document(root->key);
  hydrate::WriteOptions options;
  options.indent = args.indent;
  options.expand_refs = args.expand_refs ? hydrate::ExpandRefs::yes : hydrate::ExpandRefs::no;
  options.shared = args.share_refs ? hydrate::SharedNodes::refs : hydrate::SharedNodes::tree;
  options.max_output_bytes = args.max_output_bytes;
  auto written = doc->write_json(out.document(), args.at, options);
  for (const auto& d : doc->detours()) {
    out.warn("the routing of the object at \"" + d.pointer + "\" is damaged (" + d.reason +
             "); its parts were scanned instead: run pagable verify");
  }
  if (!written) {
    return out.error(std::move(written).error().with_context(root->name + args.at));
  }
  if (args.stats) {
    const auto s = doc->stats();
    const nlohmann::json stats = {
        {"root", root->name},
        {"key", root->key.to_hex()},
        {"pointer", args.at},
        {"blobs_read", s.blobs_read},
        {"bytes_read", s.bytes_read},
        {"cache_hits", s.cache_hits},
        {"re_decodes", s.re_decodes},
        {"bytes_out", s.bytes_out},
        {"packs_decoded", (*archive)->store().counters().packs_decoded},
        {"pack_bytes_decoded", (*archive)->store().counters().pack_bytes_decoded},
        {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
    out.stats(stats);
  }
  return k_exit_ok;
}

} // namespace

void add_hydrate_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<HydrateArgs>();
  auto* cmd = app.add_subcommand(
      "hydrate", "Write a root (or the value at --at) to stdout as JSON, reading only the "
                 "blobs it needs");
  add_archive_option(*cmd, args->archive);
  cmd->add_option("root", args->root,
                  "The version to write: NAME (its newest), NAME#N, NAME~K, NAME@TIME or a key "
                  "prefix (see pagable(1), SELECTORS)")
      ->required();
  cmd->add_option("--at", args->at, "JSON pointer (RFC 6901) of the value to write");
  cmd->add_option("--indent", args->indent, "Spaces per level (default: compact, one line)");
  cmd->add_flag("--expand-refs", args->expand_refs,
                "Replace {\"$ref\": \"#/...\"} by its target (cycles stay as $ref)");
  auto* share = cmd->add_flag("--share-refs", args->share_refs,
                               "Write a value that several parents share (a node met again) once, and "
                               "{\"$ref\": \"#/pointer\"} to it after (packing that gives other keys)");
  share->excludes(cmd->get_option("--expand-refs"));
  cmd->add_option("--max-output-bytes", args->max_output_bytes,
                  "Stop with an error past this many bytes of JSON (shared values repeat in the "
                  "tree); 0: no limit")
      ->default_val(std::uint64_t{4} << 30)
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--types", args->types,
                "Instead of the JSON, list POINTER<TAB>TYPE for every value (under --at) that has a "
                "stable type name in the root's stored schema (with --json: one report)");
  cmd->add_flag("--stats", args->stats,
                "Print blobs_read, packs_decoded and other counters as JSON on stderr");
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_hydrate(*args, ctx, out); };
  });
}

} // namespace pagable::cli
