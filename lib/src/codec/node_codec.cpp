// SPDX-License-Identifier: MIT OR Apache-2.0
#include "codec/node_codec.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

namespace pagable::codec {
namespace {

Error corrupt(std::string what)
{
  return make_error(Errc::corrupt, "malformed node: " + std::move(what));
}

bool is_integer_literal(std::string_view s)
{
  if (!s.empty() && s.front() == '-') {
    s.remove_prefix(1);
  }
  if (s.empty()) {
    return false;
  }
  for (const char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

std::string pointer_prefix(const std::vector<std::string>& tokens, std::size_t upto)
{
  std::string p;
  for (std::size_t i = 0; i < upto && i < tokens.size(); ++i) {
    p += '/';
    p += escape_pointer_token(tokens[i]);
  }
  return p;
}

Error not_found_at(const std::vector<std::string>& tokens, std::size_t i, const std::string& why)
{
  return make_error(Errc::not_found, "no value at " + pointer_prefix(tokens, tokens.size()) +
                                        " (" + pointer_prefix(tokens, i + 1) + ": " + why + ")");
}

Result<std::shared_ptr<const Blob>> load_child(const BlobLoader& load, const Blob& blob,
                                               std::size_t index)
{
  if (index >= blob.children.size()) {
    return corrupt("a reference to child " + std::to_string(index) + " of " +
                   std::to_string(blob.children.size()));
  }
  auto child = load(blob.children[index]);
  if (!child) {
    return std::move(child).error();
  }
  if (!*child) {
    return make_error(Errc::corrupt, "missing blob " + blob.children[index].to_hex());
  }
  return child;
}

// Finds member `name` in the object that starts at `reader` (after its tag and count `n`).
Result<std::optional<Location>> find_member(const std::shared_ptr<const Blob>& blob,
                                            NodeReader& reader, std::size_t next_child,
                                            std::uint64_t n, std::string_view name)
{
  for (std::uint64_t i = 0; i < n; ++i) {
    PAGABLE_TRY_ASSIGN(const std::string_view member, reader.read_text());
    if (member == name) {
      return std::optional<Location>(Location{blob, reader.pos(), next_child});
    }
    PAGABLE_TRY_ASSIGN(const std::size_t refs, skip_value(reader));
    next_child += refs;
  }
  return std::optional<Location>();
}

Result<Location> skip_items(const std::shared_ptr<const Blob>& blob, NodeReader& reader,
                            std::size_t next_child, std::uint64_t count)
{
  for (std::uint64_t i = 0; i < count; ++i) {
    PAGABLE_TRY_ASSIGN(const std::size_t refs, skip_value(reader));
    next_child += refs;
  }
  return Location{blob, reader.pos(), next_child};
}

// Member `name` of the chunked object whose chunk tree starts at `top`: scans its parts in
// order (members are kept in document order, so there is no index by name).
Result<std::optional<Location>> find_in_object_chunks(const BlobLoader& load,
                                                      std::shared_ptr<const Blob> top,
                                                      std::string_view name)
{
  struct Step {
    std::shared_ptr<const Blob> blob;
    std::size_t next = 0;
  };
  std::vector<Step> stack{{std::move(top), 0}};
  while (!stack.empty()) {
    Step& step = stack.back();
    if (step.next >= step.blob->children.size()) {
      stack.pop_back();
      continue;
    }
    PAGABLE_TRY_ASSIGN(auto child, load_child(load, *step.blob, step.next));
    ++step.next;
    NodeReader r(child->data);
    PAGABLE_TRY_ASSIGN(const Tag tag, r.read_tag());
    if (tag == Tag::object_chunks) {
      stack.push_back({std::move(child), 0});
    } else if (tag == Tag::object_part) {
      PAGABLE_TRY_ASSIGN(const std::uint64_t n, r.read_varint());
      PAGABLE_TRY_ASSIGN(auto found, find_member(child, r, 0, n, name));
      if (found) {
        return found;
      }
    } else {
      return corrupt("an object chunk tree holds a tag " +
                     std::to_string(static_cast<int>(tag)));
    }
  }
  return std::optional<Location>();
}

// Reads a chunks node's entry counts (after its tag) and picks the entry that holds item or
// member number `want`, which becomes its number within that entry; none when `want` is past
// the end.
Result<std::optional<std::size_t>> pick_entry(NodeReader& r, std::uint64_t& want)
{
  PAGABLE_TRY_ASSIGN(const std::uint64_t n, r.read_varint());
  std::optional<std::size_t> entry;
  for (std::uint64_t e = 0; e < n; ++e) {
    PAGABLE_TRY_ASSIGN(const std::uint64_t count, r.read_varint());
    if (!entry) {
      if (want < count) {
        entry = static_cast<std::size_t>(e);
      } else {
        want -= count;
      }
    }
  }
  return entry;
}

// Descends the object chunk tree under `top` to the part that holds member number `want`
// (counting from 0 in document order). Returns the part and, in `want`, the member's index in it.
Result<std::shared_ptr<const Blob>> object_part_holding(const BlobLoader& load,
                                                        std::shared_ptr<const Blob> node,
                                                        std::uint64_t& want)
{
  for (;;) {
    NodeReader r(node->data);
    PAGABLE_TRY_ASSIGN(const Tag tag, r.read_tag());
    if (tag == Tag::object_part) {
      PAGABLE_TRY_ASSIGN(const std::uint64_t n, r.read_varint());
      if (want >= n) {
        return corrupt("an object chunk count disagrees with its part");
      }
      return node;
    }
    if (tag != Tag::object_chunks) {
      return corrupt("an object chunk tree holds a tag " + std::to_string(static_cast<int>(tag)));
    }
    PAGABLE_TRY_ASSIGN(const auto entry, pick_entry(r, want));
    if (!entry) {
      return corrupt("a routed object's fingerprints count more members than its chunk tree");
    }
    PAGABLE_TRY_ASSIGN(node, load_child(load, *node, *entry));
  }
}

// Member `name` of a routed object (`routed`, tag routed_object): reads its fingerprint blobs
// and visits only the parts that list the name's fingerprint, each reached from the chunk tree
// by its first member's position.
Result<std::optional<Location>> find_in_routed_object(const BlobLoader& load,
                                                      const std::shared_ptr<const Blob>& routed,
                                                      std::string_view name)
{
  NodeReader r(routed->data);
  PAGABLE_TRY(r.read_tag());
  PAGABLE_TRY_ASSIGN(const std::uint64_t m, r.read_varint());
  PAGABLE_TRY_ASSIGN(auto tree, load_child(load, *routed, 0));
  const std::uint32_t wide_want = wide_member_fingerprint(member_name_hash(name));
  const auto disagree = [] {
    return corrupt("a routed object's fingerprints disagree with its part boundaries");
  };
  std::uint64_t first = 0; // document position of the current part's first member
  unsigned object_width = 0; // all of an object's fingerprint blobs have the first one's
  for (std::uint64_t i = 0; i < m; ++i) {
    PAGABLE_TRY_ASSIGN(const std::uint64_t group_parts, r.read_varint());
    PAGABLE_TRY_ASSIGN(const std::uint64_t group_members, r.read_varint());
    const std::uint64_t group_first = first;
    PAGABLE_TRY_ASSIGN(auto fps, load_child(load, *routed, 1 + static_cast<std::size_t>(i)));
    NodeReader fr(fps->data);
    PAGABLE_TRY_ASSIGN(const Tag ft, fr.read_tag());
    const unsigned width = fingerprint_width(ft);
    if (width == 0) {
      return corrupt("a routed object's fingerprint child holds a tag " +
                     std::to_string(static_cast<int>(ft)));
    }
    if (i == 0) {
      object_width = width;
    } else if (width != object_width) {
      return corrupt("a routed object's fingerprint blobs differ in width");
    }
    const std::uint32_t want = wide_want >> (8 * (3 - width));
    PAGABLE_TRY_ASSIGN(const std::uint64_t parts, fr.read_varint());
    if (parts != group_parts) {
      return disagree();
    }
    for (std::uint64_t p = 0; p < parts; ++p) {
      PAGABLE_TRY_ASSIGN(const std::uint64_t c, fr.read_varint());
      PAGABLE_TRY_ASSIGN(const auto listed_fps, fr.read_fingerprints(c, width));
      if (c > 0 && lists_fingerprint(listed_fps, width, want)) {
        std::uint64_t at = first;
        PAGABLE_TRY_ASSIGN(auto part, object_part_holding(load, tree, at));
        if (at != 0) {
          return disagree();
        }
        NodeReader pr(part->data);
        PAGABLE_TRY(pr.read_tag());
        PAGABLE_TRY_ASSIGN(const std::uint64_t n, pr.read_varint());
        if (n != c) {
          return disagree();
        }
        PAGABLE_TRY_ASSIGN(auto found, find_member(part, pr, 0, n, name));
        if (found) {
          return found;
        }
      }
      first += c;
    }
    if (first - group_first != group_members) {
      return disagree();
    }
  }
  // Not found: the fingerprints must have covered every member, or the answer is not sound.
  NodeReader tr(tree->data);
  PAGABLE_TRY_ASSIGN(const Tag tree_tag, tr.read_tag());
  if (tree_tag != Tag::object_chunks) {
    return corrupt("a routed object whose tree is not an object chunk list");
  }
  PAGABLE_TRY_ASSIGN(const std::uint64_t entries, tr.read_varint());
  std::uint64_t members = 0;
  for (std::uint64_t e = 0; e < entries; ++e) {
    PAGABLE_TRY_ASSIGN(const std::uint64_t count, tr.read_varint());
    members += count;
  }
  if (members != first) {
    return disagree();
  }
  return std::optional<Location>();
}

} // namespace

// --- writing ---

void put_varint(Bytes& out, std::uint64_t v)
{
  while (v >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(v));
}

void put_tag(Bytes& out, Tag tag)
{
  out.push_back(static_cast<std::uint8_t>(tag));
}

void put_integer(Bytes& out, std::int64_t v)
{
  put_tag(out, Tag::integer);
  const auto u = static_cast<std::uint64_t>(v);
  put_varint(out, (u << 1) ^ (v < 0 ? ~std::uint64_t{0} : 0));
}

void put_unsigned(Bytes& out, std::uint64_t v)
{
  if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    put_integer(out, static_cast<std::int64_t>(v));
    return;
  }
  put_big_integer(out, std::to_string(v));
}

void put_big_integer(Bytes& out, std::string_view digits)
{
  put_tag(out, Tag::big_integer);
  put_varint(out, digits.size());
  out.insert(out.end(), digits.begin(), digits.end());
}

void put_binary64(Bytes& out, double v)
{
  put_tag(out, Tag::binary64);
  const auto bits = std::bit_cast<std::uint64_t>(v);
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
  }
}

void put_string(Bytes& out, std::string_view s)
{
  put_tag(out, Tag::string);
  put_name(out, s);
}

void put_name(Bytes& out, std::string_view name)
{
  put_varint(out, name.size());
  out.insert(out.end(), name.begin(), name.end());
}

Result<void> put_number_literal(Bytes& out, std::string_view literal, double value)
{
  if (is_integer_literal(literal)) {
    // Canonical form: int64 values use `integer` whatever the parser did with them.
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(literal.data(), literal.data() + literal.size(), v);
    if (ec == std::errc() && end == literal.data() + literal.size()) {
      put_integer(out, v);
    } else if (literal == "-0") {
      put_integer(out, 0);
    } else {
      put_big_integer(out, literal);
    }
    return {};
  }
  if (!std::isfinite(value)) {
    return make_error(Errc::invalid_input,
                      "number " + std::string(literal) + " overflows binary64");
  }
  put_binary64(out, value);
  return {};
}

std::string format_binary64(double v)
{
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, ec == std::errc() ? end : buf);
  if (s.find_first_of(".eEn") == std::string::npos) {
    s += ".0";
  }
  return s;
}

