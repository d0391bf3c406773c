// SPDX-License-Identifier: MIT OR Apache-2.0
// The Evaluator's engine (evaluator.hpp): the recursion with its depth and stack guards, the
// dynamic scope $dynamicRef resolves in, error recording, and the applicators that evaluate
// one value against several subschemas -- allOf, anyOf, oneOf, not, if/then/else and the
// unevaluated* keywords that depend on what those evaluated.
//
// Evaluation order within a subschema is the keyword order of eval_keywords; errors are
// recorded depth-first in that order, which is the order Schema::validate documents.
#include "schema/evaluator.hpp"

#include "schema/uri.hpp"

#include <algorithm>

namespace pagable::schema {

using nlohmann::json;

namespace {

constexpr const char* k_not_message = "value must not match the \"not\" schema";

} // namespace

void Annotations::merge(const Annotations& o)
{
  all_props = all_props || o.all_props;
  props.insert(props.end(), o.props.begin(), o.props.end());
  all_items = all_items || o.all_items;
  items_prefix = std::max(items_prefix, o.items_prefix);
  item_indexes.insert(item_indexes.end(), o.item_indexes.begin(), o.item_indexes.end());
}

// One step of evaluation: counts the depth, and enters the subschema's resource into the
// dynamic scope (once, however many subschemas of the same resource are nested).
struct Evaluator::Frame {
  Frame(Evaluator& e, const Node& n) : m_e(e)
  {
    ++e.m_depth;
    m_pushed = n.owner != nullptr && (e.m_scope.empty() || e.m_scope.back() != n.owner);
    if (m_pushed) {
      e.m_scope.push_back(n.owner);
    }
  }
  ~Frame()
  {
    --m_e.m_depth;
    if (m_pushed) {
      m_e.m_scope.pop_back();
    }
  }
  Frame(const Frame&) = delete;
  Frame& operator=(const Frame&) = delete;
  Evaluator& m_e;
  bool m_pushed = false;
};

Evaluator::Evaluator(const SchemaOptions& options, ValidationReport& report)
    : m_options(options), m_report(report), m_stack(options.max_stack_bytes)
{
}

bool Evaluator::eval(const Node& n, const json& v, Annotations* annotations, Mode mode)
{
  if (m_fatal) {
    return false;
  }
  if (n.is_bool) {
    if (!n.bool_value && mode == Mode::report) {
      error(n, "", "no value is allowed here (false schema)");
    }
    return n.bool_value;
  }
  // Both guards, because neither suffices alone: the step count bounds a `{"$ref": "#"}` loop
  // the same on every build, the stack budget holds where frames are large (sanitizers).
  if (m_depth >= m_options.max_eval_depth || m_stack.exceeded()) {
    fatal_error(n, "evaluation nested too deep (over " + std::to_string(m_options.max_eval_depth) +
                       " steps or " + std::to_string(m_options.max_stack_bytes >> 10) +
                       " KiB of stack): a $ref loop that makes no progress, or too deep a document");
    return false;
  }
  Frame frame(*this, n);
  // unevaluated* sees only the annotations of this subschema's own evaluation; they are
  // handed to the caller's collector afterwards.
  Annotations local;
  Annotations* a = n.needs_annotations() ? &local : annotations;
  const bool ok = eval_keywords(n, v, a, mode);
  if (ok && annotations != nullptr && a == &local) {
    annotations->merge(local);
  }
  return ok;
}

bool Evaluator::eval_keywords(const Node& n, const json& v, Annotations* a, Mode mode)
{
  bool ok = true;
  // A failed keyword ends a probe at once; a report goes on to the next keyword unless the
  // failure was fatal.
#define PAGABLE_CHECK(expr)                                                                        \
  do {                                                                                             \
    if (!(expr)) {                                                                                 \
      ok = false;                                                                                  \
      if (mode == Mode::probe || m_fatal) {                                                        \
        return false;                                                                              \
      }                                                                                            \
    }                                                                                              \
  } while (false)
  if (n.ref != nullptr) {
    PAGABLE_CHECK(eval(*n.ref, v, a, mode));
  }
  if (n.dynamic_ref != nullptr) {
    PAGABLE_CHECK(eval(*dynamic_target(n), v, a, mode));
  }
  if (n.types != 0 || n.const_value || n.enum_values) {
    PAGABLE_CHECK(check_value(n, v, mode));
  }
  if (v.is_number()) {
    PAGABLE_CHECK(check_number(n, v, mode));
  } else if (v.is_string()) {
    PAGABLE_CHECK(check_string(n, v.get_ref<const std::string&>(), mode));
  } else if (v.is_array()) {
    PAGABLE_CHECK(check_array(n, v, a, mode));
  } else if (v.is_object()) {
    PAGABLE_CHECK(check_object(n, v, a, mode));
  }
  for (const Node* c : n.all_of) {
    PAGABLE_CHECK(eval(*c, v, a, mode));
  }
  if (!n.any_of.empty()) {
    PAGABLE_CHECK(check_any_of(n, v, a, mode));
  }
  if (!n.one_of.empty()) {
    PAGABLE_CHECK(check_one_of(n, v, a, mode));
  }
  if (n.not_ != nullptr) {
    const bool matched = eval(*n.not_, v, nullptr, Mode::probe);
    if (matched && mode == Mode::report) {
      error(n, "not", k_not_message);
    }
    PAGABLE_CHECK(!matched);
  }
  if (n.if_ != nullptr) {
    // `if` is never an error itself; what it evaluated counts only when it matched.
    Annotations if_seen;
    if (eval(*n.if_, v, a != nullptr ? &if_seen : nullptr, Mode::probe)) {
      if (a != nullptr) {
        a->merge(if_seen);
      }
      if (n.then_ != nullptr) {
        PAGABLE_CHECK(eval(*n.then_, v, a, mode));
      }
    } else if (n.else_ != nullptr) {
      PAGABLE_CHECK(eval(*n.else_, v, a, mode));
    }
  }
  // Last, so that every other keyword of this subschema has annotated first.
  if (n.unevaluated_properties != nullptr && v.is_object()) {
    PAGABLE_CHECK(check_unevaluated_properties(n, v, *a, mode));
  }
  if (n.unevaluated_items != nullptr && v.is_array()) {
    PAGABLE_CHECK(check_unevaluated_items(n, v, *a, mode));
  }
#undef PAGABLE_CHECK
  return ok;
}

// The outermost resource in the dynamic scope with the $dynamicAnchor named; the static
// target when the reference is not dynamic (its first target had no such anchor) or no
// resource in scope has one.
const Node* Evaluator::dynamic_target(const Node& n) const
{
  if (!n.dynamic_name.empty()) {
    for (const Resource* r : m_scope) {
      const auto it = r->dynamic_anchors.find(n.dynamic_name);
      if (it != r->dynamic_anchors.end()) {
        return it->second;
      }
    }
  }
  return n.dynamic_ref;
}

std::string Evaluator::pointer() const
{
  std::string out = m_prefix;
  for (const auto& s : m_path) {
    out += '/';
    out += s.key != nullptr ? escape_pointer_token(*s.key) : std::to_string(s.index);
  }
  return out;
}

void Evaluator::error(const Node& n, std::string_view keyword, std::string message)
{
  if (m_report.errors.size() >= m_options.max_errors) {
    m_report.truncated = true;
    return;
  }
  std::string location = n.location;
  if (!keyword.empty()) {
    location += "/";
    location += keyword;
  }
  m_report.errors.push_back({pointer(), std::move(location), std::move(message)});
}

void Evaluator::fatal_error(const Node& n, std::string message)
{
  if (!m_fatal) {
    m_fatal = true;
    error(n, "", std::move(message));
  }
}

// --- unevaluated*: what no other keyword of this subschema (or those it applied) touched ---

bool Evaluator::check_unevaluated_properties(const Node& n, const json& v, Annotations& a, Mode mode)
{
  if (a.all_props) {
    return true;
  }
  // The keys are the instance's own strings, so their addresses identify them.
  std::sort(a.props.begin(), a.props.end());
  bool ok = true;
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string& key = it.key();
    if (std::binary_search(a.props.begin(), a.props.end(), &key)) {
      continue;
    }
    PathPush p(*this, &key, 0);
    const Node& u = *n.unevaluated_properties;
    if (u.is_bool && !u.bool_value) {
      if (mode == Mode::probe) {
        return false;
      }
      ok = false;
      error(n, "unevaluatedProperties", "property \"" + key + "\" is not allowed (unevaluated)");
    } else if (!eval(u, it.value(), nullptr, mode)) {
      if (mode == Mode::probe || m_fatal) {
        return false;
      }
      ok = false;
    }
  }
  a.all_props = true;
  return ok;
}

