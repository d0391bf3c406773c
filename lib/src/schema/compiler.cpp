// SPDX-License-Identifier: MIT OR Apache-2.0
// The Compiler (compiler.hpp) works in three passes, because what a keyword means depends on
// things a single walk of the document has not always seen yet:
// 1. index: each document, when it is added, is walked once, recording every subschema's
//    context -- base URI, draft, vocabulary, owning resource, location -- and every resource
//    ($id) and anchor by URI. A reference may point into any of them, or into a document
//    loaded later, so nothing is compiled before its document is indexed.
// 2. compile: from the root, each subschema reached becomes one Node (memoised by the JSON
//    value's address, so a subschema reached twice compiles once). A $ref or $dynamicRef is
//    only queued (PendingRef): compile() thus recurses along the document's own nesting,
//    which index has bounded, never along chains of references, and a reference cycle ends
//    as a cycle of Node pointers.
// 3. drain: queued references are resolved (loading documents as needed, which indexes them)
//    and their targets compiled, until no reference and no $dynamicAnchor is left; then every
//    Node gets its discriminator dispatch (dispatch.cpp), which looks through references.
// Draft differences live in index (which keywords hold subschemas, $id rules) and in
// compile_keyword (what each keyword means in each draft).
#include "schema/compiler.hpp"

#include "schema/dispatch.hpp"
#include "schema/loader.hpp"
#include "schema/stack_budget.hpp"
#include "schema/uri.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace pagable::schema {

using nlohmann::json;

namespace {

// What a subschema means depends on where it sits: the base URI its references resolve
// against, the draft and vocabulary of its resource, the resource ($dynamicRef's scope), and
// its location for error messages.
struct Ctx {
  std::string base;
  Draft draft = Draft::d2020;
  bool validation_vocab = true;
  Resource* owner = nullptr;
  std::string location; // "<label>#<pointer>"
};

struct ResourceEntry {
  const json* root = nullptr;
  Ctx ctx; // the context of the resource root
};

// A $ref or $dynamicRef of `node`, resolved by drain() once compiling has stopped.
struct PendingRef {
  Node* node;
  std::string uri;
  bool dynamic;
};

std::optional<Draft> draft_of_meta(std::string uri)
{
  if (!uri.empty() && uri.back() == '#') {
    uri.pop_back();
  }
  if (uri == "http://json-schema.org/draft-04/schema") {
    return Draft::d4;
  }
  if (uri == "http://json-schema.org/draft-06/schema") {
    return Draft::d6;
  }
  if (uri == "http://json-schema.org/draft-07/schema") {
    return Draft::d7;
  }
  if (uri == "https://json-schema.org/draft/2020-12/schema" ||
      uri == "https://json-schema.org/draft/2019-09/schema" ||
      uri.rfind("https://spec.openapis.org/oas/3.1/", 0) == 0) {
    return Draft::d2020;
  }
  return std::nullopt;
}

bool is_int(const json& v)
{
  if (v.is_number_integer()) {
    return true;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    return std::isfinite(d) && d == std::floor(d);
  }
  return false;
}

class Compiler {
public:
  Compiler(std::string root_dir, const SchemaOptions& options, const Preloaded& preloaded,
           bool read_files)
      : m_options(options), m_loader(std::move(root_dir), options, preloaded, read_files),
        m_graph(std::make_unique<CompiledGraph>()), m_stack(options.max_stack_bytes)
  {
  }

  Result<std::unique_ptr<CompiledGraph>> run(std::shared_ptr<const json> document, std::string base)
  {
    const Draft default_draft = draft_of_meta(m_options.default_meta_schema).value_or(Draft::d2020);
    m_graph->root_document = document;
    m_graph->root_retrieval_uri = base;
    PAGABLE_TRY(add_document(document, base, "", default_draft));
    const auto root_uri = split_fragment(base).first;
    const auto& entry = m_resources.at(root_uri);
    m_graph->base_uri = entry.ctx.base;
    PAGABLE_TRY_ASSIGN(Node * root, compile(*entry.root));
    PAGABLE_TRY(drain());
    for (const auto& node : m_graph->nodes) {
      build_dispatch(*node);
    }
    m_graph->root = root;
    return std::move(m_graph);
  }

private:
  // --- Indexing: resources, anchors and each schema's context ---

