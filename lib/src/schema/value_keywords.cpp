// SPDX-License-Identifier: MIT OR Apache-2.0
// The Evaluator's keywords for one kind of value (evaluator.hpp): type, const and enum;
// numbers; strings (lengths, pattern, format); arrays (counts, uniqueItems, prefixItems and
// items, contains); objects (counts, required, dependentRequired, properties,
// patternProperties, additionalProperties, propertyNames, dependentSchemas).
//
// Each returns the keyword family's verdict. In Mode::probe it returns at the first failure;
// in Mode::report it records each failure and goes on, except after a fatal error. The
// stream validator (stream_validator.cpp, check_in_place) repeats the container keywords
// that need only the members' names and count, with the same messages: change both.
#include "schema/evaluator.hpp"

#include "schema/json_util.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace pagable::schema {

using nlohmann::json;

bool Evaluator::check_value(const Node& n, const json& v, Mode mode)
{
  bool ok = true;
  if (n.types != 0 && (n.types & type_bits(v)) == 0) {
    if (mode == Mode::probe) {
      return false;
    }
    ok = false;
    error(n, "type", "expected " + expected_types(n.types) + ", got " + type_name_of(v));
  }
  if (n.const_value && !equal_json(*n.const_value, v)) {
    if (mode == Mode::probe) {
      return false;
    }
    ok = false;
    error(n, "const", "value must be " + brief(*n.const_value));
  }
  if (n.enum_values) {
    const bool found = std::any_of(n.enum_values->begin(), n.enum_values->end(),
                                   [&](const json& e) { return equal_json(e, v); });
    if (!found) {
      if (mode == Mode::probe) {
        return false;
      }
      ok = false;
      error(n, "enum", "value " + brief(v) + " is not one of " + brief(json(*n.enum_values)));
    }
  }
  return ok;
}

bool Evaluator::check_number(const Node& n, const json& v, Mode mode)
{
  const double x = v.get<double>();
  bool ok = true;
  auto bound = [&](const std::optional<double>& limit, bool good, const char* kw, const char* what) {
    if (limit && !good) {
      ok = false;
      if (mode == Mode::report) {
        error(n, kw, "number " + brief(v) + " is " + what + " " + number_text(*limit));
      }
    }
  };
  bound(n.minimum, !n.minimum || x >= *n.minimum, "minimum", "less than minimum");
  bound(n.maximum, !n.maximum || x <= *n.maximum, "maximum", "greater than maximum");
  // draft-04 writes exclusiveness as a boolean beside minimum/maximum: the error is theirs.
  bound(n.exclusive_minimum, !n.exclusive_minimum || x > *n.exclusive_minimum,
        n.draft == Draft::d4 ? "minimum" : "exclusiveMinimum", "not greater than");
  bound(n.exclusive_maximum, !n.exclusive_maximum || x < *n.exclusive_maximum,
        n.draft == Draft::d4 ? "maximum" : "exclusiveMaximum", "not less than");
  if (n.multiple_of && *n.multiple_of > 0) {
    bool multiple = false;
    // Integers against an integral divisor in exact integer arithmetic: a double has only
    // 53 bits, so 2^63-1 would otherwise pass as a multiple of 2. Anything else in doubles,
    // with a tolerance for divisors such as 0.01 that binary cannot represent.
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
      if (mode == Mode::report) {
        error(n, "multipleOf", "number " + brief(v) + " is not a multiple of " + number_text(*n.multiple_of));
      }
    }
  }
  return ok;
}

bool Evaluator::check_string(const Node& n, const std::string& s, Mode mode)
{
  bool ok = true;
  if (n.min_length || n.max_length) {
    const std::size_t len = utf8_length(s);
    if (n.min_length && len < *n.min_length) {
      ok = false;
      if (mode == Mode::report) {
        error(n, "minLength", "string is shorter than " + std::to_string(*n.min_length) + " characters");
      } else {
        return false;
      }
    }
    if (n.max_length && len > *n.max_length) {
      ok = false;
      if (mode == Mode::report) {
        error(n, "maxLength", "string is longer than " + std::to_string(*n.max_length) + " characters");
      } else {
        return false;
      }
    }
  }
  if (n.pattern) {
    const auto m = n.pattern->search(s);
    if (m == RegexMatch::limit) {
      // Not "does not match": the answer is unknown, so the whole validation is.
      fatal_error(n, "pattern \"" + n.pattern->source() + "\" exceeded the regex match limit");
      return false;
    }
    if (m == RegexMatch::no) {
      ok = false;
      if (mode == Mode::report) {
        error(n, "pattern", "string " + brief(json(s)) + " does not match pattern \"" + n.pattern->source() + "\"");
      } else {
        return false;
      }
    }
  }
  if (n.format != Format::none && !check_format(n.format, s)) {
    ok = false;
    if (mode == Mode::report) {
      error(n, "format", "string " + brief(json(s)) + " is not a valid " + n.format_name);
    }
  }
  return ok;
}

