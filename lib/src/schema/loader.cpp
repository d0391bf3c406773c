// SPDX-License-Identifier: MIT OR Apache-2.0
#include "schema/loader.hpp"

#include "schema/builtin_schemas.hpp"
#include "schema/json_util.hpp"
#include "schema/uri.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace pagable::schema {

using nlohmann::json;

const json* builtin_schema(const std::string& uri)
{
  // Parsed once per process, on first use; the table is then only read.
  static const auto table = [] {
    std::unordered_map<std::string, std::shared_ptr<const json>> out;
    for (std::size_t i = 0; i < k_builtin_schema_count; ++i) {
      auto doc = std::make_shared<const json>(json::parse(k_builtin_schemas[i]));
      std::string id = doc->value("$id", doc->value("id", std::string()));
      if (!id.empty() && id.back() == '#') {
        id.pop_back();
      }
      out.emplace(id, std::move(doc));
    }
    return out;
  }();
  const auto it = table.find(uri);
  return it == table.end() ? nullptr : it->second.get();
}

namespace {

// The files that may hold `uri`, in the order they are tried. The URI's host says nothing
// about where a copy of the document lies on this machine, but its path usually ends the way
// the schema's own tree does: "https://example.com/schemas/v1/common.json" is found as
// <dir>/schemas/v1/common.json, then <dir>/v1/common.json, then <dir>/common.json.
std::vector<std::string> candidate_files(const std::string& uri, const std::vector<std::string>& dirs)
{
  const std::string path = percent_decode(uri_path(uri));
  std::vector<std::string> segments;
  for (std::size_t start = 0; start < path.size();) {
    const auto slash = path.find('/', start);
    const auto seg = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    // Dropping "." and ".." keeps each suffix candidate inside the directory it is under.
    if (!seg.empty() && seg != "." && seg != "..") {
      segments.push_back(seg);
    }
    if (slash == std::string::npos) {
      break;
    }
    start = slash + 1;
  }
  std::vector<std::string> candidates;
  if (uri.rfind("file://", 0) == 0) {
    candidates.push_back(path);
  }
  for (std::size_t first = 0; first < segments.size(); ++first) {
    std::string suffix;
    for (std::size_t i = first; i < segments.size(); ++i) {
      suffix += (i == first ? "" : "/") + segments[i];
    }
    for (const auto& dir : dirs) {
      candidates.push_back(dir + "/" + suffix);
    }
  }
  return candidates;
}

} // namespace

DocumentLoader::DocumentLoader(std::string root_dir, const SchemaOptions& options,
                               const Preloaded& preloaded, bool read_files)
    : m_root_dir(std::move(root_dir)), m_options(options), m_preloaded(preloaded),
      m_read_files(read_files)
{
}

Result<LoadedDocument> DocumentLoader::load(const std::string& uri) const
{
  if (const json* builtin = builtin_schema(uri)) {
    // The table lives as long as the process: the pointer needs no owner.
    return LoadedDocument{std::shared_ptr<const json>(builtin, [](const json*) {}), Origin::builtin};
  }
  for (const auto& [preloaded_uri, doc] : m_preloaded) {
    if (preloaded_uri == uri) {
      return LoadedDocument{doc, Origin::bundle};
    }
  }
  if (!m_read_files) {
    return make_error(Errc::invalid_input,
                      "unresolvable reference \"" + uri + "\": the stored schema holds no such file");
  }
  std::vector<std::string> dirs;
  if (!m_root_dir.empty()) {
    dirs.push_back(m_root_dir);
  }
  dirs.insert(dirs.end(), m_options.search_paths.begin(), m_options.search_paths.end());
  for (const auto& file : candidate_files(uri, dirs)) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
      continue;
    }
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    auto doc = json::parse(text.str(), nullptr, false);
    // The first file found decides: a broken one is an error, not a reason to look further.
    if (doc.is_discarded()) {
      return make_error(Errc::invalid_input, "referenced schema " + file + " (for " + uri +
                                                 ") is not valid JSON");
    }
    if (nests_deeper_than(doc, m_options.max_schema_depth)) {
      return make_error(Errc::invalid_input, "referenced schema " + file + " is nested deeper than " +
                                                 std::to_string(m_options.max_schema_depth) + " levels");
    }
    return LoadedDocument{std::make_shared<const json>(std::move(doc)), Origin::file};
  }
  return make_error(Errc::invalid_input,
                    "unresolvable reference \"" + uri +
                        "\": no loaded schema has this URI and no file matches its path" +
                        (dirs.empty() ? std::string() : " under the schema's directory or --schema-path"));
}

} // namespace pagable::schema
