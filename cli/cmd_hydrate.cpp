// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable hydrate ARCHIVE|REMOTE ROOT: write one root (or the value at --at) to stdout as JSON;
// with several --at (or --at-file), one value a line, read through one document and its
// cache. A remote is read through the local cache archive (pagable/remote.hpp CachedReader).
#include "app.hpp"
#include "exit_codes.hpp"
#include "mapped_reads.hpp"
#include "remote_options.hpp"
#include "reports.hpp"

#include <pagable/remote.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>

namespace pagable::cli {
namespace {

struct HydrateArgs {
  std::string archive;
  std::string root;
  std::vector<std::string> ats; // --at, repeatable
  std::string at_file;          // --at-file: one pointer a line ("-": standard input)
  std::string missing = "error"; // --missing: error | null
  std::string at;               // the one pointer when there is one
  int indent = -1;
  bool expand_refs = false;
  bool share_refs = false;
  std::uint64_t max_output_bytes = std::uint64_t{4} << 30;
  bool stats = false;
  bool types = false;
  RemoteConnection connection;   // a remote's --ca-cert, --parallel
  std::string cache_dir;         // --cache (default: default_cache_dir())
  std::uint64_t cache_max_bytes = remote::CacheOptions{}.max_bytes;
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

// Says where reading went around a damaged routing blob.
void warn_detours(const hydrate::Document& doc, const Output& out)
{
  for (const auto& d : doc.detours()) {
    out.warn("the routing of the object at \"" + d.pointer + "\" is damaged (" + d.reason +
             "); its parts were scanned instead: run pagable verify");
  }
}

// The pointers of --at and --at-file, in order.
Result<std::vector<std::string>> pointers_of(const HydrateArgs& args)
{
  std::vector<std::string> pointers = args.ats;
  if (args.at_file.empty()) {
    return pointers;
  }
  std::ifstream file;
  std::istream* in = &std::cin;
  if (args.at_file != "-") {
    file.open(args.at_file);
    if (!file) {
      return make_error(Errc::io, args.at_file + ": cannot be read (" + std::strerror(errno) + ")");
    }
    in = &file;
  }
  std::string line;
  while (std::getline(*in, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    pointers.push_back(line); // an empty line is the whole document, as --at ""
  }
  if (in->bad()) {
    return make_error(Errc::io, args.at_file + ": reading failed");
  }
  return pointers;
}

// Several pointers: each value on a line of its own (JSON Lines, compact), in the given
// order. A pointer with no value fails the command after the others are written (exit 2,
// naming each), or writes null with --missing null; any other error stops at once.
int write_values(hydrate::Document& doc, const store::RootRecord& root,
                 const std::vector<std::string>& pointers, const HydrateArgs& args,
                 const hydrate::WriteOptions& options, const Output& out)
{
  std::ostream& os = out.document();
  std::vector<std::string> unresolved;
  for (const auto& p : pointers) {
    auto written = doc.write_json(os, p, options);
    if (!written && written.error().code() == Errc::not_found) {
      if (args.missing == "null") {
        os << "null";
      } else {
        unresolved.push_back(p);
        continue;
      }
    } else if (!written) {
      return out.error(std::move(written).error().with_context(root.name + p));
    }
    os << '\n';
  }
  os.flush();
  if (!unresolved.empty()) {
    std::string names;
    for (const auto& p : unresolved) {
      names += (names.empty() ? "\"" : ", \"") + p + "\"";
    }
    return out.error(make_error(Errc::not_found,
                                root.name + ": " + std::to_string(unresolved.size()) + " of " +
                                    std::to_string(pointers.size()) + " pointers have no value: " + names +
                                    " (the others were written; --missing null writes null for them)"));
  }
  return k_exit_ok;
}

// What a run read, for --stats and errors: a local archive's store, or a remote's cache.
struct ReadFrom {
  const store::BlobStore* archive = nullptr;
  remote::CachedReader* remote = nullptr; // finished (evicting) once the value is written
};

// Writes the value(s) `pointers` name from `doc` (the part of hydrate a local archive and a
// remote share).
int write_document(hydrate::Document& doc, const store::RootRecord& root, const std::vector<std::string>& pointers,
                   const HydrateArgs& args, const ReadFrom& from, const Output& out,
                   std::chrono::steady_clock::time_point t0)
{
  hydrate::WriteOptions options;
  options.indent = args.indent;
  options.expand_refs = args.expand_refs ? hydrate::ExpandRefs::yes : hydrate::ExpandRefs::no;
  options.shared = args.share_refs ? hydrate::SharedNodes::refs : hydrate::SharedNodes::tree;
  options.max_output_bytes = args.max_output_bytes;
  // A fetch that failed is the error to report, whatever the document made of it (a routing
  // blob it could not read is a detour, not damage).
  const auto fetch_failed = [&]() -> std::optional<Error> {
    return from.remote != nullptr ? from.remote->fetch_error() : std::nullopt;
  };
  if (pointers.size() > 1 || !args.at_file.empty()) {
    const int code = write_values(doc, root, pointers, args, options, out);
    if (auto e = fetch_failed()) {
      return out.error(std::move(*e).with_context(root.name));
    }
    warn_detours(doc, out);
    if (from.remote != nullptr && code == k_exit_ok) {
      if (auto finished = from.remote->finish(); !finished) {
        return out.error(finished.error());
      }
    }
    return code;
  }
  auto written = doc.write_json(out.document(), args.at, options);
  if (auto e = fetch_failed()) {
    return out.error(std::move(*e).with_context(root.name + args.at));
  }
  warn_detours(doc, out);
  if (!written) {
    return out.error(std::move(written).error().with_context(root.name + args.at));
  }
  if (from.remote != nullptr) {
    if (auto finished = from.remote->finish(); !finished) {
      return out.error(finished.error());
    }
  }
  if (args.stats) {
    const auto s = doc.stats();
    nlohmann::json stats = {
        {"root", root.name},
        {"key", root.key.to_hex()},
        {"pointer", args.at},
        {"blobs_read", s.blobs_read},
        {"bytes_read", s.bytes_read},
        {"cache_hits", s.cache_hits},
        {"re_decodes", s.re_decodes},
        {"bytes_out", s.bytes_out}};
    if (from.archive != nullptr) {
      stats["packs_decoded"] = from.archive->counters().packs_decoded;
      stats["pack_bytes_decoded"] = from.archive->counters().pack_bytes_decoded;
    }
    if (from.remote != nullptr) {
      const auto f = from.remote->figures();
      stats["remote"] = {{"version_packs", f.version_packs},     {"version_bytes", f.version_bytes},
                         {"indexes_fetched", f.indexes_fetched}, {"index_bytes", f.index_bytes},
                         {"packs_fetched", f.packs_fetched},     {"pack_bytes", f.pack_bytes},
                         {"fetch_rounds", f.fetch_rounds},       {"packs_read", f.packs_read},
                         {"packs_evicted", f.packs_evicted},     {"bytes_evicted", f.bytes_evicted},
                         {"cached_bytes", f.cached_bytes}};
    }
    stats["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.stats(stats);
  }
  return k_exit_ok;
}

// hydrate REMOTE SELECTOR: the version's blobs read through the cache, which keeps what was
// fetched (and evicts beyond its bound) once the value is written.
int run_remote_hydrate(const HydrateArgs& args, const std::vector<std::string>& pointers, const Output& out,
                       std::chrono::steady_clock::time_point t0)
{
  if (args.types) {
    return out.error(make_error(Errc::invalid_argument,
                                "--types reads a local archive: pull the version first (pagable pull)"));
  }
  auto opened = open_catalog(args.archive, args.connection);
  if (!opened) {
    return out.error(opened.error());
  }
  remote::RemoteCatalog* catalog = &*opened->catalog;
  auto root = catalog->find(args.root);
  if (!root) {
    return out.error(root.error());
  }
  remote::CacheOptions cache;
  cache.dir = args.cache_dir.empty() ? default_cache_dir() : args.cache_dir;
  cache.max_bytes = args.cache_max_bytes;
  if (cache.dir.empty()) {
    return out.error(make_error(Errc::invalid_argument,
                                "no cache directory: set --cache, XDG_CACHE_HOME or HOME"));
  }
  auto reader = remote::CachedReader::open(*catalog, *root, cache);
  if (!reader) {
    return out.error(reader.error());
  }
  hydrate::Document doc(**reader, root->key);
  const int code = write_document(doc, *root, pointers, args, ReadFrom{nullptr, reader->get()}, out, t0);
  return code;
}

int run_hydrate(HydrateArgs args, const Context& ctx, const Output& out)
{
  const auto t0 = std::chrono::steady_clock::now();
  auto pointers = pointers_of(args);
  if (!pointers) {
    return out.error(std::move(pointers).error().with_context("--at-file"));
  }
  for (const auto& p : *pointers) {
    if (!p.empty() && p.front() != '/') {
      // Said before anything is read, naming the pointer apart from the root's name.
      return out.error(make_error(Errc::invalid_argument,
                                  "--at " + p +
                                      ": a JSON pointer is empty (the whole document) or starts with '/'"));
    }
  }
  const bool many = pointers->size() > 1 || !args.at_file.empty();
  if (many && args.indent >= 0) {
    return out.error(make_error(Errc::invalid_argument,
                                "--indent writes one value over several lines; with several "
                                "pointers each value is one line"));
  }
  if (many && args.types) {
    return out.error(make_error(Errc::invalid_argument, "--types takes one --at"));
  }
  args.at = pointers->empty() ? std::string() : pointers->front();
  if (remote::is_remote_url(args.archive)) {
    return run_remote_hydrate(args, *pointers, out, t0);
  }
  ArchiveOptions open_options;
  if ((!args.at.empty() || many) && !args.types) {
    // A short random read: mapping the file spares a pread per page (ArchiveOptions says what
    // it risks). A whole document is read through system calls, so that its RSS stays small.
    open_options.read_mmap_bytes = 256 * 1024 * 1024;
    guard_mapped_reads(args.archive, out);
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
  return write_document(*doc, *root, *pointers, args, ReadFrom{&(*archive)->store(), nullptr}, out, t0);
}

} // namespace

void add_hydrate_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<HydrateArgs>();
  auto* cmd = app.add_subcommand(
      "hydrate", "Write a root (or the value at --at) to stdout as JSON, reading only the "
                 "blobs it needs");
  add_archive_option(*cmd, args->archive)
      ->description("The archive file, or a remote: oci://HOST[:PORT]/REPOSITORY, read through the local "
                    "cache (default: $PAGABLE_ARCHIVE)");
  cmd->add_option("root", args->root,
                  "The version to write: NAME (its newest), NAME#N, NAME~K, NAME@TIME or a key "
                  "prefix (see pagable(1), SELECTORS)")
      ->required();
  cmd->add_option("--at", args->ats,
                  "JSON pointer (RFC 6901) of the value to write; repeat it to write several values, "
                  "one a line (JSON Lines), in the order given");
  cmd->add_option("--at-file", args->at_file,
                  "Read pointers from FILE, one a line (\"-\": standard input), after any --at; "
                  "values are written one a line");
  cmd->add_option("--missing", args->missing,
                  "With several pointers, what a pointer with no value does: error (the default: "
                  "the others are written, then exit 2 naming it) or null (write null)")
      ->capture_default_str()
      ->check(CLI::IsMember({"error", "null"}));
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
  cmd->add_option("--cache", args->cache_dir,
                  "With a remote: the cache directory, one archive per registry repository inside "
                  "(default: $XDG_CACHE_HOME/pagable, else ~/.cache/pagable)");
  cmd->add_option("--cache-max-bytes", args->cache_max_bytes,
                  "With a remote: the packs the cache keeps, in stored bytes; the least recently used "
                  "are evicted beyond")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  add_connection_options(*cmd, args->connection, TransferOptions::parallel);
  cmd->add_flag("--stats", args->stats,
                "Print blobs_read, packs_decoded and other counters as JSON on stderr");
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_hydrate(*args, ctx, out); };
  });
}

} // namespace pagable::cli
