// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// ValueBuilder: the encoder both worlds share (DESIGN §1: one blob format for JSON documents
// and C++ object graphs). A value arrives as events -- scalars written into target(),
// containers opened and closed, child nodes already known placed where a value would be --
// and the builder encodes it into its open containers (FrameStack), hands each closed
// container to the Chunker (node boundaries, chunking, routing) and makes the top-level value
// a node. pack's SAX handler drives it with a JSON document's events (adding validation,
// $ref checks and delta alignment around them); the objects module drives it with a C++
// value's fields. The same events give the same nodes and keys, whoever sends them.
// Errors: the Chunker's and the NodeWriter's (limits, cancellation, failed stores).
// Thread-safety: one thread.

#include <pagable/pack.hpp>
#include <pagable/result.hpp>

#include "pack/aligner.hpp"
#include "pack/chunk_tree.hpp"
#include "pack/frame_stack.hpp"
#include "pack/node_writer.hpp"

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace pagable::pack {

class ValueBuilder {
public:
  // REQUIRES: the arguments outlive the builder; `align` is null without an old version.
  ValueBuilder(const BoundarySettings& boundaries, NodeWriter& writer, Aligner* align)
      : m_writer(writer), m_chunker(boundaries, writer, align)
  {
  }

  // The open containers, outermost first (pack's $ref tracker and pointers read them).
  FrameStack& frames() noexcept { return m_frames; }
  const FrameStack& frames() const noexcept { return m_frames; }

  // --- a scalar: begin_value(), its encoding appended to target(), end_value() ---
  // Marks where the next array item starts (a member starts at member()).
  void begin_value()
  {
    if (!m_frames.empty() && !m_frames.back().is_object()) {
      m_frames.back().body.begin_item();
    }
  }
  // Where the current value's encoding goes: the innermost open container, or the top.
  Bytes& target() { return m_frames.empty() ? m_top.bytes : m_frames.back().body.buf; }
  // The current value is complete: the Chunker may cut after it.
  Result<void> end_value();

  // --- containers: begin_value(), open(), members or items, close(), attach() ---
  // Pushes an object or array (after begin_value()).
  Frame& open(bool object) { return m_frames.push(object); }
  // Names the next member of the innermost object. Duplicate names are the caller's to refuse.
  void member(std::string_view name);
  // Pops the innermost container and returns what its parent holds: its encoding inline, or
  // a ref to the node (or chunk tree) it became. `arc`: a schema's x-pagable-arc for it.
  Result<Value> close(std::optional<bool> arc);
  // Places a closed container's value in its parent (or as the top-level value).
  Result<void> attach(Value value);

  // --- nodes ---
  // Places a node that is already known (stored, or on its way) where a value would be: its
  // parent holds a ref to it, exactly as to a container that became a node.
  Result<void> node(Pending child);
  // Stores the encoded scalar `bytes` as a node of its own and places a ref to it (a schema's
  // x-pagable-arc: true on a scalar; the top-level value is a node anyway).
  Result<void> scalar_node(Bytes bytes);
  // The top-level value as a node (a container that already became one is that node).
  // REQUIRES: every container is closed. `bases`: delta bases for a new top node.
  Result<Pending> finish(std::vector<Key> bases = {});

private:
  NodeWriter& m_writer;
  Chunker m_chunker;
  FrameStack m_frames;
  Value m_top;
};

} // namespace pagable::pack
