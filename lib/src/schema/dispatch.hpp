// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// pagable's typetag layer over oneOf/anyOf: a Dispatch (node.hpp) that picks a branch from one
// property's string value, so that a tagged union is validated against the branch its tag
// names (errors from that branch, not "matches none of the branches") and the type query
// can name the variant without evaluating every branch.
//
// Contract: build_dispatch runs once per Node, after every reference in the graph is
// resolved (it looks through $ref); it only adds Node::one_of_dispatch or any_of_dispatch,
// and leaves both empty when the branches carry no usable tag. Single-threaded, like the
// rest of compiling.

#include "schema/node.hpp"

namespace pagable::schema {

void build_dispatch(Node& n);

} // namespace pagable::schema
