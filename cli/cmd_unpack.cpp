// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable unpack ARCHIVE [ROOT...] [-C DIR]: write roots back as ROOT.json files.
#include "app.hpp"

#include <pagable/hydrate.hpp>

#include <filesystem>
#include <fstream>

namespace pagable::cli {
namespace {

struct UnpackArgs {
  std::string archive;
  std::vector<std::string> roots;
  std::string directory = ".";
  int indent = -1;
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

Result<std::uint64_t> write_root(const store::BlobStore& store, const store::RootRecord& root,
                                 const std::filesystem::path& path, int indent)
{
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) {
    return make_error(Errc::io, path.parent_path().string() + ": " + ec.message());
  }
  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) {
      return make_error(Errc::io, tmp + ": cannot create");
    }
    hydrate::Document doc(store, root.key);
    hydrate::WriteOptions options;
    options.indent = indent;
    auto written = doc.write_json(f, "", options);
    f.close();
    if (!written || !f) {
      std::filesystem::remove(tmp, ec);
      if (!written) {
        return std::move(written).error();
      }
      return make_error(Errc::io, tmp + ": write failed");
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    return make_error(Errc::io, path.string() + ": " + ec.message());
  }
  return static_cast<std::uint64_t>(std::filesystem::file_size(path, ec));
}

int run_unpack(const UnpackArgs& args, const Context& ctx, const Output& out)
{
  auto store = open_archive(args.archive, store::OpenMode::read_only, ctx);
  if (!store) {
    return out.error(store.error());
  }
  std::vector<store::RootRecord> roots;
  if (args.roots.empty()) {
    auto all = (*store)->list_roots();
    if (!all) {
      return out.error(all.error());
    }
    roots = std::move(*all);
  } else {
    for (const auto& r : args.roots) {
      auto root = find_root(**store, r);
      if (!root) {
        return out.error(root.error());
      }
      roots.push_back(std::move(*root));
    }
  }
  // Refuse every unsafe name before writing anything.
  for (const auto& r : roots) {
    if (!is_safe_name(r.name)) {
      return out.error(make_error(Errc::invalid_argument,
                                  "root name \"" + r.name + "\" would escape " + args.directory +
                                      "; refusing to unpack it"));
    }
  }
  nlohmann::json files = nlohmann::json::array();
  for (const auto& r : roots) {
    const auto path = std::filesystem::path(args.directory) / (r.name + ".json");
    auto bytes = write_root(**store, r, path, args.indent);
    if (!bytes) {
      return out.error(std::move(bytes).error().with_context(r.name));
    }
    files.push_back({{"root", r.name}, {"key", r.key.to_hex()}, {"path", path.string()}, {"bytes", *bytes}});
    out.line(path.string() + " (" + std::to_string(*bytes) + " bytes)");
  }
  out.report({{"archive", args.archive}, {"directory", args.directory}, {"files", files}});
  return 0;
}

} // namespace

void add_unpack_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<UnpackArgs>();
  auto* cmd = app.add_subcommand("unpack", "Write roots (default: all) back as ROOT.json files");
  add_archive_option(*cmd, args->archive);
  cmd->add_option("roots", args->roots, "Roots to write (default: every root)");
  cmd->add_option("-C,--directory", args->directory, "Write into this directory")->capture_default_str();
  cmd->add_option("--indent", args->indent, "Spaces per level (default: compact)");
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_unpack(*args, ctx, out); };
  });
}

} // namespace pagable::cli
