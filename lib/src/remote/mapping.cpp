// SPDX-License-Identifier: MIT OR Apache-2.0
// docs/FORMAT.md "Remote stores", in code. Tags: a name is escaped to the tag alphabet
// ([A-Za-z0-9-] kept, every other byte and a leading '-' as "_" and two hex digits), so the
// escaped name holds no '.' and no "__"; a version tag adds ".<13-digit unix ms>.<16 hex of
// the key>". An escaped name longer than 80 characters is cut (at an escape's edge) and
// ends in "__" and 16 hex digits of the name's SHA-256; the manifest's annotations hold the
// whole name. Version numbers on a remote count each name's versions by (time, key):
// registries have no compare-and-swap, so two pushers never race for a number.
#include "remote/mapping.hpp"
#include "util/hex.hpp"

#include <nlohmann/json.hpp>

#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace pagable::remote {

namespace {

using nlohmann::json;

constexpr std::size_t k_name_room = 80;
constexpr char k_hex[] = "0123456789abcdef";

std::string escape_name(std::string_view name)
{
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    const bool keep = std::isalnum(c) != 0 || (c == '-' && i > 0);
    if (keep && c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += '_';
      out += k_hex[c >> 4];
      out += k_hex[c & 15];
    }
  }
  if (out.size() > k_name_room) {
    std::size_t cut = k_name_room - 18;
    // Never cut inside "_xx".
    for (std::size_t back = 1; back <= 2 && cut >= back; ++back) {
      if (out[cut - back] == '_') {
        cut -= back;
        break;
      }
    }
    const Key h = sha256_of(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(name.data()), name.size()));
    out = out.substr(0, cut) + "__" + h.to_hex().substr(0, 16);
  }
  if (out.empty()) {
    out = "_";
  }
  return out;
}

std::optional<std::string> unescape_name(std::string_view tag)
{
  if (tag.find("__") != std::string_view::npos || tag == "_") {
    return std::nullopt; // shortened: the manifest says the name
  }
  std::string out;
  for (std::size_t i = 0; i < tag.size(); ++i) {
    if (tag[i] != '_') {
      out += tag[i];
      continue;
    }
    if (i + 2 >= tag.size()) {
      return std::nullopt;
    }
    const int hi = util::hex_digit_value(tag[i + 1]);
    const int lo = util::hex_digit_value(tag[i + 2]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string rfc3339(std::int64_t unix_ms)
{
  const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96]; // room for any int the fields could hold, as -Wformat-truncation counts
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(unix_ms % 1000));
  return buf;
}

Error bad(std::string_view what, std::string_view why)
{
  return make_error(Errc::corrupt, std::string(what) + " is malformed: " + std::string(why));
}

Result<Key> key_field(const json& j, std::string_view what)
{
  if (!j.is_string()) {
    return bad(what, "a key is not a string");
  }
  auto k = Key::parse(j.get<std::string>());
  if (!k || j.get<std::string>().size() != 64) {
    return bad(what, "a key is not 64 hex digits");
  }
  return k;
}

json descriptor_json(const Descriptor& d)
{
  return json{{"mediaType", d.media_type}, {"digest", digest_text(d.digest)}, {"size", d.size}};
}

Result<Descriptor> descriptor_of(const json& j)
{
  if (!j.is_object() || !j.contains("digest") || !j["digest"].is_string() || !j.contains("size") ||
      !j["size"].is_number_unsigned()) {
    return bad("a manifest", "a descriptor lacks its digest or size");
  }
  PAGABLE_TRY_ASSIGN(const Key digest, parse_digest(j["digest"].get<std::string>()));
  return Descriptor{j.value("mediaType", std::string()), digest, j["size"].get<std::uint64_t>()};
}

} // namespace

std::string name_tag(std::string_view name)
{
  return escape_name(name);
}

std::string version_tag(const store::RootRecord& root)
{
  char ms[32];
  std::snprintf(ms, sizeof ms, "%013lld", static_cast<long long>(root.created_unix_ms));
  return escape_name(root.name) + "." + ms + "." + root.key.to_hex().substr(0, 16);
}

