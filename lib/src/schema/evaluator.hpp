// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The whole-value validator: evaluates an instance value, held whole in memory, against a
// compiled Node and everything it reaches, recursively. Schema::validate is one eval() at
// the root; the NodeValidator (stream_validator.cpp) runs one on each scalar and on each
// container it had to buffer.
//
// Contract: an Evaluator lives for one validation and is used by one thread; it appends its
// errors to the ValidationReport it was given (it never sets `valid`: the caller decides
// from eval()'s verdict and fatal()). The Node graph is only read. Hostile input ends with
// one "fatal" error -- evaluation too deep (steps or machine stack), a regex over its match
// limit -- after which every eval() returns false at once and fatal() is true; the verdict
// is then "invalid", whatever was evaluated before.
//
// The work is split by keyword family: evaluator.cpp holds the recursion, the dynamic scope,
// error recording and the applicators that evaluate the same value against several
// subschemas (allOf, anyOf, oneOf with pagable's discriminator dispatch, not, if/then/else,
// unevaluated*); value_keywords.cpp holds the keywords of one kind of value (type, const,
// enum, numbers, strings, arrays, objects).

#include <pagable/schema.hpp>

#include "schema/node.hpp"
#include "schema/stack_budget.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pagable::schema {

// What the caller of an evaluation wants back.
enum class Mode {
  // The verdict only: stop at the first failure, record nothing. Used where a failure is not
  // an error by itself (a branch of anyOf/oneOf, not, if, contains, propertyNames): the
  // applicator then records one error of its own, and the evaluation stays cheap.
  probe,
  // Record every failure (up to SchemaOptions::max_errors) and keep going.
  report,
};

// Which members and items of the value at one location some subschema has evaluated: the
// annotations unevaluatedProperties and unevaluatedItems depend on. Collected only below a
// subschema that has one of those keywords (Node::needs_annotations).
struct Annotations {
  bool all_props = false;
  std::vector<const std::string*> props; // keys of the instance object (its own strings)
  bool all_items = false;
  std::size_t items_prefix = 0; // items [0, items_prefix) were evaluated
  std::vector<std::size_t> item_indexes;

  void merge(const Annotations& o);
};

class Evaluator {
public:
  Evaluator(const SchemaOptions& options, ValidationReport& report);

  // True once a fatal error has been recorded (see the contract above).
  bool fatal() const noexcept { return m_fatal; }

  // Validating one value inside a larger document: the JSON Pointer of that value, which
  // prefixes every instance location recorded.
  void set_prefix(std::string prefix) { m_prefix = std::move(prefix); }

  // True if `v` is valid against `n`. `annotations`, when not null, receives what `n`
  // evaluated of `v` (for an enclosing unevaluated* keyword).
  bool eval(const Node& n, const nlohmann::json& v, Annotations* annotations, Mode mode);

private:
  struct Frame;
  struct PathPush;
  struct Segment {
    const std::string* key; // the member name, or nullptr for an array item
    std::size_t index;
  };

  // Functions that build message text are kept out of line (gnu::noinline) so that the
  // frames on the recursive path stay small: sanitizer builds give every temporary string a
  // stack slot of its own, and the stack budget ends deep documents sooner.

  // evaluator.cpp
  bool eval_keywords(const Node& n, const nlohmann::json& v, Annotations* a, Mode mode);
  const Node* dynamic_target(const Node& n) const;
  [[gnu::noinline]] std::string pointer() const;
  [[gnu::noinline]] void error(const Node& n, std::string_view keyword, std::string message);
  [[gnu::noinline]] void fatal_error(const Node& n, std::string message);
  bool check_any_of(const Node& n, const nlohmann::json& v, Annotations* a, Mode mode);
  bool check_one_of(const Node& n, const nlohmann::json& v, Annotations* a, Mode mode);
  int dispatch(const Node& n, const std::vector<const Node*>& branches, const Dispatch& d,
               const char* keyword, const nlohmann::json& v, Annotations* a, Mode mode);
  [[gnu::noinline]] std::string branch_hints(const std::vector<const Node*>& branches, const nlohmann::json& v);
  bool check_unevaluated_properties(const Node& n, const nlohmann::json& v, Annotations& a, Mode mode);
  bool check_unevaluated_items(const Node& n, const nlohmann::json& v, Annotations& a, Mode mode);

  // value_keywords.cpp
  [[gnu::noinline]] bool check_value(const Node& n, const nlohmann::json& v, Mode mode);
  [[gnu::noinline]] bool check_number(const Node& n, const nlohmann::json& v, Mode mode);
  [[gnu::noinline]] bool check_string(const Node& n, const std::string& s, Mode mode);
  bool check_array(const Node& n, const nlohmann::json& v, Annotations* a, Mode mode);
  bool check_object(const Node& n, const nlohmann::json& v, Annotations* a, Mode mode);

  const SchemaOptions& m_options;
  ValidationReport& m_report;
  std::string m_prefix;
  std::vector<Segment> m_path;          // below m_prefix: the location being evaluated
  std::vector<const Resource*> m_scope; // resources entered, outermost first ($dynamicRef)
  std::size_t m_depth = 0;
  StackBudget m_stack;
  bool m_fatal = false;
};

// --- Inline implementations ---

// Extends the instance location by one member or item for the life of the object.
struct Evaluator::PathPush {
  PathPush(Evaluator& e, const std::string* key, std::size_t index) : m_e(e)
  {
    e.m_path.push_back({key, index});
  }
  ~PathPush() { m_e.m_path.pop_back(); }
  PathPush(const PathPush&) = delete;
  PathPush& operator=(const PathPush&) = delete;
  Evaluator& m_e;
};

} // namespace pagable::schema
