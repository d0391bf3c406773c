// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The container codecs of object_io.hpp: sequences and sets (arrays), std::array, pairs and
// tuples (arrays of fixed length), and maps (objects in key byte order, or arrays of pairs for
// keys that are not strings). Included by object_codecs.hpp, whose detail helpers they use;
// read object_io.hpp for what each writes. Thread-safety: stateless.

namespace pagable::objects {

// --- sequences and sets: arrays ---

namespace detail {

template <typename C, typename T, bool k_sorted>
struct SequenceCodec {
  static constexpr bool k_handles = Codec<T>::k_handles;
  static void write(Writer& w, const C& c)
  {
    w.begin_array();
    if constexpr (k_sorted) {
      std::vector<const T*> items;
      items.reserve(c.size());
      for (const auto& item : c) {
        items.push_back(&item);
      }
      std::sort(items.begin(), items.end(), [](const T* a, const T* b) { return std::less<T>{}(*a, *b); });
      for (const T* item : items) {
        Codec<T>::write(w, *item);
      }
    } else {
      for (const auto& item : c) {
        Codec<T>::write(w, static_cast<const T&>(item));
      }
    }
    w.end_array();
  }
  static Result<void> read(Reader& r, C& c)
  {
    PAGABLE_TRY(r.begin_array());
    c = C{};
    for (;;) {
      PAGABLE_TRY_ASSIGN(const bool more, r.next_item());
      if (!more) {
        return {};
      }
      T item{};
      PAGABLE_TRY(Codec<T>::read(r, item));
      if constexpr (k_sorted) {
        if (!c.insert(std::move(item)).second) {
          return r.mismatch("an item repeated in a set");
        }
      } else {
        c.push_back(std::move(item));
      }
    }
  }
  static void handles(const C& c, HandleSink& sink)
  {
    if constexpr (k_handles) {
      for (const auto& item : c) {
        Codec<T>::handles(item, sink);
      }
    }
  }
  static std::size_t heap_bytes(const C& c)
  {
    std::size_t n = 0;
    if constexpr (requires { c.capacity(); }) {
      n = c.capacity() * sizeof(T);
    } else if constexpr (requires { c.bucket_count(); }) {
      n = c.size() * (sizeof(T) + k_hash_node_overhead) + c.bucket_count() * sizeof(void*);
    } else if constexpr (k_sorted) {
      n = c.size() * (sizeof(T) + k_tree_node_overhead);
    } else {
      n = c.size() * (sizeof(T) + 2 * sizeof(void*)); // deque blocks, list nodes: about
    }
    if constexpr (!std::is_trivially_copyable_v<T> || k_handles) {
      for (const auto& item : c) {
        n += Codec<T>::heap_bytes(item);
      }
    }
    return n;
  }
  static nlohmann::json schema(SchemaContext& ctx)
  {
    return {{"type", "array"}, {"items", Codec<T>::schema(ctx)}};
  }
  static std::string label() { return "array"; }
};

} // namespace detail

template <typename T, typename A>
struct Codec<std::vector<T, A>> : detail::SequenceCodec<std::vector<T, A>, T, false> {};
template <typename T, typename A>
struct Codec<std::deque<T, A>> : detail::SequenceCodec<std::deque<T, A>, T, false> {};
template <typename T, typename A>
struct Codec<std::list<T, A>> : detail::SequenceCodec<std::list<T, A>, T, false> {};
template <typename T, typename C, typename A>
struct Codec<std::set<T, C, A>> : detail::SequenceCodec<std::set<T, C, A>, T, true> {};
template <typename T, typename H, typename E, typename A>
struct Codec<std::unordered_set<T, H, E, A>>
    : detail::SequenceCodec<std::unordered_set<T, H, E, A>, T, true> {};

template <typename T, std::size_t N>
struct Codec<std::array<T, N>> {
  static constexpr bool k_handles = Codec<T>::k_handles;
  static void write(Writer& w, const std::array<T, N>& a)
  {
    w.begin_array();
    for (const auto& item : a) {
      Codec<T>::write(w, item);
    }
    w.end_array();
  }
  static Result<void> read(Reader& r, std::array<T, N>& a)
  {
    PAGABLE_TRY(r.begin_array());
    for (std::size_t i = 0;; ++i) {
      PAGABLE_TRY_ASSIGN(const bool more, r.next_item());
      if (!more) {
        if (i != N) {
          return r.mismatch("an array of " + std::to_string(i) + " items, not " + std::to_string(N));
        }
        return {};
      }
      if (i >= N) {
        return r.mismatch("an array of more than " + std::to_string(N) + " items");
      }
      PAGABLE_TRY(Codec<T>::read(r, a[i]));
    }
  }
  static void handles(const std::array<T, N>& a, HandleSink& sink)
  {
    if constexpr (k_handles) {
      for (const auto& item : a) {
        Codec<T>::handles(item, sink);
      }
    }
  }
  static std::size_t heap_bytes(const std::array<T, N>& a)
  {
    std::size_t n = 0;
    for (const auto& item : a) {
      n += Codec<T>::heap_bytes(item);
    }
    return n;
  }
  static nlohmann::json schema(SchemaContext& ctx)
  {
    return {{"type", "array"}, {"items", Codec<T>::schema(ctx)}, {"minItems", N}, {"maxItems", N}};
  }
  static std::string label() { return "array"; }
};

// --- pairs and tuples: arrays of fixed length ---

template <typename... Ts>
struct Codec<std::tuple<Ts...>> {
  using Tup = std::tuple<Ts...>;
  static constexpr bool k_handles = (false || ... || Codec<Ts>::k_handles);
  static void write(Writer& w, const Tup& t)
  {
    w.begin_array();
    std::apply([&](const auto&... item) { (Codec<std::remove_cvref_t<decltype(item)>>::write(w, item), ...); }, t);
    w.end_array();
  }
  static Result<void> read(Reader& r, Tup& t)
  {
    PAGABLE_TRY(r.begin_array());
    Result<void> result;
    std::apply(
        [&](auto&... item) {
          const auto one = [&](auto& x) {
            if (!result) {
              return;
            }
            auto more = r.next_item();
            if (!more || !*more) {
              result = !more ? Result<void>(std::move(more).error())
                             : Result<void>(r.mismatch("an array of fewer than " +
                                                       std::to_string(sizeof...(Ts)) + " items"));
              return;
            }
            result = detail::read_value(r, x);
          };
          (one(item), ...);
        },
        t);
    PAGABLE_TRY(std::move(result));
    PAGABLE_TRY_ASSIGN(const bool extra, r.next_item());
    if (extra) {
      return r.mismatch("an array of more than " + std::to_string(sizeof...(Ts)) + " items");
    }
    return {};
  }
  static void handles(const Tup& t, HandleSink& sink)
  {
    if constexpr (k_handles) {
      std::apply([&](const auto&... item) { (Codec<std::remove_cvref_t<decltype(item)>>::handles(item, sink), ...); }, t);
    }
  }
  static std::size_t heap_bytes(const Tup& t)
  {
    return std::apply([](const auto&... item) { return (std::size_t{0} + ... + Codec<std::remove_cvref_t<decltype(item)>>::heap_bytes(item)); }, t);
  }
  static nlohmann::json schema(SchemaContext& ctx)
  {
    nlohmann::json items = nlohmann::json::array({Codec<Ts>::schema(ctx)...});
    return {{"type", "array"},
            {"prefixItems", items},
            {"items", false},
            {"minItems", sizeof...(Ts)}};
  }
  static std::string label() { return "tuple"; }
};

template <typename A, typename B>
struct Codec<std::pair<A, B>> {
  static constexpr bool k_handles = Codec<A>::k_handles || Codec<B>::k_handles;
  using Tup = std::tuple<A, B>;
  static void write(Writer& w, const std::pair<A, B>& p)
  {
    w.begin_array();
    Codec<A>::write(w, p.first);
    Codec<B>::write(w, p.second);
    w.end_array();
  }
  static Result<void> read(Reader& r, std::pair<A, B>& p)
  {
    Tup t;
    PAGABLE_TRY(Codec<Tup>::read(r, t));
    p.first = std::move(std::get<0>(t));
    p.second = std::move(std::get<1>(t));
    return {};
  }
  static void handles(const std::pair<A, B>& p, HandleSink& sink)
  {
    if constexpr (k_handles) {
      Codec<A>::handles(p.first, sink);
      Codec<B>::handles(p.second, sink);
    }
  }
  static std::size_t heap_bytes(const std::pair<A, B>& p)
  {
    return Codec<A>::heap_bytes(p.first) + Codec<B>::heap_bytes(p.second);
  }
  static nlohmann::json schema(SchemaContext& ctx) { return Codec<Tup>::schema(ctx); }
  static std::string label() { return "pair"; }
};

// --- maps ---

namespace detail {

template <typename M, typename K, typename V, bool k_ordered>
struct MapCodec {
  static constexpr bool k_string_keys = std::is_same_v<K, std::string>;
  static constexpr bool k_handles = Codec<K>::k_handles || Codec<V>::k_handles;
  using Entry = typename M::value_type;

