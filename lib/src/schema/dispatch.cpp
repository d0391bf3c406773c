// SPDX-License-Identifier: MIT OR Apache-2.0
// Where a Dispatch comes from (dispatch.hpp), in order:
// - an OpenAPI `discriminator` beside the oneOf/anyOf: `propertyName` is the tag; `mapping`
//   maps tag values to branches (by type name or by the end of the $ref's location), and a
//   branch's type name ($defs key, components/schemas key or x-pagable-type) is a tag too.
//   OpenAPI means the tag to decide, so it does even where plain JSON Schema would let
//   another branch match;
// - otherwise, one property that every branch defines with a distinct string const (or
//   one-value enum): a branch whose const the tag does not equal cannot match anyway, so
//   the tag only spares evaluating the others.
// A value without the tag property (or with a non-string tag) gets the plain oneOf/anyOf
// rules. When a node has both oneOf and anyOf, only oneOf is dispatched.
#include "schema/dispatch.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace pagable::schema {

namespace {

// A branch is often only a `$ref` to the variant's definition: look through such
// references (a bounded number of them, since they may form a loop) to the node that has
// the properties.
const Node* through_refs(const Node* n)
{
  for (int i = 0; i < 16 && n->ref != nullptr && n->properties.empty(); ++i) {
    n = n->ref;
  }
  return n;
}

// The string a tag property must have in a branch, if the branch pins one.
std::optional<std::string> const_tag(const Node* n)
{
  n = through_refs(n);
  if (n->const_value && n->const_value->is_string()) {
    return n->const_value->get<std::string>();
  }
  if (n->enum_values && n->enum_values->size() == 1 && n->enum_values->front().is_string()) {
    return n->enum_values->front().get<std::string>();
  }
  return std::nullopt;
}

} // namespace

void build_dispatch(Node& n)
{
  auto& branches = !n.one_of.empty() ? n.one_of : n.any_of;
  if (branches.size() < 2) {
    return;
  }
  auto d = std::make_unique<Dispatch>();
  if (n.discriminator != nullptr && n.discriminator->contains("propertyName") &&
      (*n.discriminator)["propertyName"].is_string()) {
    d->from_discriminator = true;
    d->property = (*n.discriminator)["propertyName"].get<std::string>();
    auto name_of = [](const Node* b) { return b->ref != nullptr ? b->ref->type_name : b->type_name; };
    if (auto m = n.discriminator->find("mapping"); m != n.discriminator->end() && m->is_object()) {
      for (auto it = m->begin(); it != m->end(); ++it) {
        if (!it->is_string()) {
          continue;
        }
        const std::string target = it->get<std::string>();
        for (std::size_t i = 0; i < branches.size(); ++i) {
          const Node* b = branches[i];
          // A mapping value is a type name or a schema reference ("#/components/schemas/Cat",
          // possibly with a URI before the '#') that the branch's $ref target ends with.
          const bool by_name = name_of(b) == target;
          const bool by_ref = b->ref != nullptr && target.find('#') != std::string::npos &&
                              (b->ref->location == target ||
                               (b->ref->location.size() >= target.size() &&
                                b->ref->location.compare(b->ref->location.size() - target.size(),
                                                         target.size(), target) == 0));
          if (by_name || by_ref) {
            d->branch_of.emplace(it.key(), i);
            break;
          }
        }
      }
    }
    // After the mapping: emplace keeps the first branch given a tag, so the mapping wins.
    for (std::size_t i = 0; i < branches.size(); ++i) {
      const auto name = name_of(branches[i]);
      if (!name.empty()) {
        d->branch_of.emplace(name, i);
      }
    }
    if (d->branch_of.empty()) {
      return;
    }
  } else {
    // One property with a distinct string const in every branch; the first such property
    // in name order is the tag.
    const Node* first = through_refs(branches[0]);
    for (const auto& [prop, child] : first->properties) {
      std::unordered_map<std::string, std::size_t> tags;
      bool ok = true;
      for (std::size_t i = 0; ok && i < branches.size(); ++i) {
        const Node* b = through_refs(branches[i]);
        const auto it = std::lower_bound(b->properties.begin(), b->properties.end(), prop,
                                         [](const auto& e, const std::string& p) { return e.first < p; });
        if (it == b->properties.end() || it->first != prop) {
          ok = false;
          break;
        }
        auto tag = const_tag(it->second);
        ok = tag && tags.emplace(*tag, i).second;
      }
      if (ok) {
        d->property = prop;
        d->branch_of = std::move(tags);
        break;
      }
    }
    if (d->property.empty()) {
      return;
    }
  }
  for (const auto& [tag, i] : d->branch_of) { // sorted: the "known: ..." of error messages
    d->tags.push_back(tag);
  }
  std::sort(d->tags.begin(), d->tags.end());
  (!n.one_of.empty() ? n.one_of_dispatch : n.any_of_dispatch) = std::move(d);
}

} // namespace pagable::schema