// --- reading ---

Result<Tag> NodeReader::peek_tag() const
{
  if (m_pos >= m_data.size()) {
    return corrupt("truncated at byte " + std::to_string(m_pos));
  }
  const std::uint8_t t = m_data[m_pos];
  if (t > k_max_tag) {
    return corrupt("unknown tag " + std::to_string(t) + " at byte " + std::to_string(m_pos));
  }
  return static_cast<Tag>(t);
}

Result<Tag> NodeReader::read_tag()
{
  PAGABLE_TRY_ASSIGN(const Tag t, peek_tag());
  ++m_pos;
  return t;
}

Result<std::uint64_t> NodeReader::read_varint()
{
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (m_pos >= m_data.size()) {
      return corrupt("truncated varint at byte " + std::to_string(m_pos));
    }
    const std::uint8_t b = m_data[m_pos++];
    v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) {
      return v;
    }
  }
  return corrupt("varint longer than 64 bits at byte " + std::to_string(m_pos));
}

Result<std::string_view> NodeReader::read_text()
{
  PAGABLE_TRY_ASSIGN(const std::uint64_t n, read_varint());
  if (n > m_data.size() - m_pos) {
    return corrupt("a text of " + std::to_string(n) + " bytes runs past the end");
  }
  const std::string_view s(reinterpret_cast<const char*>(m_data.data() + m_pos),
                           static_cast<std::size_t>(n));
  m_pos += static_cast<std::size_t>(n);
  return s;
}

