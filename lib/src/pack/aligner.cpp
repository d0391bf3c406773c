// SPDX-License-Identifier: MIT OR Apache-2.0
#include "pack/aligner.hpp"

#include <algorithm>

namespace pagable::pack {
namespace {

using codec::Location;
using codec::NodeReader;
using codec::Tag;

// Bases named for one new node (each is a whole old node; the store bounds their bytes too).
constexpr std::size_t k_max_bases = 4;
// Old parts searched on either side of a cursor for a member name.
constexpr std::size_t k_window_ahead = 8;

Error corrupt(const std::string& what)
{
  return make_error(Errc::corrupt, "old version: " + what);
}

} // namespace

Aligner::Aligner(const store::BlobStore& store, const Key& old_root) : m_store(store), m_root(old_root)
{
}

void Aligner::open_root()
{
  m_frames.clear();
  Frame f;
  f.root = true;
  m_frames.push_back(std::move(f));
}

void Aligner::open_member(std::string_view name)
{
  Frame f;
  f.name = name;
  f.by_name = true;
  f.index = m_frames.empty() || m_frames.back().seen == 0 ? 0 : m_frames.back().seen - 1;
  m_frames.push_back(std::move(f));
}

void Aligner::open_item(std::uint64_t index)
{
  Frame f;
  f.index = index;
  m_frames.push_back(std::move(f));
}

void Aligner::member(std::string_view name)
{
  if (!m_frames.empty()) {
    m_frames.back().names.emplace_back(name);
    ++m_frames.back().seen;
  }
}

void Aligner::close()
{
  if (!m_frames.empty()) {
    m_frames.pop_back();
  }
}

void Aligner::fail(Error e)
{
  if (!m_error) {
    m_error = std::move(e);
  }
}

Result<std::shared_ptr<const Blob>> Aligner::load(const Key& key)
{
  if (const auto* cached = m_cache.find(key)) {
    return *cached;
  }
  PAGABLE_TRY_ASSIGN(auto blob, m_store.get(key));
  if (!blob) {
    return corrupt("missing blob " + key.to_hex());
  }
  auto shared = std::make_shared<const Blob>(std::move(*blob));
  m_cache.insert(key, shared, 1);
  return shared;
}

Result<Aligner::Old> Aligner::make_old(Location loc, Key node)
{
  std::vector<Part> fingerprints;
  for (;;) {
    NodeReader r(loc.blob->data, loc.pos);
    PAGABLE_TRY_ASSIGN(const Tag tag, r.read_tag());
    // A routed object aligns as its chunk tree (child 0); its fingerprint groups (children
    // 1..m) are kept with the members they list, as bases for the new groups.
    if (tag != Tag::ref && tag != Tag::routed_object) {
      break;
    }
    if (loc.next_child >= loc.blob->children.size()) {
      return corrupt("a reference past the children of " + node.to_hex());
    }
    if (tag == Tag::routed_object) {
      PAGABLE_TRY_ASSIGN(const std::uint64_t groups, r.read_varint());
      if (groups > loc.blob->children.size() - loc.next_child - 1) {
        return corrupt("a routed object with more groups than children in " + node.to_hex());
      }
      std::uint64_t first = 0;
      for (std::uint64_t g = 0; g < groups; ++g) {
        PAGABLE_TRY(r.read_varint()); // its parts
        PAGABLE_TRY_ASSIGN(const std::uint64_t members, r.read_varint());
        fingerprints.push_back(Part{loc.blob->children[loc.next_child + 1 + g], first, members});
        first += members;
      }
    }
    node = loc.blob->children[loc.next_child];
    PAGABLE_TRY_ASSIGN(auto blob, load(node));
    loc = Location{std::move(blob), 0, 0};
  }
  Old old;
  NodeReader r(loc.blob->data, loc.pos);
  PAGABLE_TRY_ASSIGN(old.tag, r.read_tag());
  old.loc = loc;
  old.node = node;
  old.fingerprints = std::move(fingerprints);
  if (old.tag != Tag::object_chunks && old.tag != Tag::array_chunks) {
    return old;
  }
  // A chunk tree is balanced (every part is at the same depth, FORMAT.md "Chunking"): find
  // its height along the first entries, then read the index levels, never the parts.
  std::size_t height = 1;
  for (auto blob = loc.blob;;) {
    if (blob->children.empty()) {
      return corrupt("an empty chunk list in " + node.to_hex());
    }
    PAGABLE_TRY_ASSIGN(blob, load(blob->children.front()));
    NodeReader cr(blob->data);
    PAGABLE_TRY_ASSIGN(const Tag ct, cr.read_tag());
    if (ct != old.tag) {
      break;
    }
    ++height;
  }
  std::vector<std::shared_ptr<const Blob>> level{loc.blob};
  for (; height > 1; --height) {
    std::vector<std::shared_ptr<const Blob>> next;
    for (const auto& b : level) {
      for (const Key& k : b->children) {
        PAGABLE_TRY_ASSIGN(auto child, load(k));
        next.push_back(std::move(child));
      }
    }
    level = std::move(next);
  }
  std::uint64_t first = 0;
  for (const auto& b : level) {
    NodeReader cr(b->data);
    PAGABLE_TRY_ASSIGN(const Tag ct, cr.read_tag());
    PAGABLE_TRY_ASSIGN(const std::uint64_t n, cr.read_varint());
    if (ct != old.tag || n != b->children.size()) {
      return corrupt("a malformed chunk list in " + node.to_hex());
    }
    for (std::uint64_t e = 0; e < n; ++e) {
      PAGABLE_TRY_ASSIGN(const std::uint64_t count, cr.read_varint());
      old.parts.push_back(Part{b->children[static_cast<std::size_t>(e)], first, count});
      first += count;
    }
  }
  return old;
}

Result<std::optional<Location>> Aligner::find_in_part(const Part& p, std::string_view name)
{
  PAGABLE_TRY_ASSIGN(auto blob, load(p.key));
  NodeReader r(blob->data);
  PAGABLE_TRY_ASSIGN(const Tag tag, r.read_tag());
  if (tag != Tag::object_part) {
    return corrupt("an object chunk tree holds a tag " + std::to_string(static_cast<int>(tag)));
  }
  PAGABLE_TRY_ASSIGN(const std::uint64_t n, r.read_varint());
  std::size_t next_child = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    PAGABLE_TRY_ASSIGN(const std::string_view member, r.read_text());
    if (member == name) {
      return std::optional<Location>(Location{blob, r.pos(), next_child});
    }
    PAGABLE_TRY_ASSIGN(const std::size_t refs, codec::skip_value(r));
    next_child += refs;
  }
  return std::optional<Location>();
}

