// SPDX-License-Identifier: MIT OR Apache-2.0
// The diff engine: a stack of tasks (compare two values, or emit an operation), so that
// documents of any depth never grow the C++ stack, and so that an array's operations come
// out from its end to its start (the indices of A stay those of the document being
// patched) with each item's own operations at its place.
#include <pagable/diff.hpp>

#include "diff/align.hpp"
#include "diff/values.hpp"
#include "util/pointer_text.hpp"

#include <algorithm>
#include <unordered_map>
#include <variant>

namespace pagable::diff {
namespace {

using codec::NodeReader;
using codec::Tag;
using json = nlohmann::ordered_json;

// An entry of a chunk tree being aligned: a subtree with its key and item (or member) count;
// once read, a part (`part` set); or a whole inline container standing for itself.
struct Entry {
  std::optional<Key> key;
  std::uint64_t count = 0;
  std::shared_ptr<const Blob> part; // a part, once loaded
  std::optional<Val> inline_value;  // an inline container (no key: it never matches)
  bool matched = false;
  bool is_leaf() const { return part != nullptr || inline_value.has_value(); }
};

struct Compare {
  Val a;
  Val b;
  std::string path;
  bool under_array = false; // an array lies between the document and this value
};
using Task = std::variant<Compare, Op>;

std::string child_path(const std::string& path, std::string_view token)
{
  return path + "/" + util::escape_pointer_token(token);
}

// Returns true iff a merge patch cannot carry `v` as it is: null, or an object with a null
// member outside any array (a merge patch reads null as "remove").
bool has_null_member(const json& v)
{
  std::vector<const json*> stack{&v};
  while (!stack.empty()) {
    const json* j = stack.back();
    stack.pop_back();
    if (j->is_null()) {
      return true;
    }
    if (j->is_object()) {
      for (const auto& [_, m] : j->items()) {
        stack.push_back(&m);
      }
    }
  }
  return false;
}

class Engine {
public:
  Engine(Reader& reader, const DiffOptions& options) : m_reader(reader), m_options(options) {}

  Result<void> run(Val a, Val b)
  {
    m_stack.emplace_back(Compare{std::move(a), std::move(b), "", false});
    while (!m_stack.empty()) {
      Task task = std::move(m_stack.back());
      m_stack.pop_back();
      if (auto* op = std::get_if<Op>(&task)) {
        m_ops.push_back(std::move(*op));
        continue;
      }
      PAGABLE_TRY(compare(std::get<Compare>(task)));
    }
    return {};
  }

  std::vector<Op> take_ops() { return std::move(m_ops); }
  bool merge_exact() const { return m_merge_problem.empty(); }
  const std::string& merge_problem() const { return m_merge_problem; }
  json take_merge() { return std::move(m_merge); }

private:
  Result<void> compare(const Compare& c)
  {
    PAGABLE_TRY_ASSIGN(const auto ra, Reader::ref_key(c.a));
    PAGABLE_TRY_ASSIGN(const auto rb, Reader::ref_key(c.b));
    const auto ka = ra ? ra : c.a.key;
    const auto kb = rb ? rb : c.b.key;
    if (ka && kb && *ka == *kb) {
      return {}; // the same subtree: nothing of it is read
    }
    PAGABLE_TRY_ASSIGN(const Val a, m_reader.resolve(c.a));
    PAGABLE_TRY_ASSIGN(const Val b, m_reader.resolve(c.b));
    if (a.key && b.key && *a.key == *b.key) {
      return {};
    }
    PAGABLE_TRY_ASSIGN(const Tag ta, Reader::tag_of(a));
    PAGABLE_TRY_ASSIGN(const Tag tb, Reader::tag_of(b));
    const Shape sa = Reader::shape_of(ta);
    const Shape sb = Reader::shape_of(tb);
    if (sa == Shape::scalar && sb == Shape::scalar) {
      PAGABLE_TRY_ASSIGN(const auto bytes_a, Reader::bytes_of(a));
      PAGABLE_TRY_ASSIGN(const auto bytes_b, Reader::bytes_of(b));
      if (std::equal(bytes_a.begin(), bytes_a.end(), bytes_b.begin(), bytes_b.end())) {
        return {};
      }
    }
    if (sa != sb || sa == Shape::scalar) {
      PAGABLE_TRY_ASSIGN(Op op, make_op(OpKind::replace, c.path, &a, &b, c.under_array));
      m_stack.emplace_back(std::move(op));
      return {};
    }
    return sa == Shape::object ? compare_objects(a, ta, b, tb, c) : compare_arrays(a, ta, b, tb, c);
  }

