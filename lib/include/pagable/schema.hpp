// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// JSON Schema: load, compile once, validate many times; plus pagable's type layer.
//
// Drafts: 2020-12 (the default), draft-07 (and -06), draft-04, chosen per schema resource by
// its `$schema`; the OpenAPI 3.1 dialect is 2020-12 plus annotation keywords. References are
// resolved by URI: `$id` (relative, absolute, URN), `$anchor`, `$dynamicAnchor`, draft-07
// `"$id": "#name"`, JSON Pointer fragments (with ~0 ~1 and percent escapes). A URI that no
// loaded schema claims is looked up as a file by its URI path -- the whole path first, then
// shorter suffixes down to the last segment -- beside the root schema file and under each
// search path, and the file is then registered under both its own `$id` and the URI asked
// for. The draft meta-schemas are built in. Nothing is ever fetched over a network; an
// unresolvable reference is an Errc::invalid_input error naming it.
//
// Hostile schemas end with an error, never a crash or a hang: schema nesting and evaluation
// depth are bounded (a `{"$ref": "#"}` loop reports "evaluation too deep"), and `pattern`
// runs on PCRE2 with match and depth limits (a runaway pattern is a validation error).
//
// Thread-safety: a compiled Schema is immutable; validate() and the type queries may be
// called from any number of threads at once.

#include <pagable/result.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagable::schema {

struct SchemaOptions {
  // Directories searched (after the root schema file's own directory) for referenced files.
  std::vector<std::string> search_paths;
  // Assert `format` (date-time, date, time, duration, email, idn-email, hostname, ipv4,
  // ipv6, uri, uri-reference, iri, iri-reference, uuid, regex, json-pointer,
  // relative-json-pointer). Otherwise `format` is an annotation only.
  bool validate_formats = false;
  // validate() stops collecting after this many errors (the verdict is still exact).
  std::size_t max_errors = 100;
  // Bounds on hostile input: nesting of schema objects, and nested evaluation steps
  // (instance depth times the applicators on the way). Exceeding either is an error.
  std::size_t max_schema_depth = 512;
  std::size_t max_eval_depth = 1500;
  // Machine stack that compiling or one validate() may use (whichever limit comes first
  // ends the walk with the same error). Keep it well under the calling thread's stack.
  std::size_t max_stack_bytes = std::size_t{2} << 20;
  // The `$schema` assumed where a schema has none ("" = draft 2020-12), e.g.
  // "http://json-schema.org/draft-07/schema#".
  std::string default_meta_schema;
};

struct ValidationError {
  std::string instance_location; // JSON Pointer into the instance ("" = the whole document)
  std::string schema_location;   // "#/$defs/response/required", or "<uri>#/..." in another resource
  std::string message;           // e.g. `required property "description" missing`

  // `/paths/~1repos/get: required property "description" missing (schema #/$defs/x/required)`;
  // the whole document is written "(root)".
  std::string to_string() const;
};

struct ValidationReport {
  bool valid = true;
  std::vector<ValidationError> errors; // empty iff valid; at most SchemaOptions::max_errors
  bool truncated = false;              // more errors existed than were kept
};

// What pagable's layer knows about the subschemas that apply at one instance location.
struct TypeInfo {
  bool found = false;             // the location exists in the instance
  std::string type_name;          // stable name: `x-pagable-type`, else the $defs/definitions key
  std::optional<bool> arc;        // `x-pagable-arc`, when some applicable subschema says so
  std::string variant;            // the discriminator value that picked a oneOf/anyOf branch
  std::vector<std::string> schema_locations; // every subschema applied there, outermost first
};

// The incremental form of Schema::type_at for walkers such as pack: a cursor stands for one
// instance location; member()/element() step to a child given the child's value (which
// decides discriminated branches) in time proportional to the subschemas that apply.
// Cheap to copy; valid while its Schema lives. A default-constructed cursor knows nothing.
class TypeCursor {
public:
  struct State;
  TypeCursor() = default;
  explicit TypeCursor(std::shared_ptr<const State> state) : m_state(std::move(state)) {}

  TypeInfo info() const; // found is true for any cursor made by a Schema
  TypeCursor member(const std::string& key, const nlohmann::json& value) const;
  TypeCursor element(std::size_t index, const nlohmann::json& value) const;

private:
  std::shared_ptr<const State> m_state;
};

// --- Node-by-node validation (docs/SCHEMA.md "Streaming validation") ---

struct StreamOptions {
  // A construct that needs a whole value in view (oneOf, anyOf, not, if, contains,
  // uniqueItems, unevaluated*, const/enum on a container, dependentSchemas, a $ref cycle,
  // $dynamicRef) makes the validator keep that value in memory until it completes. Beyond
  // this many bytes (about: the value's JSON text) validation stops with one error naming the
  // schema location and the instance location.
  std::size_t max_buffer_bytes = std::size_t{256} << 20;
};