Result<std::int64_t> NodeReader::read_integer_body()
{
  PAGABLE_TRY_ASSIGN(const std::uint64_t z, read_varint());
  return static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1));
}

Result<double> NodeReader::read_binary64_body()
{
  if (m_data.size() - m_pos < 8) {
    return corrupt("truncated binary64");
  }
  std::uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) {
    bits |= static_cast<std::uint64_t>(m_data[m_pos + static_cast<std::size_t>(i)]) << (8 * i);
  }
  m_pos += 8;
  const double v = std::bit_cast<double>(bits);
  if (!std::isfinite(v)) {
    return corrupt("a binary64 that is not finite");
  }
  return v;
}

Result<std::span<const std::uint8_t>> NodeReader::read_fingerprints(std::uint64_t count,
                                                                   unsigned width)
{
  if (width < 2 || width > 3) {
    return corrupt("a fingerprint width of " + std::to_string(width) + " bytes");
  }
  if (count > (m_data.size() - m_pos) / width) {
    return corrupt("truncated fingerprints");
  }
  const auto n = static_cast<std::size_t>(count) * width;
  const auto out = m_data.subspan(m_pos, n);
  m_pos += n;
  return out;
}

Result<std::size_t> skip_value(NodeReader& reader)
{
  // Each entry: values still to skip in an open container, and whether it is an object
  // (whose members start with a name).
  struct Open {
    std::uint64_t remaining;
    bool object;
  };
  std::vector<Open> open;
  std::size_t refs = 0;
  bool first = true;
  while (first || !open.empty()) {
    if (!first) {
      Open& top = open.back();
      if (top.remaining == 0) {
        open.pop_back();
        continue;
      }
      --top.remaining;
      if (top.object) {
        PAGABLE_TRY(reader.read_text());
      }
    }
    first = false;
    PAGABLE_TRY_ASSIGN(const Tag tag, reader.read_tag());
    switch (tag) {
    case Tag::null:
    case Tag::false_:
    case Tag::true_: break;
    case Tag::integer: PAGABLE_TRY(reader.read_varint()); break;
    case Tag::big_integer:
    case Tag::string: PAGABLE_TRY(reader.read_text()); break;
    case Tag::binary64: PAGABLE_TRY(reader.read_binary64_body()); break;
    case Tag::ref: ++refs; break;
    case Tag::routed_object: {
      if (!open.empty()) {
        return corrupt("a routed object inside a value");
      }
      PAGABLE_TRY_ASSIGN(const std::uint64_t m, reader.read_varint());
      if (m == 0) {
        return corrupt("a routed object without fingerprints");
      }
      for (std::uint64_t i = 0; i < m; ++i) {
        PAGABLE_TRY(reader.read_varint());
        PAGABLE_TRY(reader.read_varint());
      }
      refs += 1 + static_cast<std::size_t>(m);
      break;
    }
    case Tag::member_fingerprints:
    case Tag::wide_member_fingerprints: {
      if (!open.empty()) {
        return corrupt("member fingerprints inside a value");
      }
      PAGABLE_TRY_ASSIGN(const std::uint64_t parts, reader.read_varint());
      for (std::uint64_t i = 0; i < parts; ++i) {
        PAGABLE_TRY_ASSIGN(const std::uint64_t c, reader.read_varint());
        PAGABLE_TRY(reader.read_fingerprints(c, fingerprint_width(tag)));
      }
      break;
    }
    case Tag::object_part:
    case Tag::array_part:
    case Tag::object_chunks:
    case Tag::array_chunks:
      if (!open.empty()) {
        return corrupt("a chunk tag inside a value");
      }
      if (tag == Tag::object_chunks || tag == Tag::array_chunks) {
        PAGABLE_TRY_ASSIGN(const std::uint64_t n, reader.read_varint());
        for (std::uint64_t i = 0; i < n; ++i) {
          PAGABLE_TRY(reader.read_varint());
        }
        refs += static_cast<std::size_t>(n);
        break;
      }
      [[fallthrough]];
    case Tag::array:
    case Tag::object: {
      PAGABLE_TRY_ASSIGN(const std::uint64_t n, reader.read_varint());
      open.push_back({n, tag == Tag::object || tag == Tag::object_part});
      break;
    }
    }
  }
  return refs;
}

