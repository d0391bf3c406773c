// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/object_registry.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

namespace pagable::objects {

struct Registry::Impl {
  mutable std::shared_mutex mutex;
  std::deque<TypeEntry> entries; // a deque: entries never move once added
  std::map<std::string, const TypeEntry*, std::less<>> by_name;
  std::unordered_map<std::type_index, const TypeEntry*> by_type;
};

Registry::Registry() : m_impl(std::make_unique<Impl>()) {}
Registry::~Registry() = default;

namespace {

// `<name>/<version>`: letters, digits and `_.:-`, starting with a letter or `_`; a version
// of digits without a leading zero.
bool well_formed(std::string_view name)
{
  const auto slash = name.rfind('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == name.size()) {
    return false;
  }
  const std::string_view base = name.substr(0, slash);
  const std::string_view version = name.substr(slash + 1);
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!alpha(base.front())) {
    return false;
  }
  for (const char c : base) {
    if (!alpha(c) && !digit(c) && c != '.' && c != ':' && c != '-') {
      return false;
    }
  }
  if (version.size() > 1 && version.front() == '0') {
    return false;
  }
  return std::all_of(version.begin(), version.end(), digit);
}

} // namespace

Result<void> Registry::add_entry(TypeEntry entry)
{
  if (!well_formed(entry.name)) {
    return make_error(Errc::invalid_argument,
                      "\"" + entry.name + "\" (for " + entry.cpp_name +
                          ") is not a stable name: write NAME/VERSION, as in \"build.Copy/1\"");
  }
  std::unique_lock lock(m_impl->mutex);
  if (const auto it = m_impl->by_name.find(entry.name); it != m_impl->by_name.end()) {
    return make_error(Errc::invalid_argument, "the stable name \"" + entry.name +
                                                  "\" is registered twice: for " +
                                                  it->second->cpp_name + " and for " + entry.cpp_name);
  }
  if (const auto it = m_impl->by_type.find(entry.type); it != m_impl->by_type.end()) {
    return make_error(Errc::invalid_argument, entry.cpp_name + " is registered twice: as \"" +
                                                  it->second->name + "\" and as \"" + entry.name + "\"");
  }
  const TypeEntry& added = m_impl->entries.emplace_back(std::move(entry));
  m_impl->by_name.emplace(added.name, &added);
  m_impl->by_type.emplace(added.type, &added);
  return {};
}

const TypeEntry* Registry::find(std::string_view name) const
{
  std::shared_lock lock(m_impl->mutex);
  const auto it = m_impl->by_name.find(name);
  return it == m_impl->by_name.end() ? nullptr : it->second;
}

const TypeEntry* Registry::find(std::type_index type) const
{
  std::shared_lock lock(m_impl->mutex);
  const auto it = m_impl->by_type.find(type);
  return it == m_impl->by_type.end() ? nullptr : it->second;
}

std::vector<const TypeEntry*> Registry::family(std::type_index base) const
{
  std::shared_lock lock(m_impl->mutex);
  std::vector<const TypeEntry*> members;
  for (const auto& [name, e] : m_impl->by_name) {
    if (e->polymorphic && e->family == base) {
      members.push_back(e);
    }
  }
  return members;
}

namespace detail {

const std::string* registered_name(const Registry& registry, std::type_index type)
{
  const TypeEntry* e = registry.find(type);
  return e == nullptr ? nullptr : &e->name;
}

} // namespace detail

std::string SchemaContext::def_key(std::type_index type, const std::string& name)
{
  // $defs keys stay plain: a stable name's '/' would need escaping in every $ref.
  std::string key = name;
  std::replace(key.begin(), key.end(), '/', '.');
  std::string unique = key;
  for (int n = 2; m_defs.contains(unique); ++n) {
    unique = key + "-" + std::to_string(n);
  }
  m_keys.emplace(type, unique);
  return unique;
}

} // namespace pagable::objects
