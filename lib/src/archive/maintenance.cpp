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
  // A name checks every version of it; any other selector the one version it names (NAME#N,
  // which verify::run reads as that version).
  verify::VerifyOptions resolved = options;
  for (auto& sel : resolved.roots) {
    auto versions = m_impl->store->list_versions(sel);
    if (versions && !versions->empty()) {
      continue;
    }
    if (auto one = find_root(sel)) {
      sel = one->name + "#" + std::to_string(one->version);
    }
  }
  return verify::run(*m_impl->store, resolved);
}

Result<gc::GcPlan> Archive::plan_gc(const gc::GcOptions& options) const
{
  return gc::plan(*m_impl->store, options);
}

namespace {

// VACUUM rebuilds the archive's live content in a temporary file and copies it back through
// the WAL: about its live size on the archive's file system, and as much again where the
// temporary file goes (the same one, often). Refused up front, before anything is swept, so
// that a full disk is not filled further (issue 20); plain gc needs no free space.
Result<void> check_compact_space(const std::string& location, const gc::GcPlan& plan)
{
  const std::uint64_t file = Archive::file_bytes(location);
  const std::uint64_t live = file - std::min(file, plan.figures.bytes_freed);
  const auto archive_fs = util::space_of(location);
  const std::string temp_dir = util::sqlite_temp_directory();
  const auto temp_fs = util::space_of(temp_dir);
  if (!archive_fs || !temp_fs) {
    return {}; // cannot tell: let VACUUM try
  }
  const std::uint64_t margin = 1024 * 1024 + live / 10;
  const std::uint64_t need_here = live + margin + (temp_fs->device == archive_fs->device ? live : 0);
  if (archive_fs->free_bytes < need_here) {
    return make_error(Errc::io, "gc --compact needs about " + std::to_string(need_here) +
                                    " bytes free on the archive's file system and " +
                                    std::to_string(archive_fs->free_bytes) +
                                    " are free: nothing was changed (gc without --compact "
                                    "needs no free space, and its freed pages are reused)");
  }
  if (temp_fs->device != archive_fs->device && temp_fs->free_bytes < live + margin) {
    return make_error(Errc::io, "gc --compact needs about " + std::to_string(live + margin) +
                                    " bytes free in " + temp_dir + " (SQLITE_TMPDIR chooses "
                                    "another directory) and " + std::to_string(temp_fs->free_bytes) +
                                    " are free: nothing was changed");
  }
  return {};
}

} // namespace

Result<gc::GcFigures> Archive::collect_garbage(gc::GcPlan& plan, const gc::GcOptions& options)
{
  if (options.compact && !location().empty()) {
    PAGABLE_TRY(check_compact_space(location(), plan));
  }
  return gc::execute(*m_impl->store, plan, options);
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
  // What versions cost: each version's own pages (RootRecord::bytes_added), the newest one's
  // as pack printed it, and all of them together.
  for (const auto& r : roots) {
    s.bytes_added_total += r.bytes_added.value_or(0);
    if (!s.newest || r.created_unix_ms >= s.newest->created_unix_ms) {
      s.newest = r;
    }
  }
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
