// SPDX-License-Identifier: MIT OR Apache-2.0
// Validation over the compiled Node graph, the type-graph query, and the public entry points.
#include <pagable/schema.hpp>

#include "schema/compiler.hpp"
#include "schema/stack_budget.hpp"
#include "schema/uri.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace pagable::schema {

using nlohmann::json;

std::string ValidationError::to_string() const
{
  return (instance_location.empty() ? std::string("(root)") : instance_location) + ": " + message +
         " (schema " + schema_location + ")";
}

struct TypeCursor::State {
  std::vector<const Node*> nodes;
  TypeInfo info;
};

namespace {

// Which parts of the instance at the current location some subschema has evaluated
// (the annotations unevaluatedProperties/unevaluatedItems depend on).
struct Annot {
  bool all_props = false;
  std::vector<const std::string*> props; // keys of the instance object
  bool all_items = false;
  std::size_t items_prefix = 0;
  std::vector<std::size_t> item_indexes;

  void merge(const Annot& o)
  {
    all_props = all_props || o.all_props;
    props.insert(props.end(), o.props.begin(), o.props.end());
    all_items = all_items || o.all_items;
    items_prefix = std::max(items_prefix, o.items_prefix);
    item_indexes.insert(item_indexes.end(), o.item_indexes.begin(), o.item_indexes.end());
  }
};

std::uint8_t type_bits(const json& v)
{
  switch (v.type()) {
  case json::value_t::null:
    return t_null;
  case json::value_t::boolean:
    return t_boolean;
  case json::value_t::object:
    return t_object;
  case json::value_t::array:
    return t_array;
  case json::value_t::string:
    return t_string;
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
    return t_number | t_integer;
  case json::value_t::number_float: {
    const double d = v.get<double>();
    return std::isfinite(d) && d == std::floor(d) ? t_number | t_integer : t_number;
  }
  default:
    return 0;
  }
}

const char* type_name_of(const json& v)
{
  switch (v.type()) {
  case json::value_t::null:
    return "null";
  case json::value_t::boolean:
    return "boolean";
  case json::value_t::object:
    return "object";
  case json::value_t::array:
    return "array";
  case json::value_t::string:
    return "string";
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
    return "integer";
  default:
    return "number";
  }
}

std::string expected_types(std::uint8_t bits)
{
  static const std::pair<std::uint8_t, const char*> names[] = {
      {t_null, "null"},     {t_boolean, "boolean"}, {t_object, "object"}, {t_array, "array"},
      {t_number, "number"}, {t_string, "string"},   {t_integer, "integer"}};
  std::string out;
  for (const auto& [bit, name] : names) {
    if ((bits & bit) != 0) {
      out += (out.empty() ? "" : " or ") + std::string(name);
    }
  }
  return out.empty() ? "no known type" : out;
}

std::size_t utf8_length(const std::string& s)
{
  std::size_t n = 0;
  for (const char c : s) {
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  }
  return n;
}

std::string brief(const json& v)
{
  if (nests_deeper_than(v, 16)) {
    return std::string("(a deeply nested ") + (v.is_array() ? "array" : "object") + ")";
  }
  std::string text = v.dump();
  if (text.size() > 60) {
    text = text.substr(0, 57) + "...";
  }
  return text;
}

std::string number_text(double d)
{
  std::ostringstream out;
  out.precision(17);
  out << d;
  return out.str();
}

bool equal_json(const json& a, const json& b)
{
  // nlohmann compares 1 and 1.0 as equal, as JSON Schema wants; but not true and 1.
  return a == b;
}

constexpr const char* k_bundle_format = "pagable-schema-bundle-1";

constexpr const char* k_not_message = "value must not match the \"not\" schema";

class Evaluator {
public:
  Evaluator(const SchemaOptions& options, ValidationReport& report)
      : m_options(options), m_report(report), m_stack(options.max_stack_bytes)
  {
  }

  bool fatal() const noexcept { return m_fatal; }

  // For validating one value inside a larger document: its pointer, and the resources
  // entered on the way to it (the dynamic scope).
  void set_prefix(std::string prefix) { m_prefix = std::move(prefix); }
  void seed_scope(const Resource* r)
  {
    if (r != nullptr) {
      m_scope.push_back(r);
    }
  }