bool Evaluator::check_unevaluated_items(const Node& n, const json& v, Annotations& a, Mode mode)
{
  if (a.all_items) {
    return true;
  }
  std::sort(a.item_indexes.begin(), a.item_indexes.end());
  bool ok = true;
  for (std::size_t i = a.items_prefix; i < v.size(); ++i) {
    if (std::binary_search(a.item_indexes.begin(), a.item_indexes.end(), i)) {
      continue;
    }
    PathPush p(*this, nullptr, i);
    const Node& u = *n.unevaluated_items;
    if (u.is_bool && !u.bool_value) {
      if (mode == Mode::probe) {
        return false;
      }
      ok = false;
      error(n, "unevaluatedItems", "item " + std::to_string(i) + " is not allowed (unevaluated)");
    } else if (!eval(u, v[i], nullptr, mode)) {
      if (mode == Mode::probe || m_fatal) {
        return false;
      }
      ok = false;
    }
  }
  a.all_items = true;
  return ok;
}

// --- anyOf / oneOf ---

// pagable's discriminator (dispatch.cpp): when the value's tag names a branch, only that
// branch is evaluated, in the caller's mode, so its own errors are reported -- marked with
// the variant -- instead of "matches none of the branches". Returns 1 valid, 0 invalid, -1
// when the dispatch does not apply to this value (no tag: the plain anyOf/oneOf rules run).
int Evaluator::dispatch(const Node& n, const std::vector<const Node*>& branches, const Dispatch& d,
                        const char* keyword, const json& v, Annotations* a, Mode mode)
{
  if (!v.is_object()) {
    return -1;
  }
  const auto tag = v.find(d.property);
  if (tag == v.end() || !tag->is_string()) {
    return -1;
  }
  const auto& value = tag->get_ref<const std::string&>();
  const auto b = d.branch_of.find(value);
  if (b == d.branch_of.end()) {
    if (mode == Mode::report) {
      std::string known;
      for (const auto& t : d.tags) {
        known += (known.empty() ? "\"" : ", \"") + t + "\"";
      }
      error(n, keyword, "unknown \"" + d.property + "\" value \"" + value + "\" (known: " + known + ")");
    }
    return 0;
  }
  const std::size_t before = m_report.errors.size();
  const bool ok = eval(*branches[b->second], v, a, mode);
  for (std::size_t i = before; i < m_report.errors.size(); ++i) {
    m_report.errors[i].message += " (in " + std::string(keyword) + " variant \"" + value + "\")";
  }
  return ok ? 1 : 0;
}

