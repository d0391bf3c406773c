// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The compiled form of a schema: one Node per subschema, keywords resolved to pointers (no
// string-keyed lookups while validating, except property names and discriminator tags).
// Built once by the compiler (compiler.cpp), then read-only.

#include "schema/format.hpp"
#include "schema/regex.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace pagable::schema {

enum class Draft : std::uint8_t { d4, d6, d7, d2020 };

enum TypeBit : std::uint8_t {
  t_null = 1, t_boolean = 2, t_object = 4, t_array = 8, t_number = 16, t_string = 32, t_integer = 64,
};

struct Node;

// A schema resource (a document root or a subschema with `$id`): the unit of dynamic scope.
struct Resource {
  std::string uri;
  std::unordered_map<std::string, const Node*> dynamic_anchors;
};

// oneOf/anyOf told apart by one property's value (OpenAPI discriminator or shared const).
struct Dispatch {
  std::string property;
  std::unordered_map<std::string, std::size_t> branch_of; // tag -> branch index
  std::vector<std::string> tags;                           // known tags, sorted, for errors
  bool from_discriminator = false;
};

struct Node {
  std::string location; // schema location, "#/..." or "<uri>#/..."
  const Resource* owner = nullptr;
  Draft draft = Draft::d2020;
  bool is_bool = false;
  bool bool_value = true;
  bool validation_vocab = true;

  std::uint8_t types = 0; // 0: no type keyword
  const Node* ref = nullptr;
  const Node* dynamic_ref = nullptr;
  std::string dynamic_name; // set when the $dynamicRef's first target has this $dynamicAnchor

  std::optional<nlohmann::json> const_value;
  std::optional<std::vector<nlohmann::json>> enum_values;

  std::optional<double> minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of;
  std::optional<std::size_t> min_length, max_length;
  std::unique_ptr<Regex> pattern;
  Format format = Format::none;
  std::string format_name;

  std::optional<std::size_t> min_items, max_items, min_contains, max_contains;
  bool unique_items = false;
  std::vector<const Node*> prefix_items; // 2020 prefixItems, or draft-07 array `items`
  const Node* items = nullptr;           // applies to indexes >= prefix_items.size()
  const Node* contains = nullptr;
  const Node* unevaluated_items = nullptr;

  std::optional<std::size_t> min_properties, max_properties;
  std::vector<std::string> required;
  std::vector<std::pair<std::string, const Node*>> properties; // sorted by name
  std::vector<std::pair<std::unique_ptr<Regex>, const Node*>> pattern_properties;
  const Node* additional_properties = nullptr;
  const Node* property_names = nullptr;
  struct DependentRequired {
    std::string property;
    std::vector<std::string> needed;
    const char* keyword; // "dependentRequired", or draft-07's "dependencies"
  };
  std::vector<DependentRequired> dependent_required;
  std::vector<std::pair<std::string, const Node*>> dependent_schemas;
  const Node* unevaluated_properties = nullptr;

  std::vector<const Node*> all_of, any_of, one_of;
  const Node* not_ = nullptr;
  const Node* if_ = nullptr;
  const Node* then_ = nullptr;
  const Node* else_ = nullptr;

  // pagable's layer
  std::string type_name;
  std::optional<bool> arc;
  std::unique_ptr<Dispatch> one_of_dispatch, any_of_dispatch;
  const nlohmann::json* discriminator = nullptr; // the raw OpenAPI keyword, until resolved
  std::string base_uri;                          // to resolve discriminator mappings

  bool needs_annotations() const noexcept
  {
    return unevaluated_items != nullptr || unevaluated_properties != nullptr;
  }
};

} // namespace pagable::schema
