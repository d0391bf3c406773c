// SPDX-License-Identifier: MIT OR Apache-2.0
#include "schema/json_util.hpp"

#include <sstream>
#include <utility>
#include <vector>

namespace pagable::schema {

using nlohmann::json;

bool nests_deeper_than(const json& value, std::size_t limit)
{
  std::vector<std::pair<const json*, std::size_t>> todo{{&value, 0}};
  while (!todo.empty()) {
    const auto [v, depth] = todo.back();
    todo.pop_back();
    if (!v->is_structured()) {
      continue;
    }
    if (depth >= limit) {
      return true;
    }
    for (const auto& child : *v) {
      todo.emplace_back(&child, depth + 1);
    }
  }
  return false;
}

std::size_t utf8_length(const std::string& s)
{
  std::size_t n = 0;
  for (const char c : s) {
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0; // skip continuation bytes
  }
  return n;
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

std::string brief(const json& v)
{
  // dump() recurses: a hostile instance nested thousands deep would overflow the stack.
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

} // namespace pagable::schema
