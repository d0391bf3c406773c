// SPDX-License-Identifier: MIT OR Apache-2.0
// The type-graph query (type_cursor.hpp) and the public TypeCursor.
#include "schema/type_cursor.hpp"

#include "schema/json_util.hpp"

#include <algorithm>
#include <memory>
#include <unordered_set>
#include <utility>

namespace pagable::schema {

using nlohmann::json;

// What a cursor stands for: the subschemas that apply at its location, and what they say.
struct TypeCursor::State {
  std::vector<const Node*> nodes;
  TypeInfo info;
};

namespace {

// The subschemas that apply to member `key` of an object `n` applies to.
void children_for_key(const Node& n, const std::string& key, std::vector<const Node*>& out)
{
  if (!match_member(n, key, out) && n.additional_properties != nullptr) {
    out.push_back(n.additional_properties);
  }
}

// Returns true iff a value of JSON type `bits` can pass `branch`: no `type` keyword on the way
// through its $refs and allOfs refuses it. (Its other keywords may still refuse the value.)
bool admits(const Node* branch, std::uint8_t bits)
{
  std::vector<const Node*> todo{branch};
  std::unordered_set<const Node*> seen;
  for (std::size_t i = 0; i < todo.size() && i < 1000; ++i) {
    const Node* n = todo[i];
    if (!seen.insert(n).second) {
      continue;
    }
    if (n->is_bool) {
      if (!n->bool_value) {
        return false;
      }
      continue;
    }
    if (n->types != 0 && (n->types & bits) == 0) {
      return false;
    }
    if (n->ref != nullptr) {
      todo.push_back(n->ref);
    }
    if (n->dynamic_ref != nullptr) {
      todo.push_back(n->dynamic_ref);
    }
    todo.insert(todo.end(), n->all_of.begin(), n->all_of.end());
  }
  return true;
}

// The nodes that apply in place at a value: follows $ref, allOf and discriminated branches,
// each node once, and the one branch of a oneOf/anyOf that the value's JSON type leaves (an
// optional value's `anyOf: [{"type": "null"}, {...}]`, what the objects module generates).
// A node is queued once per reference to it, so the queue is capped to bound what one
// location can cost on a hostile schema; what was found by then is the answer.
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
      if (d != nullptr && value.is_object()) {
        const auto tag = value.find(d->property);
        if (tag != value.end() && tag->is_string()) {
          const auto b = d->branch_of.find(tag->get<std::string>());
          if (b != d->branch_of.end()) {
            info.variant = b->first;
            todo.push_back(branches[b->second]);
          }
          return;
        }
      }
      // No tag to pick by: the one branch whose types admit the value's, if only one does.
      const std::uint8_t bits = type_bits(value);
      const Node* only = nullptr;
      for (const Node* b : branches) {
        if (admits(b, bits)) {
          if (only != nullptr) {
            return;
          }
          only = b;
        }
      }
      if (only != nullptr) {
        todo.push_back(only);
      }
    };
    pick(n->one_of, n->one_of_dispatch.get());
    pick(n->any_of, n->any_of_dispatch.get());
  }
  return out;
}

} // namespace

bool match_member(const Node& n, const std::string& key, std::vector<const Node*>& out,
                  const Regex** over)
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

TypeCursor make_cursor(std::vector<const Node*> entry, const json& value)
{
  auto state = std::make_shared<TypeCursor::State>();
  state->nodes = expand(std::move(entry), value, state->info);
  state->info.found = true;
  // Outermost first: the name or arc of the subschema nearest the parent wins.
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

} // namespace pagable::schema