  bool eval(const Node& n, const json& v, Annot* ann, bool rep)
  {
    if (m_fatal) {
      return false;
    }
    if (n.is_bool) {
      if (!n.bool_value && rep) {
        error(n, "", "no value is allowed here (false schema)");
      }
      return n.bool_value;
    }
    if (m_depth >= m_options.max_eval_depth || m_stack.exceeded()) {
      fatal_error(n, "evaluation nested too deep (over " + std::to_string(m_options.max_eval_depth) +
                         " steps or " + std::to_string(m_options.max_stack_bytes >> 10) +
                         " KiB of stack): a $ref loop that makes no progress, or too deep a document");
      return false;
    }
    Frame frame(*this, n);
    // unevaluated* sees only the annotations of this subschema's own evaluation; they are
    // handed to the caller's collector afterwards.
    Annot local;
    Annot* a = n.needs_annotations() ? &local : ann;
    const bool ok = eval_keywords(n, v, a, rep);
    if (ok && ann != nullptr && a == &local) {
      ann->merge(local);
    }
    return ok;
  }

private:
  bool eval_keywords(const Node& n, const json& v, Annot* a, bool rep)
  {
    bool ok = true;
#define PAGABLE_CHECK(expr)                                                                        \
  do {                                                                                             \
    if (!(expr)) {                                                                                 \
      ok = false;                                                                                  \
      if (!rep || m_fatal) {                                                                       \
        return false;                                                                              \
      }                                                                                            \
    }                                                                                              \
  } while (false)
    if (n.ref != nullptr) {
      PAGABLE_CHECK(eval(*n.ref, v, a, rep));
    }
    if (n.dynamic_ref != nullptr) {
      PAGABLE_CHECK(eval(*dynamic_target(n), v, a, rep));
    }
    if (n.types != 0 || n.const_value || n.enum_values) {
      PAGABLE_CHECK(check_value(n, v, rep));
    }
    if (v.is_number()) {
      PAGABLE_CHECK(check_number(n, v, rep));
    } else if (v.is_string()) {
      PAGABLE_CHECK(check_string(n, v.get_ref<const std::string&>(), rep));
    } else if (v.is_array()) {
      PAGABLE_CHECK(check_array(n, v, a, rep));
    } else if (v.is_object()) {
      PAGABLE_CHECK(check_object(n, v, a, rep));
    }
    for (const Node* c : n.all_of) {
      PAGABLE_CHECK(eval(*c, v, a, rep));
    }
    if (!n.any_of.empty()) {
      PAGABLE_CHECK(check_any_of(n, v, a, rep));
    }
    if (!n.one_of.empty()) {
      PAGABLE_CHECK(check_one_of(n, v, a, rep));
    }
    if (n.not_ != nullptr) {
      const bool matched = eval(*n.not_, v, nullptr, false);
      if (matched && rep) {
        error(n, "not", k_not_message);
      }
      PAGABLE_CHECK(!matched);
    }
    if (n.if_ != nullptr) {
      Annot tmp;
      if (eval(*n.if_, v, a != nullptr ? &tmp : nullptr, false)) {
        if (a != nullptr) {
          a->merge(tmp);
        }
        if (n.then_ != nullptr) {
          PAGABLE_CHECK(eval(*n.then_, v, a, rep));
        }
      } else if (n.else_ != nullptr) {
        PAGABLE_CHECK(eval(*n.else_, v, a, rep));
      }
    }
    if (n.unevaluated_properties != nullptr && v.is_object()) {
      PAGABLE_CHECK(check_unevaluated_properties(n, v, *a, rep));
    }
    if (n.unevaluated_items != nullptr && v.is_array()) {
      PAGABLE_CHECK(check_unevaluated_items(n, v, *a, rep));
    }
    return ok;
  }

  struct Frame {
    Frame(Evaluator& e, const Node& n) : m_e(e)
    {
      ++e.m_depth;
      m_pushed = n.owner != nullptr && (e.m_scope.empty() || e.m_scope.back() != n.owner);
      if (m_pushed) {
        e.m_scope.push_back(n.owner);
      }
    }
    ~Frame()
    {
      --m_e.m_depth;
      if (m_pushed) {
        m_e.m_scope.pop_back();
      }
    }
    Frame(const Frame&) = delete;
    Frame& operator=(const Frame&) = delete;
    Evaluator& m_e;
    bool m_pushed = false;
  };

  struct PathPush {
    PathPush(Evaluator& e, const std::string* key, std::size_t index) : m_e(e)
    {
      e.m_path.push_back({key, index});
    }
    ~PathPush() { m_e.m_path.pop_back(); }
    PathPush(const PathPush&) = delete;
    PathPush& operator=(const PathPush&) = delete;
    Evaluator& m_e;
  };

  struct Segment {
    const std::string* key;
    std::size_t index;
  };

  const Node* dynamic_target(const Node& n) const
  {
    if (!n.dynamic_name.empty()) {
      for (const Resource* r : m_scope) {
        const auto it = r->dynamic_anchors.find(n.dynamic_name);
        if (it != r->dynamic_anchors.end()) {
          return it->second;
        }
      }
    }
    return n.dynamic_ref;
  }

  [[gnu::noinline]] std::string pointer() const
  {
    std::string out = m_prefix;
    for (const auto& s : m_path) {
      out += '/';
      out += s.key != nullptr ? escape_pointer_token(*s.key) : std::to_string(s.index);
    }
    return out;
  }

  [[gnu::noinline]] void error(const Node& n, std::string_view keyword, std::string message)
  {
    if (m_report.errors.size() >= m_options.max_errors) {
      m_report.truncated = true;
      return;
    }
    std::string location = n.location;
    if (!keyword.empty()) {
      location += "/";
      location += keyword;
    }
    m_report.errors.push_back({pointer(), std::move(location), std::move(message)});
  }

  [[gnu::noinline]] void fatal_error(const Node& n, std::string message)
  {
    if (!m_fatal) {
      m_fatal = true;
      error(n, "", std::move(message));
    }
  }

  // type, const, enum. Out of line (as are the other message builders) to keep the frames
  // on the recursive path small: sanitizer builds give every temporary string its own slot.
  [[gnu::noinline]] bool check_value(const Node& n, const json& v, bool rep)
  {
    bool ok = true;
    if (n.types != 0 && (n.types & type_bits(v)) == 0) {
      if (!rep) {
        return false;
      }
      ok = false;
      error(n, "type", "expected " + expected_types(n.types) + ", got " + type_name_of(v));
    }
    if (n.const_value && !equal_json(*n.const_value, v)) {
      if (!rep) {
        return false;
      }
      ok = false;
      error(n, "const", "value must be " + brief(*n.const_value));
    }
    if (n.enum_values) {
      const bool found = std::any_of(n.enum_values->begin(), n.enum_values->end(),
                                     [&](const json& e) { return equal_json(e, v); });
      if (!found) {
        if (!rep) {
          return false;
        }
        ok = false;
        error(n, "enum", "value " + brief(v) + " is not one of " + brief(json(*n.enum_values)));
      }
    }
    return ok;
  }