  static void write(Writer& w, const M& m)
  {
    // In std::less order of the keys (byte order for strings), whatever the map's own order:
    // hash order differs from run to run and would defeat dedup (the seed's lesson).
    std::vector<const Entry*> entries;
    entries.reserve(m.size());
    for (const auto& e : m) {
      entries.push_back(&e);
    }
    std::sort(entries.begin(), entries.end(),
              [](const Entry* a, const Entry* b) { return std::less<K>{}(a->first, b->first); });
    if constexpr (k_string_keys) {
      w.begin_object();
      for (const Entry* e : entries) {
        w.name(e->first);
        Codec<V>::write(w, e->second);
      }
      w.end_object();
    } else {
      w.begin_array();
      for (const Entry* e : entries) {
        w.begin_array();
        Codec<K>::write(w, e->first);
        Codec<V>::write(w, e->second);
        w.end_array();
      }
      w.end_array();
    }
  }
  static Result<void> read(Reader& r, M& m)
  {
    m.clear();
    if constexpr (k_string_keys) {
      PAGABLE_TRY(r.begin_object());
      for (;;) {
        PAGABLE_TRY_ASSIGN(const auto name, r.next_member());
        if (!name) {
          return {};
        }
        auto [it, added] = m.try_emplace(std::string(*name));
        if (!added) {
          return r.mismatch("a key repeated in a map");
        }
        PAGABLE_TRY(Codec<V>::read(r, it->second));
      }
    } else {
      PAGABLE_TRY(r.begin_array());
      for (;;) {
        PAGABLE_TRY_ASSIGN(const bool more, r.next_item());
        if (!more) {
          return {};
        }
        std::pair<K, V> entry;
        PAGABLE_TRY((Codec<std::pair<K, V>>::read(r, entry)));
        if (!m.emplace(std::move(entry.first), std::move(entry.second)).second) {
          return r.mismatch("a key repeated in a map");
        }
      }
    }
  }
  static void handles(const M& m, HandleSink& sink)
  {
    if constexpr (k_handles) {
      for (const auto& [k, v] : m) {
        Codec<K>::handles(k, sink);
        Codec<V>::handles(v, sink);
      }
    }
  }
  static std::size_t heap_bytes(const M& m)
  {
    std::size_t n = m.size() * (sizeof(Entry) + (k_ordered ? k_tree_node_overhead : k_hash_node_overhead));
    if constexpr (!k_ordered) {
      n += m.bucket_count() * sizeof(void*);
    }
    for (const auto& [k, v] : m) {
      n += Codec<K>::heap_bytes(k) + Codec<V>::heap_bytes(v);
    }
    return n;
  }
  static nlohmann::json schema(SchemaContext& ctx)
  {
    if constexpr (k_string_keys) {
      return {{"type", "object"}, {"additionalProperties", Codec<V>::schema(ctx)}};
    } else {
      return {{"type", "array"}, {"items", Codec<std::pair<K, V>>::schema(ctx)}};
    }
  }
  static std::string label() { return "map"; }
};

} // namespace detail

template <typename K, typename V, typename C, typename A>
struct Codec<std::map<K, V, C, A>> : detail::MapCodec<std::map<K, V, C, A>, K, V, true> {};
template <typename K, typename V, typename H, typename E, typename A>
struct Codec<std::unordered_map<K, V, H, E, A>>
    : detail::MapCodec<std::unordered_map<K, V, H, E, A>, K, V, false> {};

} // namespace pagable::objects
