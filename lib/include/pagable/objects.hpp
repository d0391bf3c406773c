// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Typed object graphs for C++ programs (DESIGN §1): shared handles to immutable values that
// a Pager pages out to an archive under a memory budget and back in on access, deduplicated
// by content, polymorphic through stable names (object_registry.hpp), written in the node
// encoding JSON documents use (object_io.hpp), so the CLI reads them. docs/OBJECTS.md is the
// guide.
//
//   pagable::objects::Pager& pager = ...;               // Pager::open(archive, {budget})
//   pagable::objects::Arc<Rule> rule = pager.make<Rule>(Rule{"cc", {"cc", "-c"}});
//   auto pinned = rule.pin();                           // Result<Pinned<Rule>>: may page in
//   if (pinned) use((*pinned)->command);                // a pinned value is plain memory
//
// A handle (Arc<T>) never pins: while no Pinned holds its value, the pager may page it out
// (storing it first if it never was) and drop it from memory; pin() pages it back in. Two
// handles to one object -- as Arc<Base> and as Arc<Derived> -- are one object with one key:
// values are identified by (polymorphic family or type, key), and while any pin (or a
// shared_ptr from Pinned::share()) holds a value, paging its key in again returns that
// allocation, decoding nothing.
//
// Thread-safety: handles, pins and the pager may be used from any number of threads at once
// (a handle object itself, like a shared_ptr, is not written by two threads at once).

#include <pagable/archive.hpp>
#include <pagable/key.hpp>
#include <pagable/object_io.hpp>
#include <pagable/object_registry.hpp>
#include <pagable/result.hpp>
#include <pagable/store.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace pagable::util {
class ThreadPool;
} // namespace pagable::util

namespace pagable::objects {

template <typename T>
class Arc;
template <typename T>
class Pinned;
class Pager;

namespace detail {

// The type values are identified by: a polymorphic family's base, else the type itself.
template <typename T>
struct IdentityOf {
  using type = T;
};
template <Polymorphic T>
struct IdentityOf<T> {
  using type = typename T::pagable_polymorphic_root;
};
template <typename T>
using identity_t = typename IdentityOf<T>::type;

template <typename T>
inline constexpr bool is_arc_v = false;
template <typename T>
inline constexpr bool is_arc_v<Arc<T>> = true;

// How the values of one identity type are written, read, walked and described; one per type.
struct ValueOps {
  std::type_index identity = typeid(void);
  std::string_view cpp_name;
  bool polymorphic = false;
  // The most-derived type of a value (for a polymorphic family, its dynamic type).
  std::type_index (*dynamic_type)(const void* value) = nullptr;
  void (*write)(Writer& w, const void* value) = nullptr;
  Result<std::shared_ptr<const void>> (*read)(Reader& r, std::size_t& resident) = nullptr;
  void (*handles)(const void* value, HandleSink& sink) = nullptr;
  nlohmann::json (*schema)(SchemaContext& ctx) = nullptr;
};

template <typename I>
const ValueOps& value_ops();

// A handle's shared state (objects/cell.hpp): the value or its key, pins, its place in the
// pager's LRU. These are the calls the templates below make.
// The identity-typed value, pinned (paged in first if need be). Errc::invalid_argument for
// an empty handle; read and store errors as they are.
Result<std::shared_ptr<const void>> pin_cell(const std::shared_ptr<Cell>& cell);
// One more pin of a pinned cell (copying a Pinned).
void repin_cell(Cell& cell) noexcept;
void unpin_cell(Cell& cell) noexcept;
std::optional<Key> cell_key(const Cell& cell);
// Drops a reference to a cell without recursing: a chain of a million handles, each holding
// the next, is torn down in a loop instead of a million nested destructors.
void release_cell(std::shared_ptr<Cell>&& cell) noexcept;
// "a build.Copy/1" / "a Rule": what the cell's value is, once known (else its C++ type).
std::string describe_cell(const Cell& cell);

} // namespace detail

// A shared handle to an immutable T stored as its own node (T is any type with a codec;
// a polymorphic T may hold any registered type of its family). Copying shares the object.
// An empty (default) handle holds nothing; writing one is an error (use std::optional).
template <typename T>
class Arc {
  static_assert(!detail::is_arc_v<T>, "a handle to a handle is one node in JSON: hold the inner handle");
  static_assert(!std::is_const_v<T>, "handles are to const values already: write Arc<T>");

public:
  using Identity = detail::identity_t<T>;

