// SPDX-License-Identifier: MIT OR Apache-2.0
// Reading a C++ value back: a pull reader over a stored node that follows refs and chunk
// trees the way hydrate does (an explicit stack of blobs and levels, no recursion of its
// own), except where a handle takes a ref's key instead of following it.
#include "codec/navigate.hpp"
#include "codec/node_codec.hpp"
#include "objects/cell.hpp"

#include <utility>
#include <vector>

namespace pagable::objects {
namespace {

using codec::NodeReader;
using codec::Tag;

// Deeper nesting is an error: codecs recurse on the C++ stack.
constexpr std::size_t k_max_depth = 1000;

class NodeValueReader final : public Reader {
public:
  NodeValueReader(Pager::Core& core, std::shared_ptr<const Blob> root) : m_core(core)
  {
    m_state.cursors.push_back(Cursor{std::move(root), 0, 0});
  }

  Result<Kind> peek() override
  {
    PAGABLE_TRY_ASSIGN(const Tag tag, reader().peek_tag());
    switch (tag) {
    case Tag::null: return Kind::null;
    case Tag::false_:
    case Tag::true_: return Kind::boolean;
    case Tag::integer: return Kind::integer;
    case Tag::big_integer: return Kind::big_integer;
    case Tag::binary64: return Kind::number;
    case Tag::string: return Kind::string;
    case Tag::array:
    case Tag::array_chunks: return Kind::array;
    case Tag::object:
    case Tag::object_chunks:
    case Tag::routed_object: return Kind::object;
    case Tag::ref: return Kind::node;
    default: break;
    }
    return corrupt("a chunk part where a value belongs");
  }

  Result<Kind> peek_value() override
  {
    for (;;) {
      PAGABLE_TRY_ASSIGN(const Kind kind, peek());
      if (kind != Kind::node) {
        return kind;
      }
      PAGABLE_TRY(follow());
    }
  }

  Result<Key> take_node() override
  {
    PAGABLE_TRY_ASSIGN(const Tag tag, reader().read_tag());
    if (tag != Tag::ref) {
      return make_error(Errc::internal, "take_node() where no node is");
    }
    PAGABLE_TRY_ASSIGN(const Key key, next_child());
    value_done();
    return key;
  }

