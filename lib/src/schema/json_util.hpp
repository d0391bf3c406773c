// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// What the compiler and the validators need to know about plain JSON values: their JSON Schema
// type, equality as JSON Schema means it, how deep they nest, and the short texts that error
// messages quote. Pure functions of their arguments: safe from any thread.

#include "schema/node.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

namespace pagable::schema {

// The TypeBit set `v` belongs to: an integral number is both t_number and t_integer (so
// 1.0 is an integer, as JSON Schema says), anything else exactly one bit.
std::uint8_t type_bits(const nlohmann::json& v);

// Equality as JSON Schema defines it for const, enum and uniqueItems: 1 and 1.0 are equal,
// true and 1 are not.
bool equal_json(const nlohmann::json& a, const nlohmann::json& b);

// True if `value` nests deeper than `limit` (checked without recursion, so it is safe on
// hostile input before anything recursive -- copying, comparing, dumping -- touches it).
bool nests_deeper_than(const nlohmann::json& value, std::size_t limit);

// Characters (code points) in UTF-8 text, as minLength/maxLength count them.
std::size_t utf8_length(const std::string& s);

// --- Texts for error messages ---

// "integer", "string", ...: the type name of `v` (a float is "number" even when integral).
const char* type_name_of(const nlohmann::json& v);
// "string or null": the names of the bits set (t_* of node.hpp); "no known type" for none.
std::string expected_types(std::uint8_t bits);
// `v` as JSON text cut to 60 characters; a deeply nested value is only named, never dumped.
std::string brief(const nlohmann::json& v);
// A number limit as written in a message, with all the digits a double holds.
std::string number_text(double d);

// --- Inline implementations ---

inline std::uint8_t type_bits(const nlohmann::json& v)
{
  using nlohmann::json;
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

inline bool equal_json(const nlohmann::json& a, const nlohmann::json& b)
{
  // nlohmann's operator== already treats 1 and 1.0 as equal and true and 1 as different.
  return a == b;
}

} // namespace pagable::schema