std::vector<RemoteVersion> versions_in(const std::vector<std::string>& tags)
{
  std::vector<RemoteVersion> out;
  for (const auto& tag : tags) {
    const auto d1 = tag.find('.');
    const auto d2 = d1 == std::string::npos ? d1 : tag.find('.', d1 + 1);
    if (d2 == std::string::npos || tag.find('.', d2 + 1) != std::string::npos || d2 - d1 - 1 != 13 ||
        tag.size() - d2 - 1 != 16) {
      continue;
    }
    const std::string ms = tag.substr(d1 + 1, 13);
    const std::string key = tag.substr(d2 + 1);
    if (!std::all_of(ms.begin(), ms.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        !std::all_of(key.begin(), key.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
      continue;
    }
    RemoteVersion v;
    v.tag = tag;
    v.name = unescape_name(std::string_view(tag).substr(0, d1)).value_or("");
    v.created_unix_ms = std::stoll(ms);
    v.key_prefix = key;
    out.push_back(std::move(v));
  }
  const auto group = [](const RemoteVersion& v) { return v.tag.substr(0, v.tag.find('.')); };
  std::sort(out.begin(), out.end(), [&](const RemoteVersion& a, const RemoteVersion& b) {
    return std::make_tuple(group(a), a.created_unix_ms, a.key_prefix) <
           std::make_tuple(group(b), b.created_unix_ms, b.key_prefix);
  });
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].version = i > 0 && group(out[i - 1]) == group(out[i]) ? out[i - 1].version + 1 : 1;
  }
  return out;
}

Bytes encode_index(const store::PackImage& image)
{
  auto entries = image.entries;
  std::sort(entries.begin(), entries.end(), [](const store::PackEntry& a, const store::PackEntry& b) {
    return std::tie(a.offset, a.key) < std::tie(b.offset, b.key);
  });
  json rows = json::array();
  for (const auto& e : entries) {
    json children = json::array();
    for (const Key& c : e.children) {
      children.push_back(c.to_hex());
    }
    rows.push_back(json::array({e.key.to_hex(), e.offset, e.size, std::move(children)}));
  }
  json bases = json::array();
  for (const auto& b : image.bases) {
    bases.push_back(json{{"pack", digest_text(b.pack.sha256)}, {"offset", b.offset}, {"size", b.size}});
  }
  const std::string text = json{{"format", 1},
                                {"pack", digest_text(image.digest.sha256)},
                                {"codec", image.codec},
                                {"raw_size", image.raw_size},
                                {"stored_size", image.data.size()},
                                {"bases", std::move(bases)},
                                {"entries", std::move(rows)}}
                               .dump();
  Bytes out(ZSTD_compressBound(text.size()));
  const std::size_t n = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 3);
  out.resize(ZSTD_isError(n) != 0 ? 0 : n);
  return out;
}

Result<PackIndex> decode_index(std::span<const std::uint8_t> blob)
{
  const unsigned long long raw = ZSTD_getFrameContentSize(blob.data(), blob.size());
  if (raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN || raw > (1ULL << 31)) {
    return bad("a pack index", "not a zstd frame of known size");
  }
  std::string text(raw, '\0');
  const std::size_t n = ZSTD_decompress(text.data(), text.size(), blob.data(), blob.size());
  if (ZSTD_isError(n) != 0 || n != raw) {
    return bad("a pack index", "its zstd frame does not decode");
  }
  const auto j = json::parse(text, nullptr, false);
  if (!j.is_object() || j.value("format", 0) != 1 || !j.contains("entries") || !j["entries"].is_array() ||
      !j.contains("bases") || !j["bases"].is_array() || !j.contains("pack") || !j["pack"].is_string()) {
    return bad("a pack index", "not a format-1 index object");
  }
  PackIndex ix;
  PAGABLE_TRY_ASSIGN(ix.pack.sha256, parse_digest(j["pack"].get<std::string>()));
  ix.codec = j.value("codec", std::int64_t{-1});
  ix.raw_size = j.value("raw_size", std::uint64_t{0});
  ix.stored_size = j.value("stored_size", std::uint64_t{0});
  for (const auto& b : j["bases"]) {
    if (!b.is_object() || !b.contains("pack") || !b["pack"].is_string()) {
      return bad("a pack index", "a base names no pack");
    }
    store::PackBase base;
    PAGABLE_TRY_ASSIGN(base.pack.sha256, parse_digest(b["pack"].get<std::string>()));
    base.offset = b.value("offset", std::uint64_t{0});
    base.size = b.value("size", std::uint64_t{0});
    ix.bases.push_back(base);
  }
  for (const auto& row : j["entries"]) {
    if (!row.is_array() || row.size() != 4 || !row[1].is_number_unsigned() || !row[2].is_number_unsigned() ||
        !row[3].is_array()) {
      return bad("a pack index", "a row is not [key, offset, size, children]");
    }
    store::PackEntry e;
    PAGABLE_TRY_ASSIGN(e.key, key_field(row[0], "a pack index"));
    e.offset = row[1].get<std::uint64_t>();
    e.size = row[2].get<std::uint64_t>();
    for (const auto& c : row[3]) {
      PAGABLE_TRY_ASSIGN(Key child, key_field(c, "a pack index"));
      e.children.push_back(child);
    }
    ix.entries.push_back(std::move(e));
  }
  return ix;
}