bool Evaluator::check_array(const Node& n, const json& v, Annotations* a, Mode mode)
{
  bool ok = true;
  const std::size_t size = v.size();
  if (n.min_items && size < *n.min_items) {
    if (mode == Mode::probe) {
      return false;
    }
    ok = false;
    error(n, "minItems", "array has " + std::to_string(size) + " items, fewer than " + std::to_string(*n.min_items));
  }
  if (n.max_items && size > *n.max_items) {
    if (mode == Mode::probe) {
      return false;
    }
    ok = false;
    error(n, "maxItems", "array has " + std::to_string(size) + " items, more than " + std::to_string(*n.max_items));
  }
  if (n.unique_items && size > 1) {
    // Pairwise, up to the first equal pair (the one the message names): std::hash<json>
    // tells 1 from 1.0, which are equal here, so a hash set would miss duplicates.
    for (std::size_t i = 0; i < size && ok; ++i) {
      for (std::size_t j = i + 1; j < size; ++j) {
        if (equal_json(v[i], v[j])) {
          if (mode == Mode::probe) {
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
    if (!eval(*n.prefix_items[i], v[i], nullptr, mode)) {
      if (mode == Mode::probe || m_fatal) {
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
      if (!eval(*n.items, v[i], nullptr, mode)) {
        if (mode == Mode::probe || m_fatal) {
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
    // Every item is probed (not only up to the first match): minContains/maxContains count
    // them, and unevaluatedItems treats each matching item as evaluated.
    std::size_t matches = 0;
    for (std::size_t i = 0; i < size; ++i) {
      if (eval(*n.contains, v[i], nullptr, Mode::probe)) {
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
      if (mode == Mode::probe) {
        return false;
      }
      ok = false;
      error(n, "contains", std::to_string(matches) + " items match \"contains\", fewer than " + std::to_string(min));
    }
    if (n.max_contains && matches > *n.max_contains) {
      if (mode == Mode::probe) {
        return false;
      }
      ok = false;
      error(n, "maxContains", std::to_string(matches) + " items match \"contains\", more than " +
                                  std::to_string(*n.max_contains));
    }
  }
  return ok;
}

bool Evaluator::check_object(const Node& n, const json& v, Annotations* a, Mode mode)
{
  bool ok = true;
  const std::size_t size = v.size();
  // Records a failure; false when the caller must stop (a probe).
  auto fail = [&](const char* kw, std::string message) {
    ok = false;
    if (mode == Mode::report) {
      error(n, kw, std::move(message));
    }
    return mode == Mode::report;
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
    // Both sides are sorted by name (nlohmann keeps object members sorted; the compiler
    // sorts Node::properties), so one merge-join pass finds each member's `properties` entry.
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
        if (!eval(*prop->second, it.value(), nullptr, mode)) {
          if (mode == Mode::probe || m_fatal) {
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
          if (!eval(*child, it.value(), nullptr, mode)) {
            if (mode == Mode::probe || m_fatal) {
              return false;
            }
            ok = false;
          }
        }
      }
      if (!matched && n.additional_properties != nullptr) {
        matched = true;
        // `additionalProperties: false` names the member, which evaluating `false` would not.
        if (n.additional_properties->is_bool && !n.additional_properties->bool_value) {
          ok = false;
          if (mode == Mode::probe) {
            return false;
          }
          error(n, "additionalProperties", "property \"" + key + "\" is not allowed");
        } else if (!eval(*n.additional_properties, it.value(), nullptr, mode)) {
          if (mode == Mode::probe || m_fatal) {
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
        if (!eval(*n.property_names, name, nullptr, Mode::probe)) {
          if (m_fatal || !fail("propertyNames", "property name \"" + key + "\" does not match \"propertyNames\"")) {
            return false;
          }
        }
      }
    }
  }
  for (const auto& [name, child] : n.dependent_schemas) {
    if (v.contains(name) && !eval(*child, v, a, mode)) {
      if (mode == Mode::probe || m_fatal) {
        return false;
      }
      ok = false;
    }
  }
  return ok;
}

} // namespace pagable::schema