  [[gnu::noinline]] bool check_number(const Node& n, const json& v, bool rep)
  {
    const double x = v.get<double>();
    bool ok = true;
    auto bound = [&](const std::optional<double>& limit, bool good, const char* kw, const char* what) {
      if (limit && !good) {
        ok = false;
        if (rep) {
          error(n, kw, "number " + brief(v) + " is " + what + " " + number_text(*limit));
        }
      }
    };
    bound(n.minimum, !n.minimum || x >= *n.minimum, "minimum", "less than minimum");
    bound(n.maximum, !n.maximum || x <= *n.maximum, "maximum", "greater than maximum");
    bound(n.exclusive_minimum, !n.exclusive_minimum || x > *n.exclusive_minimum,
          n.draft == Draft::d4 ? "minimum" : "exclusiveMinimum", "not greater than");
    bound(n.exclusive_maximum, !n.exclusive_maximum || x < *n.exclusive_maximum,
          n.draft == Draft::d4 ? "maximum" : "exclusiveMaximum", "not less than");
    if (n.multiple_of && *n.multiple_of > 0) {
      bool multiple = false;
      if (v.is_number_integer() && std::floor(*n.multiple_of) == *n.multiple_of &&
          *n.multiple_of < 9.0e18) {
        const auto m = static_cast<std::int64_t>(*n.multiple_of);
        multiple = v.is_number_unsigned() ? v.get<std::uint64_t>() % static_cast<std::uint64_t>(m) == 0
                                          : v.get<std::int64_t>() % m == 0;
      } else {
        const double q = x / *n.multiple_of;
        multiple = std::isfinite(q) && std::fabs(q - std::round(q)) < 1e-9;
      }
      if (!multiple) {
        ok = false;
        if (rep) {
          error(n, "multipleOf", "number " + brief(v) + " is not a multiple of " + number_text(*n.multiple_of));
        }
      }
    }
    return ok;
  }

  [[gnu::noinline]] bool check_string(const Node& n, const std::string& s, bool rep)
  {
    bool ok = true;
    if (n.min_length || n.max_length) {
      const std::size_t len = utf8_length(s);
      if (n.min_length && len < *n.min_length) {
        ok = false;
        if (rep) {
          error(n, "minLength", "string is shorter than " + std::to_string(*n.min_length) + " characters");
        } else {
          return false;
        }
      }
      if (n.max_length && len > *n.max_length) {
        ok = false;
        if (rep) {
          error(n, "maxLength", "string is longer than " + std::to_string(*n.max_length) + " characters");
        } else {
          return false;
        }
      }
    }
    if (n.pattern) {
      const auto m = n.pattern->search(s);
      if (m == RegexMatch::limit) {
        fatal_error(n, "pattern \"" + n.pattern->source() + "\" exceeded the regex match limit");
        return false;
      }
      if (m == RegexMatch::no) {
        ok = false;
        if (rep) {
          error(n, "pattern", "string " + brief(json(s)) + " does not match pattern \"" + n.pattern->source() + "\"");
        } else {
          return false;
        }
      }
    }
    if (n.format != Format::none && !check_format(n.format, s)) {
      ok = false;
      if (rep) {
        error(n, "format", "string " + brief(json(s)) + " is not a valid " + n.format_name);
      }
    }
    return ok;
  }

  bool check_array(const Node& n, const json& v, Annot* a, bool rep)
  {
    bool ok = true;
    const std::size_t size = v.size();
    if (n.min_items && size < *n.min_items) {
      if (!rep) {
        return false;
      }
      ok = false;
      error(n, "minItems", "array has " + std::to_string(size) + " items, fewer than " + std::to_string(*n.min_items));
    }
    if (n.max_items && size > *n.max_items) {
      if (!rep) {
        return false;
      }
      ok = false;
      error(n, "maxItems", "array has " + std::to_string(size) + " items, more than " + std::to_string(*n.max_items));
    }
    if (n.unique_items && size > 1) {
      for (std::size_t i = 0; i < size && ok; ++i) {
        for (std::size_t j = i + 1; j < size; ++j) {
          if (equal_json(v[i], v[j])) {
            if (!rep) {
              return false;
            }
            ok = false;
            error(n, "uniqueItems", "items " + std::to_string(i) + " and " + std::to_string(j) + " are equal");
            break;
          }
        }
      }
    }
    const std::size_t prefix = std::min(size, n.prefix_items.size());
    for (std::size_t i = 0; i < prefix; ++i) {
      PathPush p(*this, nullptr, i);
      if (!eval(*n.prefix_items[i], v[i], nullptr, rep)) {
        if (!rep || m_fatal) {
          return false;
        }
        ok = false;
      }
    }
    if (a != nullptr) {
      a->items_prefix = std::max(a->items_prefix, prefix);
    }
    if (n.items != nullptr) {
      for (std::size_t i = n.prefix_items.size(); i < size; ++i) {
        PathPush p(*this, nullptr, i);
        if (!eval(*n.items, v[i], nullptr, rep)) {
          if (!rep || m_fatal) {
            return false;
          }
          ok = false;
        }
      }
      if (a != nullptr && size > n.prefix_items.size()) {
        a->all_items = true;
      }
    }
    if (n.contains != nullptr) {
      std::size_t matches = 0;
      for (std::size_t i = 0; i < size; ++i) {
        if (eval(*n.contains, v[i], nullptr, false)) {
          ++matches;
          if (a != nullptr) {
            a->item_indexes.push_back(i);
          }
        }
      }
      if (m_fatal) {
        return false;
      }
      const std::size_t min = n.min_contains.value_or(1);
      if (matches < min) {
        if (!rep) {
          return false;
        }
        ok = false;
        error(n, "contains", std::to_string(matches) + " items match \"contains\", fewer than " + std::to_string(min));
      }
      if (n.max_contains && matches > *n.max_contains) {
        if (!rep) {
          return false;
        }
        ok = false;
        error(n, "maxContains", std::to_string(matches) + " items match \"contains\", more than " +
                                    std::to_string(*n.max_contains));
      }
    }
    return ok;
  }

