// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/hydrate.hpp>

#include "codec/navigate.hpp"
#include "util/pointer_text.hpp"

#include <set>
#include <unordered_map>
#include <vector>

namespace pagable::hydrate {
namespace {

using codec::NodeReader;
using codec::Tag;

// Writes JSON text with commas and indentation; buffers output and flushes it in blocks. The
// walk's sink for write_json (as VisitorSink is for walk).
class JsonWriter {
public:
  // `max_bytes`: WriteOptions::max_output_bytes (0: no limit).
  JsonWriter(std::ostream& out, int indent, std::uint64_t max_bytes)
      : m_out(out), m_indent(indent), m_max_bytes(max_bytes)
  {
  }

  // --- the walk's events ---
  Result<void> null_value() { return raw("null"); }
  Result<void> boolean(bool v) { return raw(v ? "true" : "false"); }
  Result<void> integer(std::int64_t v) { return raw(std::to_string(v)); }
  Result<void> big_integer(std::string_view digits) { return raw(digits); }
  Result<void> number(double v) { return raw(codec::format_binary64(v)); }
  Result<void> begin_object() { return begin('{'); }
  Result<void> member(std::string_view n) { return name(n); }
  Result<void> end_object() { return end('}'); }
  Result<void> begin_array() { return begin('['); }
  Result<void> end_array() { return end(']'); }

  Result<void> begin(char open)
  {
    prefix();
    m_buf += open;
    m_first.push_back(true);
    return maybe_flush(); // a deep indented opening is many lines before any value
  }
  Result<void> end(char close)
  {
    const bool empty = m_first.back();
    m_first.pop_back();
    if (!empty && m_indent >= 0) {
      newline();
    }
    m_buf += close;
    return maybe_flush();
  }
  Result<void> name(std::string_view n)
  {
    prefix();
    quoted(n);
    m_buf += m_indent >= 0 ? ": " : ":";
    m_after_name = true;
    return maybe_flush();
  }
  Result<void> raw(std::string_view text)
  {
    prefix();
    m_buf += text;
    return maybe_flush();
  }
  Result<void> string(std::string_view s)
  {
    prefix();
    quoted(s);
    return maybe_flush();
  }
  Result<void> finish()
  {
    if (m_indent >= 0) {
      m_buf += '\n';
    }
    flush();
    if (!m_out) {
      return make_error(Errc::io, "writing the output failed");
    }
    return {};
  }
  std::uint64_t bytes() const noexcept { return m_written + m_buf.size(); }

private:
  void prefix()
  {
    if (m_after_name) {
      m_after_name = false;
      return;
    }
    if (m_first.empty()) {
      return;
    }
    if (!m_first.back()) {
      m_buf += ',';
    }
    m_first.back() = false;
    if (m_indent >= 0) {
      newline();
    }
  }
  void newline()
  {
    m_buf += '\n';
    m_buf.append(m_first.size() * static_cast<std::size_t>(m_indent), ' ');
  }
  void quoted(std::string_view s)
  {
    static constexpr char k_hex[] = "0123456789abcdef";
    m_buf += '"';
    for (const char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      switch (c) {
      case '"': m_buf += "\\\""; break;
      case '\\': m_buf += "\\\\"; break;
      case '\b': m_buf += "\\b"; break;
      case '\f': m_buf += "\\f"; break;
      case '\n': m_buf += "\\n"; break;
      case '\r': m_buf += "\\r"; break;
      case '\t': m_buf += "\\t"; break;
      default:
        if (c < 0x20) {
          m_buf += "\\u00";
          m_buf += k_hex[c >> 4];
          m_buf += k_hex[c & 15];
        } else {
          m_buf += ch;
        }
      }
    }
    m_buf += '"';
  }
  // Flushes a full buffer. The output refused bytes (disk full, a closed pipe): nothing more
  // is worth walking. Past the byte limit the walk stops: shared values repeat in the tree,
  // so a chain of diamonds would double at each level.
  Result<void> maybe_flush()
  {
    if (m_max_bytes != 0 && bytes() > m_max_bytes) {
      return make_error(Errc::invalid_input,
                        "the output exceeds " + std::to_string(m_max_bytes) +
                            " bytes (--max-output-bytes): values shared by several parents are "
                            "written in full each time; write each once with --share-refs, or "
                            "raise the limit");
    }
    if (m_buf.size() >= 64 * 1024) {
      flush();
      if (!m_out) {
        return make_error(Errc::io, "writing the output failed");
      }
    }
    return {};
  }
  void flush()
  {
    m_out.write(m_buf.data(), static_cast<std::streamsize>(m_buf.size()));
    m_written += m_buf.size();
    m_buf.clear();
  }

