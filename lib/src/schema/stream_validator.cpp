// SPDX-License-Identifier: MIT OR Apache-2.0
// Node-by-node validation (stream_validator.hpp). The validator keeps one Frame per open
// container: the subschemas that apply to it, and what the in-place checks need at its end
// (member count, member names when `required` asks for them). A value is checked in one of
// two ways:
// - in place: a scalar is evaluated whole at once; a container's members are evaluated as
//   they complete against the subschemas it assigns them, and the container itself, when it
//   closes, against the keywords that need only its members' names and count
//   (check_in_place, which repeats Evaluator's messages);
// - buffered: when a subschema that applies needs the value whole (needs_whole_value, a
//   $ref cycle in place, or Buffering::whole_document), the value is built as a json (m_build)
//   and handed to an Evaluator when it closes, under StreamOptions::max_buffer_bytes.
// So the errors are Schema::validate's, members before their parent.
#include "schema/stream_validator.hpp"

#include "schema/evaluator.hpp"
#include "schema/json_util.hpp"
#include "schema/type_cursor.hpp"
#include "schema/uri.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace pagable::schema {

using nlohmann::json;

namespace {

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
                    Buffering buffering, ArcAnnotations arcs)
      : m_root(root), m_schema_options(schema_options), m_options(options), m_buffering(buffering),
        m_arcs(arcs)
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
      // A name that fails is one error of propertyNames' own, as in Evaluator::check_object;
      // the probe's report is scratch, read only for a fatal error's message.
      Evaluator e(m_schema_options, m_scratch);
      const bool ok = e.eval(*n->property_names, json(name), nullptr, Mode::probe);
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
      m_build_path.push_back(next_token());
      NodeVerdict v = nested_verdict(value);
      m_build_path.pop_back();
      add_built(json(value));
      return v;
    }
    ++m_stats.values;
    const std::uint64_t before = m_failures;
    const auto entry = entry_nodes();
    if (!entry.empty()) {
      Evaluator e(m_schema_options, m_report);
      e.set_prefix(pointer_at(m_frames.size()));
      for (const Node* n : entry) {
        if (!e.eval(*n, value, nullptr, Mode::report)) {
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
    if (!entry.empty() && m_arcs == ArcAnnotations::some) {
      // A scalar that is a node of its own (x-pagable-arc), through a type-picked branch too.
      const TypeInfo info = make_cursor(entry, value).info();
      v.type_name = info.type_name;
      v.arc = info.arc;
    }
    return v;
  }

  NodeVerdict end_container() override
  {
    // Inside a buffered value only its outermost container has a Frame.
    if (m_build.size() > 1) {
      NodeVerdict v = nested_verdict(*m_build.back());
      m_build.pop_back();
      m_build_path.pop_back();
      return v;
    }
    Frame& f = m_frames.back();
    if (!m_build.empty()) {
      m_build.clear();
      m_stats.peak_buffer_bytes = std::max(m_stats.peak_buffer_bytes, m_buffer_bytes);
      if (!m_overflow) {
        Evaluator e(m_schema_options, m_report);
        e.set_prefix(pointer_at(m_frames.size() - 1));
        for (const Node* n : f.entry) {
          if (!e.eval(*n, *f.value, nullptr, Mode::report)) {
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
      m_build_path.push_back(next_token());
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
    // A cycle of in-place references has no end in the whole-document evaluator either:
    // buffering hands the value to it, so it ends with validate()'s "evaluation nested too
    // deep" error instead of a different one made up here.
    if (cycle || (m_buffering == Buffering::whole_document && m_frames.empty())) {
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
      m_buffer_reason = why->location;
      if (keyword[0] != '$') {
        m_buffer_reason += '/';
        m_buffer_reason += keyword;
      }
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

  // Where the next value goes in the innermost buffered container.
  struct Token {
    bool member = false;
    std::string key;
    std::size_t index = 0;
  };
  Token next_token() const
  {
    const json* parent = m_build.back();
    if (parent->is_object()) {
      return Token{true, m_build_key, 0};
    }
    return Token{false, {}, parent->is_array() ? parent->size() : 0};
  }

  // The type name and x-pagable-arc of a value inside a buffered one (m_build_path leads to
  // it; `value` is it, complete), from the type graph: the buffered value's subschemas, walked
  // down the path with the values read so far. So pack sees node boundaries a schema puts
  // inside a oneOf's branch, provided what picks the branch (a discriminator) came first.
  // Validity is the buffered value's, decided when it closes.
  NodeVerdict nested_verdict(const json& value) const
  {
    NodeVerdict v;
    const Frame& f = m_frames.back();
    if (m_overflow || !f.value || m_arcs == ArcAnnotations::none) {
      return v;
    }
    TypeCursor cursor = make_cursor(f.entry, *f.value);
    const json* at = f.value.get();
    for (std::size_t i = 0; i < m_build_path.size(); ++i) {
      const Token& t = m_build_path[i];
      const bool last = i + 1 == m_build_path.size();
      const json* child = &value;
      if (!last) {
        child = t.member ? &at->at(t.key) : &at->at(t.index);
      }
      cursor = t.member ? cursor.member(t.key, *child) : cursor.element(t.index, *child);
      at = child;
    }
    const TypeInfo info = cursor.info();
    v.type_name = info.type_name;
    v.arc = info.arc;
    return v;
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

  // Counts a buffered value's size as it grows, in about its JSON text's bytes (16 a value,
  // a string's or name's length + 8): a bound for the caller, not the exact memory used.
  void account(std::size_t bytes)
  {
    m_buffer_bytes += bytes;
    if (m_buffer_bytes > m_options.max_buffer_bytes && !m_overflow) {
      m_overflow = true;
      m_stats.peak_buffer_bytes = std::max(m_stats.peak_buffer_bytes, m_buffer_bytes);
      m_frames.back().value.reset(new json(nullptr));
      m_build.assign(m_build.size(), m_frames.back().value.get());
      record(m_buffer_at, m_buffer_reason,
             "the schema construct at " + m_buffer_reason +
                 " needs this whole value in memory, and it is larger than the limit of " +
                 std::to_string(m_options.max_buffer_bytes) +
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
    if (m_report.errors.size() >= m_schema_options.max_errors) {
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
  const SchemaOptions& m_schema_options;
  StreamOptions m_options;
  Buffering m_buffering;
  ArcAnnotations m_arcs;
  ValidationReport m_report;
  ValidationReport m_scratch;
  std::vector<Frame> m_frames;
  std::vector<json*> m_build; // the open containers of the value being buffered
  std::vector<Token> m_build_path; // where each of m_build but the first sits in its parent
  std::string m_build_key;
  std::size_t m_buffer_bytes = 0;
  bool m_overflow = false;
  std::string m_buffer_reason;
  std::string m_buffer_at;
  std::uint64_t m_failures = 0;
  bool m_stopped = false;
  StreamStats m_stats;
};

} // namespace

std::unique_ptr<NodeValidator> make_node_validator(const Node& root, const SchemaOptions& schema_options,
                                                   const StreamOptions& options, Buffering buffering,
                                                   ArcAnnotations arcs)
{
  return std::make_unique<NodeValidatorImpl>(root, schema_options, options, buffering, arcs);
}

} // namespace pagable::schema
