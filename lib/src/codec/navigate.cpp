// SPDX-License-Identifier: MIT OR Apache-2.0
#include "codec/navigate.hpp"

#include <map>
#include <unordered_map>

namespace pagable::codec {
namespace {

Error corrupt(std::string what)
{
  return make_error(Errc::corrupt, "malformed node: " + std::move(what));
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

Result<std::shared_ptr<const Blob>> checked_blob(const Key& key, std::optional<Blob> blob)
{
  if (!blob) {
    return make_error(Errc::corrupt, "blob " + key.to_hex() + " is missing from the archive");
  }
  auto checked = check_node(*blob);
  if (!checked) {
    return std::move(checked).error().with_context("blob " + key.short_hex());
  }
  return std::make_shared<const Blob>(std::move(*blob));
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

// Member tokens[i] of the routed object `routed`: through its fingerprints, or, when they
// cannot be read, by scanning its chunk tree (recorded in `detours`).
static Result<std::optional<Location>> find_routed_member(const BlobLoader& load,
                                                   const std::shared_ptr<const Blob>& routed,
                                                   const std::vector<std::string>& tokens,
                                                   std::size_t i, std::vector<RoutingDetour>* detours)
{
  auto found = find_in_routed_object(load, routed, tokens[i]);
  if (found || found.error().code() != Errc::corrupt) {
    return found;
  }
  // Only fingerprint blobs that cannot be read (missing, failing their checks) are passed
  // by: fingerprints that read well yet disagree with the parts are a malformed node, and
  // that error stands. The chunk tree is child 0; a damaged tree is damage to the object.
  bool unreadable = false;
  for (std::size_t c = 1; c < routed->children.size() && !unreadable; ++c) {
    unreadable = !load_child(load, *routed, c);
  }
  if (!unreadable) {
    return found;
  }
  auto tree = load_child(load, *routed, 0);
  if (!tree) {
    return found;
  }
  auto scanned = find_in_object_chunks(load, std::move(tree).value(), tokens[i]);
  if (!scanned) {
    return scanned;
  }
  if (detours != nullptr) {
    detours->push_back(RoutingDetour{pointer_prefix(tokens, i), found.error().message()});
  }
  return scanned;
}

Result<Location> locate(const BlobLoader& load, const Key& root,
                        const std::vector<std::string>& tokens, std::vector<RoutingDetour>* detours)
{
  auto blob = load(root);
  if (!blob) {
    return std::move(blob).error();
  }
  if (!*blob) {
    return make_error(Errc::corrupt, "missing blob " + root.to_hex());
  }
  return locate_from(load, Location{std::move(blob).value(), 0, 0}, tokens, detours);
}

Result<Location> locate_from(const BlobLoader& load, Location start,
                             const std::vector<std::string>& tokens,
                             std::vector<RoutingDetour>* detours)
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
      PAGABLE_TRY_ASSIGN(auto found, find_routed_member(load, loc.blob, tokens, i, detours));
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

Result<std::vector<bool>> has_values(const BlobLoader& load, const Key& root,
                                     const std::vector<std::string>& pointers)
{
  // Group by parent pointer: each parent is located and listed once. Only each pointer's
  // last token is kept beside it, so memory is about that of the pointers themselves.
  std::map<std::string_view, std::vector<std::size_t>> by_parent;
  std::vector<std::string> last(pointers.size());
  std::vector<bool> answers(pointers.size(), false);
  for (std::size_t i = 0; i < pointers.size(); ++i) {
    const std::string_view p = pointers[i];
    if (p.empty()) {
      answers[i] = true;
      continue;
    }
    if (p.front() != '/') {
      return make_error(Errc::invalid_argument,
                        "\"" + pointers[i] + "\" is not a JSON pointer (it must start with '/')");
    }
    const auto slash = p.rfind('/');
    PAGABLE_TRY_ASSIGN(auto tokens, parse_pointer(p.substr(slash)));
    last[i] = std::move(tokens.front());
    by_parent[p.substr(0, slash)].push_back(i);
  }
  for (const auto& [parent, indices] : by_parent) {
    PAGABLE_TRY_ASSIGN(const auto parent_tokens, parse_pointer(parent));
    auto loc = locate(load, root, parent_tokens);
    if (!loc) {
      if (loc.error().code() == Errc::not_found) {
        continue;
      }
      return std::move(loc).error();
    }
    // The wanted names, checked off while the members stream past: memory is that of the
    // pointers, not of the object (which may be most of the document).
    std::unordered_map<std::string_view, std::vector<std::size_t>> wanted;
    for (const std::size_t i : indices) {
      wanted[last[i]].push_back(i);
    }
    PAGABLE_TRY_ASSIGN(const bool is_object,
                       for_each_member_name(load, *loc, [&](std::string_view name) {
                         if (const auto it = wanted.find(name); it != wanted.end()) {
                           for (const std::size_t i : it->second) {
                             answers[i] = true;
                           }
                         }
                       }));
    if (is_object) {
      continue;
    }
    PAGABLE_TRY_ASSIGN(const auto length, array_length(load, *loc));
    for (const std::size_t i : indices) {
      const auto index = parse_index(last[i]);
      answers[i] = length && index && *index < *length;
    }
  }
  return answers;
}

Result<std::vector<std::uint64_t>> count_members(const BlobLoader& load, const Key& root,
                                                 std::string_view pointer,
                                                 const std::vector<std::string_view>& names)
{
  PAGABLE_TRY_ASSIGN(const auto tokens, parse_pointer(pointer));
  PAGABLE_TRY_ASSIGN(const auto loc, locate(load, root, tokens));
  std::unordered_map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < names.size(); ++i) {
    index.emplace(names[i], i);
  }
  std::vector<std::uint64_t> counts(names.size(), 0);
  PAGABLE_TRY(for_each_member_name(load, loc, [&](std::string_view name) {
    if (const auto it = index.find(name); it != index.end()) {
      ++counts[it->second];
    }
  }));
  return counts;
}

} // namespace pagable::codec
