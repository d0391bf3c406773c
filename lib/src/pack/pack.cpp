// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/pack.hpp>

#include <pagable/arc_cache.hpp>
#include <pagable/schema.hpp>

#include "codec/navigate.hpp"
#include "pack/aligner.hpp"
#include "pack/hash_set.hpp"
#include "pack/json_reader.hpp"
#include "util/thread_pool.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <charconv>
#include <chrono>
#include <functional>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace pagable::pack {
namespace {

using codec::Tag;

// --- fingerprints: content hashes that choose chunk boundaries (FORMAT.md "Chunking") ---

using codec::fnv1a64;
using codec::mix64;

// A node (or child) not stored yet: its key arrives when a worker has stored it.
struct Pending {
  std::shared_future<Result<Key>> key;
  std::uint64_t fp = 0; // fingerprint of its content, known at once
};

// `version`: BoundarySettings::fingerprint.
std::uint64_t fingerprint(std::size_t version, std::span<const std::uint8_t> bytes,
                          std::span<const Pending> children)
{
  std::uint64_t h = codec::content_hash(version, bytes);
  for (const Pending& c : children) {
    h = mix64(h ^ c.fp);
  }
  return h;
}

// An encoded value on its way into its parent.
struct Value {
  Bytes bytes;
  std::vector<Pending> children;
};

// A content-defined cut point inside a frame's buffer.
struct Cut {
  std::size_t bytes;
  std::size_t children;
  std::uint64_t items;
};

struct Entry {
  Pending node;
  std::uint64_t count; // members or items below it
};

// Average size of a routed object's fingerprint blob: small, because a member added or removed
// rewrites the blob that lists it. A group also ends once it reaches 4 times this, but only
// after a whole part, so one part of many small members can make a larger group.
constexpr std::uint64_t k_fingerprint_group_bytes = 4096;

// Member fingerprints of consecutive parts of a routed object, one blob's worth. Kept wide
// until the object ends, when its member count decides their width.
struct FingerprintGroup {
  Bytes data; // per part: varint members, then a 24-bit fingerprint per member
  std::uint64_t parts = 0;
  std::uint64_t members = 0;
  // The size `data` has with 16-bit fingerprints: group ends do not depend on the width.
  std::uint64_t narrow_bytes = 0;
};

// The member names seen in one object, to reject duplicates. Most objects have a few members:
// those are compared linearly in strings that keep their capacity from object to object (see
// FrameStack); a hash set of the names takes over above k_linear members. Above
// `exact_limit` members only a `hash_bits`-bit hash of each name is kept (HashSet64), so
// that a huge object's names cost a few bytes each: a repeated hash is then only maybe a
// repeated name, which the packer verifies against the stored object (Packer::Suspect).
class NameSet {
public:
  enum class Added : std::uint8_t { yes, duplicate, maybe_duplicate };

  void set_limits(std::size_t exact_limit, unsigned hash_bits)
  {
    m_exact_limit = std::max(exact_limit, k_linear);
    m_mask = hash_bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << hash_bits) - 1;
  }

  Added insert(const std::string& name)
  {
    if (m_count < k_linear) {
      for (std::size_t i = 0; i < m_count; ++i) {
        if (m_small[i] == name) {
          return Added::duplicate;
        }
      }
      if (m_count < m_small.size()) {
        m_small[m_count].assign(name);
      } else {
        m_small.push_back(name);
      }
      if (++m_count == k_linear) {
        m_big.insert(m_small.begin(), m_small.end());
      }
      return Added::yes;
    }
    if (m_hashes.empty()) {
      if (!m_big.insert(name).second) {
        return Added::duplicate;
      }
      if (++m_count >= m_exact_limit) {
        to_hashes();
      }
      return Added::yes;
    }
    if (!m_hashes.insert(hash(name))) {
      return Added::maybe_duplicate; // counted as a member all the same
    }
    ++m_count;
    return Added::yes;
  }

  // With hashes only, also true for a name whose hash another member's has (a chance of
  // members / 2^60: HashSet64 keeps 60 bits).
  bool contains(std::string_view name) const
  {
    if (!m_hashes.empty()) {
      return m_hashes.contains(hash(name));
    }
    if (m_count >= k_linear) {
      return m_big.contains(std::string(name));
    }
    return std::find(m_small.begin(), m_small.begin() + static_cast<std::ptrdiff_t>(m_count), name) !=
           m_small.begin() + static_cast<std::ptrdiff_t>(m_count);
  }

  void clear()
  {
    if (m_count >= k_linear) {
      std::unordered_set<std::string>().swap(m_big); // a large object's table is not kept
      m_hashes.clear();
    }
    m_count = 0;
  }

private:
  static constexpr std::size_t k_linear = 16;

  // Never 0, which HashSet64 does not hold.
  std::uint64_t hash(std::string_view name) const
  {
    const std::uint64_t h = codec::member_name_hash(name) & m_mask;
    return h == 0 ? 1 : h;
  }

  // Replaces the exact names by their hashes. Two distinct names with one hash are both in
  // the set all the same (the second insert finds the first).
  void to_hashes()
  {
    std::unordered_set<std::string> names;
    names.swap(m_big);
    for (const std::string& n : names) {
      m_hashes.insert(hash(n));
    }
  }

  std::vector<std::string> m_small;
  std::size_t m_count = 0;
  std::unordered_set<std::string> m_big; // all names, from k_linear to exact_limit members
  HashSet64 m_hashes;                   // their hashes instead, beyond exact_limit
  std::size_t m_exact_limit = 4096;
  std::uint64_t m_mask = ~std::uint64_t{0};
};

// One open object or array.
struct Frame {
  bool object = false;
  bool chunked = false;
  Bytes buf; // encoded items not yet in a part
  std::vector<Pending> children;
  std::uint64_t items = 0; // items in buf
  std::uint64_t index = 0; // items seen so far: the array index of the current item
  std::size_t item_bytes = 0;
  std::size_t item_children = 0;
  std::vector<Cut> cuts;
  std::vector<std::vector<Entry>> levels; // chunk tree levels (chunked only)
  std::vector<bool> level_emitted;
  NameSet names;                         // member names seen (objects)
  std::vector<std::uint32_t> fps;        // wide fingerprints of members not in a part yet (objects)
  std::vector<FingerprintGroup> fp_groups; // of the parts stored so far (chunked objects)
  std::uint64_t part_bytes = 0; // encoded size of the parts stored so far, child keys included
  std::string name;                      // the current member's name
  std::string ref;                       // the "$ref" value when it is the first member
  // Members not seen yet that a $ref names, by name: the target pointer (a key of m_refs).
  std::unordered_map<std::string, std::string> awaited;
  std::optional<bool> arc;               // the schema's x-pagable-arc for this value
  std::uint64_t path = 0;                // hash of its pointer, once $refs are tracked

