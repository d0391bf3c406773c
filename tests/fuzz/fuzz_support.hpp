// SPDX-License-Identifier: MIT OR Apache-2.0
// What the fuzz targets share: node boundaries small enough that chunks, index levels and
// routed objects (both fingerprint widths) occur on inputs of a few hundred bytes, and a
// one-worker pack of a string with them; and the byte form in which archive_fuzz receives a
// set of blobs.
#pragma once

#include <pagable/hydrate.hpp>
#include <pagable/pack.hpp>
#include <pagable/store.hpp>

#include "util/pointer_text.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace pagable::fuzz {

inline pack::BoundarySettings small_boundaries()
{
  pack::BoundarySettings b;
  b.node_bytes = 64;
  b.chunk_above_bytes = 256;
  b.chunk_target_bytes = 64;
  b.chunk_max_bytes = 256;
  b.index_fanout = 4;
  b.route_members = 8;
  b.route_member_bytes = 0;
  b.route_wide_members = 16; // both fingerprint widths
  return b;
}

// `fingerprint`: the chunking hash (BoundarySettings::fingerprint).
inline Result<Key> pack_text(store::BlobStore& s, const std::string& text, std::size_t fingerprint = 2)
{
  std::istringstream in(text);
  pack::PackOptions o;
  o.workers = 1;
  o.max_depth = 256;
  o.dangling_refs = pack::DanglingRefs::allow;
  pack::BoundarySettings b = small_boundaries();
  b.fingerprint = fingerprint;
  auto r = pack::pack_stream(s, in, b, o);
  if (!r) {
    return std::move(r).error();
  }
  return r->key;
}

[[noreturn]] inline void fail(const char* target, const std::string& what)
{
  std::fprintf(stderr, "%s: %s\n", target, what.c_str());
  std::abort();
}

// Pointers into what the whole walk wrote (so lookups reach deep into the crafted tree), each
// object also asked for a name it lacks.
inline void collect_pointers(const nlohmann::ordered_json& v, const std::string& at,
                      std::vector<std::string>& out, std::vector<std::string>& objects)
{
  constexpr std::size_t k_max = 48;
  if (out.size() >= k_max) {
    return;
  }
  out.push_back(at);
  if (v.is_object()) {
    objects.push_back(at);
    out.push_back(at + "/absent~0name");
    for (const auto& [name, member] : v.items()) {
      collect_pointers(member, at + "/" + util::escape_pointer_token(name), out, objects);
    }
  } else if (v.is_array()) {
    out.push_back(at + "/" + std::to_string(v.size()));
    for (std::size_t i = 0; i < v.size(); ++i) {
      collect_pointers(v[i], at + "/" + std::to_string(i), out, objects);
    }
  }
}

// Each pointer into the document, looked up on its own, against nlohmann's reading of the
// whole walk's output.
inline void check_lookups(const char* target, hydrate::Document& doc, const std::string& whole)
{
  // Lone surrogate escapes are valid JSON that nlohmann refuses: no oracle for those.
  const auto value = nlohmann::ordered_json::parse(whole, nullptr, false);
  if (value.is_discarded()) {
    return;
  }
  std::vector<std::string> pointers;
  std::vector<std::string> objects;
  collect_pointers(value, "", pointers, objects);
  for (const std::string& p : pointers) {
    const nlohmann::ordered_json::json_pointer jp(p);
    std::ostringstream out;
    const auto r = doc.write_json(out, p);
    if (!value.contains(jp)) {
      if (r || r.error().code() != Errc::not_found) {
        fail(target, "a value found at " + p + ", where there is none");
      }
      continue;
    }
    if (!r) {
      fail(target, "lookup of " + p + " failed: " + r.error().message());
    }
    if (nlohmann::ordered_json::parse(out.str(), nullptr, false) != value.at(jp)) {
      fail(target, "lookup of " + p + " wrote another value");
    }
  }
}

// archive_fuzz's input: blobs one after another, each
//   u8 child count c, then c child references (u16 little-endian), then u16 data length n,
//   then n data bytes (fewer when the input ends first).
// A reference below the number of blobs read so far names that blob (so no cycle can be
// written); any other value names a key that is not stored. The last blob is the root.
struct FuzzArchive {
  std::vector<Blob> blobs;
  Key root;
};

inline FuzzArchive parse_fuzz_archive(const std::uint8_t* data, std::size_t size)
{
  FuzzArchive a;
  std::vector<Key> keys;
  std::size_t at = 0;
  const auto u16 = [&]() -> std::uint32_t {
    const std::uint32_t lo = at < size ? data[at] : 0;
    const std::uint32_t hi = at + 1 < size ? data[at + 1] : 0;
    at += 2;
    return lo | (hi << 8);
  };
  while (at < size) {
    Blob b;
    const std::size_t children = data[at++];
    for (std::size_t i = 0; i < children; ++i) {
      const std::uint32_t ref = u16();
      if (ref < keys.size()) {
        b.children.push_back(keys[ref]);
      } else {
        const std::uint8_t absent[4] = {0xAB, static_cast<std::uint8_t>(ref),
                                        static_cast<std::uint8_t>(ref >> 8), 0xCD};
        b.children.push_back(compute_key(absent, {}));
      }
    }
    std::size_t n = u16();
    n = at < size ? std::min(n, size - at) : 0;
    b.data.assign(data + std::min(at, size), data + std::min(at, size) + n);
    at += n;
    keys.push_back(b.key());
    a.blobs.push_back(std::move(b));
  }
  if (!keys.empty()) {
    a.root = keys.back();
  }
  return a;
}

// The blobs reachable from `root`, children before parents, in parse_fuzz_archive's form:
// how the seed corpus is made from real packs.
inline Result<std::string> write_fuzz_archive(const store::BlobStore& s, const Key& root)
{
  std::string out;
  std::map<Key, std::uint32_t> index;
  std::function<Result<void>(const Key&)> visit = [&](const Key& k) -> Result<void> {
    if (index.count(k) != 0) {
      return {};
    }
    PAGABLE_TRY_ASSIGN(auto blob, s.get(k));
    if (!blob) {
      return Error(Errc::not_found, "write_fuzz_archive: a blob is missing");
    }
    if (blob->children.size() > 255 || blob->data.size() > 0xFFFF) {
      return Error(Errc::invalid_argument, "write_fuzz_archive: a blob too large for the form");
    }
    for (const Key& c : blob->children) {
      PAGABLE_TRY(visit(c));
    }
    const auto put16 = [&](std::size_t v) {
      out.push_back(static_cast<char>(v & 0xFF));
      out.push_back(static_cast<char>((v >> 8) & 0xFF));
    };
    out.push_back(static_cast<char>(blob->children.size()));
    for (const Key& c : blob->children) {
      put16(index.at(c));
    }
    put16(blob->data.size());
    out.append(blob->data.begin(), blob->data.end());
    const auto n = static_cast<std::uint32_t>(index.size());
    index.emplace(k, n);
    return {};
  };
  PAGABLE_TRY(visit(root));
  return out;
}

} // namespace pagable::fuzz