  bool check_object(const Node& n, const json& v, Annot* a, bool rep)
  {
    bool ok = true;
    const std::size_t size = v.size();
    auto fail = [&](const char* kw, std::string message) {
      ok = false;
      if (rep) {
        error(n, kw, std::move(message));
      }
      return rep;
    };
    if (n.min_properties && size < *n.min_properties &&
        !fail("minProperties", "object has " + std::to_string(size) + " properties, fewer than " +
                                   std::to_string(*n.min_properties))) {
      return false;
    }
    if (n.max_properties && size > *n.max_properties &&
        !fail("maxProperties", "object has " + std::to_string(size) + " properties, more than " +
                                   std::to_string(*n.max_properties))) {
      return false;
    }
    for (const auto& name : n.required) {
      if (!v.contains(name) && !fail("required", "required property \"" + name + "\" missing")) {
        return false;
      }
    }
    for (const auto& [name, needed, keyword] : n.dependent_required) {
      if (!v.contains(name)) {
        continue;
      }
      for (const auto& other : needed) {
        if (!v.contains(other) &&
            !fail(keyword,
                  "property \"" + other + "\" is required when \"" + name + "\" is present")) {
          return false;
        }
      }
    }
    const bool members = !n.properties.empty() || !n.pattern_properties.empty() ||
                         n.additional_properties != nullptr || n.property_names != nullptr;
    if (members) {
      auto prop = n.properties.begin();
      for (auto it = v.begin(); it != v.end(); ++it) {
        const std::string& key = it.key();
        PathPush p(*this, &key, 0);
        bool matched = false;
        while (prop != n.properties.end() && prop->first < key) {
          ++prop;
        }
        if (prop != n.properties.end() && prop->first == key) {
          matched = true;
          if (!eval(*prop->second, it.value(), nullptr, rep)) {
            if (!rep || m_fatal) {
              return false;
            }
            ok = false;
          }
        }
        for (const auto& [re, child] : n.pattern_properties) {
          const auto m = re->search(key);
          if (m == RegexMatch::limit) {
            fatal_error(n, "patternProperties \"" + re->source() + "\" exceeded the regex match limit");
            return false;
          }
          if (m == RegexMatch::yes) {
            matched = true;
            if (!eval(*child, it.value(), nullptr, rep)) {
              if (!rep || m_fatal) {
                return false;
              }
              ok = false;
            }
          }
        }
        if (!matched && n.additional_properties != nullptr) {
          matched = true;
          if (n.additional_properties->is_bool && !n.additional_properties->bool_value) {
            ok = false;
            if (!rep) {
              return false;
            }
            error(n, "additionalProperties", "property \"" + key + "\" is not allowed");
          } else if (!eval(*n.additional_properties, it.value(), nullptr, rep)) {
            if (!rep || m_fatal) {
              return false;
            }
            ok = false;
          }
        }
        if (matched && a != nullptr) {
          a->props.push_back(&key);
        }
        if (n.property_names != nullptr) {
          const json name(key);
          if (!eval(*n.property_names, name, nullptr, false)) {
            if (m_fatal || !fail("propertyNames", "property name \"" + key + "\" does not match \"propertyNames\"")) {
              return false;
            }
          }
        }
      }
    }
    for (const auto& [name, child] : n.dependent_schemas) {
      if (v.contains(name) && !eval(*child, v, a, rep)) {
        if (!rep || m_fatal) {
          return false;
        }
        ok = false;
      }
    }
    return ok;
  }

  bool check_unevaluated_properties(const Node& n, const json& v, Annot& a, bool rep)
  {
    if (a.all_props) {
      return true;
    }
    std::sort(a.props.begin(), a.props.end());
    bool ok = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string& key = it.key();
      if (std::binary_search(a.props.begin(), a.props.end(), &key)) {
        continue;
      }
      PathPush p(*this, &key, 0);
      const Node& u = *n.unevaluated_properties;
      if (u.is_bool && !u.bool_value) {
        if (!rep) {
          return false;
        }
        ok = false;
        error(n, "unevaluatedProperties", "property \"" + key + "\" is not allowed (unevaluated)");
      } else if (!eval(u, it.value(), nullptr, rep)) {
        if (!rep || m_fatal) {
          return false;
        }
        ok = false;
      }
    }
    a.all_props = true;
    return ok;
  }

  bool check_unevaluated_items(const Node& n, const json& v, Annot& a, bool rep)
  {
    if (a.all_items) {
      return true;
    }
    std::sort(a.item_indexes.begin(), a.item_indexes.end());
    bool ok = true;
    for (std::size_t i = a.items_prefix; i < v.size(); ++i) {
      if (std::binary_search(a.item_indexes.begin(), a.item_indexes.end(), i)) {
        continue;
      }
      PathPush p(*this, nullptr, i);
      const Node& u = *n.unevaluated_items;
      if (u.is_bool && !u.bool_value) {
        if (!rep) {
          return false;
        }
        ok = false;
        error(n, "unevaluatedItems", "item " + std::to_string(i) + " is not allowed (unevaluated)");
      } else if (!eval(u, v[i], nullptr, rep)) {
        if (!rep || m_fatal) {
          return false;
        }
        ok = false;
      }
    }
    a.all_items = true;
    return ok;
  }

  // Returns 1 valid, 0 invalid, -1 when the dispatch does not apply to this value.
  int dispatch(const Node& n, const std::vector<const Node*>& branches, const Dispatch& d,
               const char* keyword, const json& v, Annot* a, bool rep)
  {
    if (!v.is_object()) {
      return -1;
    }
    const auto tag = v.find(d.property);
    if (tag == v.end() || !tag->is_string()) {
      return -1;
    }
    const auto& value = tag->get_ref<const std::string&>();
    const auto b = d.branch_of.find(value);
    if (b == d.branch_of.end()) {
      if (rep) {
        std::string known;
        for (const auto& t : d.tags) {
          known += (known.empty() ? "\"" : ", \"") + t + "\"";
        }
        error(n, keyword, "unknown \"" + d.property + "\" value \"" + value + "\" (known: " + known + ")");
      }
      return 0;
    }
    const std::size_t before = m_report.errors.size();
    const bool ok = eval(*branches[b->second], v, a, rep);
    for (std::size_t i = before; i < m_report.errors.size(); ++i) {
      m_report.errors[i].message += " (in " + std::string(keyword) + " variant \"" + value + "\")";
    }
    return ok ? 1 : 0;
  }

