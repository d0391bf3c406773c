// SPDX-License-Identifier: MIT OR Apache-2.0
// The public entry points of <pagable/schema.hpp>: compiling a schema (from a file, from
// memory, from a stored bundle) and the Schema that owns the compiled graph. The work is
// elsewhere: compiler.cpp builds the graph, evaluator.cpp validates whole values,
// stream_validator.cpp validates event streams, type_cursor.cpp answers the type queries.
#include <pagable/schema.hpp>

#include "schema/compiler.hpp"
#include "schema/evaluator.hpp"
#include "schema/json_util.hpp"
#include "schema/stream_validator.hpp"
#include "schema/type_cursor.hpp"
#include "schema/uri.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace pagable::schema {

using nlohmann::json;

std::string ValidationError::to_string() const
{
  // A document that is not JSON has no schema location: say nothing rather than "(schema )".
  return (instance_location.empty() ? std::string("(root)") : instance_location) + ": " + message +
         (schema_location.empty() ? std::string() : " (schema " + schema_location + ")");
}

namespace {

constexpr const char* k_bundle_format = "pagable-schema-bundle-1";

class SchemaImpl final : public Schema {
public:
  SchemaImpl(std::unique_ptr<CompiledGraph> graph, SchemaOptions options)
      : m_graph(std::move(graph)), m_options(std::move(options))
  {
    const bool dynamic = std::any_of(m_graph->nodes.begin(), m_graph->nodes.end(),
                                     [](const auto& n) { return !n->dynamic_name.empty(); });
    m_buffering = dynamic ? Buffering::whole_document : Buffering::as_needed;
    const bool arcs = std::any_of(m_graph->nodes.begin(), m_graph->nodes.end(),
                                  [](const auto& n) { return n->arc.has_value(); });
    m_arcs = arcs ? ArcAnnotations::some : ArcAnnotations::none;
  }

  std::unique_ptr<NodeValidator> node_validator(const StreamOptions& options) const override
  {
    return make_node_validator(*m_graph->root, m_options, options, m_buffering, m_arcs);
  }

  json bundle() const override
  {
    json files = json::array();
    for (const auto& [uri, doc] : m_graph->loaded_files) {
      files.push_back({{"uri", uri}, {"schema", *doc}});
    }
    return {{"format", k_bundle_format},
            {"uri", m_graph->root_retrieval_uri},
            {"schema", *m_graph->root_document},
            {"files", std::move(files)},
            {"validate_formats", m_options.validate_formats},
            {"default_meta_schema", m_options.default_meta_schema}};
  }

  ValidationReport validate(const json& instance) const override
  {
    ValidationReport report;
    Evaluator e(m_options, report);
    const bool ok = e.eval(*m_graph->root, instance, nullptr, Mode::report);
    report.valid = ok && !e.fatal();
    if (!report.valid && report.errors.empty()) {
      report.errors.push_back({"", m_graph->root->location, "value is not valid"});
    }
    return report;
  }

  Result<TypeInfo> type_at(const json& instance, std::string_view ptr) const override
  {
    std::vector<std::string> tokens;
    if (!split_pointer(ptr, tokens)) {
      return make_error(Errc::invalid_argument, "invalid JSON Pointer \"" + std::string(ptr) + "\"");
    }
    const json* cur = &instance;
    TypeCursor cursor = type_cursor(instance);
    for (const auto& t : tokens) {
      if (cur->is_object()) {
        const auto it = cur->find(t);
        if (it == cur->end()) {
          return TypeInfo{};
        }
        cur = &*it;
        cursor = cursor.member(t, *cur);
      } else if (cur->is_array() && !t.empty() && t.size() < 10 &&
                 std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                 std::stoul(t) < cur->size()) {
        const std::size_t i = std::stoul(t);
        cur = &(*cur)[i];
        cursor = cursor.element(i, *cur);
      } else {
        return TypeInfo{};
      }
    }
    return cursor.info();
  }

  TypeCursor type_cursor(const json& root_value) const override
  {
    return make_cursor({m_graph->root}, root_value);
  }