  // Empties the frame for the next container at its depth, keeping small buffers' capacity.
  void reset(bool is_object)
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
    index = 0;
    item_bytes = 0;
    item_children = 0;
    cuts.clear();
    levels.clear();
    level_emitted.clear();
    names.clear();
    fps.clear();
    fp_groups.clear();
    part_bytes = 0;
    name.clear();
    ref.clear();
    awaited.clear();
    arc.reset();
    path = 0;
  }

  // Gives back what the frame's containers hold, for a depth no sibling is likely to reuse.
  void release()
  {
    Frame fresh;
    fresh.names = std::move(names); // its limits; a cleared set holds nothing
    fresh.names.clear();
    *this = std::move(fresh);
  }
};

// The open containers, innermost last. A popped frame stays allocated and is reset for the
// next container opened at its depth, so siblings reuse its buffers instead of allocating;
// below k_reused_depths, a popped frame gives its buffers back (release()): a deep chain of
// nested values has no siblings down there, and a million levels each keeping up to a node's
// worth of buffer took 8.5 GB. A deque, so that a deep stack grows without moving its frames.
class FrameStack {
public:
  static constexpr std::size_t k_reused_depths = 256;
  bool empty() const noexcept { return m_size == 0; }
  std::size_t size() const noexcept { return m_size; }
  Frame& back() { return m_frames[m_size - 1]; }
  const Frame& operator[](std::size_t i) const { return m_frames[i]; }
  Frame& at(std::size_t i) { return m_frames[i]; }
  Frame& push(bool object)
  {
    if (m_size == m_frames.size()) {
      m_frames.emplace_back();
      m_frames.back().names.set_limits(m_exact_names, m_name_hash_bits);
    }
    Frame& f = m_frames[m_size++];
    f.reset(object);
    return f;
  }
  void set_name_limits(std::size_t exact_names, unsigned hash_bits)
  {
    m_exact_names = exact_names;
    m_name_hash_bits = hash_bits;
  }
  // The popped frame stays valid until the next push.
  Frame& pop() { return m_frames[--m_size]; }

private:
  std::deque<Frame> m_frames;
  std::size_t m_size = 0;
  std::size_t m_exact_names = 4096;
  unsigned m_name_hash_bits = 64;
};

// Hands nodes to workers that wait for their children's keys, then store them. `threads`
// counts the parsing thread (PackOptions::workers): it stores nodes itself when it is the only
// one, and otherwise hands them to threads - 1 workers.
class NodeWriter {
public:
  NodeWriter(store::BlobStore& store, unsigned threads, std::size_t in_flight_limit)
      : m_store(store), m_limit(in_flight_limit)
  {
    if (threads > 1) {
      m_pool = std::make_unique<util::ThreadPool>(threads - 1);
    }
  }
  ~NodeWriter() { wait_idle(); }

  Pending submit(Bytes data, std::vector<Pending> children, std::uint64_t fp,
                 std::vector<Key> bases, bool index)
  {
    auto promise = std::make_shared<std::promise<Result<Key>>>();
    Pending p{promise->get_future().share(), fp};
    if (!m_pool) {
      promise->set_value(store_node(std::move(data), children, bases, index));
      return p;
    }
    const std::size_t cost = data.size() + children.size() * Key::k_size + 64;
    {
      std::unique_lock lock(m_mutex);
      m_cv.wait(lock, [&] { return m_in_flight_bytes == 0 || m_in_flight_bytes + cost <= m_limit; });
      m_in_flight_bytes += cost;
      ++m_in_flight;
    }
    // Children were submitted before their parent and the pool runs tasks in order, so every
    // key a task waits for belongs to a task that has already started: no deadlock.
    m_pool->submit([this, promise, cost, data = std::move(data), children = std::move(children),
                    bases = std::move(bases), index]() mutable {
      promise->set_value(store_node(std::move(data), children, bases, index));
      std::lock_guard lock(m_mutex);
      m_in_flight_bytes -= cost;
      --m_in_flight;
      m_cv.notify_all();
    });
    return p;
  }

  void wait_idle()
  {
    std::unique_lock lock(m_mutex);
    m_cv.wait(lock, [&] { return m_in_flight == 0; });
  }

private:
  Result<Key> store_node(Bytes data, const std::vector<Pending>& children, std::vector<Key>& bases,
                         bool index)
  {
    try {
      std::vector<Key> keys;
      keys.reserve(children.size());
      for (const Pending& c : children) {
        const Result<Key>& k = c.key.get();
        if (!k) {
          return k.error();
        }
        keys.push_back(*k);
      }
      return m_store.put(Blob{std::move(data), std::move(keys)},
                         store::PutHints{std::move(bases), index});
    } catch (const std::exception& e) {
      return make_error(Errc::internal, std::string("storing a node: ") + e.what());
    }
  }

  store::BlobStore& m_store;
  std::size_t m_limit;
  std::unique_ptr<util::ThreadPool> m_pool;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::size_t m_in_flight_bytes = 0; // guarded by m_mutex
  std::size_t m_in_flight = 0;       // guarded by m_mutex
};

// Reads back what the pack stored, for the checks that need the stored document. They stream
// through the objects they name, so a small cache is enough.
codec::BlobLoader stored_blobs(const store::BlobStore& store)
{
  constexpr std::size_t k_cache_bytes = 8 * 1024 * 1024;
  auto cache = std::make_shared<ArcCache>(k_cache_bytes);
  return [&store, cache](const Key& key) {
    using Decoded = std::pair<std::shared_ptr<const Blob>, std::size_t>;
    return cache->get<Blob>(key, [&]() -> Result<Decoded> {
      PAGABLE_TRY_ASSIGN(auto stored, store.get(key));
      PAGABLE_TRY_ASSIGN(auto blob, codec::checked_blob(key, std::move(stored)));
      const std::size_t cost = blob->data.size() + blob->children.size() * Key::k_size + 64;
      return Decoded{std::move(blob), cost};
    });
  };
}

class Packer {
public:
  using json = nlohmann::json;

  Packer(store::BlobStore& store, const BoundarySettings& b, const PackOptions& o, JsonSource& in)
      : m_b(b), m_o(o), m_in(in),
        m_writer(store, o.workers == 0 ? util::hardware_threads() : o.workers, o.in_flight_bytes)
  {
    if (o.schema) {
      schema::StreamOptions so;
      so.max_buffer_bytes = o.schema_buffer_bytes;
      m_validator = o.schema->node_validator(so);
    }
    if (o.update_of) {
      m_align = std::make_unique<Aligner>(store, *o.update_of);
    }
    m_frames.set_name_limits(o.exact_member_names, o.member_name_hash_bits);
  }

