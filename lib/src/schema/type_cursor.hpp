// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// pagable's type-graph query over the compiled Node graph: which subschemas apply at one
// instance location, and what they say there (x-pagable-type, x-pagable-arc, the
// discriminated variant). Behind Schema::type_at, Schema::type_cursor and TypeCursor; the
// stream validator asks it for the subschemas of each object member and for the type of a
// value it buffered.
//
// Unlike validation, the query follows only what can be decided from the value at hand
// without evaluating anything: $ref, $dynamicRef's static target, allOf, and the one branch
// of a discriminated oneOf/anyOf that the value's tag picks. Pure functions of a read-only
// graph: safe from any number of threads.

#include <pagable/schema.hpp>

#include "schema/node.hpp"
#include "schema/regex.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace pagable::schema {

// Appends the subschemas `properties` and `patternProperties` of `n` assign to member `key`;
// true when there is any. A pattern that gives up (match limit) counts as no match and is
// reported in `*over` (the first one): a validator treats it as validate() does, as a fatal
// error.
bool match_member(const Node& n, const std::string& key, std::vector<const Node*>& out,
                  const Regex** over = nullptr);

// A cursor for the location whose value is `value` and to which the subschemas `entry` are
// assigned by its parent (or, at the root, the root subschema).
TypeCursor make_cursor(std::vector<const Node*> entry, const nlohmann::json& value);

} // namespace pagable::schema