  // An operation at `path`, its values read from A and B; recorded in the merge patch.
  Result<Op> make_op(OpKind kind, const std::string& path, const Val* a, const Val* b, bool under_array)
  {
    Op op;
    op.kind = kind;
    op.path = path;
    if (b != nullptr) {
      PAGABLE_TRY_ASSIGN(op.value, m_reader.to_json(*b));
    }
    if (a != nullptr && m_options.old_values == OldValues::yes) {
      PAGABLE_TRY_ASSIGN(op.old, m_reader.to_json(*a));
    }
    if (m_options.merge_patch && !under_array) {
      if (kind != OpKind::remove && has_null_member(op.value) && !(path.empty() && op.value.is_null())) {
        m_merge_problem = "B sets " + (path.empty() ? std::string("the document") : path) +
                          " to a value holding null, which a merge patch reads as \"remove\"";
      }
      PAGABLE_TRY(merge_at(path, kind == OpKind::remove ? json(nullptr) : op.value));
    }
    return op;
  }

  Result<void> merge_at(const std::string& path, json value)
  {
    PAGABLE_TRY_ASSIGN(const auto tokens, codec::parse_pointer(path));
    if (tokens.empty()) {
      m_merge = std::move(value);
      return {};
    }
    json* at = &m_merge;
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
      at = &(*at)[tokens[i]];
      if (!at->is_object()) {
        *at = json::object();
      }
    }
    (*at)[tokens.back()] = std::move(value);
    return {};
  }

  // The top of a container's chunk tree as entries; an inline container as one entry.
  Result<std::vector<Entry>> top_entries(const Val& v, Tag tag)
  {
    if (tag == Tag::object || tag == Tag::array) {
      NodeReader r(v.loc.blob->data, v.loc.pos);
      PAGABLE_TRY(r.read_tag());
      PAGABLE_TRY_ASSIGN(const std::uint64_t n, r.read_varint());
      return std::vector<Entry>{Entry{std::nullopt, n, nullptr, v, false}};
    }
    std::shared_ptr<const Blob> top = v.loc.blob;
    if (tag == Tag::routed_object) {
      // Child 0 is the object's chunk tree; its fingerprints (children 1..) name members
      // only, and a routed object whose tree is unchanged has the same key, so they are not
      // read: the tree's entries are aligned by key like any chunked object's.
      if (top->children.empty()) {
        return make_error(Errc::corrupt, "malformed node: a routed object without its chunk tree");
      }
      PAGABLE_TRY_ASSIGN(top, m_reader.load(top->children[0]));
    }
    return entries_of(*top);
  }

  // The entries of a chunks node (its tag and counts, then one child per entry).
  static Result<std::vector<Entry>> entries_of(const Blob& node)
  {
    NodeReader r(node.data);
    PAGABLE_TRY_ASSIGN(const Tag tag, r.read_tag());
    if (tag != Tag::object_chunks && tag != Tag::array_chunks) {
      return make_error(Errc::corrupt, "malformed node: a chunk list expected");
    }
    PAGABLE_TRY_ASSIGN(const std::uint64_t n, r.read_varint());
    if (n != node.children.size()) {
      return make_error(Errc::corrupt, "malformed node: a chunk list's count differs from its children");
    }
    std::vector<Entry> out;
    for (std::uint64_t i = 0; i < n; ++i) {
      PAGABLE_TRY_ASSIGN(const std::uint64_t count, r.read_varint());
      out.push_back(Entry{node.children[static_cast<std::size_t>(i)], count, nullptr, std::nullopt, false});
    }
    return out;
  }