  // Why the first branches failed, for a person: " [0: /a: expected string, got integer;
  // 1: ...]" (locations below the current one only). Re-evaluates them in report mode and
  // takes back what they reported.
  [[gnu::noinline]] std::string branch_hints(const std::vector<const Node*>& branches, const json& v)
  {
    std::string hints;
    const std::string here = pointer();
    for (std::size_t i = 0; i < branches.size() && i < 3; ++i) {
      const std::size_t before = m_report.errors.size();
      const bool truncated = m_report.truncated;
      eval(*branches[i], v, nullptr, true);
      if (m_fatal) {
        break; // keep the fatal error where it is
      }
      if (m_report.errors.size() > before) {
        const auto& e = m_report.errors[before];
        hints += (hints.empty() ? " [" : "; ") + std::to_string(i) + ": " +
                 (e.instance_location == here ? std::string() : e.instance_location.substr(here.size()) + ": ") +
                 e.message;
      }
      m_report.errors.resize(before);
      m_report.truncated = truncated;
    }
    return hints.empty() ? hints : hints + (branches.size() > 3 ? "; ...]" : "]");
  }

  bool check_any_of(const Node& n, const json& v, Annot* a, bool rep)
  {
    if (n.any_of_dispatch) {
      const int r = dispatch(n, n.any_of, *n.any_of_dispatch, "anyOf", v, a, rep);
      if (r >= 0) {
        return r == 1;
      }
    }
    bool any = false;
    for (const Node* c : n.any_of) {
      Annot tmp;
      if (eval(*c, v, a != nullptr ? &tmp : nullptr, false)) {
        any = true;
        if (a == nullptr) {
          break;
        }
        a->merge(tmp);
      }
    }
    if (!any && rep && !m_fatal) {
      error(n, "anyOf", "value matches none of the " + std::to_string(n.any_of.size()) + " anyOf branches" +
                            branch_hints(n.any_of, v));
    }
    return any;
  }

  bool check_one_of(const Node& n, const json& v, Annot* a, bool rep)
  {
    if (n.one_of_dispatch) {
      const int r = dispatch(n, n.one_of, *n.one_of_dispatch, "oneOf", v, a, rep);
      if (r >= 0) {
        return r == 1;
      }
    }
    std::vector<std::size_t> matched;
    Annot kept;
    for (std::size_t i = 0; i < n.one_of.size() && matched.size() < 2; ++i) {
      Annot tmp;
      if (eval(*n.one_of[i], v, a != nullptr ? &tmp : nullptr, false)) {
        matched.push_back(i);
        kept = std::move(tmp);
      }
    }
    if (matched.size() == 1) {
      if (a != nullptr) {
        a->merge(kept);
      }
      return true;
    }
    if (rep && !m_fatal) {
      if (matched.empty()) {
        error(n, "oneOf", "value matches none of the " + std::to_string(n.one_of.size()) + " oneOf branches" +
                              branch_hints(n.one_of, v));
      } else {
        error(n, "oneOf", "value matches oneOf branches " + std::to_string(matched[0]) + " and " +
                              std::to_string(matched[1]) + "; exactly one must match");
      }
    }
    return false;
  }

  const SchemaOptions& m_options;
  ValidationReport& m_report;
  std::string m_prefix;
  std::vector<Segment> m_path;
  std::vector<const Resource*> m_scope;
  std::size_t m_depth = 0;
  StackBudget m_stack;
  bool m_fatal = false;
};

// Appends the subschemas `properties` and `patternProperties` of `n` assign to member `key`;
// true when there is any. A pattern that gives up (match limit) counts as no match and is
// reported in `*over`: validation treats it as validate() does, as a fatal error.
bool match_member(const Node& n, const std::string& key, std::vector<const Node*>& out,
                  const Regex** over = nullptr)
{
  bool matched = false;
  const auto it = std::lower_bound(n.properties.begin(), n.properties.end(), key,
                                   [](const auto& e, const std::string& k) { return e.first < k; });
  if (it != n.properties.end() && it->first == key) {
    out.push_back(it->second);
    matched = true;
  }
  for (const auto& [re, child] : n.pattern_properties) {
    const RegexMatch m = re->search(key);
    if (m == RegexMatch::yes) {
      out.push_back(child);
      matched = true;
    } else if (m == RegexMatch::limit && over != nullptr && *over == nullptr) {
      *over = re.get();
    }
  }
  return matched;
}

// The subschemas that apply to member `key` of an object `n` applies to.
void children_for_key(const Node& n, const std::string& key, std::vector<const Node*>& out)
{
  if (!match_member(n, key, out) && n.additional_properties != nullptr) {
    out.push_back(n.additional_properties);
  }
}

  // The nodes that apply in place at a value: follows $ref, allOf and discriminated branches.
std::vector<const Node*> expand(std::vector<const Node*> todo, const json& value, TypeInfo& info)
  {
    std::vector<const Node*> out;
    std::unordered_set<const Node*> seen;
    for (std::size_t i = 0; i < todo.size() && todo.size() < 10000; ++i) {
      const Node* n = todo[i];
      if (!seen.insert(n).second) {
        continue;
      }
      out.push_back(n);
      if (n->ref != nullptr) {
        todo.push_back(n->ref);
      }
      if (n->dynamic_ref != nullptr) {
        todo.push_back(n->dynamic_ref);
      }
      todo.insert(todo.end(), n->all_of.begin(), n->all_of.end());
      const auto pick = [&](const std::vector<const Node*>& branches, const Dispatch* d) {
        if (d == nullptr || !value.is_object()) {
          return;
        }
        const auto tag = value.find(d->property);
        if (tag == value.end() || !tag->is_string()) {
          return;
        }
        const auto b = d->branch_of.find(tag->get<std::string>());
        if (b != d->branch_of.end()) {
          info.variant = b->first;
          todo.push_back(branches[b->second]);
        }
      };
      pick(n->one_of, n->one_of_dispatch.get());
      pick(n->any_of, n->any_of_dispatch.get());
    }
    return out;
  }