  Arc() = default;
  Arc(const Arc& other) = default;
  Arc(Arc&& other) noexcept = default;
  Arc& operator=(Arc other) noexcept
  {
    std::swap(m_cell, other.m_cell);
    return *this; // the old cell goes with `other`, through release_cell
  }
  ~Arc()
  {
    if (m_cell) {
      detail::release_cell(std::move(m_cell));
    }
  }
  // A handle to a derived type is a handle to its base: the same object, the same key.
  template <typename U>
    requires(std::is_base_of_v<T, U> && !std::is_same_v<T, U> &&
             std::is_same_v<typename Arc<U>::Identity, Identity>)
  Arc(const Arc<U>& derived) : m_cell(derived.cell())
  {
  }

  // Returns true iff the handle holds an object.
  explicit operator bool() const noexcept { return m_cell != nullptr; }
  // Pins the value (paging it in when it is paged out) and returns the pin. Errors: an empty
  // handle (Errc::invalid_argument), a value that is not a T (a stored polymorphic value of
  // another type: Errc::invalid_input), and the store's and the reader's errors.
  Result<Pinned<T>> pin() const;
  // The key of its node once the value has been stored; nullopt before.
  std::optional<Key> key() const { return m_cell ? detail::cell_key(*m_cell) : std::nullopt; }
  // Returns true iff both handles hold the same object (or are both empty).
  friend bool operator==(const Arc& a, const Arc& b) noexcept { return a.m_cell == b.m_cell; }

  // For codecs and the pager.
  const std::shared_ptr<detail::Cell>& cell() const noexcept { return m_cell; }
  static Arc from_cell(std::shared_ptr<detail::Cell> cell)
  {
    Arc a;
    a.m_cell = std::move(cell);
    return a;
  }

private:
  std::shared_ptr<detail::Cell> m_cell;
};

// A pin: while it lives, the value stays in memory at one address and the pager will not page
// it out. Copies are further pins.
template <typename T>
class Pinned {
public:
  Pinned(const Pinned& other) : m_cell(other.m_cell), m_value(other.m_value)
  {
    if (m_cell) {
      detail::repin_cell(*m_cell);
    }
  }
  Pinned(Pinned&& other) noexcept = default;
  Pinned& operator=(Pinned other) noexcept
  {
    std::swap(m_cell, other.m_cell);
    std::swap(m_value, other.m_value);
    return *this;
  }
  ~Pinned()
  {
    if (m_cell) {
      detail::unpin_cell(*m_cell);
    }
  }