  Result<void> add_document(std::shared_ptr<const json> doc, const std::string& retrieval_uri,
                            const std::string& label, Draft default_draft)
  {
    m_graph->documents.push_back(doc);
    auto resource = std::make_unique<Resource>();
    resource->uri = retrieval_uri;
    Ctx ctx;
    ctx.base = retrieval_uri;
    ctx.draft = default_draft;
    ctx.owner = resource.get();
    ctx.location = label + "#";
    m_graph->resources.push_back(std::move(resource));
    m_resources[retrieval_uri] = ResourceEntry{doc.get(), ctx};
    return index(*doc, ctx, 0, true);
  }

  Result<void> index(const json& s, Ctx ctx, std::size_t depth, bool document_root)
  {
    if (depth > m_options.max_schema_depth || m_stack.exceeded()) {
      return make_error(Errc::invalid_input, "schema nested too deep (over " +
                                                 std::to_string(m_options.max_schema_depth) + " levels or " +
                                                 std::to_string(m_options.max_stack_bytes >> 10) +
                                                 " KiB of stack) at " + ctx.location);
    }
    if (!s.is_object()) {
      m_index[&s] = ctx;
      return {};
    }
    const bool has_ref = s.contains("$ref");
    const char* id_key = ctx.draft == Draft::d4 ? "id" : "$id";
    auto id_it = s.find(id_key);
    // $schema: only meaningful at a resource root. Before 2020-12 a $ref hides its siblings,
    // $id included; an $id that starts with '#' names an anchor, not a resource.
    const bool has_id = id_it != s.end() && id_it->is_string() &&
                        !(ctx.draft != Draft::d2020 && has_ref) &&
                        !(id_it->get_ref<const std::string&>().rfind('#', 0) == 0);
    if (auto sc = s.find("$schema"); sc != s.end() && sc->is_string() && (document_root || has_id)) {
      PAGABLE_TRY(apply_meta_schema(sc->get<std::string>(), ctx));
      id_key = ctx.draft == Draft::d4 ? "id" : "$id";
      id_it = s.find(id_key);
    }
    if (id_it != s.end() && id_it->is_string() && !(ctx.draft != Draft::d2020 && has_ref)) {
      const auto& id = id_it->get_ref<const std::string&>();
      if (id.rfind('#', 0) == 0) {
        if (ctx.draft != Draft::d2020) {
          m_anchors[split_fragment(ctx.base).first + id] = &s; // draft-07 "$id": "#name"
        }
      } else {
        auto [uri, fragment] = split_fragment(resolve_uri(ctx.base, id));
        ctx.base = uri;
        if (document_root) {
          ctx.owner->uri = uri;
        } else {
          auto resource = std::make_unique<Resource>();
          resource->uri = uri;
          ctx.owner = resource.get();
          m_graph->resources.push_back(std::move(resource));
        }
        m_resources[uri] = ResourceEntry{&s, ctx};
        if (!fragment.empty() && fragment[0] != '/') {
          m_anchors[uri + "#" + fragment] = &s;
        }
      }
    }
    if (document_root) {
      // Keep the retrieval entry's context in step with $schema/$id seen here.
      for (auto& [uri, entry] : m_resources) {
        if (entry.root == &s) {
          entry.ctx = ctx;
        }
      }
    }
    if (ctx.draft == Draft::d2020) {
      if (auto a = s.find("$anchor"); a != s.end() && a->is_string()) {
        m_anchors[ctx.base + "#" + a->get<std::string>()] = &s;
      }
      if (auto a = s.find("$dynamicAnchor"); a != s.end() && a->is_string()) {
        m_anchors[ctx.base + "#" + a->get<std::string>()] = &s;
        m_dynamic_anchors.push_back({ctx.owner, a->get<std::string>(), &s});
      }
    }
    m_index[&s] = ctx;
    Result<void> status;
    for_each_subschema(s, ctx.draft, [&](const json& child, const std::string& suffix) {
      if (!status) {
        return;
      }
      Ctx child_ctx = ctx;
      child_ctx.location += suffix;
      status = index(child, child_ctx, depth + 1, false);
    });
    return status;
  }