// What the validator says about one completed value.
struct NodeVerdict {
  bool valid = true;       // this value and everything below it (as far as validated so far)
  std::string type_name;   // its stable type name, "" when none
  std::optional<bool> arc; // `x-pagable-arc` of the subschemas that apply, when one says so
};

struct StreamStats {
  std::uint64_t values = 0;            // values seen
  std::uint64_t checked_in_place = 0;  // containers checked from their own members only
  std::uint64_t buffered_values = 0;   // containers kept whole for a construct that needs it
  std::uint64_t peak_buffer_bytes = 0; // the largest such value
};

// Validates one document given as a stream of events in document order (a SAX walk, as
// pack does): each value is checked as it completes. A scalar is validated fully on the
// spot. A container is checked when it closes against the keywords that need only itself
// and its direct members (type, required, min/max counts, dependentRequired,
// additionalProperties: false, propertyNames); its members were checked as they completed
// against the subschemas properties/patternProperties/additionalProperties/items assign
// them, so no member is held. Where a construct needs the whole value (StreamOptions), that
// value -- and only it -- is built in memory and validated with the whole-document
// validator when it closes. The errors are the same as Schema::validate's (instance and
// schema locations; their order may differ: members are reported before their parent).
// One NodeValidator per document, used by one thread; the Schema must outlive it.
class NodeValidator {
public:
  virtual ~NodeValidator() = default;
  virtual void begin_object() = 0;
  virtual void begin_array() = 0;
  virtual void key(const std::string& name) = 0; // before each member's value
  virtual NodeVerdict scalar(const nlohmann::json& value) = 0;
  virtual NodeVerdict end_container() = 0;
  // The errors so far (report().valid is final once the top-level value has completed).
  virtual const ValidationReport& report() const = 0;
  // True after an error that ends validation (evaluation too deep, a regex over its limit,
  // a value over max_buffer_bytes): the caller may stop feeding events.
  virtual bool stopped() const = 0;
  virtual StreamStats stats() const = 0;
};

class Schema {
public:
  virtual ~Schema() = default;

  // Validates a whole document. Errors are ordered by discovery (depth-first).
  virtual ValidationReport validate(const nlohmann::json& instance) const = 0;

  // The type-graph query packers use: which named subschemas, arc annotation and
  // discriminated variant apply at `pointer` (RFC 6901) in `instance`. Follows properties,
  // patternProperties, additionalProperties, items/prefixItems, $ref, allOf, and a
  // discriminated oneOf/anyOf (only the branch the tag picks). Undiscriminated oneOf/anyOf
  // branches and if/then/else are not followed (see docs/SCHEMA.md). An invalid pointer is
  // an Errc::invalid_argument error; a pointer that is valid but absent gives found=false.
  virtual Result<TypeInfo> type_at(const nlohmann::json& instance, std::string_view pointer) const = 0;

  // A cursor at the document root, whose value is `root_value`.
  virtual TypeCursor type_cursor(const nlohmann::json& root_value) const = 0;

  // The base URI of the root resource.
  virtual const std::string& base_uri() const = 0;

  // A validator for one document fed as events (see NodeValidator).
  virtual std::unique_ptr<NodeValidator> node_validator(const StreamOptions& options = {}) const = 0;

  // The schema as stored in an archive (docs/FORMAT.md "Schema bundles"): the root document
  // with the URI it was compiled under, plus every document loaded from a file, so that
  // load_schema_bundle compiles the same schema, with the same schema locations, with no
  // file at hand. Deterministic: the same files give the same bundle.
  virtual nlohmann::json bundle() const = 0;
};

// Reads, parses and compiles the schema file at `path` (its base URI is its file: URI unless
// it has an `$id`). Files it references are loaded as described above.
Result<std::shared_ptr<const Schema>> load_schema_file(const std::string& path,
                                                       const SchemaOptions& options);

// Compiles an in-memory schema. `base_uri` is used when the schema has no `$id` (default
// "urn:pagable:root"); relative files are then looked up under options.search_paths only.
Result<std::shared_ptr<const Schema>> compile_schema(const nlohmann::json& document,
                                                     const SchemaOptions& options,
                                                     std::string base_uri = {});

// Compiles a bundle made by Schema::bundle(). Reads no file (options.search_paths is
// ignored); Errc::invalid_input when the bundle is malformed or does not compile.
Result<std::shared_ptr<const Schema>> load_schema_bundle(const nlohmann::json& bundle,
                                                         const SchemaOptions& options);

} // namespace pagable::schema