Bytes encode_root(const store::RootRecord& root)
{
  json j{{"format", 1},
         {"name", root.name},
         {"key", root.key.to_hex()},
         {"created_unix_ms", root.created_unix_ms},
         {"labels", root.labels},
         {"stats", json::parse(root.stats_json, nullptr, false)}};
  if (root.schema_key) {
    j["schema_key"] = root.schema_key->to_hex();
  }
  const std::string text = j.dump();
  return Bytes(text.begin(), text.end());
}

Result<store::RootRecord> decode_root(std::span<const std::uint8_t> blob)
{
  const auto j = json::parse(blob.begin(), blob.end(), nullptr, false);
  if (!j.is_object() || j.value("format", 0) != 1 || !j.contains("name") || !j["name"].is_string() ||
      !j.contains("created_unix_ms") || !j["created_unix_ms"].is_number_integer()) {
    return bad("a version's root record", "not a format-1 record");
  }
  store::RootRecord r;
  r.name = j["name"].get<std::string>();
  PAGABLE_TRY_ASSIGN(r.key, key_field(j.value("key", json()), "a version's root record"));
  if (j.contains("schema_key")) {
    PAGABLE_TRY_ASSIGN(Key s, key_field(j["schema_key"], "a version's root record"));
    r.schema_key = s;
  }
  r.created_unix_ms = j["created_unix_ms"].get<std::int64_t>();
  if (j.contains("labels") && j["labels"].is_object()) {
    for (auto it = j["labels"].begin(); it != j["labels"].end(); ++it) {
      if (it.value().is_string()) {
        r.labels[it.key()] = it.value().get<std::string>();
      }
    }
  }
  r.stats_json = j.contains("stats") && j["stats"].is_object() ? j["stats"].dump() : "{}";
  return r;
}

VersionManifest version_manifest(const store::RootRecord& root, const Descriptor& config,
                                 std::vector<Descriptor> layers, const std::optional<Key>& parent)
{
  VersionManifest m;
  m.config = config;
  m.layers = std::move(layers);
  m.annotations["org.opencontainers.image.created"] = rfc3339(root.created_unix_ms);
  m.annotations["dev.pagable.name"] = root.name;
  m.annotations["dev.pagable.key"] = root.key.to_hex();
  m.annotations["dev.pagable.created-unix-ms"] = std::to_string(root.created_unix_ms);
  for (const auto& [k, v] : root.labels) {
    m.annotations["dev.pagable.label." + k] = v;
  }
  if (parent) {
    m.annotations["dev.pagable.parent"] = parent->to_hex();
  }
  return m;
}

Bytes encode_manifest(const VersionManifest& m)
{
  json layers = json::array();
  for (const auto& d : m.layers) {
    layers.push_back(descriptor_json(d));
  }
  const std::string text = json{{"schemaVersion", 2},
                                {"mediaType", k_manifest_type},
                                {"artifactType", k_artifact_type},
                                {"config", descriptor_json(m.config)},
                                {"layers", std::move(layers)},
                                {"annotations", m.annotations}}
                               .dump();
  return Bytes(text.begin(), text.end());
}

Result<VersionManifest> decode_manifest(std::span<const std::uint8_t> bytes)
{
  const auto j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (!j.is_object() || !j.contains("config") || !j.contains("layers") || !j["layers"].is_array()) {
    return bad("a manifest", "not an image manifest");
  }
  VersionManifest m;
  PAGABLE_TRY_ASSIGN(m.config, descriptor_of(j["config"]));
  if (m.config.media_type != k_root_type) {
    return make_error(Errc::invalid_argument, "the manifest is not a pagable version (config media type \"" +
                                                  m.config.media_type + "\")");
  }
  for (const auto& l : j["layers"]) {
    PAGABLE_TRY_ASSIGN(Descriptor d, descriptor_of(l));
    m.layers.push_back(std::move(d));
  }
  if (j.contains("annotations") && j["annotations"].is_object()) {
    for (auto it = j["annotations"].begin(); it != j["annotations"].end(); ++it) {
      if (it.value().is_string()) {
        m.annotations[it.key()] = it.value().get<std::string>();
      }
    }
  }
  return m;
}

std::size_t packs_per_manifest(std::size_t limit)
{
  // A pack's two descriptors take about 2 x 150 bytes; 64 KiB are left for the rest.
  constexpr std::size_t k_per_pack = 2 * 150;
  return limit > 65536 ? (limit - 65536) / k_per_pack : 0;
}

} // namespace pagable::remote
