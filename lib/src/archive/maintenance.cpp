// SPDX-License-Identifier: MIT OR Apache-2.0
// The archive's reading and maintenance entry points: each the library call a CLI command
// makes, with the decisions (which roots, which settings) that used to live in cli/.
#include <pagable/archive.hpp>

#include "archive/archive_impl.hpp"
#include "util/files.hpp"

#include <algorithm>

namespace pagable {

std::uint64_t Archive::file_bytes(const std::string& location)
{
  return util::file_size(location) + util::file_size(location + "-wal");
}

std::unique_ptr<hydrate::Document> Archive::document(const Key& root, std::size_t cache_bytes) const
{
  return std::make_unique<hydrate::Document>(*m_impl->store, root, cache_bytes);
}

Result<verify::VerifyReport> Archive::verify(const verify::VerifyOptions& options) const
{
  return verify::run(*m_impl->store, options);
}

Result<gc::GcPlan> Archive::plan_gc(const gc::GcOptions& options) const
{
  return gc::plan(*m_impl->store, options);
}

Result<gc::GcFigures> Archive::collect_garbage(gc::GcPlan& plan, const gc::GcOptions& options)
{
  return gc::execute(*m_impl->store, plan, options);
}

Result<std::vector<std::string>> Archive::plan_remove(const RemoveRequest& request) const
{
  PAGABLE_TRY_ASSIGN(const auto roots, m_impl->store->list_roots()); // oldest first
  std::vector<std::string> doomed;
  if (request.keep_last) {
    std::vector<std::string> matching;
    for (const auto& r : roots) {
      if (r.name.starts_with(request.prefix) &&
          std::find(matching.begin(), matching.end(), r.name) == matching.end()) {
        matching.push_back(r.name);
      }
    }
    if (matching.size() > *request.keep_last) {
      doomed.assign(matching.begin(),
                    matching.end() - static_cast<std::ptrdiff_t>(*request.keep_last));
    }
    return doomed;
  }
  // Every name must exist before anything is removed.
  for (const auto& name : request.names) {
    const bool found = std::any_of(roots.begin(), roots.end(),
                                   [&](const store::RootRecord& r) { return r.name == name; });
    if (!found) {
      return make_error(Errc::not_found, "no root named \"" + name + "\" in " + m_impl->location);
    }
    if (std::find(doomed.begin(), doomed.end(), name) == doomed.end()) {
      doomed.push_back(name);
    }
  }
  return doomed;
}

Result<std::vector<std::string>> Archive::remove(const std::vector<std::string>& names)
{
  std::vector<std::string> removed;
  for (const auto& name : names) {
    PAGABLE_TRY_ASSIGN(const std::size_t n, m_impl->store->remove_root(name));
    if (n != 0) {
      removed.push_back(name);
    }
  }
  return removed;
}

Result<ArchiveStats> Archive::stat() const
{
  ArchiveStats s;
  PAGABLE_TRY_ASSIGN(s.store, m_impl->store->stats());
  PAGABLE_TRY_ASSIGN(const auto plan, gc::plan(*m_impl->store));
  s.reclaimable = plan.figures;
  PAGABLE_TRY_ASSIGN(const auto roots, m_impl->store->list_roots());
  s.roots_with_schema = static_cast<std::uint64_t>(std::count_if(
      roots.begin(), roots.end(), [](const store::RootRecord& r) { return r.schema_key.has_value(); }));
  PAGABLE_TRY_ASSIGN(const auto settings, m_impl->store->settings());
  // A setting out of range is reported, not fatal: stat is where one looks when pack refuses.
  if (settings.count("pack.node_bytes") != 0) {
    if (auto b = pack::BoundarySettings::from_archive(settings)) {
      s.boundaries = *b;
    } else {
      s.boundaries_error = b.error().message();
    }
  }
  return s;
}

} // namespace pagable