TypeCursor make_cursor(std::vector<const Node*> todo, const json& value)
{
  auto state = std::make_shared<TypeCursor::State>();
  state->nodes = expand(std::move(todo), value, state->info);
  state->info.found = true;
  for (const Node* n : state->nodes) {
    if (state->info.type_name.empty() && !n->type_name.empty()) {
      state->info.type_name = n->type_name;
    }
    if (!state->info.arc && n->arc) {
      state->info.arc = n->arc;
    }
    state->info.schema_locations.push_back(n->location);
  }
  return TypeCursor(std::move(state));
}

// --- Node-by-node validation (NodeValidator; docs/SCHEMA.md "Streaming validation") ---

// The keyword that keeps a subschema from being checked on one container and its direct
// members, or nullptr.
const char* needs_whole_value(const Node& n)
{
  if (n.is_bool) {
    return nullptr;
  }
  if (!n.any_of.empty()) {
    return "anyOf";
  }
  if (!n.one_of.empty()) {
    return "oneOf";
  }
  if (n.not_ != nullptr) {
    return "not";
  }
  if (n.if_ != nullptr) {
    return "if";
  }
  if (!n.dependent_schemas.empty()) {
    return "dependentSchemas";
  }
  if (n.unevaluated_properties != nullptr) {
    return "unevaluatedProperties";
  }
  if (n.unevaluated_items != nullptr) {
    return "unevaluatedItems";
  }
  if (n.contains != nullptr) {
    return "contains";
  }
  if (n.unique_items) {
    return "uniqueItems";
  }
  if (n.const_value) {
    return "const";
  }
  if (n.enum_values) {
    return "enum";
  }
  if (!n.dynamic_name.empty()) {
    return "$dynamicRef";
  }
  return nullptr;
}

// The subschemas that apply in place at a value (through $ref, $dynamicRef's static target
// and allOf), each once. `cycle` is set when such a chain comes back to a subschema it is
// inside of: the whole-document validator ends that with "evaluation nested too deep".
std::vector<const Node*> expand_in_place(const std::vector<const Node*>& entry, bool& cycle)
{
  std::vector<const Node*> out;
  std::unordered_map<const Node*, bool> done; // false while on the current chain
  struct Item {
    const Node* n;
    std::size_t next;
  };
  const auto child = [](const Node* n, std::size_t i) -> const Node* {
    std::size_t k = 0;
    if (n->ref != nullptr) {
      if (i == k) {
        return n->ref;
      }
      ++k;
    }
    if (n->dynamic_ref != nullptr) {
      if (i == k) {
        return n->dynamic_ref;
      }
      ++k;
    }
    return i - k < n->all_of.size() ? n->all_of[i - k] : nullptr;
  };
  std::vector<Item> stack;
  for (const Node* e : entry) {
    if (done.count(e) != 0) {
      continue;
    }
    done[e] = false;
    out.push_back(e);
    stack.push_back({e, 0});
    while (!stack.empty()) {
      Item& top = stack.back();
      const Node* c = top.n->is_bool ? nullptr : child(top.n, top.next++);
      if (c == nullptr) {
        done[top.n] = true;
        stack.pop_back();
        continue;
      }
      const auto it = done.find(c);
      if (it != done.end()) {
        cycle = cycle || !it->second;
        continue;
      }
      done[c] = false;
      out.push_back(c);
      stack.push_back({c, 0});
    }
  }
  return out;
}

class NodeValidatorImpl final : public NodeValidator {
public:
  NodeValidatorImpl(const Node& root, const SchemaOptions& schema_options, const StreamOptions& options,
                    bool buffer_whole_document)
      : m_root(root), m_so(schema_options), m_o(options), m_buffer_all(buffer_whole_document)
  {
  }

  void begin_object() override { begin(true); }
  void begin_array() override { begin(false); }

  void key(const std::string& name) override
  {
    if (!m_build.empty()) {
      m_build_key = name;
      account(name.size() + 8);
      return;
    }
    Frame& f = m_frames.back();
    f.key = name;
    ++f.count;
    if (f.keep_keys) {
      f.keys.insert(name);
    }
    // The member's subschemas, found once here for entry_nodes(); each pattern runs once. A
    // pattern over its match limit stops validation, as it does in validate().
    f.member_entry.clear();
    for (const Node* n : f.nodes) {
      if (n->is_bool) {
        continue;
      }
      const Regex* over = nullptr;
      const bool matched = match_member(*n, name, f.member_entry, &over);
      if (over != nullptr) {
        stop(*n, "patternProperties \"" + over->source() + "\" exceeded the regex match limit");
        return;
      }
      if (!matched && additional_refused(*n)) {
        fail(pointer_at(m_frames.size()), *n, "additionalProperties",
             "property \"" + name + "\" is not allowed");
      } else if (!matched && n->additional_properties != nullptr) {
        f.member_entry.push_back(n->additional_properties);
      }
      if (n->property_names == nullptr) {
        continue;
      }
      Evaluator e(m_so, m_scratch);
      const bool ok = e.eval(*n->property_names, json(name), nullptr, false);
      if (e.fatal()) {
        stop(*n, m_scratch.errors.empty() ? "evaluation failed" : m_scratch.errors.front().message);
      } else if (!ok) {
        fail(pointer_at(m_frames.size()), *n, "propertyNames",
             "property name \"" + name + "\" does not match \"propertyNames\"");
      }
      m_scratch = {};
    }
  }

