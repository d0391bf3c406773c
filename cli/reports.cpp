// SPDX-License-Identifier: MIT OR Apache-2.0
#include "reports.hpp"

#include <ctime>

namespace pagable::cli {

using nlohmann::json;

std::string format_time(std::int64_t unix_ms)
{
  const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

json key_or_null(const std::optional<Key>& key)
{
  return key ? json(key->to_hex()) : json(nullptr);
}

} // namespace

json to_json(const store::RootRecord& r)
{
  json stats = json::parse(r.stats_json, nullptr, false);
  if (stats.is_discarded()) {
    stats = json::object();
  }
  return {{"name", r.name},
          {"key", r.key.to_hex()},
          {"schema_key", key_or_null(r.schema_key)},
          {"created", format_time(r.created_unix_ms)},
          {"labels", r.labels},
          {"stats", stats}};
}

json to_json(const PackReport& p, const std::string& file)
{
  json doc = {{"root", p.root.name},
              {"key", p.result.key.to_hex()},
              {"nodes", p.result.nodes},
              {"new_nodes", p.new_nodes},
              {"bytes_in", p.result.bytes_in},
              {"bytes_added", p.bytes_added},
              {"refs", p.result.refs},
              {"dangling_refs", p.result.dangling},
              {"update_of", key_or_null(p.update_of)},
              {"delta_nodes", p.delta_nodes},
              {"seconds", p.seconds},
              {"file", file}};
  if (p.schema_key) {
    doc["schema_key"] = p.schema_key->to_hex();
    doc["schema_buffered"] = p.result.schema_buffered;
  }
  return doc;
}

json to_json(const verify::Problem& p)
{
  json out = {{"kind", std::string(verify::kind_name(p.kind))},
              {"key", key_or_null(p.key)},
              {"roots", p.roots},
              {"detail", p.detail}};
  if (p.kind == verify::ProblemKind::schema_violation) {
    out["instance_location"] = p.instance_location;
    out["schema_location"] = p.schema_location;
  }
  return out;
}

json to_json(const verify::VerifyReport& r, std::string_view archive)
{
  json problems = json::array();
  for (const auto& p : r.problems) {
    problems.push_back(to_json(p));
  }
  json out = {{"level", std::string(verify::level_name(r.level))},
              {"subset", std::to_string(r.subset.n) + "/" + std::to_string(r.subset.t)},
              {"ok", r.ok()},
              {"roots_checked", r.roots_checked},
              {"blobs_reached", r.blobs_reached},
              {"blobs_checked", r.blobs_checked},
              {"bytes_checked", r.bytes_checked},
              {"problems", problems},
              {"truncated", r.truncated},
              {"suggestion", next_step_text(r.next_step, archive)},
              {"next_step", std::string(verify::next_step_name(r.next_step))}};
  if (r.level == verify::VerifyLevel::deep) {
    out["roots_schema_checked"] = r.roots_schema_checked;
    out["roots_without_schema"] = r.roots_without_schema;
  }
  return out;
}

json to_json(const gc::GcFigures& f)
{
  return {{"roots", f.roots},
          {"blobs_total", f.blobs_total},
          {"blobs_live", f.blobs_live},
          {"blobs_removed", f.blobs_removed},
          {"bytes_logical_removed", f.bytes_logical_removed},
          {"bytes_freed", f.bytes_freed},
          {"packs_removed", f.packs_removed},
          {"packs_rewritten", f.packs_rewritten}};
}

json to_json(const ArchiveStats& a)
{
  const store::StoreStats& s = a.store;
  const double ratio =
      s.bytes_stored == 0 ? 0.0 : static_cast<double>(s.bytes_logical) / static_cast<double>(s.bytes_stored);
  json boundaries = nullptr;
  if (a.boundaries) {
    boundaries = json::object();
    for (const auto& [name, value] : a.boundaries->to_settings()) {
      boundaries[name.substr(5)] = std::stoull(value);
    }
  }
  json out = {{"roots", s.roots},
              {"blobs", s.blobs},
              {"bytes_logical", s.bytes_logical},
              {"bytes_stored", s.bytes_stored},
              {"file_bytes", s.file_bytes},
              {"free_bytes", s.free_bytes},
              {"compression_ratio", ratio},
              {"unreachable_blobs", a.reclaimable.blobs_removed},
              {"pack_bytes_dead", s.pack_bytes_dead},
              {"reclaimable_bytes", a.reclaimable.bytes_freed},
              {"roots_with_schema", a.roots_with_schema},
              {"format_version", s.format_version},
              {"boundaries", boundaries}};
  if (!a.boundaries_error.empty()) {
    out["boundaries_error"] = a.boundaries_error;
  }
  return out;
}

json to_json(const TypedValue& v)
{
  json out = {{"pointer", v.pointer}, {"type", v.type}};
  if (!v.variant.empty()) {
    out["variant"] = v.variant;
  }
  return out;
}

std::string next_step_text(verify::NextStep step, std::string_view archive)
{
  const std::string a(archive);
  switch (step) {
  case verify::NextStep::none:
    return "";
  case verify::NextStep::fix_documents:
    return "the stored data is intact but does not match its schema: fix the documents and "
           "pack them again (pagable pack --schema), or check them with `pagable validate`";
  case verify::NextStep::remove_duplicates:
    return "the data is intact, but some keys have more than one index row: `pagable gc " + a +
           "` keeps the row each key is found by and removes the others";
  case verify::NextStep::restore_file:
    return "the SQLite file itself is damaged: restore the archive from a backup, or salvage "
           "what is readable with `sqlite3 " + a + " .recover` and re-pack the affected roots' "
           "documents into a new archive";
  case verify::NextStep::repack_or_remove:
    return "re-pack the documents of the affected roots (pagable pack stores the missing or "
           "damaged blobs again under the same keys), or remove those roots with `pagable rm` "
           "and run `pagable gc`; then run `pagable verify` again";
  }
  return "";
}

} // namespace pagable::cli
