// SPDX-License-Identifier: MIT OR Apache-2.0
#include "pack/routing.hpp"

#include "codec/node_codec.hpp"

#include <string>
#include <utility>

namespace pagable::pack {
namespace {

using codec::Tag;

// Average size of a routed object's fingerprint blob: small, because a member added or removed
// rewrites the blob that lists it. A group also ends once it reaches 4 times this, but only
// after a whole part, so one part of many small members can make a larger group.
constexpr std::uint64_t k_fingerprint_group_bytes = 4096;

enum class Width : std::uint8_t { narrow, wide };

// A group's fingerprints as a blob's data: wide (24-bit) or narrowed to their top 16 bits.
Bytes fingerprint_blob(const FingerprintGroup& g, Width width)
{
  const bool wide = width == Width::wide;
  Bytes out;
  out.reserve((wide ? g.data.size() : g.narrow_bytes) + 11);
  codec::put_tag(out, wide ? Tag::wide_member_fingerprints : Tag::member_fingerprints);
  codec::put_varint(out, g.parts);
  if (wide) {
    out.insert(out.end(), g.data.begin(), g.data.end());
    return out;
  }
  codec::NodeReader r(g.data);
  for (std::uint64_t p = 0; p < g.parts; ++p) {
    const std::uint64_t c = r.read_varint().value(); // written by add_part
    codec::put_varint(out, c);
    const auto wide_fps = r.read_fingerprints(c, 3).value();
    for (std::size_t j = 0; j < wide_fps.size(); j += 3) {
      out.push_back(wide_fps[j + 1]); // the top 16 of the 24 bits, little-endian
      out.push_back(wide_fps[j + 2]);
    }
  }
  return out;
}

} // namespace

void MemberFingerprints::add_member(std::uint64_t name_hash)
{
  m_fps.push_back(codec::wide_member_fingerprint(name_hash));
}

// As parts end (FORMAT.md "Chunking"), a group ends after a part whose content hash modulo the
// target is below the part's share of bytes, or at 4 times the target: an edit moves at most
// the group boundaries next to it.
Result<void> MemberFingerprints::add_part(std::uint64_t members, std::uint64_t part_fp,
                                          std::uint64_t part_bytes)
{
  if (m_fps.size() < members) {
    return make_error(Errc::internal, "pack lost track of member fingerprints (" +
                                          std::to_string(m_fps.size()) + " for a part of " +
                                          std::to_string(members) + " members)");
  }
  m_part_bytes += part_bytes;
  if (m_groups.empty()) {
    m_groups.emplace_back();
  }
  FingerprintGroup& g = m_groups.back();
  const auto n = static_cast<std::size_t>(members);
  const std::size_t varint_at = g.data.size();
  codec::put_varint(g.data, n);
  g.narrow_bytes += (g.data.size() - varint_at) + 2 * n;
  for (std::size_t i = 0; i < n; ++i) {
    for (unsigned b = 0; b < 3; ++b) {
      g.data.push_back(static_cast<std::uint8_t>(m_fps[i] >> (8 * b)));
    }
  }
  m_fps.erase(m_fps.begin(), m_fps.begin() + static_cast<std::ptrdiff_t>(n));
  ++g.parts;
  g.members += n;
  if (codec::mix64(part_fp ^ 0x2545f4914f6cdd1dULL) % k_fingerprint_group_bytes < 2 * n + 1 ||
      g.narrow_bytes >= 4 * k_fingerprint_group_bytes) {
    g.data.shrink_to_fit(); // kept until the object ends: 3 bytes a member, not up to 6
    m_groups.emplace_back();
  }
  return {};
}

bool MemberFingerprints::is_routed(const BoundarySettings& boundaries, std::uint64_t members) const
{
  return boundaries.route_members != 0 && members >= boundaries.route_members &&
         m_part_bytes >= boundaries.route_member_bytes * members;
}

// The fingerprint groups are stored one after another (so that a lookup, which reads them all,
// decompresses few packs).
Result<Pending> MemberFingerprints::route(NodeWriter& writer, Aligner* align,
                                          const BoundarySettings& boundaries, Pending top,
                                          std::uint64_t members)
{
  std::vector<Pending> children{std::move(top)};
  Bytes data;
  codec::put_tag(data, Tag::routed_object);
  std::vector<FingerprintGroup> groups = std::move(m_groups);
  m_groups.clear();
  if (!groups.empty() && groups.back().parts == 0) {
    groups.pop_back();
  }
  codec::put_varint(data, groups.size());
  // Past route_wide_members a 16-bit fingerprint matches too many other members (one in
  // 65,536): each such match costs reading a part for nothing.
  const Width width = boundaries.route_wide_members != 0 && members >= boundaries.route_wide_members
                          ? Width::wide
                          : Width::narrow;
  std::uint64_t first = 0; // the group's first member
  for (FingerprintGroup& g : groups) {
    codec::put_varint(data, g.parts);
    codec::put_varint(data, g.members);
    Bytes fp_data = fingerprint_blob(g, width);
    g.data = Bytes();
    // Fingerprints do not compress, but against the old group they are mostly a copy.
    std::vector<Key> bases =
        align ? align->fingerprint_bases(first, g.members) : std::vector<Key>{};
    first += g.members;
    PAGABLE_TRY_ASSIGN(Pending p,
                       writer.emit(std::move(fp_data), {}, std::move(bases), NodeRole::index));
    children.push_back(std::move(p));
  }
  return writer.emit(std::move(data), std::move(children), {}, NodeRole::index);
}

void MemberFingerprints::clear()
{
  m_fps.clear();
  m_groups.clear();
  m_part_bytes = 0;
}

} // namespace pagable::pack