  Result<bool> read_bool() override
  {
    PAGABLE_TRY(expect(Kind::boolean, "a boolean"));
    PAGABLE_TRY_ASSIGN(const Tag tag, reader().read_tag());
    value_done();
    return tag == Tag::true_;
  }
  Result<std::int64_t> read_integer() override
  {
    PAGABLE_TRY_ASSIGN(const Kind kind, peek_value());
    if (kind == Kind::big_integer) {
      return mismatch("an integer too large for 64 bits");
    }
    PAGABLE_TRY(expect(Kind::integer, "an integer"));
    PAGABLE_TRY(reader().read_tag());
    PAGABLE_TRY_ASSIGN(const std::int64_t v, reader().read_integer_body());
    value_done();
    return v;
  }
  Result<std::uint64_t> read_unsigned() override
  {
    PAGABLE_TRY_ASSIGN(const Kind kind, peek_value());
    if (kind == Kind::integer) {
      PAGABLE_TRY(reader().read_tag());
      PAGABLE_TRY_ASSIGN(const std::int64_t v, reader().read_integer_body());
      if (v < 0) {
        return mismatch(std::to_string(v) + " where an unsigned integer belongs");
      }
      value_done();
      return static_cast<std::uint64_t>(v);
    }
    PAGABLE_TRY(expect(Kind::big_integer, "an unsigned integer"));
    PAGABLE_TRY(reader().read_tag());
    PAGABLE_TRY_ASSIGN(const std::string_view digits, reader().read_text());
    std::uint64_t v = 0;
    for (const char c : digits) {
      if (c < '0' || c > '9' || v > (UINT64_MAX - static_cast<unsigned>(c - '0')) / 10) {
        return mismatch(std::string(digits) + " does not fit 64 bits");
      }
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    value_done();
    return v;
  }
  Result<double> read_number() override
  {
    PAGABLE_TRY_ASSIGN(const Kind kind, peek_value());
    if (kind == Kind::integer) {
      PAGABLE_TRY_ASSIGN(const std::int64_t v, read_integer());
      return static_cast<double>(v);
    }
    PAGABLE_TRY(expect(Kind::number, "a number"));
    PAGABLE_TRY(reader().read_tag());
    PAGABLE_TRY_ASSIGN(const double v, reader().read_binary64_body());
    value_done();
    return v;
  }
  Result<void> read_null() override
  {
    PAGABLE_TRY(expect(Kind::null, "null"));
    PAGABLE_TRY(reader().read_tag());
    value_done();
    return {};
  }
  Result<std::string_view> read_string() override
  {
    PAGABLE_TRY(expect(Kind::string, "a string"));
    PAGABLE_TRY(reader().read_tag());
    PAGABLE_TRY_ASSIGN(const std::string_view s, reader().read_text());
    value_done();
    return s;
  }

  Result<void> begin_object() override { return begin(true); }
  Result<void> begin_array() override { return begin(false); }

  Result<std::optional<std::string_view>> next_member() override
  {
    PAGABLE_TRY_ASSIGN(const bool more, advance(true));
    if (!more) {
      return std::optional<std::string_view>{};
    }
    PAGABLE_TRY_ASSIGN(const std::string_view name, reader().read_text());
    m_state.levels[m_state.logical.back()].token.assign(name);
    return std::optional<std::string_view>{name};
  }
  Result<bool> next_item() override
  {
    PAGABLE_TRY_ASSIGN(const bool more, advance(false));
    if (more) {
      ++m_state.levels[m_state.logical.back()].index;
    }
    return more;
  }

  Result<void> skip() override
  {
    PAGABLE_TRY_ASSIGN(const Kind kind, peek());
    if (kind == Kind::node) {
      PAGABLE_TRY(take_node()); // nothing below it is read
      return {};
    }
    PAGABLE_TRY_ASSIGN(const Tag tag, reader().peek_tag());
    if (tag == Tag::object_chunks || tag == Tag::array_chunks || tag == Tag::routed_object) {
      // A chunked container is a whole blob's data: skipping it is leaving the blob.
      Cursor& c = cursor();
      c.pos = c.blob->data.size();
      c.next_child = c.blob->children.size();
      value_done();
      return {};
    }
    NodeReader r(cursor().blob->data, cursor().pos);
    PAGABLE_TRY_ASSIGN(const std::size_t refs, codec::skip_value(r));
    cursor().pos = r.pos();
    cursor().next_child += refs;
    value_done();
    return {};
  }

  Result<std::optional<std::string>> peek_member_string(std::string_view member) override
  {
    const State saved = m_state;
    auto found = find_member_string(member);
    m_state = saved;
    return found;
  }

  std::shared_ptr<detail::Cell> handle(const detail::ValueOps& ops, const Key& key) override
  {
    return detail::cell_for_key(m_core, ops, key);
  }

  std::shared_ptr<detail::Cell> adopt(const detail::ValueOps& ops, std::shared_ptr<const void> value,
                                      std::size_t resident_bytes) override
  {
    // Counted against the budget with the value being read; its pin makes room afterwards.
    bool over_budget = false; // made room for by the pin of the value being read
    return detail::resident_cell(m_core, ops, std::move(value), resident_bytes, over_budget);
  }

  Error mismatch(std::string_view what) const override
  {
    return make_error(Errc::invalid_input, std::string(what) + " (at \"" + pointer() + "\")");
  }

  const Registry& registry() const override { return m_core.registry; }

  // Returns true iff everything of the top-level value has been read.
  bool finished() const
  {
    return m_state.levels.empty() && m_state.cursors.size() == 1 &&
           m_state.cursors[0].pos == m_state.cursors[0].blob->data.size();
  }

private:
  // A blob being read: the reader's position and the next child a ref takes.
  struct Cursor {
    std::shared_ptr<const Blob> blob;
    std::size_t pos = 0;
    std::size_t next_child = 0;
  };
  enum class LevelKind : std::uint8_t {
    object,   // an inline object or an object part: `remaining` members
    array,    // an inline array or an array part: `remaining` items
    chunks,   // a chunk list: `remaining` children still to read
    blob_end, // pops the cursor of a followed child blob
  };
  struct Level {
    explicit Level(LevelKind k, std::uint64_t n = 0, bool o = false, bool l = false)
        : kind(k), remaining(n), object(o), logical(l)
    {
    }
    LevelKind kind;
    std::uint64_t remaining = 0;
    bool object = false;
    bool logical = false; // the outermost level of a container begin_*() opened
    std::string token;    // logical: the current member's name...
    std::uint64_t index = 0; // ...or one past the current item's index
  };
  struct State {
    std::vector<Cursor> cursors;
    std::vector<Level> levels;
    std::vector<std::size_t> logical; // indexes into levels of the open containers
  };

  Cursor& cursor() { return m_state.cursors.back(); }
  // A reader that writes its position back: cheap, and keeps Cursor a plain value (copied by
  // peek_member_string's save and restore).
  class Pos {
  public:
    explicit Pos(Cursor& c) : m_c(c), m_r(c.blob->data, c.pos) {}
    ~Pos() { m_c.pos = m_r.pos(); }
    NodeReader* operator->() { return &m_r; }
    NodeReader& operator*() { return m_r; }
    Pos(const Pos&) = delete;
    Pos& operator=(const Pos&) = delete;

  private:
    Cursor& m_c;
    NodeReader m_r;
  };
  struct ReaderRef {
    Cursor& c;
    Result<Tag> peek_tag() const { return NodeReader(c.blob->data, c.pos).peek_tag(); }
    Result<Tag> read_tag() { Pos p(c); return p->read_tag(); }
    Result<std::uint64_t> read_varint() { Pos p(c); return p->read_varint(); }
    Result<std::string_view> read_text() { Pos p(c); return p->read_text(); }
    Result<std::int64_t> read_integer_body() { Pos p(c); return p->read_integer_body(); }
    Result<double> read_binary64_body() { Pos p(c); return p->read_binary64_body(); }
    std::size_t pos() const { return c.pos; }
  };
  ReaderRef reader() { return ReaderRef{cursor()}; }

  Error corrupt(const std::string& what) const
  {
    return make_error(Errc::corrupt, what + " (at \"" + pointer() + "\")");
  }

  std::string pointer() const
  {
    std::string p;
    for (const std::size_t i : m_state.logical) {
      const Level& l = m_state.levels[i];
      p += '/';
      p += l.object ? codec::escape_pointer_token(l.token) : std::to_string(l.index == 0 ? 0 : l.index - 1);
    }
    return p;
  }

  Result<void> expect(Kind want, const char* what)
  {
    PAGABLE_TRY_ASSIGN(const Kind kind, peek_value());
    if (kind != want) {
      static constexpr const char* k_names[] = {"null", "a boolean", "an integer", "a big integer",
                                                "a number", "a string", "an array", "an object", "a node"};
      return mismatch(std::string(k_names[static_cast<int>(kind)]) + " where " + what + " belongs");
    }
    return {};
  }

  Result<Key> next_child()
  {
    Cursor& c = cursor();
    if (c.next_child >= c.blob->children.size()) {
      return corrupt("a reference past the children of a blob");
    }
    return c.blob->children[c.next_child++];
  }

  Result<std::shared_ptr<const Blob>> load(const Key& key)
  {
    PAGABLE_TRY_ASSIGN(auto stored, m_core.store.get(key));
    return codec::checked_blob(key, std::move(stored));
  }

  // Enters the node a ref names: its value is read next.
  Result<void> follow()
  {
    PAGABLE_TRY(reader().read_tag());
    PAGABLE_TRY_ASSIGN(const Key key, next_child());
    PAGABLE_TRY_ASSIGN(auto blob, load(key));
    m_state.cursors.push_back(Cursor{std::move(blob), 0, 0});
    m_state.levels.push_back(Level{LevelKind::blob_end});
    return {};
  }

  // A value was read: leaves the followed blobs it was the whole of.
  void value_done()
  {
    while (!m_state.levels.empty() && m_state.levels.back().kind == LevelKind::blob_end) {
      m_state.cursors.pop_back();
      m_state.levels.pop_back();
    }
  }

  Result<void> begin(bool object)
  {
    PAGABLE_TRY(expect(object ? Kind::object : Kind::array, object ? "an object" : "an array"));
    if (m_state.logical.size() >= k_max_depth) {
      return mismatch("a value nested deeper than " + std::to_string(k_max_depth) + " levels");
    }
    PAGABLE_TRY_ASSIGN(Tag tag, reader().read_tag());
    if (tag == Tag::routed_object) {
      // The object is its chunk tree (child 0); the fingerprints only serve lookups.
      PAGABLE_TRY_ASSIGN(const std::uint64_t m, reader().read_varint());
      (void)m;
      Cursor& c = cursor();
      if (c.blob->children.empty()) {
        return corrupt("a routed object without its chunk tree");
      }
      const Key tree = c.blob->children.front();
      c.pos = c.blob->data.size();
      c.next_child = c.blob->children.size();
      PAGABLE_TRY_ASSIGN(auto blob, load(tree));
      m_state.cursors.push_back(Cursor{std::move(blob), 0, 0});
      m_state.levels.push_back(Level{LevelKind::blob_end});
      PAGABLE_TRY_ASSIGN(tag, reader().read_tag());
      if (tag != Tag::object_chunks) {
        return corrupt("a routed object whose tree is not an object chunk list");
      }
    }
    PAGABLE_TRY_ASSIGN(const std::uint64_t n, reader().read_varint());
    Level level{LevelKind::object, n, object, true};
    if (tag == Tag::object_chunks || tag == Tag::array_chunks) {
      for (std::uint64_t i = 0; i < n; ++i) {
        PAGABLE_TRY(reader().read_varint());
      }
      level.kind = LevelKind::chunks;
    } else {
      level.kind = object ? LevelKind::object : LevelKind::array;
    }
    m_state.levels.push_back(std::move(level));
    m_state.logical.push_back(m_state.levels.size() - 1);
    return {};
  }

  // Moves to the next member or item of the innermost open container, through its parts;
  // false (and the container closed) after its last.
  Result<bool> advance(bool object)
  {
    if (m_state.logical.empty()) {
      return make_error(Errc::internal, "next_member() or next_item() with no container open");
    }
    for (;;) {
      Level& level = m_state.levels.back();
      switch (level.kind) {
      case LevelKind::object:
      case LevelKind::array:
        if (level.remaining > 0) {
          --level.remaining;
          return true;
        }
        break;
      case LevelKind::chunks:
        if (level.remaining > 0) {
          --level.remaining;
          PAGABLE_TRY_ASSIGN(const Key key, next_child());
          PAGABLE_TRY_ASSIGN(auto blob, load(key));
          m_state.cursors.push_back(Cursor{std::move(blob), 0, 0});
          m_state.levels.push_back(Level{LevelKind::blob_end});
          PAGABLE_TRY_ASSIGN(const Tag tag, reader().read_tag());
          PAGABLE_TRY_ASSIGN(const std::uint64_t n, reader().read_varint());
          if (tag == (object ? Tag::object_chunks : Tag::array_chunks)) {
            for (std::uint64_t i = 0; i < n; ++i) {
              PAGABLE_TRY(reader().read_varint());
            }
            m_state.levels.push_back(Level{LevelKind::chunks, n, object});
          } else if (tag == (object ? Tag::object_part : Tag::array_part)) {
            m_state.levels.push_back(Level{object ? LevelKind::object : LevelKind::array, n, object});
          } else {
            return corrupt("a chunk tree holds a value of the wrong kind");
          }
          continue;
        }
        break;
      case LevelKind::blob_end:
        m_state.cursors.pop_back();
        m_state.levels.pop_back();
        continue;
      }
      // This level is done.
      const bool logical = level.logical;
      m_state.levels.pop_back();
      if (logical) {
        m_state.logical.pop_back();
        value_done();
        return false;
      }
    }
  }

  Result<std::optional<std::string>> find_member_string(std::string_view member)
  {
    PAGABLE_TRY(begin_object());
    for (;;) {
      PAGABLE_TRY_ASSIGN(const auto name, next_member());
      if (!name) {
        return std::optional<std::string>{};
      }
      if (*name == member) {
        PAGABLE_TRY_ASSIGN(const Kind kind, peek_value());
        if (kind != Kind::string) {
          return std::optional<std::string>{};
        }
        PAGABLE_TRY_ASSIGN(const std::string_view s, read_string());
        return std::optional<std::string>{std::string(s)};
      }
      PAGABLE_TRY(skip());
    }
  }

  Pager::Core& m_core;
  State m_state;
};

} // namespace

namespace detail {

Result<std::shared_ptr<const void>> decode_value(Pager::Core& core, const ValueOps& ops,
                                                 const Key& key, std::size_t& resident)
{
  PAGABLE_TRY_ASSIGN(auto stored, core.store.get(key));
  if (!stored) {
    // Paged out moments ago: the store's writer commits puts on its own thread, and a put
    // is visible once a flush has returned. Make every earlier put visible, then read again.
    PAGABLE_TRY(core.store.flush());
    PAGABLE_TRY_ASSIGN(stored, core.store.get(key));
  }
  PAGABLE_TRY_ASSIGN(auto blob, codec::checked_blob(key, std::move(stored)));
  NodeValueReader r(core, std::move(blob));
  auto value = ops.read(r, resident);
  if (!value) {
    return std::move(value).error().with_context("reading " + std::string(ops.cpp_name) + " " +
                                                 key.short_hex());
  }
  if (!r.finished()) {
    return make_error(Errc::invalid_input, "reading " + std::string(ops.cpp_name) + " " +
                                               key.short_hex() + ": the stored value has more than the type reads");
  }
  return value;
}

} // namespace detail
} // namespace pagable::objects
