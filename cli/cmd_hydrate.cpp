// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable hydrate ARCHIVE|REMOTE ROOT: write one root (or the value at --at) to stdout as JSON;
// with several --at (or --at-file), one value a line, read through one document and its
// cache. A remote is read through the local cache archive (pagable/remote.hpp CachedReader).
#include "app.hpp"
#include "exit_codes.hpp"
#include "interrupt.hpp"
#include "mapped_reads.hpp"
#include "output_file.hpp"
#include "remote_options.hpp"
#include "reports.hpp"

#include <pagable/remote.hpp>

#include <fcntl.h>

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
  bool raw = false;
  std::string output;            // --output: written beside, renamed into place when complete
  RemoteConnection connection;   // a remote's --ca-cert, --parallel
  std::string cache_dir;         // --cache (default: default_cache_dir())
  std::uint64_t cache_max_bytes = remote::CacheOptions{}.max_bytes;
};

// Finds whether the value at a pointer is a string, and which, reading no further than its
// first node: anything else stops the walk at its first event.
class StringProbe final : public hydrate::ValueVisitor {
public:
  std::optional<std::string> value;

  Result<void> null_value() override { return other(); }
  Result<void> boolean(bool) override { return other(); }
  Result<void> integer(std::int64_t) override { return other(); }
  Result<void> big_integer(std::string_view) override { return other(); }
  Result<void> number(double) override { return other(); }
  Result<void> string(std::string_view s) override
  {
    value = std::string(s);
    return {};
  }
  Result<void> begin_object() override { return other(); }
  Result<void> member(std::string_view) override { return other(); }
  Result<void> end_object() override { return other(); }
  Result<void> begin_array() override { return other(); }
  Result<void> end_array() override { return other(); }

  // The walk's error stands for "not a string" when the probe itself stopped it.
  bool stopped_it() const noexcept { return m_stopped; }

private:
  Result<void> other()
  {
    m_stopped = true;
    return make_error(Errc::invalid_argument, "not a string");
  }
  bool m_stopped = false;
};

// Writes the value at `pointer`: as JSON, or with --raw a string as its bare text (as
// `jq -r`), each followed by a newline.
Result<void> write_value(hydrate::Document& doc, std::ostream& os, const std::string& pointer,
                         const hydrate::WriteOptions& options, const HydrateArgs& args)
{
  if (args.raw) {
    StringProbe probe;
    auto walked = doc.walk(pointer, probe);
    if (!walked && !probe.stopped_it()) {
      return walked;
    }
    if (probe.value) {
      os << *probe.value << '\n';
      return os ? Result<void>{} : make_error(Errc::io, "writing the output failed");
    }
  }
  PAGABLE_TRY(doc.write_json(os, pointer, options));
  if (args.raw) {
    os << '\n';
  }
  return {};
}

// Opens --output's file: its directory, then the file beside its final name.
Result<ReplacingFile> open_output(const std::string& path)
{
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const std::string leaf = slash == std::string::npos ? path : path.substr(slash + 1);
  if (leaf.empty() || leaf == "." || leaf == "..") {
    return make_error(Errc::invalid_argument, "--output " + path + ": not a file name");
  }
  const Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0) {
    return io_error(dir, errno);
  }
  return ReplacingFile::create(dir_fd, leaf, path);
}

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
Result<void> write_values(hydrate::Document& doc, std::ostream& os, const store::RootRecord& root,
                          const std::vector<std::string>& pointers, const HydrateArgs& args,
                          const hydrate::WriteOptions& options)
{
  std::vector<std::string> unresolved;
  for (const auto& p : pointers) {
    auto written = write_value(doc, os, p, options, args);
    if (!written && written.error().code() == Errc::not_found) {
      if (args.missing == "null") {
        os << "null";
      } else {
        unresolved.push_back(p);
        continue;
      }
    } else if (!written) {
      return std::move(written).error().with_context(root.name + p);
    } else if (args.raw) {
      continue; // write_value ended the line
    }
    os << '\n';
  }
  os.flush();
  if (!unresolved.empty()) {
    std::string names;
    for (const auto& p : unresolved) {
      names += (names.empty() ? "\"" : ", \"") + p + "\"";
    }
    return make_error(Errc::not_found,
                      root.name + ": " + std::to_string(unresolved.size()) + " of " +
                          std::to_string(pointers.size()) + " pointers have no value: " + names +
                          " (the others were written; --missing null writes null for them)");
  }
  return {};
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
  const bool many = pointers.size() > 1 || !args.at_file.empty();
  std::optional<ReplacingFile> file;
  if (!args.output.empty()) {
    catch_interrupts(); // a signal stops the write, and the partial file goes
    auto opened = open_output(args.output);
    if (!opened) {
      return out.error(opened.error());
    }
    file.emplace(std::move(*opened));
  }
  std::ostream& os = file ? file->stream() : out.document();
  Result<void> written = many ? write_values(doc, os, root, pointers, args, options)
                              : write_value(doc, os, args.at, options, args);
  if (!written && !many) {
    written = std::move(written).error().with_context(root.name + args.at);
  }
  if (auto e = fetch_failed()) {
    written = std::move(*e).with_context(root.name + (many ? std::string() : args.at));
  }
  warn_detours(doc, out);
  // A pointer with no value among several fails the command, but what was written stays.
  const bool keep = written || (many && written.error().code() == Errc::not_found);
  if (file) {
    auto committed = file->commit(keep ? Result<void>{} : written);
    if (!committed) {
      return out.error(committed.error());
    }
  }
  if (from.remote != nullptr && keep) {
    if (auto finished = from.remote->finish(); !finished) {
      return out.error(finished.error());
    }
  }
  if (!written) {
    return out.error(written.error());
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
  if (args.types && (args.raw || !args.output.empty())) {
    return out.error(make_error(Errc::invalid_argument,
                                "--types lists to standard output: no --raw or --output with it"));
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
  cmd->add_option("--indent", args->indent, "Spaces per level, 0 to 16 (default: compact, one line)")
      ->check(CLI::Range(0, 16));
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
  cmd->add_flag("--raw", args->raw,
                "Write a string value as its bare text, not as JSON (as jq -r), and end each value "
                "with a newline");
  cmd->add_option("-o,--output", args->output,
                  "Write to FILE instead of standard output: written beside it and renamed into place "
                  "once complete, so a failed or interrupted hydrate leaves no partial file");
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