  template <typename F>
  static void for_each_subschema(const json& s, Draft draft, F&& f)
  {
    const bool d2020 = draft == Draft::d2020;
    for (auto it = s.begin(); it != s.end(); ++it) {
      const std::string& k = it.key();
      const json& v = it.value();
      std::string prefix(1, '/'); // appended piece by piece: GCC 12 -Wrestrict misfires on "/" + s
      prefix += escape_pointer_token(k);
      const auto join = [&prefix](const std::string& token) {
        std::string path = prefix;
        path += '/';
        path += token;
        return path;
      };
      const bool map_kw = k == "$defs" || k == "definitions" || k == "properties" ||
                          k == "patternProperties" || (d2020 && k == "dependentSchemas") ||
                          k == "dependencies";
      const bool one_kw = k == "additionalProperties" || k == "propertyNames" || k == "not" ||
                          k == "if" || k == "then" || k == "else" || k == "contains" ||
                          k == "items" || (d2020 && (k == "unevaluatedProperties" ||
                                                     k == "unevaluatedItems" || k == "contentSchema")) ||
                          (!d2020 && k == "additionalItems");
      const bool list_kw = k == "allOf" || k == "anyOf" || k == "oneOf" ||
                           (d2020 && k == "prefixItems") || (!d2020 && k == "items");
      if (map_kw && v.is_object()) {
        for (auto m = v.begin(); m != v.end(); ++m) {
          if (m->is_object() || m->is_boolean()) {
            f(m.value(), join(escape_pointer_token(m.key())));
          }
        }
      } else if (list_kw && v.is_array()) {
        for (std::size_t i = 0; i < v.size(); ++i) {
          f(v[i], join(std::to_string(i)));
        }
      } else if (one_kw && (v.is_object() || v.is_boolean())) {
        f(v, prefix);
      }
    }
  }

  Result<void> apply_meta_schema(const std::string& uri, Ctx& ctx)
  {
    if (auto d = draft_of_meta(uri)) {
      ctx.draft = *d;
      ctx.validation_vocab = true;
      return {};
    }
    // A custom meta-schema: its own $schema gives the draft, its $vocabulary the keywords.
    const auto meta_uri = split_fragment(uri).first;
    PAGABLE_TRY(ensure_loaded(meta_uri, ctx.draft));
    const auto& entry = m_resources.at(meta_uri);
    ctx.draft = entry.ctx.draft;
    ctx.validation_vocab = true;
    if (auto vocab = entry.root->find("$vocabulary"); vocab != entry.root->end() && vocab->is_object()) {
      ctx.validation_vocab = vocab->contains("https://json-schema.org/draft/2020-12/vocab/validation");
    }
    return {};
  }

  // --- Loading referenced documents ---

  Result<void> ensure_loaded(const std::string& uri, Draft default_draft)
  {
    if (m_resources.count(uri) != 0) {
      return {};
    }
    PAGABLE_TRY_ASSIGN(auto loaded, m_loader.load(uri));
    if (loaded.origin != Origin::builtin) {
      m_graph->loaded_files.emplace_back(uri, loaded.document); // what bundle() stores
    }
    return add_document(std::move(loaded.document), uri, uri, default_draft);
  }

