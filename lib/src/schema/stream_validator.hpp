// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The NodeValidator of <pagable/schema.hpp> (docs/SCHEMA.md "Streaming validation"):
// validates a document fed as SAX-like events, checking each value as it completes and
// holding in memory only the values a construct needs whole.
//
// Contract: as NodeValidator's -- one per document, used by one thread. It keeps references
// to `root` and `schema_options`, which must outlive it (a Schema owns both); errors are
// reported through report(), never returned.

#include <pagable/schema.hpp>

#include "schema/node.hpp"

#include <memory>

namespace pagable::schema {

enum class Buffering {
  as_needed,      // buffer a value only where a construct needs it whole (StreamOptions)
  whole_document, // buffer the top-level value: the schema uses $dynamicRef, whose target
                  // depends on the dynamic scope that only the whole-document walk keeps
};

// Whether any subschema says x-pagable-arc: only then are the arcs of scalars and of values
// inside buffered ones worked out (through the type graph, which costs a little per value).
enum class ArcAnnotations { none, some };

std::unique_ptr<NodeValidator> make_node_validator(const Node& root, const SchemaOptions& schema_options,
                                                   const StreamOptions& options, Buffering buffering,
                                                   ArcAnnotations arcs);

} // namespace pagable::schema
