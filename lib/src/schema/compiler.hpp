// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Turns schema documents into the Node graph of node.hpp: indexes every resource ($id) and
// anchor, compiles subschemas once each, resolves $ref/$dynamicRef by URI (loading files by
// URI path suffix, or the built-in meta-schemas), then derives discriminator dispatch.

#include "schema/node.hpp"

#include <pagable/result.hpp>
#include <pagable/schema.hpp>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace pagable::schema {

// Everything a compiled schema owns; immutable once built.
struct CompiledGraph {
  std::vector<std::shared_ptr<const nlohmann::json>> documents;
  std::vector<std::unique_ptr<Node>> nodes;
  std::vector<std::unique_ptr<Resource>> resources;
  const Node* root = nullptr;
  std::string base_uri;
  // What a schema bundle (docs/SCHEMA.md "Stored schemas") records: the root document with
  // the URI it was compiled under, and every document loaded from a file, by the URI asked for.
  std::shared_ptr<const nlohmann::json> root_document;
  std::string root_retrieval_uri;
  std::vector<std::pair<std::string, std::shared_ptr<const nlohmann::json>>> loaded_files;
};

// Documents to use for URIs before looking for files (a stored bundle's files), by URI.
using Preloaded = std::vector<std::pair<std::string, std::shared_ptr<const nlohmann::json>>>;

// `root_dir` is searched first for referenced files ("" for none). With `read_files` false,
// a URI that is neither built in nor preloaded is an unresolvable reference: nothing is read
// from disk (a stored bundle must compile the same on any machine).
Result<std::unique_ptr<CompiledGraph>> compile_graph(std::shared_ptr<const nlohmann::json> document,
                                                     std::string base_uri, std::string root_dir,
                                                     const SchemaOptions& options,
                                                     const Preloaded& preloaded = {},
                                                     bool read_files = true);

// The built-in meta-schemas, keyed by their $id without a trailing '#'.
const nlohmann::json* builtin_schema(const std::string& uri);

} // namespace pagable::schema