namespace {

// The part holding item `index` (the last part when the index is beyond them all).
template <typename Parts>
std::size_t part_at(const Parts& parts, std::uint64_t index)
{
  const auto it = std::upper_bound(parts.begin(), parts.end(), index,
                                   [](std::uint64_t i, const auto& p) { return i < p.first; });
  return it == parts.begin() ? 0 : static_cast<std::size_t>(it - parts.begin()) - 1;
}

} // namespace

Result<std::optional<std::pair<std::size_t, Location>>> Aligner::find_part(Old& o, std::string_view name,
                                                                           std::uint64_t position)
{
  // Around the cursor first (the new document's members mostly come in the old order), then
  // around the part at the same item position (after a large insertion or deletion).
  const std::size_t n = o.parts.size();
  std::vector<std::size_t> tried;
  for (const std::size_t centre : {o.cursor, part_at(o.parts, position)}) {
    const std::size_t lo = centre == 0 ? 0 : centre - 1;
    const std::size_t hi = std::min(n, centre + k_window_ahead);
    for (std::size_t j = centre; j < hi; ++j) {
      tried.push_back(j);
    }
    if (lo < centre) {
      tried.push_back(lo);
    }
  }
  std::vector<std::size_t> done;
  for (const std::size_t j : tried) {
    if (std::find(done.begin(), done.end(), j) != done.end()) {
      continue;
    }
    done.push_back(j);
    PAGABLE_TRY_ASSIGN(auto loc, find_in_part(o.parts[j], name));
    if (loc) {
      o.cursor = j;
      return std::optional<std::pair<std::size_t, Location>>(std::make_pair(j, std::move(*loc)));
    }
  }
  return std::optional<std::pair<std::size_t, Location>>();
}

