// SPDX-License-Identifier: MIT OR Apache-2.0
#include "diff/values.hpp"

#include <cstdlib>
#include <cstring>

namespace pagable::diff {

using codec::NodeReader;
using codec::Tag;

namespace {

Error corrupt(const std::string& what)
{
  return make_error(Errc::corrupt, "malformed node: " + what);
}

std::uint64_t hash_element(std::span<const std::uint8_t> bytes, std::span<const Key> children)
{
  std::uint64_t h = codec::word_hash64(bytes);
  for (const Key& k : children) {
    h = codec::mix64(h ^ codec::load_u64le(k.bytes().data()));
  }
  return h;
}

} // namespace

bool same_value(const Element& a, const Element& b)
{
  if (a.ref || b.ref) {
    return a.ref && b.ref && *a.ref == *b.ref;
  }
  return a.hash == b.hash && a.bytes.size() == b.bytes.size() &&
         std::equal(a.bytes.begin(), a.bytes.end(), b.bytes.begin()) &&
         std::equal(a.children.begin(), a.children.end(), b.children.begin(), b.children.end());
}

Result<std::shared_ptr<const Blob>> Reader::load(const Key& key)
{
  return codec::cached_blob(m_cache, m_store, key, m_stats);
}

codec::BlobLoader Reader::loader()
{
  return [this](const Key& k) { return load(k); };
}

Result<std::optional<Key>> Reader::ref_key(const Val& v)
{
  NodeReader r(v.loc.blob->data, v.loc.pos);
  PAGABLE_TRY_ASSIGN(const Tag tag, r.peek_tag());
  if (tag != Tag::ref) {
    return std::optional<Key>();
  }
  if (v.loc.next_child >= v.loc.blob->children.size()) {
    return corrupt("a reference past the blob's children");
  }
  return std::optional<Key>(v.loc.blob->children[v.loc.next_child]);
}

Result<Val> Reader::resolve(Val v)
{
  for (;;) {
    PAGABLE_TRY_ASSIGN(const auto key, ref_key(v));
    if (!key) {
      return v;
    }
    PAGABLE_TRY_ASSIGN(auto blob, load(*key));
    v = Val{codec::Location{std::move(blob), 0, 0}, *key};
  }
}

Result<Tag> Reader::tag_of(const Val& v)
{
  NodeReader r(v.loc.blob->data, v.loc.pos);
  return r.peek_tag();
}

Shape Reader::shape_of(Tag tag)
{
  switch (tag) {
  case Tag::object:
  case Tag::object_chunks:
  case Tag::routed_object: return Shape::object;
  case Tag::array:
  case Tag::array_chunks: return Shape::array;
  default: return Shape::scalar;
  }
}

Result<std::span<const std::uint8_t>> Reader::bytes_of(const Val& v)
{
  NodeReader r(v.loc.blob->data, v.loc.pos);
  PAGABLE_TRY(codec::skip_value(r));
  return std::span<const std::uint8_t>(v.loc.blob->data).subspan(v.loc.pos, r.pos() - v.loc.pos);
}

Result<std::vector<Element>> Reader::elements(const Val& v)
{
  const auto& blob = v.loc.blob;
  NodeReader r(blob->data, v.loc.pos);
  PAGABLE_TRY_ASSIGN(const Tag tag, r.read_tag());
  const bool members = tag == Tag::object || tag == Tag::object_part;
  if (!members && tag != Tag::array && tag != Tag::array_part) {
    return corrupt("a container expected, tag " + std::to_string(static_cast<int>(tag)) + " found");
  }
  PAGABLE_TRY_ASSIGN(const std::uint64_t n, r.read_varint());
  std::vector<Element> out;
  out.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(n, 1 << 20)));
  std::size_t next_child = v.loc.next_child;
  for (std::uint64_t i = 0; i < n; ++i) {
    Element e;
    if (members) {
      PAGABLE_TRY_ASSIGN(e.name, r.read_text());
    }
    const std::size_t start = r.pos();
    PAGABLE_TRY_ASSIGN(const std::size_t refs, codec::skip_value(r));
    if (next_child + refs > blob->children.size()) {
      return corrupt("references past the blob's children");
    }
    e.value = Val{codec::Location{blob, start, next_child}, std::nullopt};
    e.bytes = std::span<const std::uint8_t>(blob->data).subspan(start, r.pos() - start);
    e.children = std::span<const Key>(blob->children).subspan(next_child, refs);
    if (!e.bytes.empty() && e.bytes[0] == static_cast<std::uint8_t>(Tag::ref)) {
      e.ref = blob->children[next_child];
    } else {
      e.hash = hash_element(e.bytes, e.children);
    }
    next_child += refs;
    out.push_back(e);
  }
  return out;
}