  // --- events from JsonReader (those of nlohmann::json::sax_parse) ---
  bool null()
  {
    return schema_scalar(nullptr) && scalar([](Bytes& b) { codec::put_tag(b, Tag::null); });
  }
  bool boolean(bool v)
  {
    return schema_scalar(v) &&
           scalar([v](Bytes& b) { codec::put_tag(b, v ? Tag::true_ : Tag::false_); });
  }
  bool number_integer(std::int64_t v)
  {
    return schema_scalar(v) && scalar([v](Bytes& b) { codec::put_integer(b, v); });
  }
  bool number_unsigned(std::uint64_t v)
  {
    return schema_scalar(v) && scalar([v](Bytes& b) { codec::put_unsigned(b, v); });
  }
  bool number_float(double v, const std::string& literal)
  {
    if (!schema_scalar(v)) {
      return false;
    }
    begin_value();
    auto r = codec::put_number_literal(target(), literal, v);
    if (!r) {
      return fail(std::move(r).error().message());
    }
    return end_value();
  }
  bool string(std::string& s)
  {
    if (s.size() > m_o.max_string_bytes) {
      return fail("a string of " + std::to_string(s.size()) + " bytes exceeds the limit of " +
                  std::to_string(m_o.max_string_bytes));
    }
    if (!m_frames.empty()) {
      Frame& f = m_frames.back();
      if (f.object && f.items == 0 && f.name == "$ref" && s.starts_with("#/")) {
        f.ref = s;
      }
    }
    return schema_scalar(s) && scalar([&s](Bytes& b) { codec::put_string(b, s); });
  }
  bool start_object(std::size_t) { return open(true); }
  bool start_array(std::size_t) { return open(false); }
  bool key(std::string& name)
  {
    Frame& f = m_frames.back();
    if (name.size() > m_o.max_string_bytes) {
      return fail("a member name of " + std::to_string(name.size()) + " bytes exceeds the limit");
    }
    const NameSet::Added added = f.names.insert(name);
    f.name = name;
    if (added == NameSet::Added::duplicate) {
      return fail("duplicate member name \"" + name + "\"");
    }
    if (added == NameSet::Added::maybe_duplicate) {
      // Kept until the end, so their number is bounded: with 60 bits of hash, only real
      // duplicates come anywhere near it (a document full of them is refused here).
      if (m_suspects.size() >= k_max_suspects) {
        return fail("duplicate member name \"" + name + "\" (one of more than " +
                    std::to_string(k_max_suspects) + " repeated member-name hashes)");
      }
      m_suspects.push_back(Suspect{pointer_to(m_frames.size() - 1), name,
                                   failure("duplicate member name \"" + name + "\"")});
    }
    if (!f.awaited.empty()) {
      if (const auto it = f.awaited.find(name); it != f.awaited.end()) {
        m_refs.erase(it->second); // a forward $ref's target: found
        f.awaited.erase(it);
      }
    }
    f.item_bytes = f.buf.size();
    f.item_children = f.children.size();
    codec::put_name(f.buf, name);
    if (m_validator) {
      m_validator->key(name);
    }
    if (m_align) {
      m_align->member(name);
    }
    return true;
  }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  // The reader's message already says where: this adds the JSON pointer.
  bool syntax_error(const std::string& what)
  {
    m_error = make_error(Errc::invalid_input, what + located());
    return false;
  }

  // --- after the parse ---
  std::optional<Error> take_error() { return std::move(m_error); }
  // With a schema: the document's violations as one error, when it has any.
  std::optional<Error> schema_error() const;
  Result<PackResult> finish(store::BlobStore& store);
  std::uint64_t nodes() const noexcept { return m_nodes; }

private:
  Bytes& target() { return m_frames.empty() ? m_top.bytes : m_frames.back().buf; }

  template <typename F>
  bool scalar(F&& encode)
  {
    begin_value();
    encode(target());
    return end_value();
  }

  void begin_value()
  {
    if (!m_frames.empty() && !m_frames.back().object) {
      Frame& f = m_frames.back();
      f.item_bytes = f.buf.size();
      f.item_children = f.children.size();
    }
  }

  bool end_value()
  {
    if (m_frames.empty()) {
      return true; // the document's top-level value is complete
    }
    return end_item(m_frames.back());
  }

  bool open(bool object)
  {
    if (m_frames.size() >= m_o.max_depth) {
      return fail("nesting deeper than the maximum depth of " + std::to_string(m_o.max_depth));
    }
    begin_value();
    if (m_align) {
      align_open();
    }
    const std::uint64_t path = m_track_paths ? child_path(m_frames.size()) : 0;
    m_frames.push(object).path = path;
    if (m_validator) {
      object ? m_validator->begin_object() : m_validator->begin_array();
    }
    return true;
  }

  // Schema hooks: the validator sees every value as it completes (docs/SCHEMA.md).
  // A template, so that without a schema no json value (a copy of each string) is made.
  template <typename T>
  bool schema_scalar(const T& v)
  {
    if (m_validator) {
      m_validator->scalar(json(v));
      return schema_go_on();
    }
    return true;
  }

  bool schema_go_on()
  {
    if (m_validator->stopped()) {
      return fail(*schema_error());
    }
    return true;
  }

  bool close()
  {
    Frame& f = m_frames.back();
    if (f.object && f.items == 1 && !f.ref.empty()) {
      check_ref(f.ref);
      ++m_ref_count;
    }
    for (auto& [name, target] : f.awaited) { // forward $refs to members that never came
      m_refs.at(target).found = Found::no;
    }
    f.awaited.clear();
    if (!m_waiting.empty()) {
      resolve_targets_in(f);
    }
    if (m_validator) {
      f.arc = m_validator->end_container().arc;
      if (!schema_go_on()) {
        return false;
      }
    }
    Frame& done = m_frames.pop();
    auto value = finish_container(done);
    if (m_frames.size() >= FrameStack::k_reused_depths) {
      done.release();
    }
    if (m_align) {
      m_align->close();
    }
    if (!value) {
      return fail(std::move(value).error());
    }
    Value& v = *value;
    if (m_frames.empty()) {
      m_top = std::move(v);
      return true;
    }
    Frame& parent = m_frames.back();
    parent.buf.insert(parent.buf.end(), v.bytes.begin(), v.bytes.end());
    parent.children.insert(parent.children.end(), std::make_move_iterator(v.children.begin()),
                           std::make_move_iterator(v.children.end()));
    return end_item(parent);
  }