Result<void> check_node(const Blob& blob)
{
  NodeReader reader(blob.data);
  PAGABLE_TRY_ASSIGN(const Tag top, reader.peek_tag());
  PAGABLE_TRY_ASSIGN(const std::size_t refs, skip_value(reader));
  if (!reader.at_end()) {
    return corrupt("trailing bytes after the value");
  }
  if (refs != blob.children.size()) {
    return corrupt(std::to_string(refs) + " references for " +
                   std::to_string(blob.children.size()) + " children");
  }
  if ((top == Tag::object_chunks || top == Tag::array_chunks) && refs == 0) {
    return corrupt("an empty chunk list");
  }
  return {};
}

// --- navigation ---

Result<std::vector<std::string>> parse_pointer(std::string_view pointer)
{
  std::vector<std::string> tokens;
  if (pointer.empty()) {
    return tokens;
  }
  if (pointer.front() != '/') {
    return make_error(Errc::invalid_argument,
                      "a JSON pointer starts with '/': " + std::string(pointer));
  }
  std::string cur;
  for (std::size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    if (pointer[i] == '~') {
      if (i + 1 < pointer.size() && (pointer[i + 1] == '0' || pointer[i + 1] == '1')) {
        cur += pointer[i + 1] == '0' ? '~' : '/';
        ++i;
        continue;
      }
      return make_error(Errc::invalid_argument,
                        "bad escape in JSON pointer (use ~0 or ~1): " + std::string(pointer));
    }
    cur += pointer[i];
  }
  return tokens;
}

