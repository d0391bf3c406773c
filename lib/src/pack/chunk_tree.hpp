// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Chunking (FORMAT.md "Chunking"): how one open container becomes nodes. Its items are encoded
// into a ContainerBody as they arrive; as each item ends, a content-defined hash decides
// whether a cut follows it. A container that stays small becomes an inline value of its
// parent, or its own node from BoundarySettings::node_bytes. One that outgrows
// chunk_above_bytes is chunked: the items between cuts are stored as parts as soon as they are
// complete, and the parts gathered under index levels whose boundaries are content-defined
// too, so that an edit changes only the nodes around it. A chunked object may also be routed
// (pack/routing.hpp).
// Errors: the NodeWriter's (limits, cancellation) and routing's.
// Thread-safety: one thread (the pack's parser thread).

#include <pagable/blob.hpp>
#include <pagable/pack.hpp>
#include <pagable/result.hpp>

#include "pack/aligner.hpp"
#include "pack/node_writer.hpp"
#include "pack/routing.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace pagable::pack {

// An encoded value on its way into its parent: its bytes, and the nodes its refs name.
struct Value {
  Bytes bytes;
  std::vector<Pending> children;
};

// A content-defined cut point inside a body's buffer.
struct Cut {
  std::size_t bytes;
  std::size_t children;
  std::uint64_t items;
};

// A node of one chunk tree level, waiting for the index node above it.
struct Entry {
  Pending node;
  std::uint64_t count; // members or items below it
};

// One open container's encoding. The packer appends each item's encoding to `buf` (the nodes
// its refs name to `children`) between begin_item() and Chunker::end_item(); the rest belongs
// to the Chunker.
struct ContainerBody {
  bool object = false;
  bool chunked = false;
  Bytes buf; // encoded items not yet in a part
  std::vector<Pending> children;
  std::uint64_t items = 0; // items in buf
  std::size_t item_bytes = 0;    // where the current item starts in buf...
  std::size_t item_children = 0; // ...and in children
  std::vector<Cut> cuts;
  std::vector<std::vector<Entry>> levels; // chunk tree levels (chunked only)
  std::vector<bool> level_emitted;
  MemberFingerprints fingerprints; // chunked objects, when routing is on

  void begin_item()
  {
    item_bytes = buf.size();
    item_children = children.size();
  }
  // A closed child container's value is the current item.
  void append(Value&& v);
  // Empties the body for the next container at its depth, keeping small buffers' capacity.
  void reset(bool is_object);
};

class Chunker {
public:
  // REQUIRES: the arguments outlive the Chunker. `align` is null without an old version.
  Chunker(const BoundarySettings& boundaries, NodeWriter& writer, Aligner* align)
      : m_boundaries(boundaries), m_writer(writer), m_align(align)
  {
  }

  // The item that began last in `body` is complete (a member named `member_name`, for an
  // object): places a cut after it when the content says so, and stores the parts before the
  // cuts once the container is chunked.
  Result<void> end_item(ContainerBody& body, std::string_view member_name);
  // The container closes after `count` items (members); `arc` is the schema's x-pagable-arc
  // for it, if any; `depth` 0 is the document itself, always a node. Returns the value its
  // parent holds: the encoding inline, or a ref to its node or chunk tree.
  Result<Value> finish(ContainerBody& body, std::uint64_t count, std::optional<bool> arc,
                       std::size_t depth);

private:
  Result<void> emit_parts(ContainerBody& body);
  Result<void> add_entry(ContainerBody& body, std::size_t level, Entry e);
  Result<Pending> index_node(std::vector<Entry> entries, bool object, std::uint64_t& count);
  Result<void> emit_index(ContainerBody& body, std::size_t level);
  Result<Pending> finish_levels(ContainerBody& body);

  const BoundarySettings& m_boundaries;
  NodeWriter& m_writer;
  Aligner* m_align;
};

} // namespace pagable::pack