  bool end_item(Frame& f)
  {
    const std::span<const std::uint8_t> item(f.buf.data() + f.item_bytes,
                                             f.buf.size() - f.item_bytes);
    const std::size_t item_size =
        item.size() + (f.children.size() - f.item_children) * Key::k_size;
    std::uint64_t h = 0;
    if (f.object) {
      h = codec::member_name_hash(f.name);
      if (m_b.route_members != 0) {
        f.fps.push_back(codec::wide_member_fingerprint(h));
      }
    } else {
      h = mix64(fingerprint(m_b.fingerprint, item, std::span<const Pending>(f.children).subspan(f.item_children)));
    }
    ++f.items;
    ++f.index;
    f.name.clear();
    const Cut last = f.cuts.empty() ? Cut{0, 0, 0} : f.cuts.back();
    const std::size_t since_cut =
        (f.buf.size() - last.bytes) + (f.children.size() - last.children) * Key::k_size;
    if (h % m_b.chunk_target_bytes < item_size || since_cut >= m_b.chunk_max_bytes) {
      f.cuts.push_back({f.buf.size(), f.children.size(), f.items});
    }
    if (!f.chunked && f.buf.size() + f.children.size() * Key::k_size > m_b.chunk_above_bytes) {
      f.chunked = true;
    }
    if (f.chunked && !f.cuts.empty()) {
      auto emitted = emit_parts(f);
      if (!emitted) {
        return fail(std::move(emitted).error());
      }
    }
    return true;
  }

  // Stores the parts between f's cuts and drops them from its buffer.
  Result<void> emit_parts(Frame& f)
  {
    Cut prev{0, 0, 0};
    for (const Cut& cut : f.cuts) {
      Bytes data;
      codec::put_tag(data, f.object ? Tag::object_part : Tag::array_part);
      codec::put_varint(data, cut.items - prev.items);
      data.insert(data.end(), f.buf.begin() + static_cast<std::ptrdiff_t>(prev.bytes),
                  f.buf.begin() + static_cast<std::ptrdiff_t>(cut.bytes));
      std::vector<Pending> children(f.children.begin() + static_cast<std::ptrdiff_t>(prev.children),
                                    f.children.begin() + static_cast<std::ptrdiff_t>(cut.children));
      PAGABLE_TRY_ASSIGN(Pending p, emit(std::move(data), std::move(children),
                                         m_align ? m_align->part_bases(cut.items - prev.items)
                                                 : std::vector<Key>{}));
      if (f.object && m_b.route_members != 0) {
        f.part_bytes += (cut.bytes - prev.bytes) + (cut.children - prev.children) * Key::k_size;
        PAGABLE_TRY(add_part_fingerprints(f, cut.items - prev.items, p.fp));
      }
      PAGABLE_TRY(add_entry(f, 0, Entry{std::move(p), cut.items - prev.items}));
      prev = cut;
    }
    f.buf.erase(f.buf.begin(), f.buf.begin() + static_cast<std::ptrdiff_t>(prev.bytes));
    f.children.erase(f.children.begin(),
                     f.children.begin() + static_cast<std::ptrdiff_t>(prev.children));
    f.items -= prev.items;
    f.item_bytes -= std::min(f.item_bytes, prev.bytes);
    f.item_children -= std::min(f.item_children, prev.children);
    f.cuts.clear();
    return {};
  }

  // Moves the fingerprints of a stored part's `members` members into the frame's groups. As
  // parts end (FORMAT.md "Chunking"), a group ends after a part whose content hash modulo the
  // target is below the part's share of bytes, or at 4 times the target: an edit moves at most
  // the group boundaries next to it.
  Result<void> add_part_fingerprints(Frame& f, std::uint64_t members, std::uint64_t part_fp)
  {
    if (f.fps.size() < members) {
      return make_error(Errc::internal, "pack lost track of member fingerprints at " +
                                            pointer_to(m_frames.size()));
    }
    if (f.fp_groups.empty()) {
      f.fp_groups.emplace_back();
    }
    FingerprintGroup& g = f.fp_groups.back();
    const auto n = static_cast<std::size_t>(members);
    const std::size_t varint_at = g.data.size();
    codec::put_varint(g.data, n);
    g.narrow_bytes += (g.data.size() - varint_at) + 2 * n;
    for (std::size_t i = 0; i < n; ++i) {
      for (unsigned b = 0; b < 3; ++b) {
        g.data.push_back(static_cast<std::uint8_t>(f.fps[i] >> (8 * b)));
      }
    }
    f.fps.erase(f.fps.begin(), f.fps.begin() + static_cast<std::ptrdiff_t>(n));
    ++g.parts;
    g.members += n;
    if (mix64(part_fp ^ 0x2545f4914f6cdd1dULL) % k_fingerprint_group_bytes < 2 * n + 1 ||
        g.narrow_bytes >= 4 * k_fingerprint_group_bytes) {
      g.data.shrink_to_fit(); // kept until the object ends: 3 bytes a member, not up to 6
      f.fp_groups.emplace_back();
    }
    return {};
  }

  // A group's fingerprints as a blob's data: wide (24-bit) or narrowed to their top 16 bits.
  static Bytes fingerprint_blob(const FingerprintGroup& g, bool wide)
  {
    Bytes out;
    out.reserve((wide ? g.data.size() : g.narrow_bytes) + 11);
    codec::put_tag(out, wide ? Tag::wide_member_fingerprints : Tag::member_fingerprints);
    codec::put_varint(out, g.parts);
    if (wide) {
      out.insert(out.end(), g.data.begin(), g.data.end());
      return out;
    }
    codec::NodeReader r(g.data);
    for (std::uint64_t p = 0; p < g.parts; ++p) {
      const std::uint64_t c = r.read_varint().value(); // written just above by this packer
      codec::put_varint(out, c);
      const auto wide_fps = r.read_fingerprints(c, 3).value();
      for (std::size_t j = 0; j < wide_fps.size(); j += 3) {
        out.push_back(wide_fps[j + 1]); // the top 16 of the 24 bits, little-endian
        out.push_back(wide_fps[j + 2]);
      }
    }
    return out;
  }