  NodeVerdict scalar(const json& value) override
  {
    if (!m_build.empty()) {
      account(value.is_string() ? value.get_ref<const std::string&>().size() + 8 : 16);
      add_built(json(value));
      return {};
    }
    ++m_stats.values;
    const std::uint64_t before = m_failures;
    const auto entry = entry_nodes();
    if (!entry.empty()) {
      Evaluator e(m_so, m_report);
      e.set_prefix(pointer_at(m_frames.size()));
      for (const Node* n : entry) {
        if (!e.eval(*n, value, nullptr, true)) {
          note_failure();
        }
      }
      if (e.fatal()) {
        m_stopped = true;
      }
    }
    child_done();
    NodeVerdict v;
    v.valid = m_failures == before;
    return v;
  }

  NodeVerdict end_container() override
  {
    if (m_build.size() > 1) {
      m_build.pop_back();
      return {};
    }
    Frame& f = m_frames.back();
    if (!m_build.empty()) {
      m_build.clear();
      m_stats.peak_buffer_bytes = std::max(m_stats.peak_buffer_bytes, m_buffer_bytes);
      if (!m_overflow) {
        Evaluator e(m_so, m_report);
        e.set_prefix(pointer_at(m_frames.size() - 1));
        for (const Node* n : f.entry) {
          if (!e.eval(*n, *f.value, nullptr, true)) {
            note_failure();
          }
        }
        if (e.fatal()) {
          m_stopped = true;
        }
        // The discriminated variant (if any) is known now that the value is.
        const TypeInfo info = make_cursor(f.entry, *f.value).info();
        f.type_name = info.type_name;
        f.arc = info.arc;
      }
      m_overflow = false;
      m_buffer_bytes = 0;
    } else {
      check_in_place(f);
    }
    NodeVerdict v;
    v.valid = m_failures == f.failures_before;
    v.type_name = std::move(f.type_name);
    v.arc = f.arc;
    m_frames.pop_back();
    child_done();
    return v;
  }

  const ValidationReport& report() const override { return m_report; }
  bool stopped() const override { return m_stopped; }
  StreamStats stats() const override { return m_stats; }

private:
  struct Frame {
    bool object = false;
    std::vector<const Node*> entry;  // the subschemas assigned to this value by its parent
    std::vector<const Node*> nodes;  // entry plus what applies in place through them
    std::uint64_t failures_before = 0;
    std::string key;       // the current member's name
    std::vector<const Node*> member_entry; // the subschemas of that member (from key())
    std::size_t index = 0; // the current item's index
    std::size_t count = 0; // members or items so far
    bool keep_keys = false;
    std::unordered_set<std::string> keys;
    std::unique_ptr<json> value; // the whole value, when buffered
    std::string type_name;
    std::optional<bool> arc;
  };

  void begin(bool object)
  {
    if (!m_build.empty()) {
      account(16);
      m_build.push_back(add_built(object ? json::object() : json::array()));
      return;
    }
    ++m_stats.values;
    Frame f;
    f.object = object;
    f.failures_before = m_failures;
    f.entry = entry_nodes();
    bool cycle = false;
    f.nodes = expand_in_place(f.entry, cycle);
    for (const Node* n : f.nodes) {
      if (f.type_name.empty() && !n->type_name.empty()) {
        f.type_name = n->type_name;
      }
      if (!f.arc && n->arc) {
        f.arc = n->arc;
      }
    }
    const Node* why = nullptr;
    const char* keyword = nullptr;
    if (cycle || (m_buffer_all && m_frames.empty())) {
      why = f.entry.empty() ? nullptr : f.entry.front();
      keyword = cycle ? "$ref" : "$dynamicRef";
    }
    for (const Node* n : f.nodes) {
      if (keyword != nullptr) {
        break;
      }
      keyword = needs_whole_value(*n);
      why = n;
    }
    if (keyword != nullptr && why != nullptr) {
      ++m_stats.buffered_values;
      f.value = std::make_unique<json>(object ? json::object() : json::array());
      m_build.push_back(f.value.get());
      m_buffer_reason = why->location + (keyword[0] == '$' ? "" : "/" + std::string(keyword));
      m_buffer_at = pointer_at(m_frames.size());
      m_buffer_bytes = 16;
    } else {
      ++m_stats.checked_in_place;
      f.keep_keys = std::any_of(f.nodes.begin(), f.nodes.end(), [&](const Node* n) {
        return !n->is_bool && (!n->required.empty() || !n->dependent_required.empty());
      });
    }
    m_frames.push_back(std::move(f));
  }

  static bool additional_refused(const Node& n)
  {
    return n.additional_properties != nullptr && n.additional_properties->is_bool &&
           !n.additional_properties->bool_value;
  }

  // The subschemas the open container assigns to its next member or item.
  std::vector<const Node*> entry_nodes() const
  {
    std::vector<const Node*> out;
    if (m_frames.empty()) {
      out.push_back(&m_root);
      return out;
    }
    const Frame& f = m_frames.back();
    if (f.object) {
      return f.member_entry; // found by key()
    }
    for (const Node* n : f.nodes) {
      if (n->is_bool) {
        continue;
      }
      if (f.index < n->prefix_items.size()) {
        out.push_back(n->prefix_items[f.index]);
      } else if (n->items != nullptr) {
        out.push_back(n->items);
      }
    }
    return out;
  }

  void child_done()
  {
    if (!m_frames.empty() && !m_frames.back().object) {
      ++m_frames.back().index;
      ++m_frames.back().count;
    }
  }

