// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Where the schema documents that references name come from, given only a URI -- the I/O
// and URI-to-file policy of <pagable/schema.hpp>, apart from the compiler that indexes what
// it finds. In order: the built-in draft meta-schemas, the documents of a stored bundle
// (Preloaded), then files on disk found by the URI's path: the whole path first, then shorter
// suffixes down to the last segment, beside the root schema file and then under each search
// path (a file: URI is first tried as the file it names). Nothing is fetched over a network.
//
// Contract: load() keeps no state, so asking twice reads twice (the compiler asks once per
// URI). One loader serves one compilation on one thread. A URI nothing matches, and a file
// that is not JSON or nests deeper than SchemaOptions::max_schema_depth, are
// Errc::invalid_input errors naming the URI or the file.

#include <pagable/result.hpp>
#include <pagable/schema.hpp>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pagable::schema {

// Documents to use for URIs before looking for files (a stored bundle's files), by URI.
using Preloaded = std::vector<std::pair<std::string, std::shared_ptr<const nlohmann::json>>>;

// The built-in meta-schemas, keyed by their $id without a trailing '#'; nullptr for others.
const nlohmann::json* builtin_schema(const std::string& uri);

enum class Origin {
  builtin, // compiled into the library: a bundle need not carry it
  bundle,  // from Preloaded
  file,    // read from disk
};

struct LoadedDocument {
  std::shared_ptr<const nlohmann::json> document;
  Origin origin;
};

class DocumentLoader {
public:
  // `root_dir` is searched before options.search_paths ("" for none). With `read_files`
  // false, a URI that is neither built in nor preloaded is unresolvable: nothing is read
  // from disk (a stored bundle must compile the same on any machine).
  DocumentLoader(std::string root_dir, const SchemaOptions& options, const Preloaded& preloaded,
                 bool read_files);

  Result<LoadedDocument> load(const std::string& uri) const;

private:
  std::string m_root_dir;
  const SchemaOptions& m_options;
  const Preloaded& m_preloaded;
  bool m_read_files;
};

} // namespace pagable::schema
