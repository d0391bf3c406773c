// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The packer's open containers, outermost first: for each, its encoding (ContainerBody, which
// the Chunker turns into nodes), its place in its parent, the member names it has seen, and
// the state the $ref tracker keeps per container. Whoever needs the current JSON path reads
// it here (pointer()).
// Thread-safety: one thread (the pack's parser thread).

#include "pack/chunk_tree.hpp"
#include "pack/member_names.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

namespace pagable::pack {

// One open object or array.
struct Frame {
  ContainerBody body;
  std::string name;        // the current member's name (objects)
  std::uint64_t index = 0; // items seen so far: the array index of the current item
  NameSet names;           // member names seen (objects)
  std::optional<bool> arc; // the schema's x-pagable-arc for this value
  // RefTracker's (pack/ref_tracker.hpp):
  std::string ref; // the "$ref" value when it is the first member
  // Members not seen yet that a $ref names, by name: the target pointer.
  std::unordered_map<std::string, std::string> awaited;
  std::uint64_t path = 0; // hash of its pointer, once $refs are tracked

  bool is_object() const noexcept { return body.object; }
  // Empties the frame for the next container at its depth, keeping small buffers' capacity.
  void reset(bool object);
  // Gives back what the frame's containers hold, for a depth no sibling is likely to reuse.
  void release();
};

// A popped frame stays allocated and is reset for the next container opened at its depth,
// so siblings reuse its buffers instead of allocating; below k_reused_depths, a popped frame
// gives its buffers back (release()): a deep chain of nested values has no siblings down
// there, and a million levels each keeping up to a node's worth of buffer took 8.5 GB. A
// deque, so that a deep stack grows without moving its frames.
class FrameStack {
public:
  static constexpr std::size_t k_reused_depths = 256;

  bool empty() const noexcept { return m_size == 0; }
  std::size_t size() const noexcept { return m_size; }
  Frame& back() { return m_frames[m_size - 1]; }
  const Frame& operator[](std::size_t i) const { return m_frames[i]; }
  Frame& at(std::size_t i) { return m_frames[i]; }
  Frame& push(bool object);
  // The popped frame stays valid until the next push.
  Frame& pop() { return m_frames[--m_size]; }
  // NameSet::set_limits of every frame.
  void set_name_limits(std::size_t exact_names, unsigned hash_bits);

  // The JSON pointer of the value open at depth `depth` (0 = the document).
  std::string pointer(std::size_t depth) const { return pointer_tokens(0, depth); }
  // The tokens ("/a/0") of that pointer from depth `from` to depth `to`.
  std::string pointer_tokens(std::size_t from, std::size_t to) const;

private:
  std::deque<Frame> m_frames;
  std::size_t m_size = 0;
  std::size_t m_exact_names = 4096;
  unsigned m_name_hash_bits = 64;
};

} // namespace pagable::pack