Result<std::string> fragment_to_pointer(std::string_view ref)
{
  if (ref.empty() || ref.front() != '#') {
    return make_error(Errc::invalid_argument, "not a fragment reference: " + std::string(ref));
  }
  return util::percent_decode(ref.substr(1));
}

Result<Location> resolve_refs(const BlobLoader& load, Location loc)
{
  for (;;) {
    NodeReader r(loc.blob->data, loc.pos);
    PAGABLE_TRY_ASSIGN(const Tag tag, r.peek_tag());
    if (tag != Tag::ref) {
      return loc;
    }
    PAGABLE_TRY_ASSIGN(auto child, load_child(load, *loc.blob, loc.next_child));
    loc = Location{std::move(child), 0, 0};
  }
}

std::optional<std::uint64_t> parse_index(std::string_view s)
{
  if (s.empty() || (s.size() > 1 && s.front() == '0') || s.size() > 19) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

Result<std::optional<std::uint64_t>> array_length(const BlobLoader& load, Location loc)
{
  PAGABLE_TRY_ASSIGN(loc, resolve_refs(load, std::move(loc)));
  NodeReader r(loc.blob->data, loc.pos);
  PAGABLE_TRY_ASSIGN(const Tag tag, r.read_tag());
  if (tag != Tag::array && tag != Tag::array_chunks) {
    return std::optional<std::uint64_t>();
  }
  PAGABLE_TRY_ASSIGN(const std::uint64_t n, r.read_varint());
  if (tag == Tag::array) {
    return std::optional<std::uint64_t>(n);
  }
  std::uint64_t total = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    PAGABLE_TRY_ASSIGN(const std::uint64_t count, r.read_varint());
    total += count;
  }
  return std::optional<std::uint64_t>(total);
}

Result<bool> for_each_member_name(const BlobLoader& load, Location loc,
                                  const std::function<void(std::string_view)>& fn)
{
  PAGABLE_TRY_ASSIGN(loc, resolve_refs(load, std::move(loc)));
  const auto scan = [&](NodeReader& r) -> Result<void> {
    PAGABLE_TRY_ASSIGN(const std::uint64_t n, r.read_varint());
    for (std::uint64_t i = 0; i < n; ++i) {
      PAGABLE_TRY_ASSIGN(const std::string_view name, r.read_text());
      fn(name);
      PAGABLE_TRY(skip_value(r));
    }
    return {};
  };
  NodeReader r(loc.blob->data, loc.pos);
  PAGABLE_TRY_ASSIGN(const Tag tag, r.read_tag());
  if (tag == Tag::object) {
    PAGABLE_TRY(scan(r));
    return true;
  }
  std::shared_ptr<const Blob> top = loc.blob;
  if (tag == Tag::routed_object) {
    PAGABLE_TRY_ASSIGN(top, load_child(load, *loc.blob, 0));
  } else if (tag != Tag::object_chunks) {
    return false;
  }
  std::vector<std::pair<std::shared_ptr<const Blob>, std::size_t>> stack{{std::move(top), 0}};
  while (!stack.empty()) {
    auto& [blob, next] = stack.back();
    if (next >= blob->children.size()) {
      stack.pop_back();
      continue;
    }
    PAGABLE_TRY_ASSIGN(auto child, load_child(load, *blob, next));
    ++next;
    NodeReader cr(child->data);
    PAGABLE_TRY_ASSIGN(const Tag ct, cr.read_tag());
    if (ct == Tag::object_chunks) {
      stack.emplace_back(std::move(child), 0);
    } else if (ct == Tag::object_part) {
      PAGABLE_TRY(scan(cr)); // `child` (the part) is released before the next one loads
    } else {
      return corrupt("an object chunk tree holds a tag " + std::to_string(static_cast<int>(ct)));
    }
  }
  return true;
}

