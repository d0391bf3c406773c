// SPDX-License-Identifier: MIT OR Apache-2.0
#include "reports.hpp"

#include <cstdio>
#include <iterator>

namespace pagable::cli {

using nlohmann::json;

namespace {

json key_or_null(const std::optional<Key>& key)
{
  return key ? json(key->to_hex()) : json(nullptr);
}

} // namespace

json to_json(const store::RootRecord& r)
{
  json stats = json::parse(r.stats_json, nullptr, false);
  if (!stats.is_object()) {
    stats = json::object();
  }
  const auto figure = [&](const char* name) {
    return stats.contains(name) && stats[name].is_number_unsigned() ? stats[name] : json(nullptr);
  };
  return {{"name", r.name},
          {"version", r.version},
          {"key", r.key.to_hex()},
          {"schema_key", key_or_null(r.schema_key)},
          {"created", format_time(r.created_unix_ms)},
          {"created_unix_ms", r.created_unix_ms},
          {"labels", r.labels},
          {"stats", stats},
          {"nodes", figure("nodes")},
          {"new_nodes", figure("new_nodes")},
          {"bytes_added", r.bytes_added ? json(*r.bytes_added) : json(nullptr)}};
}

json to_json(const ForgetReport& report, std::string_view archive, DryRun dry_run)
{
  json names = json::array();
  std::size_t removed = 0;
  for (const auto& n : report.names) {
    json keep = json::array();
    json remove = json::array();
    for (const auto& d : n.decisions) {
      json v = to_json(d.version);
      v["reasons"] = d.reasons;
      (d.keep ? keep : remove).push_back(std::move(v));
    }
    removed += n.removed;
    names.push_back({{"name", n.name}, {"keep", keep}, {"remove", remove}, {"removed", n.removed}});
  }
  return {{"archive", archive}, {"dry_run", dry_run == DryRun::yes}, {"names", names}, {"removed", removed}};
}

json to_json(const DiffReport& d, std::string_view archive, std::string_view at)
{
  json out = {{"archive", archive},
              {"a", to_json(d.a)},
              {"b", to_json(d.b)},
              {"at", at},
              {"equal", d.result.equal()},
              {"patch", json::parse(diff::to_json_patch(d.result.patch).dump())},
              {"stats", {{"blobs_read", d.result.stats.blobs_read}, {"bytes_read", d.result.stats.bytes_read}}}};
  if (d.result.merge_patch) {
    out["merge_patch"] = json::parse(d.result.merge_patch->dump());
  }
  return out;
}

json to_json(const PackReport& p, const std::string& file)
{
  json doc = {{"root", p.root.name},
              {"version", p.root.version},
              {"created", format_time(p.root.created_unix_ms)},
              {"key", p.result.key.to_hex()},
              {"nodes", p.result.nodes},
              {"new_nodes", p.new_nodes},
              {"bytes_in", p.result.bytes_in},
              {"bytes_added", p.bytes_added},
              {"refs", p.result.refs},
              {"dangling_refs", p.result.dangling},
              {"update_of", key_or_null(p.update_of)},
              {"delta_nodes", p.delta_nodes},
              {"blobs_replaced", p.blobs_replaced},
              {"version_added", p.version_added == VersionAdded::yes},
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
              {"names", s.names},
              {"newest_version", a.newest ? to_json(*a.newest) : json(nullptr)},
              {"bytes_added_total", a.bytes_added_total},
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

std::string human_bytes(std::uint64_t bytes)
{
  if (bytes < 1000) {
    return std::to_string(bytes) + " bytes";
  }
  const char* units[] = {"kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes) / 1000.0;
  std::size_t u = 0;
  while (v >= 999.95 && u + 1 < std::size(units)) {
    v /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 9.995 ? "%.2f %s" : (v < 99.95 ? "%.1f %s" : "%.0f %s"), v, units[u]);
  return buf;
}

std::string printable(std::string_view text)
{
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += k_hex[c >> 4];
      out += k_hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

std::string version_name(const store::RootRecord& r)
{
  return r.name + "#" + std::to_string(r.version);
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
    return "if you have the affected versions' documents, `pagable pack --repair " + a +
           " FILE...` stores fresh copies of the damaged and missing blobs (it adds no version "
           "for a document a version holds); otherwise `pagable repair " + a +
           " NEW.pagable` copies every readable version into a new archive and lists what was "
           "lost, or remove the affected versions with `pagable rm` and run `pagable gc`; then "
           "run `pagable verify` again";
  }
  return "";
}

} // namespace pagable::cli