Result<std::vector<Element>> Reader::all_elements(const Val& v)
{
  PAGABLE_TRY_ASSIGN(const Tag tag, tag_of(v));
  if (tag == Tag::object || tag == Tag::array) {
    return elements(v);
  }
  std::shared_ptr<const Blob> top = v.loc.blob;
  if (tag == Tag::routed_object) {
    if (top->children.empty()) {
      return corrupt("a routed object without its chunk tree");
    }
    PAGABLE_TRY_ASSIGN(top, load(top->children[0]));
  } else if (tag != Tag::object_chunks && tag != Tag::array_chunks) {
    return corrupt("a container expected");
  }
  std::vector<Element> out;
  std::vector<std::pair<std::shared_ptr<const Blob>, std::size_t>> stack{{top, 0}};
  while (!stack.empty()) {
    auto& [blob, next] = stack.back();
    if (next >= blob->children.size()) {
      stack.pop_back();
      continue;
    }
    const Key child_key = blob->children[next++];
    PAGABLE_TRY_ASSIGN(auto child, load(child_key));
    NodeReader cr(child->data);
    PAGABLE_TRY_ASSIGN(const Tag ct, cr.read_tag());
    if (ct == Tag::object_chunks || ct == Tag::array_chunks) {
      stack.emplace_back(std::move(child), 0);
      continue;
    }
    PAGABLE_TRY_ASSIGN(auto part, elements(Val{codec::Location{std::move(child), 0, 0}, child_key}));
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

Result<nlohmann::ordered_json> Reader::to_json(const Val& start)
{
  using json = nlohmann::ordered_json;
  // A container being filled: the elements still to read from `reader` (an inline container
  // or a part), or the children still to walk of a chunk-tree node.
  struct Frame {
    std::shared_ptr<const Blob> blob;
    NodeReader reader;
    std::size_t next_child = 0;
    std::uint64_t remaining = 0;
    bool members = false;
    bool chunks = false;
    json* target = nullptr;
  };
  json root;
  std::vector<Frame> stack;
  // Reads the value at `v` into `*into`: scalars at once, containers as a new frame.
  const auto read_into = [&](Val v, json* into) -> Result<void> {
    PAGABLE_TRY_ASSIGN(v, resolve(std::move(v)));
    NodeReader r(v.loc.blob->data, v.loc.pos);
    PAGABLE_TRY_ASSIGN(const Tag tag, r.read_tag());
    switch (tag) {
    case Tag::null: *into = nullptr; return {};
    case Tag::false_: *into = false; return {};
    case Tag::true_: *into = true; return {};
    case Tag::integer: {
      PAGABLE_TRY_ASSIGN(const std::int64_t i, r.read_integer_body());
      *into = i;
      return {};
    }
    case Tag::big_integer: {
      // Beyond 64 bits: nlohmann holds it as a double, as it parses such a literal.
      PAGABLE_TRY_ASSIGN(const std::string_view digits, r.read_text());
      const std::string text(digits);
      if (!text.empty() && text[0] != '-') {
        *into = json::parse(text, nullptr, false);
      } else {
        *into = std::strtod(text.c_str(), nullptr);
      }
      return {};
    }
    case Tag::binary64: {
      PAGABLE_TRY_ASSIGN(const double d, r.read_binary64_body());
      *into = d;
      return {};
    }
    case Tag::string: {
      PAGABLE_TRY_ASSIGN(const std::string_view s, r.read_text());
      *into = std::string(s);
      return {};
    }
    case Tag::object:
    case Tag::array: {
      PAGABLE_TRY_ASSIGN(const std::uint64_t n, r.read_varint());
      *into = tag == Tag::object ? json::object() : json::array();
      stack.push_back(Frame{v.loc.blob, r, v.loc.next_child, n, tag == Tag::object, false, into});
      return {};
    }
    case Tag::object_chunks:
    case Tag::array_chunks:
    case Tag::routed_object: {
      std::shared_ptr<const Blob> top = v.loc.blob;
      if (tag == Tag::routed_object) {
        if (top->children.empty()) {
          return corrupt("a routed object without its chunk tree");
        }
        PAGABLE_TRY_ASSIGN(top, load(top->children[0]));
      }
      *into = tag == Tag::array_chunks ? json::array() : json::object();
      stack.push_back(Frame{top, NodeReader(top->data), 0, top->children.size(),
                            tag != Tag::array_chunks, true, into});
      return {};
    }
    default: return corrupt("tag " + std::to_string(static_cast<int>(tag)) + " inside a value");
    }
  };
  PAGABLE_TRY(read_into(start, &root));
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.remaining == 0) {
      stack.pop_back();
      continue;
    }
    --f.remaining;
    if (f.chunks) {
      PAGABLE_TRY_ASSIGN(auto child, load(f.blob->children[f.next_child++]));
      NodeReader cr(child->data);
      PAGABLE_TRY_ASSIGN(const Tag ct, cr.read_tag());
      PAGABLE_TRY_ASSIGN(const std::uint64_t n, cr.read_varint());
      json* target = f.target;
      const bool members = f.members;
      if (ct == Tag::object_chunks || ct == Tag::array_chunks) {
        stack.push_back(Frame{child, NodeReader(child->data), 0, child->children.size(), members, true, target});
      } else if (ct == Tag::object_part || ct == Tag::array_part) {
        stack.push_back(Frame{child, cr, 0, n, members, false, target});
      } else {
        return corrupt("a chunk tree holds a tag " + std::to_string(static_cast<int>(ct)));
      }
      continue;
    }
    json* slot = nullptr;
    if (f.members) {
      PAGABLE_TRY_ASSIGN(const std::string_view name, f.reader.read_text());
      slot = &(*f.target)[std::string(name)];
    } else {
      f.target->push_back(nullptr);
      slot = &f.target->back();
    }
    const std::size_t pos = f.reader.pos();
    NodeReader skip = f.reader;
    PAGABLE_TRY_ASSIGN(const std::size_t refs, codec::skip_value(skip));
    const Val v{codec::Location{f.blob, pos, f.next_child}, std::nullopt};
    f.reader = skip;
    f.next_child += refs;
    // `f` may move once read_into pushes a frame: nothing of it is used after.
    PAGABLE_TRY(read_into(v, slot));
  }
  return root;
}

} // namespace pagable::diff