// Why the first branches failed, for a person: " [0: /a: expected string, got integer;
// 1: ...]" (locations below the current one only). Re-evaluates them in report mode and
// takes back what they reported: the branches ran as probes, which record nothing, so that
// a valid value pays nothing for messages it does not need.
std::string Evaluator::branch_hints(const std::vector<const Node*>& branches, const json& v)
{
  std::string hints;
  const std::string here = pointer();
  for (std::size_t i = 0; i < branches.size() && i < 3; ++i) {
    const std::size_t before = m_report.errors.size();
    const bool truncated = m_report.truncated;
    eval(*branches[i], v, nullptr, Mode::report);
    if (m_fatal) {
      break; // keep the fatal error where it is
    }
    if (m_report.errors.size() > before) {
      const auto& e = m_report.errors[before];
      hints += (hints.empty() ? " [" : "; ") + std::to_string(i) + ": " +
               (e.instance_location == here ? std::string() : e.instance_location.substr(here.size()) + ": ") +
               e.message;
    }
    m_report.errors.resize(before);
    m_report.truncated = truncated;
  }
  return hints.empty() ? hints : hints + (branches.size() > 3 ? "; ...]" : "]");
}

bool Evaluator::check_any_of(const Node& n, const json& v, Annotations* a, Mode mode)
{
  if (n.any_of_dispatch) {
    const int r = dispatch(n, n.any_of, *n.any_of_dispatch, "anyOf", v, a, mode);
    if (r >= 0) {
      return r == 1;
    }
  }
  bool any = false;
  for (const Node* c : n.any_of) {
    Annotations branch_seen;
    if (eval(*c, v, a != nullptr ? &branch_seen : nullptr, Mode::probe)) {
      any = true;
      // Without a collector the first match decides; with one, every matching branch's
      // annotations count, so all branches run.
      if (a == nullptr) {
        break;
      }
      a->merge(branch_seen);
    }
  }
  if (!any && mode == Mode::report && !m_fatal) {
    error(n, "anyOf", "value matches none of the " + std::to_string(n.any_of.size()) + " anyOf branches" +
                          branch_hints(n.any_of, v));
  }
  return any;
}

bool Evaluator::check_one_of(const Node& n, const json& v, Annotations* a, Mode mode)
{
  if (n.one_of_dispatch) {
    const int r = dispatch(n, n.one_of, *n.one_of_dispatch, "oneOf", v, a, mode);
    if (r >= 0) {
      return r == 1;
    }
  }
  std::vector<std::size_t> matched;
  Annotations kept;
  // A second match already decides "invalid": the rest need not run.
  for (std::size_t i = 0; i < n.one_of.size() && matched.size() < 2; ++i) {
    Annotations branch_seen;
    if (eval(*n.one_of[i], v, a != nullptr ? &branch_seen : nullptr, Mode::probe)) {
      matched.push_back(i);
      kept = std::move(branch_seen);
    }
  }
  if (matched.size() == 1) {
    if (a != nullptr) {
      a->merge(kept);
    }
    return true;
  }
  if (mode == Mode::report && !m_fatal) {
    if (matched.empty()) {
      error(n, "oneOf", "value matches none of the " + std::to_string(n.one_of.size()) + " oneOf branches" +
                            branch_hints(n.one_of, v));
    } else {
      error(n, "oneOf", "value matches oneOf branches " + std::to_string(matched[0]) + " and " +
                            std::to_string(matched[1]) + "; exactly one must match");
    }
  }
  return false;
}

} // namespace pagable::schema
