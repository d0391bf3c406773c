// SPDX-License-Identifier: MIT OR Apache-2.0
#include "pack/frame_stack.hpp"

#include "codec/navigate.hpp"

#include <utility>

namespace pagable::pack {

void Frame::reset(bool object)
{
  body.reset(object);
  index = 0;
  names.clear();
  name.clear();
  ref.clear();
  awaited.clear();
  arc.reset();
  path = 0;
}

void Frame::release()
{
  Frame fresh;
  fresh.names = std::move(names); // its limits; a cleared set holds nothing
  fresh.names.clear();
  *this = std::move(fresh);
}

Frame& FrameStack::push(bool object)
{
  if (m_size == m_frames.size()) {
    m_frames.emplace_back();
    m_frames.back().names.set_limits(m_exact_names, m_name_hash_bits);
  }
  Frame& f = m_frames[m_size++];
  f.reset(object);
  return f;
}

void FrameStack::set_name_limits(std::size_t exact_names, unsigned hash_bits)
{
  m_exact_names = exact_names;
  m_name_hash_bits = hash_bits;
}

std::string FrameStack::pointer_tokens(std::size_t from, std::size_t to) const
{
  std::string p;
  for (std::size_t i = from; i < to && i < m_size; ++i) {
    const Frame& f = m_frames[i];
    p += '/';
    p += f.is_object() ? codec::escape_pointer_token(f.name) : std::to_string(f.index);
  }
  return p;
}

} // namespace pagable::pack