  // Aligns two entry lists by key, reading only entries that found no equal: an index
  // node that differs is replaced by its entries and the lists aligned again, until every
  // entry left unpaired is a part. Returns the pairs of equal entries.
  Result<std::vector<std::pair<std::size_t, std::size_t>>> align_entries(std::vector<Entry>& ea,
                                                                         std::vector<Entry>& eb)
  {
    for (;;) {
      auto pairs = align(ea.size(), eb.size(), [&](std::size_t i, std::size_t j) {
        return ea[i].key && eb[j].key && *ea[i].key == *eb[j].key;
      });
      for (auto& e : ea) {
        e.matched = false;
      }
      for (auto& e : eb) {
        e.matched = false;
      }
      for (const auto& [i, j] : pairs) {
        ea[i].matched = eb[j].matched = true;
      }
      bool expanded = false;
      for (auto* list : {&ea, &eb}) {
        std::vector<Entry> next;
        for (auto& e : *list) {
          if (e.matched || e.is_leaf()) {
            next.push_back(std::move(e));
            continue;
          }
          PAGABLE_TRY_ASSIGN(auto blob, m_reader.load(*e.key));
          NodeReader r(blob->data);
          PAGABLE_TRY_ASSIGN(const Tag tag, r.read_tag());
          if (tag == Tag::object_part || tag == Tag::array_part) {
            e.part = std::move(blob);
            next.push_back(std::move(e));
            continue;
          }
          PAGABLE_TRY_ASSIGN(auto children, entries_of(*blob));
          next.insert(next.end(), children.begin(), children.end());
          expanded = true;
        }
        *list = std::move(next);
      }
      if (!expanded) {
        return pairs;
      }
    }
  }

  Result<std::vector<Element>> elements_of(const Entry& e)
  {
    if (e.inline_value) {
      return Reader::elements(*e.inline_value);
    }
    return Reader::elements(Val{codec::Location{e.part, 0, 0}, e.key});
  }

  Result<void> compare_objects(const Val& a, Tag ta, const Val& b, Tag tb, const Compare& c)
  {
    std::vector<Element> ma;
    std::vector<Element> mb;
    if (ta == Tag::object && tb == Tag::object) {
      PAGABLE_TRY_ASSIGN(ma, Reader::elements(a));
      PAGABLE_TRY_ASSIGN(mb, Reader::elements(b));
    } else {
      // Members of equal parts are equal on both sides; the rest, being unique names, can
      // only meet each other.
      PAGABLE_TRY_ASSIGN(auto ea, top_entries(a, ta));
      PAGABLE_TRY_ASSIGN(auto eb, top_entries(b, tb));
      PAGABLE_TRY(align_entries(ea, eb));
      for (auto [list, out] : {std::pair{&ea, &ma}, std::pair{&eb, &mb}}) {
        for (const Entry& e : *list) {
          if (!e.matched) {
            PAGABLE_TRY_ASSIGN(auto members, elements_of(e));
            out->insert(out->end(), members.begin(), members.end());
          }
        }
      }
    }
    std::unordered_map<std::string_view, std::size_t> in_b;
    for (std::size_t j = 0; j < mb.size(); ++j) {
      in_b.emplace(mb[j].name, j);
    }
    std::vector<bool> seen(mb.size(), false);
    std::vector<Task> tasks; // in document order
    for (const Element& m : ma) {
      const std::string path = child_path(c.path, m.name);
      const auto it = in_b.find(m.name);
      if (it == in_b.end()) {
        PAGABLE_TRY_ASSIGN(Op op, make_op(OpKind::remove, path, &m.value, nullptr, c.under_array));
        tasks.emplace_back(std::move(op));
        continue;
      }
      seen[it->second] = true;
      if (!same_value(m, mb[it->second])) {
        tasks.emplace_back(Compare{m.value, mb[it->second].value, path, c.under_array});
      }
    }
    for (std::size_t j = 0; j < mb.size(); ++j) {
      if (!seen[j]) {
        PAGABLE_TRY_ASSIGN(Op op, make_op(OpKind::add, child_path(c.path, mb[j].name), nullptr,
                                          &mb[j].value, c.under_array));
        tasks.emplace_back(std::move(op));
      }
    }
    m_stack.insert(m_stack.end(), std::make_move_iterator(tasks.rbegin()),
                   std::make_move_iterator(tasks.rend()));
    return {};
  }

