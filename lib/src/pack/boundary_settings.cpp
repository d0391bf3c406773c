// SPDX-License-Identifier: MIT OR Apache-2.0
// BoundarySettings as archive settings ("pack.node_bytes", ...): written when an archive is
// first packed into, read back and range-checked, and completed with what older formats meant
// by the settings they did not record.
#include <pagable/pack.hpp>

#include <charconv>
#include <map>
#include <optional>
#include <string>
#include <system_error>

namespace pagable::pack {
namespace {

std::optional<std::size_t> parse_size(const std::string& s)
{
  std::size_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

} // namespace

std::map<std::string, std::string> BoundarySettings::to_settings() const
{
  return {{"pack.node_bytes", std::to_string(node_bytes)},
          {"pack.chunk_above_bytes", std::to_string(chunk_above_bytes)},
          {"pack.chunk_target_bytes", std::to_string(chunk_target_bytes)},
          {"pack.chunk_max_bytes", std::to_string(chunk_max_bytes)},
          {"pack.index_fanout", std::to_string(index_fanout)},
          {"pack.route_members", std::to_string(route_members)},
          {"pack.route_member_bytes", std::to_string(route_member_bytes)},
          {"pack.route_wide_members", std::to_string(route_wide_members)},
          {"pack.fingerprint", std::to_string(fingerprint)}};
}

namespace {

// Each setting's field and range. The upper bounds keep the packer's arithmetic (4 * fanout,
// sizes added up, route_member_bytes * members) far from overflow; an index fanout of 1 would
// close a node per entry at every level, without end.
struct BoundaryField {
  const char* name;
  std::size_t BoundarySettings::*value;
  std::size_t min; // 0: the setting may switch its feature off
  std::size_t max;
};
constexpr std::size_t k_max_setting = std::size_t{1} << 40;
constexpr BoundaryField k_boundary_fields[] = {
    {"pack.node_bytes", &BoundarySettings::node_bytes, 1, k_max_setting},
    {"pack.chunk_above_bytes", &BoundarySettings::chunk_above_bytes, 1, k_max_setting},
    {"pack.chunk_target_bytes", &BoundarySettings::chunk_target_bytes, 1, k_max_setting},
    {"pack.chunk_max_bytes", &BoundarySettings::chunk_max_bytes, 1, k_max_setting},
    {"pack.index_fanout", &BoundarySettings::index_fanout, 2, 65536},
    {"pack.route_members", &BoundarySettings::route_members, 0, k_max_setting},
    {"pack.route_member_bytes", &BoundarySettings::route_member_bytes, 0, std::size_t{1} << 20},
    {"pack.route_wide_members", &BoundarySettings::route_wide_members, 0, k_max_setting},
    {"pack.fingerprint", &BoundarySettings::fingerprint, 1, 2}};

Error out_of_range(Errc code, const BoundaryField& f, const std::string& given)
{
  return make_error(code, std::string(f.name) + " must be a whole number from " +
                              std::to_string(f.min) + " to " + std::to_string(f.max) + ", not " +
                              given);
}

} // namespace

Result<void> BoundarySettings::check() const
{
  for (const BoundaryField& f : k_boundary_fields) {
    const std::size_t v = this->*f.value;
    if (v < f.min || v > f.max) {
      return out_of_range(Errc::invalid_argument, f, std::to_string(v));
    }
  }
  return {};
}

Result<BoundarySettings> BoundarySettings::from_settings(const std::map<std::string, std::string>& s)
{
  BoundarySettings b;
  for (const BoundaryField& f : k_boundary_fields) {
    const auto it = s.find(f.name);
    if (it == s.end()) {
      continue;
    }
    const auto v = parse_size(it->second);
    if (!v || *v < f.min || *v > f.max) {
      return out_of_range(Errc::unusable_archive, f, "\"" + it->second + "\"");
    }
    b.*f.value = *v;
  }
  return b;
}

namespace {

// The settings a newer format added, or whose default changed, with what the older pagables
// that wrote an archive without them did: fingerprint 1 placed the boundaries of every archive
// before format 3, and an archive made before routing (format 0) got route_members 4096, the
// default until 512 (FORMAT.md "Why 512 members"), from every pagable that packed into it.
const store::OlderSettings k_older_settings = {3, {{"pack.fingerprint", "1"},
                                                   {"pack.route_members", "4096"}}};

} // namespace

Result<BoundarySettings> BoundarySettings::from_archive(std::map<std::string, std::string> s)
{
  if (s.count("pack.node_bytes") != 0) { // recorded: a missing setting predates its format
    s.insert(k_older_settings.values.begin(), k_older_settings.values.end());
  }
  return from_settings(s);
}

Result<BoundarySettings> init_boundaries(store::BlobStore& store, const BoundarySettings& defaults,
                                         store::SettingsWrite mode)
{
  // An archive a pagable from before format 3 may still pack into (marked with an older
  // format) gets fingerprint 1, the one that pagable chunks with: so its keys, and those of
  // new versions of the documents it holds, do not change. One marked 3 gets 2, as a format 3
  // pagable would record.
  PAGABLE_TRY_ASSIGN(const auto settings,
                     store.init_settings(defaults.to_settings(), mode, k_older_settings));
  auto b = BoundarySettings::from_archive(settings);
  if (!b) {
    return std::move(b).error().with_context("the archive's boundary settings");
  }
  return b;
}

} // namespace pagable::pack

