// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Turns schema documents into the Node graph of node.hpp: indexes every resource ($id) and
// anchor, compiles subschemas once each, resolves $ref/$dynamicRef by URI (documents not
// loaded yet come from loader.hpp: built-ins, a bundle's files, files by URI path suffix),
// then derives discriminator dispatch (dispatch.hpp).
// Contract: compile_graph depends only on its arguments and the files it reads; a schema that
// cannot be compiled (unresolvable reference, bad pattern, too deep) is an Errc::invalid_input
// error, never an exception. Calls on different threads are independent.

#include <pagable/result.hpp>
#include <pagable/schema.hpp>

#include "schema/loader.hpp"
#include "schema/node.hpp"

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

// `root_dir` is searched first for referenced files ("" for none). With `read_files` false,
// a URI that is neither built in nor preloaded is an unresolvable reference: nothing is read
// from disk (a stored bundle must compile the same on any machine).
Result<std::unique_ptr<CompiledGraph>> compile_graph(std::shared_ptr<const nlohmann::json> document,
                                                     std::string base_uri, std::string root_dir,
                                                     const SchemaOptions& options,
                                                     const Preloaded& preloaded = {},
                                                     bool read_files = true);

} // namespace pagable::schema