  Result<void> compare_arrays(const Val& a, Tag ta, const Val& b, Tag tb, const Compare& c)
  {
    if (m_options.merge_patch && !c.under_array) {
      // A merge patch replaces arrays whole.
      PAGABLE_TRY_ASSIGN(json whole, m_reader.to_json(b));
      PAGABLE_TRY(merge_at(c.path, std::move(whole)));
    }
    PAGABLE_TRY_ASSIGN(auto ea, top_entries(a, ta));
    PAGABLE_TRY_ASSIGN(auto eb, top_entries(b, tb));
    std::vector<std::pair<std::size_t, std::size_t>> anchors; // equal entries
    if (!(ta == Tag::array && tb == Tag::array)) {
      PAGABLE_TRY_ASSIGN(anchors, align_entries(ea, eb));
    }
    // Item offsets of each entry in A and B.
    std::vector<std::uint64_t> oa(ea.size() + 1, 0);
    std::vector<std::uint64_t> ob(eb.size() + 1, 0);
    for (std::size_t i = 0; i < ea.size(); ++i) {
      oa[i + 1] = oa[i] + ea[i].count;
    }
    for (std::size_t j = 0; j < eb.size(); ++j) {
      ob[j + 1] = ob[j] + eb[j].count;
    }
    std::vector<Task> tasks; // in the order they must run: from the array's end to its start
    // The unpaired entries between two pairs (or an end) form a region; regions from the last.
    std::size_t end_a = ea.size();
    std::size_t end_b = eb.size();
    for (std::size_t p = anchors.size() + 1; p-- > 0;) {
      const std::size_t start_a = p == 0 ? 0 : anchors[p - 1].first + 1;
      const std::size_t start_b = p == 0 ? 0 : anchors[p - 1].second + 1;
      if (start_a < end_a || start_b < end_b) {
        std::vector<Element> ia;
        std::vector<Element> ib;
        for (std::size_t i = start_a; i < end_a; ++i) {
          PAGABLE_TRY_ASSIGN(auto items, elements_of(ea[i]));
          ia.insert(ia.end(), items.begin(), items.end());
        }
        for (std::size_t j = start_b; j < end_b; ++j) {
          PAGABLE_TRY_ASSIGN(auto items, elements_of(eb[j]));
          ib.insert(ib.end(), items.begin(), items.end());
        }
        PAGABLE_TRY(region_tasks(ia, ib, oa[start_a], c, tasks));
      }
      if (p > 0) {
        end_a = anchors[p - 1].first;
        end_b = anchors[p - 1].second;
      }
    }
    m_stack.insert(m_stack.end(), std::make_move_iterator(tasks.rbegin()),
                   std::make_move_iterator(tasks.rend()));
    return {};
  }

