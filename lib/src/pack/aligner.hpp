// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Structural alignment for updates (DESIGN §4 "Updates need deltas"): while pack streams a
// new version of a document, the Aligner walks the old version's graph alongside it and
// names, for each new node, the old nodes at the same JSON path, which the store may use as
// its zstd prefix (store::PutHints::delta_bases).
//
// The walk is lazy and bounded: an old value is looked up only when a node at its path is
// emitted; per open container it keeps one old location and, for a chunked old container,
// the list of its parts (a key and a count per part, not their data) and a cursor that
// follows the new document's members. Old blobs are read through a small cache.
//
// Alignment rules: object members by name, array items by index. A part of a new chunked
// object is aligned with the old parts holding its first and last members (content-defined
// boundaries mostly fall where they fell before; when one moved, the neighbouring old part
// covers the rest); a part of a new chunked array with the old parts covering the same item
// range. A new node whose old counterpart was inline gets the old node holding it. A routed
// object's fingerprint groups get the old groups listing the same member positions. Index
// nodes of chunk trees get none (a few varints each). A failure to read the old graph
// only loses hints: the aligner stops hinting and the pack goes on (see error()).
// Thread-safety: one thread (the pack's parser thread).

#include <pagable/key.hpp>
#include <pagable/result.hpp>
#include <pagable/store.hpp>

#include "codec/navigate.hpp"
#include "util/lru_map.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pagable::pack {

class Aligner {
public:
  // REQUIRES: `store` outlives the Aligner. Reads nothing until asked.
  Aligner(const store::BlobStore& store, const Key& old_root);

  // --- the packer's walk ---
  // A container opens: the document itself (no token), or the member `name` / item `index`
  // of the innermost open container.
  void open_root();
  void open_member(std::string_view name);
  void open_item(std::uint64_t index);
  // A member name of the innermost open object was read (in order).
  void member(std::string_view name);
  void close();

  // --- bases for the nodes the packer emits ---
  // The innermost container as one node.
  std::vector<Key> node_bases();
  // The next part of the innermost container: its next `items` items not in a part yet.
  std::vector<Key> part_bases(std::uint64_t items);
  // A document that is a scalar.
  std::vector<Key> root_bases() const { return {m_root}; }
  // A fingerprint group of the innermost container, stored as a routed object, that lists
  // its members first .. first + members - 1: the old routed object's groups listing the
  // same member positions (an edit changes one group, which then compresses to its change).
  std::vector<Key> fingerprint_bases(std::uint64_t first, std::uint64_t members);

  // The first error met reading the old graph (hints stopped there), if any.
  const std::optional<Error>& error() const noexcept { return m_error; }

private:
  struct Part {
    Key key;
    std::uint64_t first = 0; // index of its first item in the container
    std::uint64_t count = 0;
  };
  // The old value at a frame's path.
  struct Old {
    codec::Location loc; // at the value's tag, refs followed
    Key node;            // the blob holding it (its own node, or the node it is inline in)
    codec::Tag tag = codec::Tag::null;
    std::vector<Part> parts; // chunked containers only
    std::size_t cursor = 0;  // chunked objects: the part the last member was found in
    std::vector<Part> fingerprints; // a routed object's groups (first member, members)
  };
  struct Frame {
    bool root = false;
    std::string name;         // the token in the parent: a member name...
    std::uint64_t index = 0;  // ...or an item index
    bool by_name = false;
    bool resolved = false;
    std::optional<Old> old;
    std::deque<std::string> names; // member names not in an emitted part yet
    std::uint64_t emitted = 0;     // items in emitted parts
    std::uint64_t seen = 0;        // member names read
  };

  // Resolves m_frames[0..i] (iteratively, parents first).
  void resolve(std::size_t i);
  Result<std::optional<Old>> child_of(Old& parent, const Frame& f);
  Result<Old> make_old(codec::Location loc, Key node);
  Result<std::optional<codec::Location>> find_in_part(const Part& p, std::string_view name);
  // The part of chunked object `o` holding member `name` (whose item index in the new
  // document is `position`), searched near o's cursor and near that position; moves the cursor.
  Result<std::optional<std::pair<std::size_t, codec::Location>>> find_part(Old& o, std::string_view name,
                                                                          std::uint64_t position);
  Result<std::shared_ptr<const Blob>> load(const Key& key);
  void fail(Error e);

  const store::BlobStore& m_store;
  Key m_root;
  std::vector<Frame> m_frames;
  std::optional<Error> m_error;
  // Old blobs kept: the parts around the cursors of the open chunked containers and the nodes
  // on the current path.
  static constexpr std::size_t k_cache_blobs = 32;
  util::LruMap<Key, std::shared_ptr<const Blob>> m_cache{k_cache_blobs};
};

} // namespace pagable::pack