  // A chunked object of at least route_members members becomes a routed object: its chunk
  // tree `top`, and its fingerprint groups stored one after another (so that a lookup, which
  // reads them all, decompresses few packs).
  Result<Pending> route(Frame& f, Pending top)
  {
    std::vector<Pending> children{std::move(top)};
    Bytes data;
    codec::put_tag(data, Tag::routed_object);
    std::vector<FingerprintGroup> groups = std::move(f.fp_groups);
    f.fp_groups.clear();
    if (!groups.empty() && groups.back().parts == 0) {
      groups.pop_back();
    }
    codec::put_varint(data, groups.size());
    // Past route_wide_members a 16-bit fingerprint matches too many other members (one in
    // 65,536): each such match costs reading a part for nothing.
    const bool wide = m_b.route_wide_members != 0 && f.index >= m_b.route_wide_members;
    std::uint64_t first = 0; // the group's first member
    for (FingerprintGroup& g : groups) {
      codec::put_varint(data, g.parts);
      codec::put_varint(data, g.members);
      Bytes fp_data = fingerprint_blob(g, wide);
      g.data = Bytes();
      // Fingerprints do not compress, but against the old group they are mostly a copy.
      std::vector<Key> bases =
          m_align ? m_align->fingerprint_bases(first, g.members) : std::vector<Key>{};
      first += g.members;
      PAGABLE_TRY_ASSIGN(Pending p, emit(std::move(fp_data), {}, std::move(bases), k_index));
      children.push_back(std::move(p));
    }
    return emit(std::move(data), std::move(children), {}, k_index);
  }

  Result<void> add_entry(Frame& f, std::size_t level, Entry e)
  {
    if (f.levels.size() <= level) {
      f.levels.resize(level + 1);
      f.level_emitted.resize(level + 1, false);
    }
    const std::uint64_t h = mix64(e.node.fp ^ (0x9e3779b97f4a7c15ULL * (level + 1)));
    f.levels[level].push_back(std::move(e));
    if (h % m_b.index_fanout == 0 || f.levels[level].size() >= 4 * m_b.index_fanout) {
      return emit_index(f, level);
    }
    return {};
  }

