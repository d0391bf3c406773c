// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// RefTracker: whether each {"$ref": "#/..."} of the document being packed resolves in it
// (PackOptions::dangling_refs). Most targets are settled while the parse passes them: a
// target whose parent is open when the $ref is read is looked up in that parent's member
// names (nothing kept) or, for a member not read yet, settled when it is read or the parent
// closes; a target whose parent opens later is settled when that parent closes. Only targets
// whose parent closed before the $ref was read are looked up in the stored document, by
// dangling(), in one pass per parent.
// Thread-safety: one thread (the pack's parser thread).

#include <pagable/key.hpp>
#include <pagable/result.hpp>

#include "codec/navigate.hpp"
#include "pack/frame_stack.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pagable::pack {

class RefTracker {
public:
  // Follows `frames`, the packer's open containers. REQUIRES: `frames` outlives the tracker.
  explicit RefTracker(FrameStack& frames) : m_frames(frames) {}

  // --- the packer's walk, on its frames ---
  // A container was pushed.
  void opened();
  // A member name was read in the innermost object.
  void member_read(const std::string& name);
  // A string value was read in the innermost container (or as the document).
  void string_read(const std::string& value);
  // The innermost container is about to be popped.
  void closing();

  // --- once the document is stored under `root` ---
  // The $refs that do not resolve, as "\"#/a/b\" at /x/y" (the $ref, where it first
  // appears), sorted. Errors reading the stored document are returned as they are.
  Result<std::vector<std::string>> dangling(const codec::BlobLoader& load, const Key& root);
  // "$ref": "#/..." objects read.
  std::uint64_t count() const noexcept { return m_count; }

private:
  enum class Found : std::uint8_t { unknown, yes, no };
  struct RefTarget {
    std::string text;   // the $ref
    std::string origin; // where it first appears
    Found found = Found::unknown;
  };
  // A target whose parent had not closed when the $ref was read.
  struct Waiting {
    RefTarget* target;
    std::vector<std::string> tokens; // of its pointer
  };

  std::uint64_t child_path(std::size_t depth) const;
  void check_ref(const std::string& text);
  bool found_at_once(std::string_view text);
  template <typename Token>
  bool parent_is_open(const std::vector<Token>& tokens) const;
  void add_ref_target(std::string pointer, const std::string& text);
  void resolve_targets_in(const Frame& f);

  FrameStack& m_frames;
  std::uint64_t m_count = 0;
  std::unordered_map<std::string, RefTarget> m_refs; // by target pointer
  std::unordered_map<std::uint64_t, std::vector<Waiting>> m_waiting; // by hash of the parent's pointer
  bool m_track_paths = false; // Frame::path is set (once the first $ref is read)
  std::vector<std::string_view> m_tokens; // found_at_once's, kept for their capacity
};

} // namespace pagable::pack