  const T& operator*() const noexcept { return *m_value; }
  const T* operator->() const noexcept { return m_value.get(); }
  const T* get() const noexcept { return m_value.get(); }
  // The value, owned without a pin: the pager may then page it out (it stops counting against
  // the budget), and paging its key in again returns this allocation while the pointer lives.
  std::shared_ptr<const T> share() const { return m_value; }

private:
  friend class Arc<T>;
  Pinned(std::shared_ptr<detail::Cell> cell, std::shared_ptr<const T> value)
      : m_cell(std::move(cell)), m_value(std::move(value))
  {
  }
  std::shared_ptr<detail::Cell> m_cell;
  std::shared_ptr<const T> m_value;
};

// Handles' codec: a handle is a node boundary, as `"x-pagable-arc": true` makes one in
// `pack --schema` (its value is its own node; the parent holds a ref to it).
template <typename T>
struct Codec<Arc<T>> {
  using I = typename Arc<T>::Identity;
  static constexpr bool k_handles = true;
  static void write(Writer& w, const Arc<T>& a)
  {
    if (!a) {
      w.fail(make_error(Errc::invalid_argument,
                        "an empty handle cannot be written (hold a std::optional<Arc<T>>)"));
      return;
    }
    w.handle(a.cell());
  }
  static Result<void> read(Reader& r, Arc<T>& a)
  {
    PAGABLE_TRY_ASSIGN(const Reader::Kind kind, r.peek());
    if (kind == Reader::Kind::node) {
      PAGABLE_TRY_ASSIGN(const Key key, r.take_node());
      a = Arc<T>::from_cell(r.handle(detail::value_ops<I>(), key));
      return {};
    }
    // Stored inline: a document packed without the schema's x-pagable-arc here.
    std::size_t resident = 0;
    PAGABLE_TRY_ASSIGN(auto value, detail::value_ops<I>().read(r, resident));
    if constexpr (!std::is_same_v<T, I>) {
      if (!dynamic_cast<const T*>(static_cast<const I*>(value.get()))) {
        return r.mismatch("a value of another type of its family where a handle to " +
                          Codec<T>::label() + " belongs");
      }
    }
    a = Arc<T>::from_cell(r.adopt(detail::value_ops<I>(), std::move(value), resident));
    return {};
  }
  static void handles(const Arc<T>& a, HandleSink& sink)
  {
    if (a) {
      sink.handle(a.cell());
    }
  }
  static std::size_t heap_bytes(const Arc<T>&) { return 0; } // the value is counted on its own
  static nlohmann::json schema(SchemaContext& ctx)
  {
    nlohmann::json s = detail::value_ops<I>().schema(ctx);
    s["x-pagable-arc"] = true;
    return s;
  }
  static std::string label() { return Codec<T>::label(); } // a variant's member: the type
};

struct PagerOptions {
  // Bytes of resident values (their resident_size()) the pager keeps; beyond it, unpinned
  // values are paged out, least recently used first. Pinned values are never paged out, so
  // pins can hold it above the budget.
  std::size_t budget_bytes = std::size_t{256} << 20;
  // Threads that serialize and store values at once, the calling thread included; 0 = one
  // per hardware thread. The archive's writer thread, which compresses, is not counted.
  unsigned workers = 0;
  // What one page-out frees at least, so that a budget crossed by one value does not page out
  // one value at a time (0: an eighth of the budget).
  std::size_t batch_bytes = 0;
};

// Counters since the pager was opened.
struct PagerStats {
  std::uint64_t values = 0;              // live handles' objects (cells)
  std::uint64_t resident_values = 0;     // of which in memory
  std::uint64_t resident_bytes = 0;      // their resident sizes: what the budget bounds
  std::uint64_t peak_resident_bytes = 0; // the most resident_bytes has been
  std::uint64_t serialized = 0;          // values serialized and stored (each value once)
  std::uint64_t paged_out = 0;           // values dropped from memory after page-out
  std::uint64_t paged_in = 0;            // values brought back by pin()
  std::uint64_t decodes = 0;             // values decoded from the archive
  std::uint64_t reused = 0;              // page-ins answered by an allocation still alive
  std::uint64_t page_out_batches = 0;    // page-outs the budget started
  std::uint64_t unpageable = 0;          // values whose page-out failed: resident for good
  std::uint64_t fingerprints_read = 0;   // stored nodes read to learn their fingerprints
  std::uint64_t page_out_waits = 0;      // times a page-out worker waited for another's value
};

// What to commit a graph's root as.
struct CommitRequest {
  std::string name;                          // the root's name
  std::map<std::string, std::string> labels; // attached to the root
};

struct CommitReport {
  store::RootRecord root;       // as committed
  Key schema_key;               // the generated schema stored with it
  std::uint64_t serialized = 0; // values this commit serialized (the rest were stored)
  double seconds = 0;
};

class Pager {
public:
  // A pager paging values into `archive` with the archive's boundary settings (recorded in
  // it when it has none). REQUIRES: `archive` outlives the pager and every handle it made.
  // Writes go through Archive::write_exclusively, so a failing pack's take-back never removes
  // a paged-out value. gc removes what no root reaches, paged-out values included: commit a
  // graph's root before a gc may run on the archive.
  static Result<std::unique_ptr<Pager>> open(Archive& archive, PagerOptions options = {});
  ~Pager();
  Pager(const Pager&) = delete;
  Pager& operator=(const Pager&) = delete;

  // The stable names values are written and read with. Register before use.
  Registry& types() noexcept;

  // A new resident value T{args...}. May page other values out (the budget).
  template <typename T, typename... Args>
  Arc<T> make(Args&&... args);
  // `value` as a new resident value (a polymorphic one of any registered type of T's family).
  template <typename T>
  Arc<T> adopt(std::shared_ptr<const T> value);

  // The stored value `key` as a T, not read until pinned (the same handle's object as any
  // other live handle to that key in T's family).
  template <typename T>
  Arc<T> load(const Key& key);
  // The root named `name_or_key` (or whose key has that prefix) as a T.
  template <typename T>
  Result<Arc<T>> load_root(std::string_view name_or_key);

