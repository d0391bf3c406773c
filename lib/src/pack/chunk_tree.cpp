// SPDX-License-Identifier: MIT OR Apache-2.0
#include "pack/chunk_tree.hpp"

#include "codec/node_codec.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

namespace pagable::pack {
namespace {

using codec::Tag;

// Content a document's root follows before it is packed apart from it (Chunker::finish):
// half the default content pack (ArchiveOptions::pack_target_bytes), about 0.5 ms to decode.
constexpr std::uint64_t k_root_apart_after_bytes = 1024 * 1024;

Value ref_to(Pending p)
{
  Value v;
  codec::put_tag(v.bytes, Tag::ref);
  v.children.push_back(std::move(p));
  return v;
}

} // namespace

void ContainerBody::append(Value&& v)
{
  buf.insert(buf.end(), v.bytes.begin(), v.bytes.end());
  children.insert(children.end(), std::make_move_iterator(v.children.begin()),
                  std::make_move_iterator(v.children.end()));
}

void ContainerBody::reset(bool is_object)
{
  constexpr std::size_t k_keep_bytes = 1024 * 1024;
  object = is_object;
  chunked = false;
  if (buf.capacity() > k_keep_bytes) {
    Bytes().swap(buf);
  }
  buf.clear();
  children.clear();
  items = 0;
  item_bytes = 0;
  item_children = 0;
  cuts.clear();
  levels.clear();
  level_emitted.clear();
  fingerprints.clear();
}

Result<void> Chunker::end_item(ContainerBody& body, std::string_view member_name)
{
  const std::span<const std::uint8_t> item(body.buf.data() + body.item_bytes,
                                           body.buf.size() - body.item_bytes);
  const std::size_t item_size =
      item.size() + (body.children.size() - body.item_children) * Key::k_size;
  // The boundary hash (FORMAT.md "Chunking"): a member's comes from its name, an item's from
  // its content.
  std::uint64_t h = 0;
  if (body.object) {
    h = codec::member_name_hash(member_name);
    if (m_boundaries.route_members != 0) {
      body.fingerprints.add_member(h);
    }
  } else {
    const auto item_children = std::span<const Pending>(body.children).subspan(body.item_children);
    h = codec::mix64(node_fingerprint(m_boundaries.fingerprint, item, item_children));
  }
  ++body.items;
  const Cut last = body.cuts.empty() ? Cut{0, 0, 0} : body.cuts.back();
  const std::size_t since_cut =
      (body.buf.size() - last.bytes) + (body.children.size() - last.children) * Key::k_size;
  if (h % m_boundaries.chunk_target_bytes < item_size ||
      since_cut >= m_boundaries.chunk_max_bytes) {
    body.cuts.push_back({body.buf.size(), body.children.size(), body.items});
  }
  if (!body.chunked &&
      body.buf.size() + body.children.size() * Key::k_size > m_boundaries.chunk_above_bytes) {
    body.chunked = true;
  }
  if (body.chunked && !body.cuts.empty()) {
    return emit_parts(body);
  }
  return {};
}

// Stores the parts between the body's cuts and drops them from its buffer.
Result<void> Chunker::emit_parts(ContainerBody& body)
{
  Cut prev{0, 0, 0};
  for (const Cut& cut : body.cuts) {
    const std::uint64_t items = cut.items - prev.items;
    Bytes data;
    codec::put_tag(data, body.object ? Tag::object_part : Tag::array_part);
    codec::put_varint(data, items);
    data.insert(data.end(), body.buf.begin() + static_cast<std::ptrdiff_t>(prev.bytes),
                body.buf.begin() + static_cast<std::ptrdiff_t>(cut.bytes));
    std::vector<Pending> children(
        body.children.begin() + static_cast<std::ptrdiff_t>(prev.children),
        body.children.begin() + static_cast<std::ptrdiff_t>(cut.children));
    std::vector<Key> bases = m_align ? m_align->part_bases(items) : std::vector<Key>{};
    PAGABLE_TRY_ASSIGN(Pending p,
                       m_writer.emit(std::move(data), std::move(children), std::move(bases)));
    if (body.object && m_boundaries.route_members != 0) {
      const std::uint64_t part_bytes =
          (cut.bytes - prev.bytes) + (cut.children - prev.children) * Key::k_size;
      PAGABLE_TRY(body.fingerprints.add_part(items, p.fp, part_bytes));
    }
    PAGABLE_TRY(add_entry(body, 0, Entry{std::move(p), items}));
    prev = cut;
  }
  body.buf.erase(body.buf.begin(), body.buf.begin() + static_cast<std::ptrdiff_t>(prev.bytes));
  body.children.erase(body.children.begin(),
                      body.children.begin() + static_cast<std::ptrdiff_t>(prev.children));
  body.items -= prev.items;
  body.item_bytes -= std::min(body.item_bytes, prev.bytes);
  body.item_children -= std::min(body.item_children, prev.children);
  body.cuts.clear();
  return {};
}

// An entry joins `level`; a content-defined hash of it decides whether the level's node closes
// after it (or its size: at most 4 times the fanout).
Result<void> Chunker::add_entry(ContainerBody& body, std::size_t level, Entry e)
{
  if (body.levels.size() <= level) {
    body.levels.resize(level + 1);
    body.level_emitted.resize(level + 1, false);
  }
  const std::uint64_t h = codec::mix64(e.node.fp ^ (0x9e3779b97f4a7c15ULL * (level + 1)));
  body.levels[level].push_back(std::move(e));
  if (h % m_boundaries.index_fanout == 0 ||
      body.levels[level].size() >= 4 * m_boundaries.index_fanout) {
    return emit_index(body, level);
  }
  return {};
}

Result<Pending> Chunker::index_node(std::vector<Entry> entries, bool object, std::uint64_t& count)
{
  Bytes data;
  codec::put_tag(data, object ? Tag::object_chunks : Tag::array_chunks);
  codec::put_varint(data, entries.size());
  std::vector<Pending> children;
  children.reserve(entries.size());
  count = 0;
  for (Entry& e : entries) {
    codec::put_varint(data, e.count);
    count += e.count;
    children.push_back(std::move(e.node));
  }
  return m_writer.emit(std::move(data), std::move(children), {}, NodeRole::index);
}

Result<void> Chunker::emit_index(ContainerBody& body, std::size_t level)
{
  std::vector<Entry> entries = std::move(body.levels[level]);
  body.levels[level].clear();
  std::uint64_t count = 0;
  PAGABLE_TRY_ASSIGN(Pending p, index_node(std::move(entries), body.object, count));
  body.level_emitted[level] = true;
  return add_entry(body, level + 1, Entry{std::move(p), count});
}

// The top of a chunked container's tree, once its last part is stored.
Result<Pending> Chunker::finish_levels(ContainerBody& body)
{
  for (std::size_t level = 0;; ++level) {
    if (body.level_emitted[level]) {
      if (!body.levels[level].empty()) {
        PAGABLE_TRY(emit_index(body, level));
      }
      continue;
    }
    std::vector<Entry> entries = std::move(body.levels[level]);
    if (entries.size() == 1 && level > 0) {
      return std::move(entries.front().node);
    }
    std::uint64_t count = 0;
    return index_node(std::move(entries), body.object, count);
  }
}

Result<Value> Chunker::finish(ContainerBody& body, std::uint64_t count, std::optional<bool> arc,
                              std::size_t depth)
{
  if (body.chunked) {
    if (body.items > 0 || body.levels.empty()) {
      body.cuts.push_back({body.buf.size(), body.children.size(), body.items});
      PAGABLE_TRY(emit_parts(body));
    }
    PAGABLE_TRY_ASSIGN(Pending top, finish_levels(body));
    if (body.object && body.fingerprints.is_routed(m_boundaries, count)) {
      PAGABLE_TRY_ASSIGN(top, body.fingerprints.route(m_writer, m_align, m_boundaries,
                                                      std::move(top), count));
    }
    return ref_to(std::move(top));
  }
  Bytes data;
  data.reserve(body.buf.size() + 10);
  codec::put_tag(data, body.object ? Tag::object : Tag::array);
  codec::put_varint(data, body.items);
  data.insert(data.end(), body.buf.begin(), body.buf.end());
  const std::size_t size = data.size() + body.children.size() * Key::k_size;
  if (depth == 0 || (arc ? *arc : size >= m_boundaries.node_bytes)) {
    // A document's root is passed through by every lookup. When it is mostly references (no
    // more data than child keys), or when a megabyte of content precedes it, it is packed
    // with the index nodes; otherwise it is content like any other and compresses better
    // beside the rest. As content after that much, it was the last blob of the last content
    // pack, and a read of any leaf decoded that whole pack first: GitHub REST's 14.6 kB root,
    // 2.01 MB decoded to reach it (23 kB in an index pack); mdn's 42 kB one, 1.04 MB. Below
    // the threshold, its pack is small and the split costs more bytes than it saves time
    // (an SPDX schema of 63 kB: 4 kB more, 14%).
    const bool references = data.size() <= body.children.size() * Key::k_size;
    const NodeRole role =
        depth == 0 && (references || m_writer.content_bytes() >= k_root_apart_after_bytes)
            ? NodeRole::index
            : NodeRole::content;
    std::vector<Key> bases = m_align ? m_align->node_bases() : std::vector<Key>{};
    PAGABLE_TRY_ASSIGN(Pending p, m_writer.emit(std::move(data), std::move(body.children),
                                                std::move(bases), role));
    return ref_to(std::move(p));
  }
  return Value{std::move(data), std::move(body.children)};
}

} // namespace pagable::pack
