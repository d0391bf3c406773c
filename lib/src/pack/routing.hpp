// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Routed objects (FORMAT.md "Routed objects"): a chunked object of at least
// BoundarySettings::route_members members also stores its member names' fingerprints, part by
// part, in groups of about k_fingerprint_group_bytes, so that a lookup by name reads the
// groups and then only the parts that list the name's fingerprint. MemberFingerprints gathers
// them while the object streams past, one per member and one group boundary per stored part;
// route() stores the groups and the routed node above the object's chunk tree once it closes.
// Errors: the NodeWriter's, and Errc::internal should the parts count more members than were
// added (a packer bug).
// Thread-safety: one thread (the pack's parser thread).

#include <pagable/blob.hpp>
#include <pagable/key.hpp>
#include <pagable/pack.hpp>
#include <pagable/result.hpp>

#include "pack/aligner.hpp"
#include "pack/node_writer.hpp"

#include <cstdint>
#include <vector>

namespace pagable::pack {

// Member fingerprints of consecutive parts of a routed object, one blob's worth. Kept wide
// until the object ends, when its member count decides their width.
struct FingerprintGroup {
  Bytes data; // per part: varint members, then a 24-bit fingerprint per member
  std::uint64_t parts = 0;
  std::uint64_t members = 0;
  // The size `data` has with 16-bit fingerprints: group ends do not depend on the width.
  std::uint64_t narrow_bytes = 0;
};

// One open chunked object's fingerprints.
class MemberFingerprints {
public:
  // A member ended; `name_hash` is codec::member_name_hash of its name.
  void add_member(std::uint64_t name_hash);
  // A part holding the next `members` members was stored: its fingerprint `part_fp` and its
  // encoded size `part_bytes` (child keys included).
  Result<void> add_part(std::uint64_t members, std::uint64_t part_fp, std::uint64_t part_bytes);
  // Returns true iff the object, now closing with `members` members, is routed: enough
  // members, of enough bytes each on average.
  bool is_routed(const BoundarySettings& boundaries, std::uint64_t members) const;
  // Stores the groups and, above them and the object's chunk tree `top`, the routed object
  // (which is what the parent then references). Empties the groups. `align` may be null.
  Result<Pending> route(NodeWriter& writer, Aligner* align, const BoundarySettings& boundaries,
                        Pending top, std::uint64_t members);
  // For the next object; keeps capacity.
  void clear();

private:
  std::vector<std::uint32_t> m_fps;         // wide fingerprints of members not in a part yet
  std::vector<FingerprintGroup> m_groups;   // of the parts stored so far
  std::uint64_t m_part_bytes = 0;           // encoded size of those parts
};

} // namespace pagable::pack