  // The keywords of Evaluator::check_value/check_object/check_array that need only the
  // container's own members, with the same messages.
  void check_in_place(const Frame& f)
  {
    const std::string here = pointer_at(m_frames.size() - 1);
    const std::size_t size = f.count;
    for (const Node* n : f.nodes) {
      if (n->is_bool) {
        if (!n->bool_value) {
          fail(here, *n, "", "no value is allowed here (false schema)");
        }
        continue;
      }
      const std::uint8_t bits = f.object ? t_object : t_array;
      if (n->types != 0 && (n->types & bits) == 0) {
        fail(here, *n, "type",
             "expected " + expected_types(n->types) + ", got " + (f.object ? "object" : "array"));
      }
      if (f.object) {
        if (n->min_properties && size < *n->min_properties) {
          fail(here, *n, "minProperties", "object has " + std::to_string(size) +
                                              " properties, fewer than " + std::to_string(*n->min_properties));
        }
        if (n->max_properties && size > *n->max_properties) {
          fail(here, *n, "maxProperties", "object has " + std::to_string(size) +
                                              " properties, more than " + std::to_string(*n->max_properties));
        }
        for (const auto& name : n->required) {
          if (f.keys.count(name) == 0) {
            fail(here, *n, "required", "required property \"" + name + "\" missing");
          }
        }
        for (const auto& [name, needed, keyword] : n->dependent_required) {
          if (f.keys.count(name) == 0) {
            continue;
          }
          for (const auto& other : needed) {
            if (f.keys.count(other) == 0) {
              fail(here, *n, keyword, "property \"" + other + "\" is required when \"" + name + "\" is present");
            }
          }
        }
      } else {
        if (n->min_items && size < *n->min_items) {
          fail(here, *n, "minItems", "array has " + std::to_string(size) + " items, fewer than " +
                                         std::to_string(*n->min_items));
        }
        if (n->max_items && size > *n->max_items) {
          fail(here, *n, "maxItems", "array has " + std::to_string(size) + " items, more than " +
                                         std::to_string(*n->max_items));
        }
      }
    }
  }

  json* add_built(json v)
  {
    json* parent = m_build.back();
    if (m_overflow) {
      // Past the limit nothing more is kept; the parent stands in for the lost value.
      return parent;
    }
    if (parent->is_object()) {
      json& slot = (*parent)[m_build_key];
      slot = std::move(v);
      return &slot;
    }
    parent->push_back(std::move(v));
    return &parent->back();
  }

  void account(std::size_t bytes)
  {
    m_buffer_bytes += bytes;
    if (m_buffer_bytes > m_o.max_buffer_bytes && !m_overflow) {
      m_overflow = true;
      m_stats.peak_buffer_bytes = std::max(m_stats.peak_buffer_bytes, m_buffer_bytes);
      m_frames.back().value.reset(new json(nullptr));
      m_build.assign(m_build.size(), m_frames.back().value.get());
      record(m_buffer_at, m_buffer_reason,
             "the schema construct at " + m_buffer_reason +
                 " needs this whole value in memory, and it is larger than the limit of " +
                 std::to_string(m_o.max_buffer_bytes) +
                 " bytes; raise the limit, or store the document without the schema and check it "
                 "afterwards with `pagable validate`");
      m_stopped = true;
    }
  }

  std::string pointer_at(std::size_t depth) const
  {
    std::string p;
    for (std::size_t i = 0; i < depth && i < m_frames.size(); ++i) {
      const Frame& f = m_frames[i];
      p += '/';
      p += f.object ? escape_pointer_token(f.key) : std::to_string(f.index);
    }
    return p;
  }

  void note_failure()
  {
    ++m_failures;
    m_report.valid = false;
  }

  void record(std::string instance, std::string schema_location, std::string message)
  {
    note_failure();
    if (m_report.errors.size() >= m_so.max_errors) {
      m_report.truncated = true;
      return;
    }
    m_report.errors.push_back({std::move(instance), std::move(schema_location), std::move(message)});
  }

  void fail(std::string instance, const Node& n, std::string_view keyword, std::string message)
  {
    std::string location = n.location;
    if (!keyword.empty()) {
      location += "/";
      location += keyword;
    }
    record(std::move(instance), std::move(location), std::move(message));
  }

  void stop(const Node& n, std::string message)
  {
    fail(pointer_at(m_frames.size()), n, "", std::move(message));
    m_stopped = true;
  }

  const Node& m_root;
  const SchemaOptions& m_so;
  StreamOptions m_o;
  bool m_buffer_all;
  ValidationReport m_report;
  ValidationReport m_scratch;
  std::vector<Frame> m_frames;
  std::vector<json*> m_build; // the open containers of the value being buffered
  std::string m_build_key;
  std::size_t m_buffer_bytes = 0;
  bool m_overflow = false;
  std::string m_buffer_reason;
  std::string m_buffer_at;
  std::uint64_t m_failures = 0;
  bool m_stopped = false;
  StreamStats m_stats;
};

class SchemaImpl final : public Schema {
public:
  SchemaImpl(std::unique_ptr<CompiledGraph> graph, SchemaOptions options)
      : m_graph(std::move(graph)), m_options(std::move(options))
  {
    m_dynamic = std::any_of(m_graph->nodes.begin(), m_graph->nodes.end(),
                            [](const auto& n) { return !n->dynamic_name.empty(); });
  }

  std::unique_ptr<NodeValidator> node_validator(const StreamOptions& options) const override
  {
    return std::make_unique<NodeValidatorImpl>(*m_graph->root, m_options, options, m_dynamic);
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
    const bool ok = e.eval(*m_graph->root, instance, nullptr, true);
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
  bool m_dynamic = false; // $dynamicRef depends on the dynamic scope: streams buffer it all
};

} // namespace

TypeInfo TypeCursor::info() const
{
  return m_state ? m_state->info : TypeInfo{};
}

TypeCursor TypeCursor::member(const std::string& key, const json& value) const
{
  if (!m_state) {
    return {};
  }
  std::vector<const Node*> next;
  for (const Node* n : m_state->nodes) {
    children_for_key(*n, key, next);
  }
  return make_cursor(std::move(next), value);
}

TypeCursor TypeCursor::element(std::size_t index, const json& value) const
{
  if (!m_state) {
    return {};
  }
  std::vector<const Node*> next;
  for (const Node* n : m_state->nodes) {
    if (index < n->prefix_items.size()) {
      next.push_back(n->prefix_items[index]);
    } else if (n->items != nullptr) {
      next.push_back(n->items);
    }
  }
  return make_cursor(std::move(next), value);
}

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