  std::ostream& m_out;
  int m_indent;
  std::uint64_t m_max_bytes;
  std::string m_buf;
  std::vector<bool> m_first; // per open container: nothing written in it yet
  bool m_after_name = false;
  std::uint64_t m_written = 0;
};

// The walk's sink for Document::walk: forwards to the caller's visitor.
class VisitorSink {
public:
  explicit VisitorSink(ValueVisitor& v) : m_v(v) {}
  Result<void> null_value() { return m_v.null_value(); }
  Result<void> boolean(bool b) { return m_v.boolean(b); }
  Result<void> integer(std::int64_t i) { return m_v.integer(i); }
  Result<void> big_integer(std::string_view d) { return m_v.big_integer(d); }
  Result<void> number(double d) { return m_v.number(d); }
  Result<void> string(std::string_view s) { return m_v.string(s); }
  Result<void> begin_object() { return m_v.begin_object(); }
  Result<void> member(std::string_view n) { return m_v.member(n); }
  Result<void> end_object() { return m_v.end_object(); }
  Result<void> begin_array() { return m_v.begin_array(); }
  Result<void> end_array() { return m_v.end_array(); }

private:
  ValueVisitor& m_v;
};

} // namespace

struct Document::Impl {
  const store::BlobReader& store;
  Key root;
  ArcCache cache;
  HydrateStats stats;
  std::vector<codec::RoutingDetour> detours; // the lookups' detours so far

  Impl(const store::BlobReader& s, const Key& r, std::size_t cache_bytes)
      : store(s), root(r), cache(cache_bytes)
  {
  }

  Result<std::shared_ptr<const Blob>> load(const Key& key)
  {
    return codec::cached_blob(cache, store, key, stats);
  }

  codec::BlobLoader loader()
  {
    return [this](const Key& k) { return load(k); };
  }

