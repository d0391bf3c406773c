// SPDX-License-Identifier: MIT OR Apache-2.0
// A remote's versions as the local commands see an archive's (pagable/remote.hpp
// RemoteCatalog). The tags tell each version's name, time, key prefix and number; what a
// command shows needs the root record, two requests per version, so only the versions a
// command may show are read: ls the newest of each name, log one name's, a selector its
// name's or, for hex digits, those whose tag's key prefix agrees. Selectors are then
// resolved by the archive's own code (pagable/selector.hpp) over those records.
#include "remote/mapping.hpp"

#include <pagable/remote.hpp>
#include <pagable/selector.hpp>

#include <algorithm>
#include <set>

namespace pagable::remote {

namespace {

// The tag's first part: the escaped name, which identifies the name even when shortened.
std::string_view group_of(const RemoteVersion& v)
{
  return std::string_view(v.tag).substr(0, v.tag.find('.'));
}

bool is_hex(std::string_view text)
{
  return !text.empty() && text.size() <= 64 &&
         std::all_of(text.begin(), text.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

} // namespace

Result<RemoteCatalog> RemoteCatalog::read(Registry& registry)
{
  PAGABLE_TRY_ASSIGN(const auto tags, registry.list_tags());
  return RemoteCatalog(registry, versions_in(tags));
}

Result<const RemoteCatalog::Read*> RemoteCatalog::read_version(const RemoteVersion& v)
{
  if (const auto it = m_read.find(v.tag); it != m_read.end()) {
    return &it->second;
  }
  Read read;
  PAGABLE_TRY_ASSIGN(read.manifest, m_registry->get_manifest(v.tag));
  if (read.manifest) {
    PAGABLE_TRY_ASSIGN(const auto manifest, in_context(decode_manifest(read.manifest->bytes), "version " + v.tag));
    // A config deleted under a manifest is the registry's damage: verify reports it.
    PAGABLE_TRY_ASSIGN(auto blobs, in_context(m_registry->get_blobs({manifest.config.digest}), "version " + v.tag));
    read.record = std::move(blobs.front());
    PAGABLE_TRY_ASSIGN(auto root, in_context(decode_root(read.record), "version " + v.tag));
    if (version_tag(root) != v.tag) {
      return make_error(Errc::corrupt, "version " + v.tag + " holds the root record of " + version_tag(root));
    }
    root.version = v.version;
    read.root = std::move(root);
  }
  return &m_read.emplace(v.tag, std::move(read)).first->second;
}

Result<std::optional<store::RootRecord>> RemoteCatalog::root(const RemoteVersion& v)
{
  PAGABLE_TRY_ASSIGN(const Read* read, read_version(v));
  return read->root;
}

Result<std::optional<Manifest>> RemoteCatalog::manifest(const RemoteVersion& v)
{
  PAGABLE_TRY_ASSIGN(const Read* read, read_version(v));
  return read->manifest;
}

Result<Bytes> RemoteCatalog::record_blob(const RemoteVersion& v)
{
  PAGABLE_TRY_ASSIGN(const Read* read, read_version(v));
  return read->record;
}

const RemoteVersion* RemoteCatalog::version_of(const store::RootRecord& root) const
{
  const std::string tag = version_tag(root);
  const auto it = std::find_if(m_versions.begin(), m_versions.end(), [&](const RemoteVersion& v) { return v.tag == tag; });
  return it == m_versions.end() ? nullptr : &*it;
}

Result<std::vector<store::RootRecord>> RemoteCatalog::roots_of(const std::vector<const RemoteVersion*>& versions)
{
  std::vector<store::RootRecord> out;
  for (const RemoteVersion* v : versions) {
    PAGABLE_TRY_ASSIGN(auto r, root(*v));
    if (r) {
      out.push_back(std::move(*r));
    }
  }
  return out;
}

Result<std::vector<store::RootRecord>> RemoteCatalog::candidates(std::string_view selector)
{
  std::set<std::string> groups{name_tag(selector)};
  if (const auto parsed = parse_selector(selector)) {
    groups.insert(name_tag(parsed->name));
  }
  std::string hex;
  if (is_hex(selector)) {
    for (const char c : selector.substr(0, 16)) {
      hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  std::vector<const RemoteVersion*> chosen;
  for (const auto& v : m_versions) {
    if (groups.contains(std::string(group_of(v))) || (!hex.empty() && v.key_prefix.starts_with(hex))) {
      chosen.push_back(&v);
    }
  }
  return roots_of(chosen);
}

Result<store::RootRecord> RemoteCatalog::find(std::string_view selector)
{
  PAGABLE_TRY_ASSIGN(const auto roots, candidates(selector));
  return in_context(resolve_selector(roots, selector), m_registry->location().display());
}

Result<std::vector<store::RootRecord>> RemoteCatalog::select(std::span<const std::string> selectors)
{
  if (selectors.empty()) {
    std::vector<const RemoteVersion*> all;
    for (const auto& v : m_versions) {
      all.push_back(&v);
    }
    // Oldest first across names, as an archive lists its roots.
    std::stable_sort(all.begin(), all.end(), [](const RemoteVersion* a, const RemoteVersion* b) {
      return std::tie(a->created_unix_ms, a->key_prefix) < std::tie(b->created_unix_ms, b->key_prefix);
    });
    return roots_of(all);
  }
  std::vector<store::RootRecord> roots;
  std::set<std::string> seen;
  for (const auto& sel : selectors) {
    PAGABLE_TRY_ASSIGN(auto more, candidates(sel));
    for (auto& r : more) {
      if (seen.insert(version_tag(r)).second) {
        roots.push_back(std::move(r));
      }
    }
  }
  return in_context(select_versions(roots, selectors), m_registry->location().display());
}

Result<std::vector<Listed>> RemoteCatalog::list(const ListRequest& request)
{
  // versions_in orders by name group, then (time, key): a group's last is its newest.
  std::map<std::string_view, std::size_t> counts;
  for (const auto& v : m_versions) {
    ++counts[group_of(v)];
  }
  std::vector<const RemoteVersion*> chosen;
  for (std::size_t i = 0; i < m_versions.size(); ++i) {
    const auto& v = m_versions[i];
    const bool newest = i + 1 == m_versions.size() || group_of(m_versions[i + 1]) != group_of(v);
    // A tag with the whole name tells whether the prefix can match before anything is read.
    if ((request.all == AllVersions::yes || newest) && (!v.name.empty() ? v.name.starts_with(request.prefix) : true)) {
      chosen.push_back(&v);
    }
  }
  std::vector<Listed> out;
  for (const RemoteVersion* v : chosen) {
    PAGABLE_TRY_ASSIGN(const auto r, root(*v));
    if (!r || !r->name.starts_with(request.prefix)) {
      continue;
    }
    const bool labelled = std::all_of(request.labels.begin(), request.labels.end(), [&](const auto& want) {
      const auto it = r->labels.find(want.first);
      return it != r->labels.end() && it->second == want.second;
    });
    if (labelled) {
      out.push_back({*r, counts[group_of(*v)]});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Listed& a, const Listed& b) {
    return std::tie(a.root.created_unix_ms, a.root.name, a.root.version) <
           std::tie(b.root.created_unix_ms, b.root.name, b.root.version);
  });
  return out;
}

Result<std::vector<store::RootRecord>> RemoteCatalog::history(std::string_view selector)
{
  std::vector<store::RootRecord> versions;
  if (selector.empty()) {
    PAGABLE_TRY_ASSIGN(versions, select({}));
  } else {
    PAGABLE_TRY_ASSIGN(const auto picked, find(selector));
    PAGABLE_TRY_ASSIGN(auto all, candidates(picked.name));
    const bool whole_name = selector == picked.name;
    for (auto& v : all) {
      if (v.name == picked.name && (whole_name || v.version <= picked.version)) {
        versions.push_back(std::move(v));
      }
    }
  }
  std::stable_sort(versions.begin(), versions.end(), [](const auto& a, const auto& b) {
    return a.created_unix_ms != b.created_unix_ms ? a.created_unix_ms > b.created_unix_ms : a.version > b.version;
  });
  return versions;
}

} // namespace pagable::remote