  Result<Pending> index_node(std::vector<Entry> entries, bool object, std::uint64_t& count)
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
    return emit(std::move(data), std::move(children), {}, k_index);
  }

  Result<void> emit_index(Frame& f, std::size_t level)
  {
    std::vector<Entry> entries = std::move(f.levels[level]);
    f.levels[level].clear();
    std::uint64_t count = 0;
    PAGABLE_TRY_ASSIGN(Pending p, index_node(std::move(entries), f.object, count));
    f.level_emitted[level] = true;
    return add_entry(f, level + 1, Entry{std::move(p), count});
  }

  // The top of a chunked container's tree, once its last part is stored.
  Result<Pending> finish_levels(Frame& f)
  {
    for (std::size_t level = 0;; ++level) {
      if (f.level_emitted[level]) {
        if (!f.levels[level].empty()) {
          PAGABLE_TRY(emit_index(f, level));
        }
        continue;
      }
      std::vector<Entry> entries = std::move(f.levels[level]);
      if (entries.size() == 1 && level > 0) {
        return std::move(entries.front().node);
      }
      std::uint64_t count = 0;
      return index_node(std::move(entries), f.object, count);
    }
  }

  Result<Value> finish_container(Frame& f)
  {
    if (f.chunked) {
      if (f.items > 0 || f.levels.empty()) {
        f.cuts.push_back({f.buf.size(), f.children.size(), f.items});
        PAGABLE_TRY(emit_parts(f));
      }
      PAGABLE_TRY_ASSIGN(Pending top, finish_levels(f));
      if (f.object && m_b.route_members != 0 && f.index >= m_b.route_members &&
          f.part_bytes >= m_b.route_member_bytes * f.index) {
        PAGABLE_TRY_ASSIGN(top, route(f, std::move(top)));
      }
      return ref_to(std::move(top));
    }
    Bytes data;
    data.reserve(f.buf.size() + 10);
    codec::put_tag(data, f.object ? Tag::object : Tag::array);
    codec::put_varint(data, f.items);
    data.insert(data.end(), f.buf.begin(), f.buf.end());
    const std::size_t size = data.size() + f.children.size() * Key::k_size;
    if (m_frames.empty() || (f.arc ? *f.arc : size >= m_b.node_bytes)) {
      // A document's root is passed through by every lookup; when it is mostly references
      // (no more data than child keys) it is packed with the index nodes, otherwise it is
      // content like any other and compresses better beside the rest.
      const bool index = m_frames.empty() && data.size() <= f.children.size() * Key::k_size;
      PAGABLE_TRY_ASSIGN(Pending p, emit(std::move(data), std::move(f.children),
                                         m_align ? m_align->node_bases() : std::vector<Key>{},
                                         index));
      return ref_to(std::move(p));
    }
    return Value{std::move(data), std::move(f.children)};
  }

  // --- $ref targets: most are found while the parse passes their parent (see finish()) ---

  static constexpr std::uint64_t k_root_path = codec::k_fnv_basis; // the document's path hash

  // The hash of the pointer to the value now starting at `depth` (0 = the document).
  std::uint64_t child_path(std::size_t depth) const
  {
    if (depth == 0) {
      return k_root_path;
    }
    const Frame& parent = m_frames[depth - 1];
    if (parent.object) {
      return path_step(parent.path, parent.name);
    }
    return path_step(parent.path, std::to_string(parent.index));
  }

  static std::uint64_t path_step(std::uint64_t parent, std::string_view token)
  {
    return mix64(parent ^ fnv1a64({reinterpret_cast<const std::uint8_t*>(token.data()), token.size()}));
  }

  // A $ref just read, in the object now closing. Its target is settled at once when its
  // parent is open and holds it already (a backward ref: nothing is kept), or when that parent
  // reads the member or closes (a forward ref to a member: kept until then); otherwise when
  // its parent closes later, or, for a parent closed already, in the stored document.
  void check_ref(const std::string& text)
  {
    if (text.find_first_of("%~") == std::string::npos && found_at_once(text)) {
      return;
    }
    // A fragment that does not decode is its own target (it starts with '#', a pointer
    // with '/'), one that resolves nowhere.
    auto pointer = codec::fragment_to_pointer(text);
    std::string target = pointer ? std::move(*pointer) : text;
    if (m_refs.contains(target)) { // the first place that names a target is kept
      return;
    }
    auto tokens = codec::parse_pointer(target);
    if (tokens && !tokens->empty() && parent_is_open(*tokens)) {
      Frame& parent = m_frames.at(tokens->size() - 1);
      const std::string& last = tokens->back();
      if (parent.object) {
        if (parent.names.contains(last)) {
          return;
        }
        parent.awaited.emplace(last, target);
        m_refs.emplace(std::move(target), RefTarget{text, pointer_to(m_frames.size() - 1)});
        return;
      }
      const auto index = codec::parse_index(last);
      if (index && *index <= parent.index) { // an item before the open one, or that one
        return;
      }
    }
    add_ref_target(std::move(target), text);
  }

  // The common case without allocating: a "#/a/b" with nothing to decode whose target's
  // parent is open and holds it already.
  bool found_at_once(std::string_view text)
  {
    std::vector<std::string_view>& tokens = m_ref_tokens;
    tokens.clear();
    for (std::size_t begin = 2;;) { // after "#/"
      const std::size_t end = std::min(text.find('/', begin), text.size());
      tokens.push_back(text.substr(begin, end - begin));
      if (end == text.size()) {
        break;
      }
      begin = end + 1;
    }
    if (!parent_is_open(tokens)) {
      return false;
    }
    const Frame& parent = m_frames[tokens.size() - 1];
    if (parent.object) {
      return parent.names.contains(tokens.back());
    }
    const auto index = codec::parse_index(tokens.back());
    return index && *index <= parent.index;
  }

  // Whether the container holding the target of `tokens` is open now.
  template <typename Token>
  bool parent_is_open(const std::vector<Token>& tokens) const
  {
    const std::size_t depth = tokens.size() - 1;
    if (depth >= m_frames.size()) {
      return false;
    }
    for (std::size_t i = 0; i < depth; ++i) {
      const Frame& a = m_frames[i];
      if (a.object ? a.name != tokens[i] : codec::parse_index(tokens[i]) != a.index) {
        return false;
      }
    }
    return true;
  }

  void add_ref_target(std::string pointer, const std::string& text)
  {
    const auto it =
        m_refs.emplace(std::move(pointer), RefTarget{text, pointer_to(m_frames.size() - 1)}).first;
    auto tokens = codec::parse_pointer(it->first);
    if (!tokens) { // not a JSON pointer (a bad ~ escape, an undecodable fragment): dangling
      it->second.found = Found::no;
      return;
    }
    if (tokens->empty()) {
      return; // the document itself: finish() finds it
    }
    if (!m_track_paths) { // from now on every container's path is hashed
      m_track_paths = true;
      for (std::size_t d = 0; d < m_frames.size(); ++d) {
        m_frames.at(d).path = child_path(d);
      }
    }
    std::uint64_t parent = k_root_path;
    for (std::size_t i = 0; i + 1 < tokens->size(); ++i) {
      parent = path_step(parent, (*tokens)[i]);
    }
    m_waiting[parent].push_back(Waiting{&it->second, std::move(*tokens)});
  }

  // `f` closes: the targets whose parent it is are found, or known to be missing.
  void resolve_targets_in(const Frame& f)
  {
    const auto it = m_waiting.find(f.path);
    if (it == m_waiting.end()) {
      return;
    }
    const std::size_t depth = m_frames.size() - 1; // f's
    auto& list = it->second;
    std::erase_if(list, [&](Waiting& w) {
      if (w.tokens.size() != depth + 1) {
        return false; // another path with the same hash
      }
      for (std::size_t i = 0; i < depth; ++i) {
        const Frame& a = m_frames[i];
        if (a.object ? a.name != w.tokens[i] : std::to_string(a.index) != w.tokens[i]) {
          return false;
        }
      }
      const std::string& last = w.tokens.back();
      if (f.object) {
        w.target->found = f.names.contains(last) ? Found::yes : Found::no;
      } else {
        const auto index = codec::parse_index(last);
        w.target->found = index && *index < f.index ? Found::yes : Found::no;
      }
      return true;
    });
    if (list.empty()) {
      m_waiting.erase(it);
    }
  }

  static Value ref_to(Pending p)
  {
    Value v;
    codec::put_tag(v.bytes, Tag::ref);
    v.children.push_back(std::move(p));
    return v;
  }

  // Tells the aligner where the container opening now sits in its parent.
  void align_open()
  {
    if (m_frames.empty()) {
      m_align->open_root();
    } else if (m_frames.back().object) {
      m_align->open_member(m_frames.back().name);
    } else {
      m_align->open_item(m_frames.back().index);
    }
  }

  // PutHints::index, for the nodes a lookup passes through: index levels, routing, the root.
  static constexpr bool k_index = true;

  Result<Pending> emit(Bytes data, std::vector<Pending> children, std::vector<Key> bases = {},
                       bool index = false)
  {
    if (m_o.cancel != nullptr && m_o.cancel->load()) {
      return make_error(Errc::cancelled, "interrupted");
    }
    if (data.size() > m_o.max_node_bytes) {
      return make_error(Errc::invalid_input, "a node of " + std::to_string(data.size()) +
                                                 " bytes exceeds the limit of " +
                                                 std::to_string(m_o.max_node_bytes));
    }
    ++m_nodes;
    m_hinted += bases.empty() ? 0 : 1;
    const std::uint64_t fp = fingerprint(m_b.fingerprint, data, children);
    return m_writer.submit(std::move(data), std::move(children), fp, std::move(bases), index);
  }

  // The JSON pointer of the value open at depth `depth` (0 = the document).
  std::string pointer_to(std::size_t depth) const { return pointer_tokens(0, depth); }

  // The tokens of the pointer to the value open at `to`, from level `from` on.
  std::string pointer_tokens(std::size_t from, std::size_t to) const
  {
    std::string p;
    for (std::size_t i = from; i < to && i < m_frames.size(); ++i) {
      const Frame& f = m_frames[i];
      p += '/';
      p += f.object ? codec::escape_pointer_token(f.name) : std::to_string(f.index);
    }
    return p;
  }

  // " (at POINTER)" for a message. A pointer of many levels shows its first and last ones:
  // at --max-depth, the whole of it was 20 kB of "/0".
  std::string located() const
  {
    constexpr std::size_t k_shown = 16; // levels shown at each end
    const std::size_t depth = m_frames.size();
    if (depth == 0) {
      return " (at the top level)";
    }
    if (depth <= 3 * k_shown) {
      return " (at \"" + pointer_to(depth) + "\")";
    }
    return " (at \"" + pointer_tokens(0, k_shown) + "/.../" + pointer_tokens(depth - k_shown, depth).substr(1) +
           "\", " + std::to_string(depth) + " levels deep; " + std::to_string(depth - 2 * k_shown) +
           " levels not shown)";
  }

  bool fail(Error e)
  {
    if (!m_error) {
      m_error = std::move(e);
    }
    return false;
  }

  // `what` at the current place in the input.
  Error failure(const std::string& what) const
  {
    const auto [line, col] = m_in.position();
    return make_error(Errc::invalid_input, what + " at line " + std::to_string(line) +
                                               ", column " + std::to_string(col) + located());
  }

  bool fail(const std::string& what) { return fail(failure(what)); }

  // Verifies the suspects against the stored document: the first name really repeated is
  // the error.
  Result<void> check_suspects(const codec::BlobLoader& load, const Key& root) const;

  const BoundarySettings& m_b;
  const PackOptions& m_o;
  JsonSource& m_in;
  std::unique_ptr<Aligner> m_align; // with update_of only
  std::uint64_t m_hinted = 0;
  NodeWriter m_writer;
  std::unique_ptr<schema::NodeValidator> m_validator;
  FrameStack m_frames;
  Value m_top;
  std::optional<Error> m_error;
  std::uint64_t m_nodes = 0;
  std::uint64_t m_ref_count = 0;
  enum class Found : std::uint8_t { unknown, yes, no };
  struct RefTarget {
    std::string text;   // the $ref
    std::string origin; // where it first appears
    Found found = Found::unknown;
  };
  // A target whose parent had not closed when the $ref was read.
  struct Waiting {
    RefTarget* target;
    std::vector<std::string> tokens; // of its pointer
  };
  std::unordered_map<std::string, RefTarget> m_refs; // by target pointer
  std::unordered_map<std::uint64_t, std::vector<Waiting>> m_waiting; // by hash of the parent's pointer
  // A member whose name's hash an earlier member of its (huge) object has (NameSet).
  struct Suspect {
    std::string object; // the object's pointer
    std::string name;
    Error error;        // the duplicate's error, should it be one
  };
  std::vector<Suspect> m_suspects; // in document order
  static constexpr std::size_t k_max_suspects = 65536;
  bool m_track_paths = false; // Frame::path is set (once the first $ref is read)
  std::vector<std::string_view> m_ref_tokens; // found_at_once's, kept for their capacity
};