  // The operations turning items `ia` (from index `base` of the array) into `ib`: items
  // paired by an LCS stay; between pairs, items are compared in place as far as both sides
  // have some, and the rest removed or added. Appended to `tasks` from the end backwards.
  Result<void> region_tasks(const std::vector<Element>& ia, const std::vector<Element>& ib,
                            std::uint64_t base, const Compare& c, std::vector<Task>& tasks)
  {
    const auto pairs = align(ia.size(), ib.size(),
                             [&](std::size_t i, std::size_t j) { return same_value(ia[i], ib[j]); });
    const auto index_path = [&](std::uint64_t i) { return c.path + "/" + std::to_string(base + i); };
    const auto gap = [&](std::size_t a0, std::size_t a1, std::size_t b0, std::size_t b1) -> Result<void> {
      const std::size_t k = a1 - a0;
      const std::size_t m = b1 - b0;
      const std::size_t p = std::min(k, m);
      for (std::size_t i = a1; i-- > a0 + p;) {
        PAGABLE_TRY_ASSIGN(Op op, make_op(OpKind::remove, index_path(i), &ia[i].value, nullptr, true));
        tasks.emplace_back(std::move(op));
      }
      for (std::size_t t = p; t < m; ++t) {
        PAGABLE_TRY_ASSIGN(Op op, make_op(OpKind::add, index_path(a0 + t), nullptr, &ib[b0 + t].value, true));
        tasks.emplace_back(std::move(op));
      }
      for (std::size_t t = p; t-- > 0;) {
        tasks.emplace_back(Compare{ia[a0 + t].value, ib[b0 + t].value, index_path(a0 + t), true});
      }
      return {};
    };
    std::size_t end_a = ia.size();
    std::size_t end_b = ib.size();
    for (std::size_t p = pairs.size(); p-- > 0;) {
      PAGABLE_TRY(gap(pairs[p].first + 1, end_a, pairs[p].second + 1, end_b));
      end_a = pairs[p].first;
      end_b = pairs[p].second;
    }
    return gap(0, end_a, 0, end_b);
  }

  Reader& m_reader;
  const DiffOptions& m_options;
  std::vector<Task> m_stack;
  std::vector<Op> m_ops;
  json m_merge = json::object();
  std::string m_merge_problem;
};

// The value at `tokens` in the document `root`, with its key when it is a whole blob.
Result<Val> value_at(Reader& reader, const Key& root, const std::vector<std::string>& tokens,
                     const char* side)
{
  PAGABLE_TRY_ASSIGN(auto blob, reader.load(root));
  if (tokens.empty()) {
    return Val{codec::Location{std::move(blob), 0, 0}, root};
  }
  auto loc = codec::locate_from(reader.loader(), codec::Location{std::move(blob), 0, 0}, tokens);
  if (!loc) {
    return std::move(loc).error().with_context(side);
  }
  return Val{std::move(*loc), std::nullopt};
}

} // namespace

const char* op_name(OpKind kind) noexcept
{
  switch (kind) {
  case OpKind::add: return "add";
  case OpKind::remove: return "remove";
  case OpKind::replace: return "replace";
  }
  return "replace";
}

nlohmann::ordered_json to_json_patch(const std::vector<Op>& patch)
{
  json out = json::array();
  for (const Op& op : patch) {
    json o = {{"op", op_name(op.kind)}, {"path", op.path}};
    if (op.kind != OpKind::remove) {
      o["value"] = op.value;
    }
    out.push_back(std::move(o));
  }
  return out;
}

Result<DiffResult> diff(const store::BlobReader& store, const Key& a, const Key& b,
                        const DiffOptions& options)
{
  PAGABLE_TRY_ASSIGN(const auto tokens, codec::parse_pointer(options.at));
  DiffResult result;
  if (a == b) {
    if (options.merge_patch) {
      result.merge_patch = json::object();
    }
    return result; // one document: nothing is read
  }
  Reader reader(store, options.cache_bytes);
  PAGABLE_TRY_ASSIGN(Val va, value_at(reader, a, tokens, "A"));
  PAGABLE_TRY_ASSIGN(Val vb, value_at(reader, b, tokens, "B"));
  Engine engine(reader, options);
  PAGABLE_TRY(engine.run(std::move(va), std::move(vb)));
  result.patch = engine.take_ops();
  if (options.merge_patch) {
    if (engine.merge_exact()) {
      result.merge_patch = engine.take_merge();
    } else {
      result.merge_patch_problem = engine.merge_problem();
    }
  }
  result.stats = reader.stats();
  return result;
}

} // namespace pagable::diff