Result<Location> locate(const BlobLoader& load, const Key& root,
                        const std::vector<std::string>& tokens)
{
  auto blob = load(root);
  if (!blob) {
    return std::move(blob).error();
  }
  if (!*blob) {
    return make_error(Errc::corrupt, "missing blob " + root.to_hex());
  }
  return locate_from(load, Location{std::move(blob).value(), 0, 0}, tokens);
}

Result<Location> locate_from(const BlobLoader& load, Location start,
                             const std::vector<std::string>& tokens)
{
  Location loc = std::move(start);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    PAGABLE_TRY_ASSIGN(loc, resolve_refs(load, std::move(loc)));
    NodeReader r(loc.blob->data, loc.pos);
    PAGABLE_TRY_ASSIGN(const Tag tag, r.read_tag());
    switch (tag) {
    case Tag::object: {
      PAGABLE_TRY_ASSIGN(const std::uint64_t n, r.read_varint());
      PAGABLE_TRY_ASSIGN(auto found, find_member(loc.blob, r, loc.next_child, n, token));
      if (!found) {
        return not_found_at(tokens, i, "no such member");
      }
      loc = std::move(*found);
      break;
    }
    case Tag::routed_object: {
      PAGABLE_TRY_ASSIGN(auto found, find_in_routed_object(load, loc.blob, token));
      if (!found) {
        return not_found_at(tokens, i, "no such member");
      }
      loc = std::move(*found);
      break;
    }
    case Tag::object_chunks: {
      PAGABLE_TRY_ASSIGN(auto found, find_in_object_chunks(load, loc.blob, token));
      if (!found) {
        return not_found_at(tokens, i, "no such member");
      }
      loc = std::move(*found);
      break;
    }
    case Tag::array: {
      PAGABLE_TRY_ASSIGN(const std::uint64_t n, r.read_varint());
      const auto index = parse_index(token);
      if (!index || *index >= n) {
        return not_found_at(tokens, i, "not an index of an array of " + std::to_string(n));
      }
      PAGABLE_TRY_ASSIGN(loc, skip_items(loc.blob, r, loc.next_child, *index));
      break;
    }
    case Tag::array_chunks: {
      const auto index = parse_index(token);
      if (!index) {
        return not_found_at(tokens, i, "not an array index");
      }
      std::uint64_t want = *index;
      std::shared_ptr<const Blob> node = loc.blob;
      NodeReader cr = r;
      for (;;) {
        // `cr` is just after an array_chunks tag of `node`: pick the entry holding `want`.
        PAGABLE_TRY_ASSIGN(const auto entry, pick_entry(cr, want));
        if (!entry) {
          return not_found_at(tokens, i, "beyond the end of the array");
        }
        PAGABLE_TRY_ASSIGN(auto child, load_child(load, *node, *entry));
        node = std::move(child);
        cr = NodeReader(node->data);
        PAGABLE_TRY_ASSIGN(const Tag ct, cr.read_tag());
        if (ct == Tag::array_chunks) {
          continue;
        }
        if (ct != Tag::array_part) {
          return corrupt("an array chunk tree holds a tag " + std::to_string(static_cast<int>(ct)));
        }
        PAGABLE_TRY_ASSIGN(const std::uint64_t items, cr.read_varint());
        if (want >= items) {
          return corrupt("an array chunk count disagrees with its part");
        }
        PAGABLE_TRY_ASSIGN(loc, skip_items(node, cr, 0, want));
        break;
      }
      break;
    }
    default: return not_found_at(tokens, i, "not an object or array");
    }
  }
  return loc;
}

} // namespace pagable::codec