Result<std::optional<Aligner::Old>> Aligner::child_of(Old& parent, const Frame& f)
{
  using Found = std::optional<Old>;
  const auto& blob = parent.loc.blob;
  NodeReader r(blob->data, parent.loc.pos);
  PAGABLE_TRY(r.read_tag());
  if (f.by_name && parent.tag == Tag::object) {
    PAGABLE_TRY_ASSIGN(const std::uint64_t n, r.read_varint());
    std::size_t next_child = parent.loc.next_child;
    for (std::uint64_t i = 0; i < n; ++i) {
      PAGABLE_TRY_ASSIGN(const std::string_view member, r.read_text());
      if (member == f.name) {
        PAGABLE_TRY_ASSIGN(Old old, make_old(Location{blob, r.pos(), next_child}, parent.node));
        return Found(std::move(old));
      }
      PAGABLE_TRY_ASSIGN(const std::size_t refs, codec::skip_value(r));
      next_child += refs;
    }
    return Found();
  }
  if (f.by_name && parent.tag == Tag::object_chunks) {
    PAGABLE_TRY_ASSIGN(auto found, find_part(parent, f.name, f.index));
    if (!found) {
      return Found();
    }
    PAGABLE_TRY_ASSIGN(Old old, make_old(std::move(found->second), parent.parts[found->first].key));
    return Found(std::move(old));
  }
  if (!f.by_name && parent.tag == Tag::array) {
    PAGABLE_TRY_ASSIGN(const std::uint64_t n, r.read_varint());
    if (f.index >= n) {
      return Found();
    }
    std::size_t next_child = parent.loc.next_child;
    for (std::uint64_t i = 0; i < f.index; ++i) {
      PAGABLE_TRY_ASSIGN(const std::size_t refs, codec::skip_value(r));
      next_child += refs;
    }
    PAGABLE_TRY_ASSIGN(Old old, make_old(Location{blob, r.pos(), next_child}, parent.node));
    return Found(std::move(old));
  }
  if (!f.by_name && parent.tag == Tag::array_chunks && !parent.parts.empty()) {
    const Part& p = parent.parts[part_at(parent.parts, f.index)];
    if (f.index < p.first || f.index - p.first >= p.count) {
      return Found();
    }
    PAGABLE_TRY_ASSIGN(auto part, load(p.key));
    NodeReader pr(part->data);
    PAGABLE_TRY_ASSIGN(const Tag tag, pr.read_tag());
    PAGABLE_TRY_ASSIGN(const std::uint64_t n, pr.read_varint());
    if (tag != Tag::array_part || n != p.count) {
      return corrupt("an array chunk count disagrees with its part " + p.key.to_hex());
    }
    std::size_t next_child = 0;
    for (std::uint64_t i = p.first; i < f.index; ++i) {
      PAGABLE_TRY_ASSIGN(const std::size_t refs, codec::skip_value(pr));
      next_child += refs;
    }
    PAGABLE_TRY_ASSIGN(Old old, make_old(Location{part, pr.pos(), next_child}, p.key));
    return Found(std::move(old));
  }
  return Found(); // the old value there is of another kind
}

void Aligner::resolve(std::size_t i)
{
  std::size_t j = i + 1;
  while (j > 0 && !m_frames[j - 1].resolved) {
    --j;
  }
  for (; j <= i; ++j) {
    Frame& f = m_frames[j];
    f.resolved = true;
    if (m_error) {
      continue;
    }
    Result<std::optional<Old>> old = std::optional<Old>();
    if (f.root) {
      auto blob = load(m_root);
      if (!blob) {
        fail(std::move(blob).error());
        continue;
      }
      auto made = make_old(Location{std::move(*blob), 0, 0}, m_root);
      old = made ? Result<std::optional<Old>>(std::optional<Old>(std::move(*made)))
                 : Result<std::optional<Old>>(std::move(made).error());
    } else if (j > 0 && m_frames[j - 1].old) {
      old = child_of(*m_frames[j - 1].old, f);
    }
    if (!old) {
      fail(std::move(old).error());
      continue;
    }
    f.old = std::move(*old);
  }
}

