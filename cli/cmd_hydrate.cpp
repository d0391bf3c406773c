// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable hydrate ARCHIVE ROOT: write one root (or the value at --at) to stdout as JSON.
#include "app.hpp"

#include <pagable/hydrate.hpp>
#include <pagable/schema.hpp>
#include <pagable/stored_schema.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>

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

std::string escape_token(const std::string& token)
{
  std::string out;
  for (const char c : token) {
    out += c == '~' ? std::string("~0") : c == '/' ? std::string("~1") : std::string(1, c);
  }
  return out;
}

// --types: "POINTER<TAB>TYPE" per value that has a stable type name (plus "<TAB>VARIANT"
// when a discriminator picked it), depth first with members sorted by name (the walk uses
// nlohmann::json, whose objects are std::maps sorted by key), or one JSON report with --json.
// Loads the root's stored schema and walks the (whole) document with a type cursor.
int write_types(const store::BlobStore& store, const store::RootRecord& root, const HydrateArgs& args,
                const Output& out)
{
  if (!root.schema_key) {
    return out.error(make_error(Errc::invalid_argument,
                                "root \"" + root.name +
                                    "\" was packed without a schema: it has no type names "
                                    "(pack it with --schema to get them)"));
  }
  auto schema = stored_schema::get(store, *root.schema_key);
  if (!schema) {
    return out.error(std::move(schema).error().with_context(root.name));
  }
  hydrate::Document doc(store, root.key);
  if (!args.at.empty()) { // as plain hydrate: a pointer to nothing is an error, not silence
    auto exists = doc.has_value(args.at);
    if (!exists) {
      return out.error(std::move(exists).error().with_context(root.name));
    }
    if (!*exists) {
      return out.error(make_error(Errc::not_found, root.name + ": no value at " + args.at));
    }
  }
  std::ostringstream text;
  hydrate::WriteOptions whole;
  whole.max_output_bytes = args.max_output_bytes; // the listing walks the document in memory
  if (auto written = doc.write_json(text, "", whole); !written) {
    return out.error(std::move(written).error().with_context(root.name));
  }
  const auto value = nlohmann::json::parse(text.str(), nullptr, false);
  if (value.is_discarded()) {
    return out.error(make_error(Errc::corrupt, root.name + ": hydrated text is not JSON"));
  }
  nlohmann::json listing = nlohmann::json::array();
  struct Step {
    const nlohmann::json* value;
    schema::TypeCursor cursor;
    std::string pointer;
  };
  std::vector<Step> todo{{&value, (*schema)->type_cursor(value), ""}};
  while (!todo.empty()) {
    Step step = std::move(todo.back());
    todo.pop_back();
    const bool inside = step.pointer.rfind(args.at, 0) == 0 &&
                        (step.pointer.size() == args.at.size() || step.pointer[args.at.size()] == '/');
    const bool above = args.at.rfind(step.pointer, 0) == 0;
    if (!inside && !above) {
      continue;
    }
    const schema::TypeInfo info = step.cursor.info();
    if (inside && !info.type_name.empty()) {
      nlohmann::json entry = {{"pointer", step.pointer}, {"type", info.type_name}};
      if (!info.variant.empty()) {
        entry["variant"] = info.variant;
      }
      listing.push_back(std::move(entry));
    }
    const nlohmann::json& v = *step.value;
    const auto first = todo.size();
    if (v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        todo.push_back({&it.value(), step.cursor.member(it.key(), it.value()),
                        step.pointer + "/" + escape_token(it.key())});
      }
    } else if (v.is_array()) {
      for (std::size_t i = 0; i < v.size(); ++i) {
        todo.push_back({&v[i], step.cursor.element(i, v[i]), step.pointer + "/" + std::to_string(i)});
      }
    }
    std::reverse(todo.begin() + static_cast<std::ptrdiff_t>(first), todo.end()); // walk in order
  }
  if (out.json()) {
    out.report({{"root", root.name}, {"pointer", args.at}, {"types", listing}});
    return 0;
  }
  for (const auto& e : listing) {
    std::cout << e["pointer"].get<std::string>() << '\t' << e["type"].get<std::string>();
    if (e.contains("variant")) {
      std::cout << '\t' << e["variant"].get<std::string>();
    }
    std::cout << '\n';
  }
  std::cout.flush();
  return 0;
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
    return write_types((*archive)->store(), *root, args, out);
  }
  hydrate::Document doc((*archive)->store(), root->key);
  hydrate::WriteOptions options;
  options.indent = args.indent;
  options.expand_refs = args.expand_refs ? hydrate::ExpandRefs::yes : hydrate::ExpandRefs::no;
  options.shared = args.share_refs ? hydrate::SharedNodes::refs : hydrate::SharedNodes::tree;
  options.max_output_bytes = args.max_output_bytes;
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
        {"packs_decoded", (*archive)->store().counters().packs_decoded},
        {"pack_bytes_decoded", (*archive)->store().counters().pack_bytes_decoded},
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