  const std::string& base_uri() const override { return m_graph->base_uri; }

private:
  std::unique_ptr<CompiledGraph> m_graph;
  SchemaOptions m_options;
  Buffering m_buffering = Buffering::as_needed; // see Buffering::whole_document
  ArcAnnotations m_arcs = ArcAnnotations::none;
};

} // namespace

Result<std::shared_ptr<const Schema>> compile_schema(const json& document, const SchemaOptions& options,
                                                     std::string base_uri)
{
  if (base_uri.empty()) {
    base_uri = "urn:pagable:root";
  }
  if (nests_deeper_than(document, options.max_schema_depth)) {
    return make_error(Errc::invalid_input, "schema nested deeper than " +
                                               std::to_string(options.max_schema_depth) + " levels");
  }
  PAGABLE_TRY_ASSIGN(auto graph, compile_graph(std::make_shared<const json>(document), base_uri, "", options));
  return std::shared_ptr<const Schema>(std::make_shared<SchemaImpl>(std::move(graph), options));
}

Result<std::shared_ptr<const Schema>> load_schema_file(const std::string& path, const SchemaOptions& options)
{
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(Errc::not_found, "cannot open schema file " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto doc = json::parse(text.str(), nullptr, false);
  if (doc.is_discarded()) {
    return make_error(Errc::invalid_input, "schema file " + path + " is not valid JSON");
  }
  if (nests_deeper_than(doc, options.max_schema_depth)) {
    return make_error(Errc::invalid_input, "schema file " + path + " is nested deeper than " +
                                               std::to_string(options.max_schema_depth) + " levels");
  }
  std::error_code ec;
  const auto abs = std::filesystem::absolute(path, ec);
  const std::string dir = ec ? std::string(".") : abs.parent_path().string();
  PAGABLE_TRY_ASSIGN(auto graph, compile_graph(std::make_shared<const json>(std::move(doc)),
                                               file_uri(path), dir, options));
  return std::shared_ptr<const Schema>(std::make_shared<SchemaImpl>(std::move(graph), options));
}

Result<std::shared_ptr<const Schema>> load_schema_bundle(const json& bundle, const SchemaOptions& options)
{
  const auto bad = [](const std::string& why) {
    return make_error(Errc::invalid_input, "stored schema bundle " + why);
  };
  if (!bundle.is_object() || bundle.value("format", json()) != k_bundle_format) {
    return bad("is not a " + std::string(k_bundle_format) + " object");
  }
  const auto uri = bundle.find("uri");
  const auto root = bundle.find("schema");
  const auto files = bundle.find("files");
  if (uri == bundle.end() || !uri->is_string() || root == bundle.end() || files == bundle.end() ||
      !files->is_array()) {
    return bad("lacks uri, schema or files");
  }
  Preloaded preloaded;
  for (const auto& f : *files) {
    if (!f.is_object() || !f.contains("uri") || !f["uri"].is_string() || !f.contains("schema")) {
      return bad("has a malformed files entry");
    }
    if (nests_deeper_than(f["schema"], options.max_schema_depth)) {
      return bad("holds a schema nested too deep");
    }
    preloaded.emplace_back(f["uri"].get<std::string>(), std::make_shared<const json>(f["schema"]));
  }
  if (nests_deeper_than(*root, options.max_schema_depth)) {
    return bad("holds a schema nested too deep");
  }
  SchemaOptions o = options;
  o.search_paths.clear();
  if (const auto v = bundle.find("validate_formats"); v != bundle.end() && v->is_boolean()) {
    o.validate_formats = v->get<bool>();
  }
  if (const auto m = bundle.find("default_meta_schema"); m != bundle.end() && m->is_string()) {
    o.default_meta_schema = m->get<std::string>();
  }
  PAGABLE_TRY_ASSIGN(auto graph, compile_graph(std::make_shared<const json>(*root), uri->get<std::string>(),
                                               "", o, preloaded, /*read_files=*/false));
  return std::shared_ptr<const Schema>(std::make_shared<SchemaImpl>(std::move(graph), o));
}

} // namespace pagable::schema