  // Stores `value` and everything it reaches that is not stored yet; values stay resident.
  template <typename T>
  Result<Key> store(const Arc<T>& value);
  // Stores the graph under `root`, stores the JSON Schema generated from T's types with it,
  // and commits it as root `request.name`. Nothing is committed on error; what was stored
  // stays (those blobs are the stored copies of values the handles keep; gc removes them when
  // no root reaches them).
  template <typename T>
  Result<CommitReport> commit(const Arc<T>& root, const CommitRequest& request);
  // The JSON Schema (2020-12) a root of type T is stored with: its types under $defs, stable
  // names as x-pagable-type, handles as x-pagable-arc.
  template <typename T>
  Result<nlohmann::json> schema_of();

  // Pages out every value no pin holds, now (values that are stored already are dropped
  // without serializing). Returns how many values were paged out.
  Result<std::uint64_t> page_out_unpinned();
  // Pages out down to the budget now (pins may have kept the pager above it).
  Result<void> trim();
  // Errors of values whose page-out failed (they stay resident), oldest first, at most 100.
  std::vector<Error> page_out_errors() const;

  PagerStats stats() const;

  // For the templates above.
  struct Core;
  std::shared_ptr<detail::Cell> make_cell(const detail::ValueOps& ops, std::shared_ptr<const void> value,
                                          std::size_t resident_bytes);
  std::shared_ptr<detail::Cell> cell_for_key(const detail::ValueOps& ops, const Key& key);

private:
  explicit Pager(std::shared_ptr<Core> core);
  Result<Key> root_key(std::string_view name_or_key) const;
  Result<Key> store_cell(const std::shared_ptr<detail::Cell>& cell);
  Result<CommitReport> commit_cell(const std::shared_ptr<detail::Cell>& cell,
                                   const CommitRequest& request, const nlohmann::json& schema);
  Result<nlohmann::json> schema_for(const detail::ValueOps& ops);
  std::shared_ptr<Core> m_core;
  std::unique_ptr<util::ThreadPool> m_pool;
};

// --- Inline implementations ---

namespace detail {

template <typename I>
const ValueOps& value_ops()
{
  static const ValueOps ops = [] {
    ValueOps o;
    o.identity = typeid(I);
    if constexpr (Polymorphic<I>) {
      o.cpp_name = I::pagable_family_name();
    } else if constexpr (Described<I>) {
      o.cpp_name = I::pagable_type_name();
    } else {
      o.cpp_name = "value";
    }
    if constexpr (Polymorphic<I>) {
      // A family's values are written and read by their most-derived type's registry entry.
      o.polymorphic = true;
      o.dynamic_type = [](const void* v) { return std::type_index(typeid(*static_cast<const I*>(v))); };
      o.write = [](Writer& w, const void* v) {
        const std::type_index dynamic = typeid(*static_cast<const I*>(v));
        const TypeEntry* e = w.registry().find(dynamic);
        if (e == nullptr || !e->polymorphic || e->family != typeid(I)) {
          w.fail(make_error(Errc::invalid_argument,
                            std::string("a value of C++ type ") + dynamic.name() + " (family " +
                                std::string(I::pagable_family_name()) + ") has no stable name: register it"));
          return;
        }
        e->write(w, v);
      };
      o.read = [](Reader& r, std::size_t& resident) -> Result<std::shared_ptr<const void>> {
        PAGABLE_TRY_ASSIGN(const auto tag, r.peek_member_string(k_type_member));
        if (!tag) {
          return r.mismatch("a value of the " + std::string(I::pagable_family_name()) +
                            " family without its \"$type\" member");
        }
        const TypeEntry* e = r.registry().find(*tag);
        if (e == nullptr || !e->polymorphic || e->family != typeid(I)) {
          std::string known;
          for (const TypeEntry* m : r.registry().family(typeid(I))) {
            known += (known.empty() ? "" : ", ") + m->name;
          }
          return r.mismatch("unknown type name \"" + *tag + "\" in the " +
                            std::string(I::pagable_family_name()) + " family (registered: " +
                            (known.empty() ? std::string("none") : known) + ")");
        }
        return e->read(r, resident);
      };
      o.handles = [](const void* v, HandleSink& sink) {
        const std::type_index dynamic = typeid(*static_cast<const I*>(v));
        const TypeEntry* e = sink.registry().find(dynamic);
        if (e == nullptr || !e->polymorphic || e->family != typeid(I)) {
          sink.fail(make_error(Errc::invalid_argument,
                               std::string("a value of C++ type ") + dynamic.name() +
                                   " has no stable name: register it"));
          return;
        }
        e->handles(v, sink);
      };
      o.schema = [](SchemaContext& ctx) {
        return ctx.ref(typeid(I), std::string(I::pagable_family_name()), [&] {
          nlohmann::json one_of = nlohmann::json::array();
          nlohmann::json mapping = nlohmann::json::object();
          for (const TypeEntry* m : ctx.registry().family(typeid(I))) {
            nlohmann::json ref = m->schema(ctx);
            mapping[m->name] = ref["$ref"];
            one_of.push_back(std::move(ref));
          }
          return nlohmann::json{{"type", "object"},
                                {"x-pagable-type", std::string(I::pagable_family_name())},
                                {"required", nlohmann::json::array({k_type_member})},
                                {"oneOf", one_of},
                                {"discriminator", {{"propertyName", k_type_member}, {"mapping", mapping}}}};
        });
      };
    } else {
      o.dynamic_type = [](const void*) { return std::type_index(typeid(I)); };
      o.write = [](Writer& w, const void* v) { Codec<I>::write(w, *static_cast<const I*>(v)); };
      o.read = [](Reader& r, std::size_t& resident) -> Result<std::shared_ptr<const void>> {
        auto value = std::make_shared<I>();
        PAGABLE_TRY(Codec<I>::read(r, *value));
        resident = resident_size(*value);
        return std::static_pointer_cast<const void>(std::shared_ptr<const I>(std::move(value)));
      };
      o.handles = [](const void* v, HandleSink& sink) {
        if constexpr (Codec<I>::k_handles) {
          Codec<I>::handles(*static_cast<const I*>(v), sink);
        }
      };
      o.schema = [](SchemaContext& ctx) { return Codec<I>::schema(ctx); };
    }
    return o;
  }();
  return ops;
}

} // namespace detail

template <typename T>
Result<Pinned<T>> Arc<T>::pin() const
{
  PAGABLE_TRY_ASSIGN(auto value, detail::pin_cell(m_cell));
  auto identity = std::static_pointer_cast<const Identity>(std::move(value));
  std::shared_ptr<const T> typed;
  if constexpr (std::is_same_v<T, Identity>) {
    typed = std::move(identity);
  } else {
    typed = std::dynamic_pointer_cast<const T>(std::move(identity));
    if (!typed) {
      const std::string what = detail::describe_cell(*m_cell);
      detail::unpin_cell(*m_cell);
      return make_error(Errc::invalid_input, "the handle's value is " + what + ", not a " +
                                                 Codec<T>::label());
    }
  }
  return Pinned<T>(m_cell, std::move(typed));
}

template <typename T, typename... Args>
Arc<T> Pager::make(Args&&... args)
{
  return adopt<T>(std::make_shared<const T>(std::forward<Args>(args)...));
}

template <typename T>
Arc<T> Pager::adopt(std::shared_ptr<const T> value)
{
  using I = typename Arc<T>::Identity;
  // Measured here, where the most-derived type is known.
  const std::size_t resident = resident_size(*value);
  std::shared_ptr<const I> identity = std::move(value);
  return Arc<T>::from_cell(make_cell(detail::value_ops<I>(),
                                     std::static_pointer_cast<const void>(std::move(identity)), resident));
}

template <typename T>
Arc<T> Pager::load(const Key& key)
{
  using I = typename Arc<T>::Identity;
  return Arc<T>::from_cell(cell_for_key(detail::value_ops<I>(), key));
}

template <typename T>
Result<Arc<T>> Pager::load_root(std::string_view name_or_key)
{
  PAGABLE_TRY_ASSIGN(const Key key, root_key(name_or_key));
  return load<T>(key);
}

template <typename T>
Result<Key> Pager::store(const Arc<T>& value)
{
  return store_cell(value.cell());
}

template <typename T>
Result<nlohmann::json> Pager::schema_of()
{
  return schema_for(detail::value_ops<typename Arc<T>::Identity>());
}

template <typename T>
Result<CommitReport> Pager::commit(const Arc<T>& root, const CommitRequest& request)
{
  PAGABLE_TRY_ASSIGN(const nlohmann::json schema, schema_of<T>());
  return commit_cell(root.cell(), request, schema);
}

} // namespace pagable::objects
