// SPDX-License-Identifier: MIT OR Apache-2.0
#include "pack/value_builder.hpp"

#include "codec/node_codec.hpp"

#include <utility>

namespace pagable::pack {

using codec::Tag;

Result<void> ValueBuilder::end_value()
{
  if (m_frames.empty()) {
    return {}; // the top-level value is complete
  }
  Frame& f = m_frames.back();
  auto ended = m_chunker.end_item(f.body, f.name);
  ++f.index;
  f.name.clear();
  return ended;
}

void ValueBuilder::member(std::string_view name)
{
  Frame& f = m_frames.back();
  f.name = name;
  f.body.begin_item();
  codec::put_name(f.body.buf, name);
}

Result<Value> ValueBuilder::close(std::optional<bool> arc)
{
  Frame& done = m_frames.pop();
  auto value = m_chunker.finish(done.body, done.index, arc, m_frames.size());
  if (m_frames.size() >= FrameStack::k_reused_depths) {
    done.release();
  }
  return value;
}

Result<void> ValueBuilder::attach(Value value)
{
  if (m_frames.empty()) {
    m_top = std::move(value);
    return {};
  }
  m_frames.back().body.append(std::move(value));
  return end_value();
}

Result<void> ValueBuilder::node(Pending child)
{
  begin_value();
  if (!m_frames.empty()) {
    // Straight into the open container (what attach() of a one-ref Value would append):
    // the objects module places one per handle, and a Value would allocate for each.
    ContainerBody& body = m_frames.back().body;
    codec::put_tag(body.buf, Tag::ref);
    body.children.push_back(std::move(child));
    return end_value();
  }
  Value ref;
  codec::put_tag(ref.bytes, Tag::ref);
  ref.children.push_back(std::move(child));
  return attach(std::move(ref));
}

Result<void> ValueBuilder::scalar_node(Bytes bytes)
{
  PAGABLE_TRY_ASSIGN(Pending p, m_writer.emit(std::move(bytes), {}));
  return node(std::move(p));
}

Result<Pending> ValueBuilder::finish(std::vector<Key> bases)
{
  // The top-level value is always a node: a container that became one is referenced by m_top.
  if (m_top.children.size() == 1 && m_top.bytes.size() == 1 &&
      m_top.bytes[0] == static_cast<std::uint8_t>(Tag::ref)) {
    Pending root = std::move(m_top.children.front());
    m_top = {};
    return root;
  }
  Value top = std::move(m_top);
  m_top = {};
  return m_writer.emit(std::move(top.bytes), std::move(top.children), std::move(bases),
                       NodeRole::index);
}

} // namespace pagable::pack