  Result<const json*> resolve(const std::string& full, Draft default_draft)
  {
    auto [uri, fragment] = split_fragment(full);
    PAGABLE_TRY(ensure_loaded(uri, default_draft));
    const ResourceEntry& entry = m_resources.at(uri);
    if (fragment.empty()) {
      return entry.root;
    }
    if (fragment[0] != '/') {
      const auto a = m_anchors.find(uri + "#" + fragment);
      if (a == m_anchors.end()) {
        return make_error(Errc::invalid_input, "unresolvable reference \"" + full +
                                                   "\": no anchor \"" + fragment + "\" in " + uri);
      }
      return a->second;
    }
    std::vector<std::string> tokens;
    const std::string pointer = percent_decode(fragment);
    split_pointer(pointer, tokens);
    const json* cur = entry.root;
    for (const auto& t : tokens) {
      if (cur->is_object()) {
        const auto it = cur->find(t);
        cur = it == cur->end() ? nullptr : &*it;
      } else if (cur->is_array() && !t.empty() &&
                 std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                 std::stoull(t) < cur->size()) {
        cur = &(*cur)[std::stoull(t)];
      } else {
        cur = nullptr;
      }
      if (cur == nullptr) {
        return make_error(Errc::invalid_input, "unresolvable reference \"" + full + "\": " + uri +
                                                   " has nothing at " + pointer);
      }
    }
    // A pointer may lead into something index did not walk as a subschema (under an unknown
    // keyword, say): index it now, in the context of the resource it is in.
    if (m_index.count(cur) == 0) {
      Ctx ctx = entry.ctx;
      ctx.location = m_index.at(entry.root).location + pointer;
      PAGABLE_TRY(index(*cur, ctx, 0, false));
    }
    return cur;
  }

  // --- Compiling ---

  Result<Node*> compile(const json& s)
  {
    if (const auto it = m_compiled.find(&s); it != m_compiled.end()) {
      return it->second;
    }
    const auto ix = m_index.find(&s);
    if (ix == m_index.end() && !s.is_object() && !s.is_boolean()) {
      // Where a keyword wants a schema (a member of properties, patternProperties, ...), the
      // index walked only objects and booleans: anything else is the schema's fault.
      std::string shown = s.dump();
      if (shown.size() > 60) {
        shown = shown.substr(0, 57) + "...";
      }
      return make_error(Errc::invalid_input,
                        "not a schema: " + shown + " where a keyword wants one (an object or a boolean)");
    }
    if (ix == m_index.end()) {
      return make_error(Errc::internal, "schema compiler: subschema was not indexed");
    }
    if (m_stack.exceeded()) {
      return make_error(Errc::invalid_input, "schema nested too deep to compile at " + ix->second.location);
    }
    const Ctx ctx = ix->second; // copy: compiling may grow the index
    auto owned = std::make_unique<Node>();
    Node* n = owned.get();
    m_graph->nodes.push_back(std::move(owned));
    m_compiled[&s] = n;
    n->location = ctx.location;
    n->owner = ctx.owner;
    n->draft = ctx.draft;
    n->validation_vocab = ctx.validation_vocab;
    n->base_uri = ctx.base;
    name_from_location(*n);
    if (s.is_boolean()) {
      n->is_bool = true;
      n->bool_value = s.get<bool>();
      return n;
    }
    if (!s.is_object()) {
      return n; // not a schema: treated as `true`, as validators do for unknown values
    }
    PAGABLE_TRY(compile_keywords(s, *n));
    return n;
  }

  // The default stable type name (TypeInfo::type_name): the key of a definition under
  // $defs, definitions or OpenAPI's components/schemas. x-pagable-type overrides it.
  void name_from_location(Node& n)
  {
    const auto hash = n.location.find('#');
    std::vector<std::string> tokens;
    if (hash == std::string::npos || !split_pointer(std::string_view(n.location).substr(hash + 1), tokens)) {
      return;
    }
    const std::size_t k = tokens.size();
    if ((k >= 2 && (tokens[k - 2] == "$defs" || tokens[k - 2] == "definitions")) ||
        (k >= 3 && tokens[k - 3] == "components" && tokens[k - 2] == "schemas")) {
      n.type_name = tokens[k - 1];
    }
  }