std::optional<Error> Packer::schema_error() const
{
  if (!m_validator || m_validator->report().valid) {
    return std::nullopt;
  }
  const auto& report = m_validator->report();
  std::string msg = "the document does not match the schema";
  constexpr std::size_t k_shown = 20;
  for (std::size_t i = 0; i < report.errors.size() && i < k_shown; ++i) {
    msg += "\n  " + report.errors[i].to_string();
  }
  if (report.errors.size() > k_shown || report.truncated) {
    msg += "\n  (more errors not shown)";
  }
  return make_error(Errc::invalid_input, msg);
}

Result<void> Packer::check_suspects(const codec::BlobLoader& load, const Key& root) const
{
  if (m_suspects.empty()) {
    return {};
  }
  // Each object is read once, for all its suspects; the first duplicate in document order
  // is the error.
  std::unordered_map<std::string_view, std::vector<std::size_t>> by_object;
  std::vector<std::string_view> objects; // in order of their first suspect
  for (std::size_t i = 0; i < m_suspects.size(); ++i) {
    auto& list = by_object[m_suspects[i].object];
    if (list.empty()) {
      objects.push_back(m_suspects[i].object);
    }
    list.push_back(i);
  }
  std::optional<std::size_t> first;
  for (const std::string_view object : objects) {
    const std::vector<std::size_t>& list = by_object.at(object);
    // Per name: members of the stored object so named, and suspects so named. Every
    // occurrence after a name's first is a suspect (its hash was there), so the suspects are
    // its last occurrences: the j-th of s is occurrence c - s + j, a duplicate unless first.
    struct Count {
      std::uint64_t members = 0;
      std::uint64_t suspects = 0;
      std::uint64_t seen = 0; // suspects passed below
    };
    std::unordered_map<std::string_view, Count> counts;
    std::vector<std::string_view> names;
    for (const std::size_t i : list) {
      if (counts[m_suspects[i].name].suspects++ == 0) {
        names.push_back(m_suspects[i].name);
      }
    }
    PAGABLE_TRY_ASSIGN(const auto members, codec::count_members(load, root, object, names));
    for (std::size_t n = 0; n < names.size(); ++n) {
      counts.at(names[n]).members = members[n];
    }
    for (const std::size_t i : list) {
      Count& c = counts.at(m_suspects[i].name);
      if (c.members + c.seen >= c.suspects + 1) { // c - s + j >= 1
        first = std::min(first.value_or(i), i);
        break;
      }
      ++c.seen;
    }
  }
  if (first) {
    return m_suspects[*first].error;
  }
  return {};
}

Result<PackResult> Packer::finish(store::BlobStore& store)
{
  if (auto e = schema_error()) {
    return std::move(*e); // before the root node is stored
  }
  // The top-level value is always a node: a container that became one is referenced by m_top.
  Pending root;
  if (m_top.children.size() == 1 && m_top.bytes.size() == 1 &&
      m_top.bytes[0] == static_cast<std::uint8_t>(Tag::ref)) {
    root = std::move(m_top.children.front());
  } else {
    PAGABLE_TRY_ASSIGN(root, emit(std::move(m_top.bytes), std::move(m_top.children),
                                  m_align ? m_align->root_bases() : std::vector<Key>{}, k_index));
  }
  m_writer.wait_idle();
  const Result<Key>& key = root.key.get();
  if (!key) {
    return key.error();
  }
  PAGABLE_TRY(store.flush());
  const codec::BlobLoader load = stored_blobs(store);
  PAGABLE_TRY(check_suspects(load, *key));
  PackResult result;
  result.key = *key;
  result.nodes = m_nodes;
  result.refs = m_ref_count;
  result.schema_buffered = m_validator ? m_validator->stats().buffered_values : 0;
  result.hinted = m_hinted;
  if (m_align && m_align->error()) {
    result.alignment_error = m_align->error()->message();
  }
  // A target's parent seen closing during the parse settled it; the others (a parent that
  // closed before the $ref was read) are looked up in the stored document.
  std::vector<std::string> pointers;
  std::vector<RefTarget*> asked;
  for (auto& [pointer, target] : m_refs) {
    if (target.found == Found::unknown) {
      pointers.push_back(pointer);
      asked.push_back(&target);
    }
  }
  if (!pointers.empty()) {
    PAGABLE_TRY_ASSIGN(const auto found, codec::has_values(load, *key, pointers));
    for (std::size_t i = 0; i < asked.size(); ++i) {
      asked[i]->found = found[i] ? Found::yes : Found::no;
    }
  }
  for (const auto& [pointer, target] : m_refs) {
    if (target.found == Found::no) {
      result.dangling.push_back("\"" + target.text + "\" at " +
                                (target.origin.empty() ? "/" : target.origin));
    }
  }
  std::sort(result.dangling.begin(), result.dangling.end()); // m_refs has no order
  if (!result.dangling.empty() && m_o.dangling_refs == DanglingRefs::error) {
    std::string msg = "dangling reference " + result.dangling.front();
    if (result.dangling.size() > 1) {
      msg += " (and " + std::to_string(result.dangling.size() - 1) + " more)";
    }
    return make_error(Errc::invalid_input, msg + " does not resolve in the document");
  }
  return result;
}

std::optional<std::size_t> parse_size(const std::string& s)
{
  std::size_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

} // namespace