  // Walks the value at `start`, handing it to `sink` (JsonWriter or VisitorSink): one walk for
  // both, instantiated twice, so that writing JSON pays no virtual call per value. With
  // SharedNodes::refs a node met again is handed over as {"$ref": "#/where/it/was/first"}.
  template <typename Sink>
  Result<void> walk(Sink& w, codec::Location start, ExpandRefs expand_refs, SharedNodes shared);
};

namespace {

enum class LevelKind : std::uint8_t {
  object,     // inline object or object part: `remaining` members
  array,      // inline array or array part: `remaining` items
  chunks,     // a chunk list: `remaining` children still to walk
  blob_end,   // pops the cursor of a child blob
  ref_end,    // pops the cursor of an expanded $ref
};

struct Level {
  explicit Level(LevelKind k, std::uint64_t n = 0, bool c = false, bool o = false,
                 std::string p = {})
      : kind(k), remaining(n), closes(c), object(o), pointer(std::move(p))
  {
  }
  LevelKind kind;
  std::uint64_t remaining = 0;
  bool closes = false; // writes '}' / ']' when done (the logical container's outermost level)
  bool object = false;
  std::string pointer; // ref_end: the expanded pointer (the cycle guard's entry)
};

struct Cursor {
  std::shared_ptr<const Blob> blob;
  NodeReader reader;
  std::size_t next_child;
};

// Where the writer is in the output, for SharedNodes::refs: one entry per open container.
struct PathEntry {
  bool object = false;
  std::string name;       // the current member's
  std::uint64_t next = 0; // arrays: the index of the next item
};

// "#" + the JSON pointer of `path`, percent-encoding what a URI fragment may not hold
// (RFC 6901 §6), so that pack's $ref check reads it back.
std::string fragment_of(const std::vector<PathEntry>& path)
{
  std::string out = "#";
  for (const PathEntry& e : path) {
    const std::string token =
        e.object ? codec::escape_pointer_token(e.name) : std::to_string(e.next == 0 ? 0 : e.next - 1);
    out += '/';
    out += util::percent_encode(token, "!$&'()*+,;=:@/?");
  }
  return out;
}

Cursor cursor_at(const codec::Location& loc)
{
  return Cursor{loc.blob, NodeReader(loc.blob->data, loc.pos), loc.next_child};
}

} // namespace

template <typename Sink>
Result<void> Document::Impl::walk(Sink& w, codec::Location start, ExpandRefs expand_refs,
                                  SharedNodes shared)
{
  const codec::BlobLoader load = loader();
  std::vector<Cursor> cursors{cursor_at(start)};
  std::vector<Level> levels;
  std::set<std::string> expanding; // the cycle guard: pointers being expanded
  const bool share = shared == SharedNodes::refs;
  std::vector<PathEntry> path;                   // with `share`: where the writer is
  std::unordered_map<Key, std::string> written;  // with `share`: node -> where it was written
  // Before each value: an array's item advances its index.
  const auto item_begins = [&] {
    if (share && !path.empty() && !path.back().object) {
      ++path.back().next;
    }
  };
  const auto opened = [&](bool object) {
    if (share) {
      path.push_back(PathEntry{object, {}, 0});
    }
  };
  const auto closed = [&] {
    if (share) {
      path.pop_back();
    }
  };

  // Writes the value at the current cursor, or opens it (pushing levels) if it is a container.
  const auto value = [&]() -> Result<void> {
    for (;;) {
      Cursor& c = cursors.back();
      const std::size_t tag_pos = c.reader.pos();
      PAGABLE_TRY_ASSIGN(const Tag tag, c.reader.read_tag());
      switch (tag) {
      case Tag::null: return w.null_value();
      case Tag::false_: return w.boolean(false);
      case Tag::true_: return w.boolean(true);
      case Tag::integer: {
        PAGABLE_TRY_ASSIGN(const std::int64_t v, c.reader.read_integer_body());
        return w.integer(v);
      }
      case Tag::big_integer: {
        PAGABLE_TRY_ASSIGN(const std::string_view digits, c.reader.read_text());
        return w.big_integer(digits);
      }
      case Tag::binary64: {
        PAGABLE_TRY_ASSIGN(const double v, c.reader.read_binary64_body());
        return w.number(v);
      }
      case Tag::string: {
        PAGABLE_TRY_ASSIGN(const std::string_view s, c.reader.read_text());
        return w.string(s);
      }
      case Tag::ref: {
        if (c.next_child >= c.blob->children.size()) {
          return make_error(Errc::corrupt, "a reference past the children of a blob");
        }
        if (share) {
          const Key& key = c.blob->children[c.next_child];
          const auto [at, first] = written.try_emplace(key);
          if (!first) {
            ++c.next_child;
            PAGABLE_TRY(w.begin_object());
            PAGABLE_TRY(w.member("$ref"));
            PAGABLE_TRY(w.string(at->second));
            return w.end_object();
          }
          at->second = fragment_of(path);
        }
        PAGABLE_TRY_ASSIGN(auto child, load(c.blob->children[c.next_child]));
        ++c.next_child;
        cursors.push_back(Cursor{child, NodeReader(child->data), 0});
        levels.emplace_back(Level{LevelKind::blob_end});
        continue;
      }
      case Tag::object:
      case Tag::array: {
        PAGABLE_TRY_ASSIGN(const std::uint64_t n, c.reader.read_varint());
        if (tag == Tag::object && n == 1 && expand_refs == ExpandRefs::yes) {
          const std::size_t member_pos = c.reader.pos();
          PAGABLE_TRY_ASSIGN(const std::string_view name, c.reader.read_text());
          auto next = c.reader.peek_tag();
          if (name == "$ref" && next && *next == Tag::string) {
            PAGABLE_TRY(c.reader.read_tag());
            PAGABLE_TRY_ASSIGN(const std::string_view target, c.reader.read_text());
            if (target.starts_with("#/")) {
              PAGABLE_TRY_ASSIGN(std::string pointer, codec::fragment_to_pointer(target));
              if (!expanding.contains(pointer)) {
                PAGABLE_TRY_ASSIGN(const auto tokens, codec::parse_pointer(pointer));
                auto loc = codec::locate(load, root, tokens);
                if (loc) {
                  expanding.insert(pointer);
                  cursors.push_back(cursor_at(*loc));
                  levels.emplace_back(Level{LevelKind::ref_end, 0, false, false, std::move(pointer)});
                  continue;
                }
                if (loc.error().code() != Errc::not_found) {
                  return std::move(loc).error();
                }
              }
            }
          }
          // Not an expandable reference: write it as data.
          c.reader = NodeReader(c.blob->data, member_pos);
        }
        opened(tag == Tag::object);
        levels.emplace_back(Level{tag == Tag::object ? LevelKind::object : LevelKind::array, n, true,
                               tag == Tag::object});
        return tag == Tag::object ? w.begin_object() : w.begin_array();
      }
      case Tag::object_chunks:
      case Tag::array_chunks: {
        PAGABLE_TRY_ASSIGN(const std::uint64_t n, c.reader.read_varint());
        for (std::uint64_t i = 0; i < n; ++i) {
          PAGABLE_TRY(c.reader.read_varint());
        }
        const bool object = tag == Tag::object_chunks;
        opened(object);
        levels.emplace_back(Level{LevelKind::chunks, n, true, object});
        return object ? w.begin_object() : w.begin_array();
      }
      case Tag::routed_object: {
        // The object is its chunk tree (child 0); the fingerprints only serve lookups.
        if (c.blob->children.empty()) {
          return make_error(Errc::corrupt, "a routed object without its chunk tree");
        }
        PAGABLE_TRY_ASSIGN(auto tree, load(c.blob->children.front()));
        NodeReader tr(tree->data);
        PAGABLE_TRY_ASSIGN(const Tag tt, tr.read_tag());
        if (tt != Tag::object_chunks) {
          return make_error(Errc::corrupt, "a routed object whose tree is not an object chunk list");
        }
        cursors.push_back(Cursor{tree, NodeReader(tree->data), 0});
        levels.emplace_back(Level{LevelKind::blob_end});
        continue;
      }
      case Tag::object_part:
      case Tag::array_part:
      case Tag::member_fingerprints:
      case Tag::wide_member_fingerprints:
        return make_error(Errc::corrupt, "a chunk part where a value belongs (byte " +
                                             std::to_string(tag_pos) + ")");
      }
      return make_error(Errc::corrupt, "unknown tag");
    }
  };

  PAGABLE_TRY(value());
  while (!levels.empty()) {
    Level& level = levels.back();
    switch (level.kind) {
    case LevelKind::object:
    case LevelKind::array: {
      if (level.remaining == 0) {
        if (level.closes) {
          PAGABLE_TRY(level.object ? w.end_object() : w.end_array());
          closed();
        }
        levels.pop_back();
        continue;
      }
      --level.remaining;
      if (level.object) {
        PAGABLE_TRY_ASSIGN(const std::string_view name, cursors.back().reader.read_text());
        PAGABLE_TRY(w.member(name));
        if (share) {
          path.back().name.assign(name);
        }
      } else {
        item_begins();
      }
      PAGABLE_TRY(value());
      break;
    }
    case LevelKind::chunks: {
      if (level.remaining == 0) {
        if (level.closes) {
          PAGABLE_TRY(level.object ? w.end_object() : w.end_array());
          closed();
        }
        levels.pop_back();
        continue;
      }
      --level.remaining;
      const bool object = level.object;
      Cursor& c = cursors.back();
      if (c.next_child >= c.blob->children.size()) {
        return make_error(Errc::corrupt, "a chunk list past the children of its blob");
      }
      PAGABLE_TRY_ASSIGN(auto child, load(c.blob->children[c.next_child]));
      ++c.next_child;
      cursors.push_back(Cursor{child, NodeReader(child->data), 0});
      levels.emplace_back(Level{LevelKind::blob_end});
      NodeReader& r = cursors.back().reader;
      PAGABLE_TRY_ASSIGN(const Tag tag, r.read_tag());
      PAGABLE_TRY_ASSIGN(const std::uint64_t n, r.read_varint());
      if (tag == (object ? Tag::object_chunks : Tag::array_chunks)) {
        for (std::uint64_t i = 0; i < n; ++i) {
          PAGABLE_TRY(r.read_varint());
        }
        levels.emplace_back(Level{LevelKind::chunks, n, false, object});
      } else if (tag == (object ? Tag::object_part : Tag::array_part)) {
        levels.emplace_back(Level{object ? LevelKind::object : LevelKind::array, n, false, object});
      } else {
        return make_error(Errc::corrupt, "a chunk tree holds a value of the wrong kind");
      }
      break;
    }
    case LevelKind::blob_end:
      cursors.pop_back();
      levels.pop_back();
      break;
    case LevelKind::ref_end:
      expanding.erase(level.pointer);
      cursors.pop_back();
      levels.pop_back();
      break;
    }
  }
  return {};
}

Document::Document(const store::BlobReader& store, const Key& root, std::size_t cache_bytes)
    : m_impl(std::make_unique<Impl>(store, root, cache_bytes))
{
}

Document::~Document() = default;

Result<void> Document::write_json(std::ostream& out, std::string_view pointer,
                                  const WriteOptions& options)
{
  PAGABLE_TRY_ASSIGN(const auto tokens, codec::parse_pointer(pointer));
  if (options.shared == SharedNodes::refs && options.expand_refs == ExpandRefs::yes) {
    return make_error(Errc::invalid_argument,
                      "references to shared nodes and expanding references exclude each other");
  }
  PAGABLE_TRY_ASSIGN(auto loc, codec::locate(m_impl->loader(), m_impl->root, tokens, &m_impl->detours));
  JsonWriter w(out, options.indent, options.max_output_bytes);
  auto written = m_impl->walk(w, std::move(loc), options.expand_refs, options.shared);
  if (written) {
    written = w.finish();
  }
  m_impl->stats.bytes_out += w.bytes();
  return written;
}

Result<void> Document::walk(std::string_view pointer, ValueVisitor& visitor, ExpandRefs expand)
{
  PAGABLE_TRY_ASSIGN(const auto tokens, codec::parse_pointer(pointer));
  PAGABLE_TRY_ASSIGN(auto loc, codec::locate(m_impl->loader(), m_impl->root, tokens, &m_impl->detours));
  VisitorSink sink(visitor);
  return m_impl->walk(sink, std::move(loc), expand, SharedNodes::tree);
}

Result<bool> Document::has_value(std::string_view pointer)
{
  PAGABLE_TRY_ASSIGN(const auto tokens, codec::parse_pointer(pointer));
  auto loc = codec::locate(m_impl->loader(), m_impl->root, tokens, &m_impl->detours);
  if (loc) {
    return true;
  }
  if (loc.error().code() == Errc::not_found) {
    return false;
  }
  return std::move(loc).error();
}

std::vector<RoutingDetour> Document::detours() const
{
  std::vector<RoutingDetour> out;
  for (const auto& d : m_impl->detours) {
    out.push_back(RoutingDetour{d.pointer, d.reason});
  }
  return out;
}

HydrateStats Document::stats() const
{
  HydrateStats s = m_impl->stats;
  const auto c = m_impl->cache.counters();
  s.cache_hits = c.hits;
  s.re_decodes = c.re_decodes;
  return s;
}

} // namespace pagable::hydrate