  Result<void> compile_keywords(const json& s, Node& n)
  {
    const bool d2020 = n.draft == Draft::d2020;
    if (auto t = s.find("x-pagable-type"); t != s.end() && t->is_string()) {
      n.type_name = t->get<std::string>();
    }
    if (auto a = s.find("x-pagable-arc"); a != s.end() && a->is_boolean()) {
      n.arc = a->get<bool>();
    }
    if (auto r = s.find("$ref"); r != s.end() && r->is_string()) {
      m_pending.push_back({&n, resolve_uri(n.base_uri, r->get<std::string>()), false});
      if (!d2020) {
        return {}; // draft-07 and older: $ref replaces its siblings
      }
    }
    if (auto r = s.find("$dynamicRef"); d2020 && r != s.end() && r->is_string()) {
      m_pending.push_back({&n, resolve_uri(n.base_uri, r->get<std::string>()), true});
    }
    if (auto d = s.find("discriminator"); d != s.end() && d->is_object()) {
      n.discriminator = &*d;
    }
    for (auto it = s.begin(); it != s.end(); ++it) {
      PAGABLE_TRY(compile_keyword(it.key(), it.value(), s, n));
    }
    std::sort(n.properties.begin(), n.properties.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    return {};
  }

  // A count keyword's value (minLength, maxItems, ...): the drafts allow 2.0 for 2; a count
  // too large for size_t saturates, and anything else leaves the keyword unset.
  static std::optional<std::size_t> count(const json& v)
  {
    if (v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0)) {
      return v.get<std::size_t>();
    }
    if (v.is_number_float() && is_int(v) && v.get<double>() >= 0) {
      const double d = v.get<double>();
      return d >= 1.8e19 ? std::numeric_limits<std::size_t>::max() : static_cast<std::size_t>(d);
    }
    return std::nullopt;
  }

