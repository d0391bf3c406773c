// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable unpack ARCHIVE [SELECTOR...] [-C DIR] [--all-versions]: write versions back as
// NAME.json (NAME#N.json) files. A damaged version does not stop it: every healthy one is
// written, the damaged ones are listed, exit 5.
#include "app.hpp"
#include "exit_codes.hpp"
#include "interrupt.hpp"
#include "output_file.hpp"

#include <pagable/hydrate.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <ostream>
#include <utility>
#include <vector>

namespace pagable::cli {
namespace {

struct UnpackArgs {
  std::string archive;
  std::vector<std::string> roots;
  std::string directory = ".";
  int indent = -1;
  bool all_versions = false;
};

// Returns true iff `name` stays inside the target directory as a relative path: no absolute
// path, no ".." or empty component, no NUL.
bool is_safe_name(const std::string& name)
{
  if (name.empty() || name.front() == '/' || name.find('\0') != std::string::npos) {
    return false;
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t end = std::min(name.find('/', start), name.size());
    const std::string part = name.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return false;
    }
    start = end + 1;
  }
  return true;
}

// The directory that will hold `name`'s file (name is safe: is_safe_name), opened below
// `top` one component at a time, created where missing, never through a symbolic link: a
// link already inside the target directory cannot send the file elsewhere.
Result<Fd> open_parent(const Fd& top, const std::string& top_name, const std::string& name)
{
  Fd dir(::dup(top.get()));
  if (dir.get() < 0) {
    return io_error(top_name, errno);
  }
  std::string path = top_name;
  std::size_t start = 0;
  for (std::size_t slash; (slash = name.find('/', start)) != std::string::npos; start = slash + 1) {
    const std::string part = name.substr(start, slash - start);
    path += "/" + part;
    if (::mkdirat(dir.get(), part.c_str(), 0777) != 0 && errno != EEXIST) {
      return io_error(path, errno);
    }
    Fd next(::openat(dir.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) {
      if (errno == ELOOP || errno == ENOTDIR) {
        return make_error(Errc::invalid_argument, path + " is not a directory (a symbolic link?): "
                                                         "refusing to write through it");
      }
      return io_error(path, errno);
    }
    dir = std::move(next);
  }
  return dir;
}

// Writes the version as `base`.json below `top`: into a temporary file first, renamed into
// place once complete, removed if the write fails or is interrupted.
Result<std::uint64_t> write_root(const Archive& archive, const store::RootRecord& root,
                                 const std::string& base, const Fd& top, const std::string& top_name,
                                 int indent)
{
  const std::string file = base + ".json";
  PAGABLE_TRY_ASSIGN(const Fd dir, open_parent(top, top_name, file));
  const std::string leaf = file.substr(file.find_last_of('/') + 1);
  PAGABLE_TRY_ASSIGN(ReplacingFile out, ReplacingFile::create(dir, leaf, top_name + "/" + file));
  const auto doc = archive.document(root.key);
  hydrate::WriteOptions options;
  options.indent = indent;
  return out.commit(doc->write_json(out.stream(), "", options));
}

// An error that says a root's data is damaged (a blob missing or failing its checks), not
// that the output or the archive as a whole failed: unpack goes on with the next root.
bool is_damage(Errc code)
{
  return code == Errc::corrupt;
}

int run_unpack(const UnpackArgs& args, const Context& ctx, const Output& out)
{
  auto archive = open_archive(args.archive, OpenMode::read_only, ctx);
  if (!archive) {
    return out.error(archive.error());
  }
  // Each name's newest version; with --all-versions every version, as NAME#N.json.
  auto roots = (*archive)->select(args.roots, args.all_versions ? AllVersions::yes : AllVersions::no);
  if (!roots) {
    return out.error(roots.error());
  }
  const auto base_of = [&](const store::RootRecord& r) {
    return args.all_versions ? r.name + "#" + std::to_string(r.version) : r.name;
  };
  // Refuse every unsafe name before writing anything.
  for (const auto& r : *roots) {
    if (!is_safe_name(r.name)) {
      return out.error(make_error(Errc::invalid_argument,
                                  "root name \"" + r.name + "\" would escape " + args.directory +
                                      "; refusing to unpack it"));
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(args.directory, ec);
  const Fd top(::open(args.directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (top.get() < 0) {
    return out.error(io_error(args.directory, errno));
  }
  catch_interrupts();
  nlohmann::json files = nlohmann::json::array();
  // Versions whose data is damaged: the others are still written (issue 20), these are
  // listed and make the exit status 5.
  nlohmann::json damaged = nlohmann::json::array();
  std::string damaged_names;
  for (const auto& r : *roots) {
    const auto path = std::filesystem::path(args.directory) / (base_of(r) + ".json");
    auto bytes = write_root(**archive, r, base_of(r), top, args.directory, args.indent);
    if (!bytes) {
      Error e = std::move(bytes).error().with_context(base_of(r));
      if (!is_damage(e.code())) {
        return out.error(e);
      }
      out.error_line(e);
      damaged.push_back(
          {{"root", r.name}, {"version", r.version}, {"key", r.key.to_hex()}, {"message", e.message()}});
      damaged_names += (damaged_names.empty() ? "" : ", ") + base_of(r);
      continue;
    }
    files.push_back({{"root", r.name},
                     {"version", r.version},
                     {"key", r.key.to_hex()},
                     {"path", path.string()},
                     {"bytes", *bytes}});
    out.line(path.string() + " (" + std::to_string(*bytes) + " bytes)");
  }
  out.report({{"archive", args.archive}, {"directory", args.directory}, {"files", files}, {"damaged", damaged}});
  if (!damaged.empty()) {
    out.error_line(make_error(Errc::corrupt, std::to_string(damaged.size()) + " of " +
                                                 std::to_string(roots->size()) + " versions are damaged and were not written: " +
                                                 damaged_names + " (pagable verify names the damage)"));
    return k_exit_unusable;
  }
  return k_exit_ok;
}

} // namespace

void add_unpack_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<UnpackArgs>();
  auto* cmd = app.add_subcommand(
      "unpack", "Write versions back as NAME.json files (default: each name's newest version)");
  add_archive_option(*cmd, args->archive);
  cmd->add_option("roots", args->roots,
                  "Versions to write (selectors: NAME, NAME#N, NAME~K, NAME@TIME, key prefix; "
                  "default: each name's newest)");
  cmd->add_flag("--all-versions", args->all_versions,
                "Write every version (of the names given, or of every name) as NAME#N.json");
  cmd->add_option("-C,--directory", args->directory, "Write into this directory")->capture_default_str();
  cmd->add_option("--indent", args->indent, "Spaces per level, 0 to 16 (default: compact)")
      ->check(CLI::Range(0, 16));
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_unpack(*args, ctx, out); };
  });
}

} // namespace pagable::cli
