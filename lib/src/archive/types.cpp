// SPDX-License-Identifier: MIT OR Apache-2.0
// Archive::types (`hydrate --types`): the stable type names of a root's values under its
// stored schema. The schema's type cursor picks a discriminated branch by looking at a whole
// value, so the document is built in memory -- straight from the walk, not from its text.
#include <pagable/archive.hpp>
#include <pagable/schema.hpp>
#include <pagable/stored_schema.hpp>

#include "archive/archive_impl.hpp"
#include "util/pointer_text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>

namespace pagable {
namespace {

using json = nlohmann::json;

// Builds the walked value as a nlohmann::json.
class JsonBuilder final : public hydrate::ValueVisitor {
public:
  Result<void> null_value() override { return put(nullptr); }
  Result<void> boolean(bool b) override { return put(b); }
  Result<void> integer(std::int64_t i) override { return put(i); }
  Result<void> big_integer(std::string_view digits) override
  {
    return put(std::strtod(std::string(digits).c_str(), nullptr));
  }
  Result<void> number(double d) override { return put(d); }
  Result<void> string(std::string_view s) override { return put(std::string(s)); }
  Result<void> begin_object() override { return open(json::object()); }
  Result<void> member(std::string_view name) override
  {
    m_name = name;
    return {};
  }
  Result<void> end_object() override { return close(); }
  Result<void> begin_array() override { return open(json::array()); }
  Result<void> end_array() override { return close(); }

  json take() { return std::move(m_root); }

private:
  json* place(json value)
  {
    if (m_open.empty()) {
      m_root = std::move(value);
      return &m_root;
    }
    json& parent = *m_open.back();
    if (parent.is_object()) {
      return &(parent[m_name] = std::move(value));
    }
    parent.push_back(std::move(value));
    return &parent.back();
  }
  Result<void> put(json value)
  {
    place(std::move(value));
    return {};
  }
  Result<void> open(json container)
  {
    m_open.push_back(place(std::move(container)));
    return {};
  }
  Result<void> close()
  {
    m_open.pop_back();
    return {};
  }

  json m_root;
  std::vector<json*> m_open; // pointers into m_root: stable, children are added at the end
  std::string m_name;
};

} // namespace

Result<std::vector<TypedValue>> Archive::types(const store::RootRecord& root,
                                               std::string_view pointer) const
{
  if (!root.schema_key) {
    return make_error(Errc::invalid_argument,
                      "root \"" + root.name + "\" was packed without a schema: it has no type names");
  }
  PAGABLE_TRY_ASSIGN(const auto schema, stored_schema::get(*m_impl->store, *root.schema_key));
  const auto doc = document(root.key);
  if (!pointer.empty()) { // as plain hydrate: a pointer to nothing is an error, not silence
    PAGABLE_TRY_ASSIGN(const bool exists, doc->has_value(pointer));
    if (!exists) {
      return make_error(Errc::not_found, "no value at " + std::string(pointer));
    }
  }
  JsonBuilder builder;
  PAGABLE_TRY(doc->walk("", builder));
  const json value = builder.take();
  // Depth first, members by name (nlohmann::json's objects are sorted maps).
  std::vector<TypedValue> out;
  struct Step {
    const json* value;
    schema::TypeCursor cursor;
    std::string pointer;
  };
  const std::string at(pointer);
  std::vector<Step> todo{{&value, schema->type_cursor(value), ""}};
  while (!todo.empty()) {
    Step step = std::move(todo.back());
    todo.pop_back();
    const bool inside = step.pointer.starts_with(at) &&
                        (step.pointer.size() == at.size() || step.pointer[at.size()] == '/');
    const bool above = at.starts_with(step.pointer);
    if (!inside && !above) {
      continue;
    }
    const schema::TypeInfo info = step.cursor.info();
    if (inside && !info.type_name.empty()) {
      out.push_back(TypedValue{step.pointer, info.type_name, info.variant});
    }
    const json& v = *step.value;
    const auto first = todo.size();
    if (v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        todo.push_back({&it.value(), step.cursor.member(it.key(), it.value()),
                        step.pointer + "/" + util::escape_pointer_token(it.key())});
      }
    } else if (v.is_array()) {
      for (std::size_t i = 0; i < v.size(); ++i) {
        todo.push_back({&v[i], step.cursor.element(i, v[i]), step.pointer + "/" + std::to_string(i)});
      }
    }
    std::reverse(todo.begin() + static_cast<std::ptrdiff_t>(first), todo.end()); // walk in order
  }
  return out;
}

} // namespace pagable