  Result<void> compile_keyword(const std::string& k, const json& v, const json& s, Node& n)
  {
    const bool d4 = n.draft == Draft::d4;
    const bool d2020 = n.draft == Draft::d2020;
    // The assertions of the validation vocabulary; a custom meta-schema that leaves it out
    // of $vocabulary turns them off. Applicators and format (below) stay.
    if (n.validation_vocab) {
      if (k == "type") {
        auto bit = [](const std::string& t) -> std::uint8_t {
          if (t == "null") return t_null;
          if (t == "boolean") return t_boolean;
          if (t == "object") return t_object;
          if (t == "array") return t_array;
          if (t == "number") return t_number;
          if (t == "string") return t_string;
          if (t == "integer") return t_integer;
          return 0;
        };
        n.types = 0x80; // "has a type keyword", even if every name is unknown
        if (v.is_string()) {
          n.types |= bit(v.get<std::string>());
        } else if (v.is_array()) {
          for (const auto& t : v) {
            if (t.is_string()) {
              n.types |= bit(t.get<std::string>());
            }
          }
        }
      } else if (k == "enum" && v.is_array()) {
        n.enum_values = v.get<std::vector<json>>();
      } else if (k == "const" && !d4) {
        n.const_value = v;
      } else if (v.is_number() && (k == "minimum" || k == "maximum" || k == "multipleOf")) {
        const double d = v.get<double>();
        if (k == "multipleOf") {
          n.multiple_of = d;
        } else {
          const bool exclusive = d4 && s.value(k == "minimum" ? "exclusiveMinimum" : "exclusiveMaximum", false);
          (k == "minimum" ? (exclusive ? n.exclusive_minimum : n.minimum)
                          : (exclusive ? n.exclusive_maximum : n.maximum)) = d;
        }
      } else if (!d4 && v.is_number() && k == "exclusiveMinimum") {
        n.exclusive_minimum = v.get<double>();
      } else if (!d4 && v.is_number() && k == "exclusiveMaximum") {
        n.exclusive_maximum = v.get<double>();
      } else if (k == "minLength") {
        n.min_length = count(v);
      } else if (k == "maxLength") {
        n.max_length = count(v);
      } else if (k == "pattern" && v.is_string()) {
        PAGABLE_TRY_ASSIGN(n.pattern, Regex::compile(v.get<std::string>()));
      } else if (k == "minItems") {
        n.min_items = count(v);
      } else if (k == "maxItems") {
        n.max_items = count(v);
      } else if (k == "uniqueItems" && v.is_boolean()) {
        n.unique_items = v.get<bool>();
      } else if (k == "minContains" && d2020) {
        n.min_contains = count(v);
      } else if (k == "maxContains" && d2020) {
        n.max_contains = count(v);
      } else if (k == "minProperties") {
        n.min_properties = count(v);
      } else if (k == "maxProperties") {
        n.max_properties = count(v);
      } else if (k == "required" && v.is_array()) {
        for (const auto& r : v) {
          if (r.is_string()) {
            n.required.push_back(r.get<std::string>());
          }
        }
      } else if (k == "dependentRequired" && d2020 && v.is_object()) {
        for (auto it = v.begin(); it != v.end(); ++it) {
          if (it->is_array()) {
            n.dependent_required.push_back({it.key(), it->get<std::vector<std::string>>(), "dependentRequired"});
          }
        }
      }
    }
    if (k == "format" && v.is_string() && m_options.validate_formats) {
      n.format = format_from_name(v.get<std::string>());
      n.format_name = v.get<std::string>();
    } else if (k == "properties" && v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        PAGABLE_TRY_ASSIGN(Node * c, compile(it.value()));
        n.properties.emplace_back(it.key(), c);
      }
    } else if (k == "patternProperties" && v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        PAGABLE_TRY_ASSIGN(auto re, Regex::compile(it.key()));
        PAGABLE_TRY_ASSIGN(Node * c, compile(it.value()));
        n.pattern_properties.emplace_back(std::move(re), c);
      }
    } else if (k == "additionalProperties") {
      PAGABLE_TRY_ASSIGN(n.additional_properties, compile(v));
    } else if (k == "propertyNames" && !d4) {
      PAGABLE_TRY_ASSIGN(n.property_names, compile(v));
    } else if (k == "dependentSchemas" && d2020 && v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        PAGABLE_TRY_ASSIGN(Node * c, compile(it.value()));
        n.dependent_schemas.emplace_back(it.key(), c);
      }
    } else if (k == "dependencies" && v.is_object()) { // 2020-12 too, for compatibility
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (it->is_array()) {
          n.dependent_required.push_back({it.key(), it->get<std::vector<std::string>>(), "dependencies"});
        } else {
          PAGABLE_TRY_ASSIGN(Node * c, compile(it.value()));
          n.dependent_schemas.emplace_back(it.key(), c);
        }
      }
    } else if (k == "unevaluatedProperties" && d2020) {
      PAGABLE_TRY_ASSIGN(n.unevaluated_properties, compile(v));
    } else if (k == "unevaluatedItems" && d2020) {
      PAGABLE_TRY_ASSIGN(n.unevaluated_items, compile(v));
    } else if (k == "prefixItems" && d2020 && v.is_array()) {
      PAGABLE_TRY(compile_list(v, n.prefix_items));
    } else if (k == "items") {
      // One shape in Node for both drafts: draft-07's array `items` is 2020-12's
      // prefixItems, and its additionalItems 2020-12's `items` (the rest).
      if (v.is_array() && !d2020) {
        PAGABLE_TRY(compile_list(v, n.prefix_items));
        if (auto add = s.find("additionalItems"); add != s.end()) {
          PAGABLE_TRY_ASSIGN(n.items, compile(*add));
        }
      } else if (!v.is_array()) {
        PAGABLE_TRY_ASSIGN(n.items, compile(v));
      }
    } else if (k == "contains" && !d4) {
      PAGABLE_TRY_ASSIGN(n.contains, compile(v));
    } else if (k == "allOf" && v.is_array()) {
      PAGABLE_TRY(compile_list(v, n.all_of));
    } else if (k == "anyOf" && v.is_array()) {
      PAGABLE_TRY(compile_list(v, n.any_of));
    } else if (k == "oneOf" && v.is_array()) {
      PAGABLE_TRY(compile_list(v, n.one_of));
    } else if (k == "not") {
      PAGABLE_TRY_ASSIGN(n.not_, compile(v));
    } else if (k == "if" && (n.draft == Draft::d7 || d2020)) {
      PAGABLE_TRY_ASSIGN(n.if_, compile(v));
    } else if (k == "then" && (n.draft == Draft::d7 || d2020)) {
      PAGABLE_TRY_ASSIGN(n.then_, compile(v));
    } else if (k == "else" && (n.draft == Draft::d7 || d2020)) {
      PAGABLE_TRY_ASSIGN(n.else_, compile(v));
    }
    return {};
  }

  Result<void> compile_list(const json& v, std::vector<const Node*>& out)
  {
    for (const auto& item : v) {
      PAGABLE_TRY_ASSIGN(Node * c, compile(item));
      out.push_back(c);
    }
    return {};
  }

  Result<void> drain()
  {
    while (!m_pending.empty() || !m_dynamic_anchors.empty()) {
      // A URI may be claimed by the $id of a file that another reference loads, so a
      // reference that resolves to nothing is retried while others still make progress.
      std::vector<PendingRef> retry;
      std::optional<Error> first_error;
      bool progress = false;
      while (!m_pending.empty() || (!retry.empty() && progress)) {
        if (m_pending.empty()) {
          m_pending = std::move(retry);
          retry.clear();
          std::reverse(m_pending.begin(), m_pending.end());
          progress = false;
          first_error.reset();
        }
        const PendingRef p = m_pending.back();
        m_pending.pop_back();
        auto target = resolve(p.uri, p.node->draft);
        if (!target) {
          if (!first_error) {
            first_error = std::move(target).error().with_context("schema " + p.node->location);
          }
          retry.push_back(p);
          continue;
        }
        progress = true;
        PAGABLE_TRY_ASSIGN(Node * t, compile(**target));
        if (!p.dynamic) {
          p.node->ref = t;
          continue;
        }
        p.node->dynamic_ref = t;
        const auto fragment = split_fragment(p.uri).second;
        if ((*target)->is_object() && !fragment.empty() && fragment[0] != '/') {
          if (auto a = (*target)->find("$dynamicAnchor"); a != (*target)->end() && *a == fragment) {
            p.node->dynamic_name = fragment;
          }
        }
      }
      if (!retry.empty()) {
        return std::move(*first_error);
      }
      auto anchors = std::move(m_dynamic_anchors);
      m_dynamic_anchors.clear();
      for (const auto& a : anchors) {
        PAGABLE_TRY_ASSIGN(Node * t, compile(*a.target));
        a.resource->dynamic_anchors.emplace(a.name, t);
      }
    }
    return {};
  }

  struct DynamicAnchor {
    Resource* resource;
    std::string name;
    const json* target;
  };

  const SchemaOptions& m_options;
  DocumentLoader m_loader;
  std::unique_ptr<CompiledGraph> m_graph;
  std::unordered_map<std::string, ResourceEntry> m_resources;
  std::unordered_map<std::string, const json*> m_anchors;
  std::unordered_map<const json*, Ctx> m_index;
  std::unordered_map<const json*, Node*> m_compiled;
  std::vector<PendingRef> m_pending;
  std::vector<DynamicAnchor> m_dynamic_anchors;
  StackBudget m_stack;
};

} // namespace

Result<std::unique_ptr<CompiledGraph>> compile_graph(std::shared_ptr<const json> document,
                                                     std::string base_uri, std::string root_dir,
                                                     const SchemaOptions& options,
                                                     const Preloaded& preloaded, bool read_files)
{
  try {
    Compiler compiler(std::move(root_dir), options, preloaded, read_files);
    return compiler.run(std::move(document), std::move(base_uri));
  } catch (const std::exception& e) {
    return make_error(Errc::invalid_input, std::string("schema: ") + e.what());
  }
}

} // namespace pagable::schema