std::map<std::string, std::string> BoundarySettings::to_settings() const
{
  return {{"pack.node_bytes", std::to_string(node_bytes)},
          {"pack.chunk_above_bytes", std::to_string(chunk_above_bytes)},
          {"pack.chunk_target_bytes", std::to_string(chunk_target_bytes)},
          {"pack.chunk_max_bytes", std::to_string(chunk_max_bytes)},
          {"pack.index_fanout", std::to_string(index_fanout)},
          {"pack.route_members", std::to_string(route_members)},
          {"pack.route_member_bytes", std::to_string(route_member_bytes)},
          {"pack.route_wide_members", std::to_string(route_wide_members)},
          {"pack.fingerprint", std::to_string(fingerprint)}};
}

namespace {

// Each setting's field and range. The upper bounds keep the packer's arithmetic (4 * fanout,
// sizes added up, route_member_bytes * members) far from overflow; an index fanout of 1 would
// close a node per entry at every level, without end.
struct BoundaryField {
  const char* name;
  std::size_t BoundarySettings::*value;
  std::size_t min; // 0: the setting may switch its feature off
  std::size_t max;
};
constexpr std::size_t k_max_setting = std::size_t{1} << 40;
constexpr BoundaryField k_boundary_fields[] = {
    {"pack.node_bytes", &BoundarySettings::node_bytes, 1, k_max_setting},
    {"pack.chunk_above_bytes", &BoundarySettings::chunk_above_bytes, 1, k_max_setting},
    {"pack.chunk_target_bytes", &BoundarySettings::chunk_target_bytes, 1, k_max_setting},
    {"pack.chunk_max_bytes", &BoundarySettings::chunk_max_bytes, 1, k_max_setting},
    {"pack.index_fanout", &BoundarySettings::index_fanout, 2, 65536},
    {"pack.route_members", &BoundarySettings::route_members, 0, k_max_setting},
    {"pack.route_member_bytes", &BoundarySettings::route_member_bytes, 0, std::size_t{1} << 20},
    {"pack.route_wide_members", &BoundarySettings::route_wide_members, 0, k_max_setting},
    {"pack.fingerprint", &BoundarySettings::fingerprint, 1, 2}};

Error out_of_range(Errc code, const BoundaryField& f, const std::string& given)
{
  return make_error(code, std::string(f.name) + " must be a whole number from " +
                              std::to_string(f.min) + " to " + std::to_string(f.max) + ", not " +
                              given);
}

} // namespace

Result<void> BoundarySettings::check() const
{
  for (const BoundaryField& f : k_boundary_fields) {
    const std::size_t v = this->*f.value;
    if (v < f.min || v > f.max) {
      return out_of_range(Errc::invalid_argument, f, std::to_string(v));
    }
  }
  return {};
}

Result<BoundarySettings> BoundarySettings::from_settings(const std::map<std::string, std::string>& s)
{
  BoundarySettings b;
  for (const BoundaryField& f : k_boundary_fields) {
    const auto it = s.find(f.name);
    if (it == s.end()) {
      continue;
    }
    const auto v = parse_size(it->second);
    if (!v || *v < f.min || *v > f.max) {
      return out_of_range(Errc::unusable_archive, f, "\"" + it->second + "\"");
    }
    b.*f.value = *v;
  }
  return b;
}

namespace {

// The settings a newer format added, or whose default changed, with what the older pagables
// that wrote an archive without them did: fingerprint 1 placed the boundaries of every archive
// before format 3, and an archive made before routing (format 0) got route_members 4096, the
// default until 512 (FORMAT.md "Why 512 members"), from every pagable that packed into it.
const store::OlderSettings k_older_settings = {3, {{"pack.fingerprint", "1"},
                                                   {"pack.route_members", "4096"}}};

} // namespace

Result<BoundarySettings> BoundarySettings::from_archive(std::map<std::string, std::string> s)
{
  if (s.count("pack.node_bytes") != 0) { // recorded: a missing setting predates its format
    s.insert(k_older_settings.values.begin(), k_older_settings.values.end());
  }
  return from_settings(s);
}

Result<BoundarySettings> init_boundaries(store::BlobStore& store, const BoundarySettings& defaults,
                                         store::SettingsWrite mode)
{
  // An archive a pagable from before format 3 may still pack into (marked with an older
  // format) gets fingerprint 1, the one that pagable chunks with: so its keys, and those of
  // new versions of the documents it holds, do not change. One marked 3 gets 2, as a format 3
  // pagable would record.
  PAGABLE_TRY_ASSIGN(const auto settings,
                     store.init_settings(defaults.to_settings(), mode, k_older_settings));
  auto b = BoundarySettings::from_archive(settings);
  if (!b) {
    return std::move(b).error().with_context("the archive's boundary settings");
  }
  return b;
}

Result<PackResult> pack_stream(store::BlobStore& store, std::istream& input,
                               const BoundarySettings& boundaries, const PackOptions& options)
{
  PAGABLE_TRY(boundaries.check());
  JsonSource counted(input.rdbuf());
  std::optional<Error> error;
  std::uint64_t bytes_in = 0;
  Result<PackResult> result = make_error(Errc::internal, "pack did not run");
  {
    Packer packer(store, boundaries, options, counted);
    auto last_report = std::chrono::steady_clock::now();
    if (options.progress) {
      counted.on_refill = [&] {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_report >= options.progress_interval) {
          last_report = now;
          options.progress(PackProgress{counted.consumed(), packer.nodes(), false});
        }
      };
    }
    bool parsed = false;
    try {
      parsed = JsonReader<Packer>(counted, packer).parse();
    } catch (const std::exception& e) {
      // Thrown by the input (a decompression or read error).
      error = make_error(Errc::invalid_input, std::string("reading the input: ") + e.what());
    }
    if (!error) {
      error = packer.take_error();
    }
    if (!error && !parsed) {
      error = make_error(Errc::invalid_input, "the input is not a JSON document");
    }
    bytes_in = counted.consumed();
    counted.on_refill = nullptr;
    if (options.progress && !error) {
      options.progress(PackProgress{bytes_in, packer.nodes(), true});
    }
    // Decided by what was read, not consumed: `hello` fails on its first byte, yet is not empty.
    if (error && counted.read() == 0 && error->code() == Errc::invalid_input) {
      error = make_error(Errc::invalid_input, "the input is empty: no JSON document at line 1, column 1");
    }
    if (!error) {
      result = packer.finish(store);
    }
    // The packer's destructor waits for its workers before `store` may be used further.
  }
  if (error) {
    return std::move(*error);
  }
  if (result) {
    result->bytes_in = bytes_in;
  }
  return result;
}

} // namespace pagable::pack