std::vector<Key> Aligner::node_bases()
{
  if (m_frames.empty()) {
    return {};
  }
  resolve(m_frames.size() - 1);
  const auto& old = m_frames.back().old;
  if (!old) {
    return {};
  }
  switch (old->tag) {
  case Tag::object:
  case Tag::array: return {old->node};
  case Tag::object_chunks:
  case Tag::array_chunks: {
    std::vector<Key> bases;
    for (std::size_t j = 0; j < old->parts.size() && j < k_max_bases; ++j) {
      bases.push_back(old->parts[j].key);
    }
    return bases;
  }
  default: return {};
  }
}

std::vector<Key> Aligner::fingerprint_bases(std::uint64_t first, std::uint64_t members)
{
  if (m_frames.empty()) {
    return {};
  }
  resolve(m_frames.size() - 1);
  const auto& old = m_frames.back().old;
  if (!old || m_error || old->fingerprints.empty()) {
    return {};
  }
  std::vector<Key> bases;
  const std::uint64_t end = first + std::max<std::uint64_t>(members, 1);
  for (const Part& g : old->fingerprints) {
    if (g.first < end && first < g.first + g.count && bases.size() < k_max_bases) {
      bases.push_back(g.key);
    }
  }
  if (bases.empty()) { // past the old object's end: its last group
    bases.push_back(old->fingerprints.back().key);
  }
  return bases;
}

std::vector<Key> Aligner::part_bases(std::uint64_t items)
{
  if (m_frames.empty()) {
    return {};
  }
  resolve(m_frames.size() - 1);
  Frame& f = m_frames.back();
  const std::uint64_t first = f.emitted;
  f.emitted += items;
  // The names of this part's first and last members, and drop them all.
  std::string first_name, last_name;
  const bool named = !f.names.empty();
  if (named) {
    const std::size_t n = std::min<std::size_t>(f.names.size(), static_cast<std::size_t>(items));
    first_name = f.names.front();
    last_name = f.names[n == 0 ? 0 : n - 1];
    f.names.erase(f.names.begin(), f.names.begin() + static_cast<std::ptrdiff_t>(n));
  }
  if (!f.old || m_error) {
    return {};
  }
  Old& old = *f.old;
  std::vector<Key> bases;
  const auto add_range = [&](std::size_t lo, std::size_t hi) {
    for (std::size_t j = lo; j <= hi && j < old.parts.size() && bases.size() < k_max_bases; ++j) {
      if (std::find(bases.begin(), bases.end(), old.parts[j].key) == bases.end()) {
        bases.push_back(old.parts[j].key);
      }
    }
  };
  switch (old.tag) {
  case Tag::object:
  case Tag::array: return {old.node};
  case Tag::array_chunks:
    if (!old.parts.empty() && items > 0) {
      add_range(part_at(old.parts, first), part_at(old.parts, first + items - 1));
    }
    return bases;
  case Tag::object_chunks: {
    if (old.parts.empty() || items == 0 || !named) {
      return bases;
    }
    auto lo = find_part(old, first_name, first);
    if (!lo) {
      fail(std::move(lo).error());
      return {};
    }
    auto hi = find_part(old, last_name, first + items - 1);
    if (!hi) {
      fail(std::move(hi).error());
      return {};
    }
    if (*lo && *hi && (*lo)->first <= (*hi)->first) {
      add_range((*lo)->first, (*hi)->first);
    } else if (*lo || *hi) {
      const std::size_t j = *lo ? (*lo)->first : (*hi)->first;
      add_range(j, j + 1); // the boundary moved: the neighbour covers the rest
    } else {
      add_range(old.cursor, old.cursor + 1); // all new members: the old ones nearby
    }
    return bases;
  }
  default: return {};
  }
}

} // namespace pagable::pack
