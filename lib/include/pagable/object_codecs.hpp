// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The codecs of object_io.hpp: scalars, strings, byte strings, enums, optional, variant and
// structs with fields; containers are in object_container_codecs.hpp (included below). Included
// by object_io.hpp; read that header for what each writes. Handles' codec is in objects.hpp.
// Thread-safety: stateless.

#include <pagable/object_io.hpp>

#include <algorithm>
#include <concepts>
#include <functional>
#include <string>

namespace pagable::objects {
namespace detail {

template <typename T>
inline constexpr bool is_char_v =
    std::is_same_v<T, char> || std::is_same_v<T, wchar_t> || std::is_same_v<T, char8_t> ||
    std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t>;

template <typename T>
concept Described = requires {
  typename T::pagable_described_type;
  T::pagable_fields();
};
template <typename T>
concept Polymorphic = requires { typename T::pagable_polymorphic_root; };
template <typename T>
concept DeclaresResidentSize = requires(const T& v) {
  { v.pagable_resident_size() } -> std::convertible_to<std::size_t>;
};
template <typename E>
concept NamedEnum = std::is_enum_v<E> && requires { pagable_enum_names(E{}); };

// Fields' names are distinct and none is the discriminator.
template <typename Tuple>
constexpr bool field_names_ok(const Tuple& fields)
{
  bool ok = true;
  std::apply(
      [&](const auto&... f) {
        const std::string_view names[] = {f.name...};
        for (std::size_t i = 0; i < sizeof...(f); ++i) {
          ok = ok && names[i] != k_type_member;
          for (std::size_t j = 0; j < i; ++j) {
            ok = ok && names[i] != names[j];
          }
        }
      },
      fields);
  return ok;
}

template <typename T>
struct FieldTypes;
template <typename... C, typename... M>
struct FieldTypes<std::tuple<Field<C, M>...>> {
  static constexpr bool k_handles = (Codec<M>::k_handles || ...);
};

// The bytes a container's allocation holds, and an estimate for tree and hash nodes.
inline constexpr std::size_t k_tree_node_overhead = 32; // red-black node: 3 pointers + colour
inline constexpr std::size_t k_hash_node_overhead = 16; // next pointer + cached hash

inline std::size_t string_heap_bytes(const std::string& s)
{
  // libstdc++ keeps up to 15 characters inside the string itself.
  return s.capacity() > 15 ? s.capacity() + 1 : 0;
}

template <typename T>
std::string integer_label()
{
  return (std::is_signed_v<T> ? "int" : "uint") + std::to_string(8 * sizeof(T));
}

template <typename V>
Result<void> read_value(Reader& r, V& v)
{
  return Codec<V>::read(r, v);
}

} // namespace detail

template <typename T>
std::size_t resident_size(const T& v)
{
  if constexpr (detail::DeclaresResidentSize<T>) {
    return v.pagable_resident_size();
  } else {
    return sizeof(T) + Codec<T>::heap_bytes(v);
  }
}

// --- scalars ---

template <>
struct Codec<bool> {
  static constexpr bool k_handles = false;
  static void write(Writer& w, const bool& v) { w.boolean(v); }
  static Result<void> read(Reader& r, bool& v)
  {
    PAGABLE_TRY_ASSIGN(v, r.read_bool());
    return {};
  }
  static void handles(const bool&, HandleSink&) {}
  static std::size_t heap_bytes(const bool&) { return 0; }
  static nlohmann::json schema(SchemaContext&) { return {{"type", "boolean"}}; }
  static std::string label() { return "bool"; }
};

template <typename T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool> && !detail::is_char_v<T>)
struct Codec<T> {
  static constexpr bool k_handles = false;
  static void write(Writer& w, const T& v)
  {
    if constexpr (std::is_signed_v<T>) {
      w.integer(static_cast<std::int64_t>(v));
    } else if (static_cast<std::uint64_t>(v) <= static_cast<std::uint64_t>(INT64_MAX)) {
      w.integer(static_cast<std::int64_t>(v));
    } else {
      w.unsigned_integer(static_cast<std::uint64_t>(v));
    }
  }
  static Result<void> read(Reader& r, T& v)
  {
    if constexpr (std::is_signed_v<T>) {
      PAGABLE_TRY_ASSIGN(const std::int64_t x, r.read_integer());
      if (x < std::numeric_limits<T>::min() || x > std::numeric_limits<T>::max()) {
        return r.mismatch(std::to_string(x) + " does not fit " + label());
      }
      v = static_cast<T>(x);
    } else {
      PAGABLE_TRY_ASSIGN(const std::uint64_t x, r.read_unsigned());
      if (x > std::numeric_limits<T>::max()) {
        return r.mismatch(std::to_string(x) + " does not fit " + label());
      }
      v = static_cast<T>(x);
    }
    return {};
  }
  static void handles(const T&, HandleSink&) {}
  static std::size_t heap_bytes(const T&) { return 0; }
  static nlohmann::json schema(SchemaContext&)
  {
    return {{"type", "integer"},
            {"minimum", std::numeric_limits<T>::min()},
            {"maximum", std::numeric_limits<T>::max()}};
  }
  static std::string label() { return detail::integer_label<T>(); }
};

template <typename T>
  requires std::is_floating_point_v<T>
struct Codec<T> {
  static constexpr bool k_handles = false;
  static void write(Writer& w, const T& v) { w.number(static_cast<double>(v)); }
  static Result<void> read(Reader& r, T& v)
  {
    PAGABLE_TRY_ASSIGN(const double x, r.read_number());
    v = static_cast<T>(x);
    return {};
  }
  static void handles(const T&, HandleSink&) {}
  static std::size_t heap_bytes(const T&) { return 0; }
  static nlohmann::json schema(SchemaContext&) { return {{"type", "number"}}; }
  static std::string label() { return sizeof(T) == 4 ? "float" : "double"; }
};

template <>
struct Codec<std::string> {
  static constexpr bool k_handles = false;
  static void write(Writer& w, const std::string& v) { w.string(v); }
  static Result<void> read(Reader& r, std::string& v)
  {
    PAGABLE_TRY_ASSIGN(const std::string_view s, r.read_string());
    v.assign(s);
    return {};
  }
  static void handles(const std::string&, HandleSink&) {}
  static std::size_t heap_bytes(const std::string& v) { return detail::string_heap_bytes(v); }
  static nlohmann::json schema(SchemaContext&) { return {{"type", "string"}}; }
  static std::string label() { return "string"; }
};

template <>
struct Codec<ByteString> {
  static constexpr bool k_handles = false;
  static void write(Writer& w, const ByteString& v) { w.bytes(v); }
  static Result<void> read(Reader& r, ByteString& v)
  {
    PAGABLE_TRY_ASSIGN(const std::string_view s, r.read_string());
    auto decoded = decode_base64(s);
    if (!decoded) {
      return r.mismatch(decoded.error().message());
    }
    v = std::move(decoded).value();
    return {};
  }
  static void handles(const ByteString&, HandleSink&) {}
  static std::size_t heap_bytes(const ByteString& v) { return v.capacity(); }
  static nlohmann::json schema(SchemaContext&)
  {
    return {{"type", "string"}, {"contentEncoding", "base64"}};
  }
  static std::string label() { return "bytes"; }
};

template <>
struct Codec<std::monostate> {
  static constexpr bool k_handles = false;
  static void write(Writer& w, const std::monostate&) { w.null(); }
  static Result<void> read(Reader& r, std::monostate&) { return r.read_null(); }
  static void handles(const std::monostate&, HandleSink&) {}
  static std::size_t heap_bytes(const std::monostate&) { return 0; }
  static nlohmann::json schema(SchemaContext&) { return {{"type", "null"}}; }
  static std::string label() { return "null"; }
};

// Enums with PAGABLE_ENUM: by name; others: by value.
template <typename E>
  requires std::is_enum_v<E>
struct Codec<E> {
  using U = std::underlying_type_t<E>;
  static constexpr bool k_handles = false;
  static void write(Writer& w, const E& v)
  {
    if constexpr (detail::NamedEnum<E>) {
      for (const auto& [value, name] : pagable_enum_names(E{})) {
        if (value == v) {
          w.string(name);
          return;
        }
      }
      w.fail(make_error(Errc::invalid_argument,
                        "enum value " + std::to_string(static_cast<U>(v)) + " has no name"));
    } else {
      Codec<U>::write(w, static_cast<U>(v));
    }
  }
  static Result<void> read(Reader& r, E& v)
  {
    if constexpr (detail::NamedEnum<E>) {
      PAGABLE_TRY_ASSIGN(const std::string_view s, r.read_string());
      for (const auto& [value, name] : pagable_enum_names(E{})) {
        if (name == s) {
          v = value;
          return {};
        }
      }
      return r.mismatch("\"" + std::string(s) + "\" is not a name of the enum");
    } else {
      U u{};
      PAGABLE_TRY(Codec<U>::read(r, u));
      v = static_cast<E>(u);
      return {};
    }
  }
  static void handles(const E&, HandleSink&) {}
  static std::size_t heap_bytes(const E&) { return 0; }
  static nlohmann::json schema(SchemaContext& ctx)
  {
    if constexpr (detail::NamedEnum<E>) {
      nlohmann::json names = nlohmann::json::array();
      for (const auto& [value, name] : pagable_enum_names(E{})) {
        names.push_back(name);
      }
      return {{"type", "string"}, {"enum", names}};
    } else {
      return Codec<U>::schema(ctx);
    }
  }
  static std::string label() { return "enum"; }
};

// --- optional and variant ---

template <typename T>
struct Codec<std::optional<T>> {
  static constexpr bool k_handles = Codec<T>::k_handles;
  static void write(Writer& w, const std::optional<T>& v)
  {
    if (v) {
      Codec<T>::write(w, *v);
    } else {
      w.null();
    }
  }
  static Result<void> read(Reader& r, std::optional<T>& v)
  {
    // Not peek_value(): a node is a present value (a handle's, which must not be followed).
    PAGABLE_TRY_ASSIGN(const Reader::Kind kind, r.peek());
    if (kind == Reader::Kind::null) {
      v.reset();
      return r.read_null();
    }
    v.emplace();
    return Codec<T>::read(r, *v);
  }
  static void handles(const std::optional<T>& v, HandleSink& sink)
  {
    if constexpr (k_handles) {
      if (v) {
        Codec<T>::handles(*v, sink);
      }
    }
  }
  static std::size_t heap_bytes(const std::optional<T>& v) { return v ? Codec<T>::heap_bytes(*v) : 0; }
  static nlohmann::json schema(SchemaContext& ctx)
  {
    return {{"anyOf", nlohmann::json::array({{{"type", "null"}}, Codec<T>::schema(ctx)})}};
  }
  static std::string label() { return "optional<" + Codec<T>::label() + ">"; }
};

template <typename... Ts>
struct Codec<std::variant<Ts...>> {
  using V = std::variant<Ts...>;
  static constexpr bool k_handles = (Codec<Ts>::k_handles || ...);
  static std::vector<std::string> labels() { return {Codec<Ts>::label()...}; }
  // Errc::invalid_argument when two alternatives would be written under one name.
  static Result<void> check_labels()
  {
    const auto names = labels();
    for (std::size_t i = 0; i < names.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (names[i] == names[j]) {
          return make_error(Errc::invalid_argument,
                            "two alternatives of a variant are both named \"" + names[i] + "\"");
        }
      }
    }
    return {};
  }
  static void write(Writer& w, const V& v)
  {
    if (auto ok = check_labels(); !ok) {
      w.fail(std::move(ok).error());
      return;
    }
    if (v.valueless_by_exception()) {
      w.fail(make_error(Errc::invalid_argument, "a variant without a value"));
      return;
    }
    w.begin_object();
    w.name(labels()[v.index()]);
    std::visit([&](const auto& alt) { Codec<std::remove_cvref_t<decltype(alt)>>::write(w, alt); }, v);
    w.end_object();
  }
  static Result<void> read(Reader& r, V& v)
  {
    PAGABLE_TRY(check_labels());
    PAGABLE_TRY(r.begin_object());
    PAGABLE_TRY_ASSIGN(const auto first, r.next_member());
    if (!first) {
      return r.mismatch("a variant is an object of one member, not an empty one");
    }
    const auto names = labels();
    const auto it = std::find(names.begin(), names.end(), *first);
    if (it == names.end()) {
      return r.mismatch("\"" + std::string(*first) + "\" is not an alternative of the variant");
    }
    PAGABLE_TRY(read_alternative(r, v, static_cast<std::size_t>(it - names.begin()),
                                 std::index_sequence_for<Ts...>{}));
    PAGABLE_TRY_ASSIGN(const auto more, r.next_member());
    if (more) {
      return r.mismatch("a variant is an object of one member");
    }
    return {};
  }
  static void handles(const V& v, HandleSink& sink)
  {
    if constexpr (k_handles) {
      std::visit([&](const auto& alt) { Codec<std::remove_cvref_t<decltype(alt)>>::handles(alt, sink); }, v);
    }
  }
  static std::size_t heap_bytes(const V& v)
  {
    return std::visit([](const auto& alt) { return Codec<std::remove_cvref_t<decltype(alt)>>::heap_bytes(alt); }, v);
  }
  static nlohmann::json schema(SchemaContext& ctx)
  {
    nlohmann::json properties = nlohmann::json::object();
    ((properties[Codec<Ts>::label()] = Codec<Ts>::schema(ctx)), ...);
    return {{"type", "object"},
            {"minProperties", 1},
            {"maxProperties", 1},
            {"properties", properties},
            {"additionalProperties", false}};
  }
  static std::string label() { return "variant"; }

private:
  template <std::size_t... I>
  static Result<void> read_alternative(Reader& r, V& v, std::size_t index, std::index_sequence<I...>)
  {
    Result<void> result;
    ((index == I ? (void)(result = detail::read_value(r, v.template emplace<I>())) : (void)0), ...);
    return result;
  }
};

// --- sequences, sets, arrays, pairs, tuples and maps ---

} // namespace pagable::objects

#include <pagable/object_container_codecs.hpp>

namespace pagable::objects {

// --- structs with fields ---

template <detail::Described T>
struct Codec<T> {
  static_assert(std::is_same_v<typename T::pagable_described_type, T>,
                "this type inherits PAGABLE_FIELDS from a base class: declare its own");
  static_assert(detail::field_names_ok(T::pagable_fields()),
                "two fields share a name, or a field is named \"$type\" (the discriminator)");
  using Fields = decltype(T::pagable_fields());
  static constexpr bool k_handles = detail::FieldTypes<Fields>::k_handles;

  static void write(Writer& w, const T& v)
  {
    w.begin_object();
    if constexpr (detail::Polymorphic<T>) {
      const std::string* name = detail::registered_name(w.registry(), typeid(T));
      if (name == nullptr) {
        w.fail(make_error(Errc::invalid_argument,
                          std::string(T::pagable_type_name()) +
                              " is polymorphic but has no stable name: register it"));
        return;
      }
      w.name(k_type_member);
      w.string(*name);
    }
    std::apply([&](const auto&... f) { ((w.name(f.name), write_member(w, v.*(f.member))), ...); },
               T::pagable_fields());
    w.end_object();
  }
  static Result<void> read(Reader& r, T& v)
  {
    PAGABLE_TRY(r.begin_object());
    constexpr auto fields = T::pagable_fields();
    for (;;) {
      PAGABLE_TRY_ASSIGN(const auto name, r.next_member());
      if (!name) {
        return {};
      }
      if constexpr (detail::Polymorphic<T>) {
        if (*name == k_type_member) {
          PAGABLE_TRY_ASSIGN(const std::string_view tag, r.read_string());
          const std::string* own = detail::registered_name(r.registry(), typeid(T));
          if (own == nullptr || *own != tag) {
            return r.mismatch("a \"" + std::string(tag) + "\" where a " +
                              (own ? *own : std::string(T::pagable_type_name())) + " belongs");
          }
          continue;
        }
      }
      bool found = false;
      Result<void> result;
      std::apply(
          [&](const auto&... f) {
            ((!found && f.named(*name) ? (void)(found = true, result = detail::read_value(r, v.*(f.member)))
                                       : (void)0),
             ...);
          },
          fields);
      if (!found) {
        result = r.skip(); // a member no field names (any more): ignored
      }
      PAGABLE_TRY(std::move(result));
    }
  }
  static void handles(const T& v, HandleSink& sink)
  {
    if constexpr (k_handles) {
      std::apply([&](const auto&... f) { (handles_of(v.*(f.member), sink), ...); }, T::pagable_fields());
    }
  }
  static std::size_t heap_bytes(const T& v)
  {
    return std::apply([&](const auto&... f) { return (std::size_t{0} + ... + heap_of(v.*(f.member))); },
                      T::pagable_fields());
  }
  // The definition: an object with every field required and no other member (a polymorphic
  // one's $type is its stable name).
  static nlohmann::json definition(SchemaContext& ctx, const std::string& type_name)
  {
    nlohmann::json properties = nlohmann::json::object();
    nlohmann::json required = nlohmann::json::array();
    if constexpr (detail::Polymorphic<T>) {
      properties[std::string(k_type_member)] = {{"const", type_name}};
      required.push_back(k_type_member);
    }
    std::apply(
        [&](const auto&... f) {
          ((properties[std::string(f.name)] = schema_of(ctx, v_type(f)), required.push_back(f.name)), ...);
        },
        T::pagable_fields());
    return {{"type", "object"},
            {"x-pagable-type", type_name},
            {"properties", properties},
            {"required", required},
            {"additionalProperties", false}};
  }
  static nlohmann::json schema(SchemaContext& ctx)
  {
    const std::string* stable = detail::registered_name(ctx.registry(), typeid(T));
    const std::string name = stable ? *stable : std::string(T::pagable_type_name());
    return ctx.ref(typeid(T), name, [&] { return definition(ctx, name); });
  }
  static std::string label() { return std::string(T::pagable_type_name()); }

private:
  template <typename M>
  static void write_member(Writer& w, const M& m)
  {
    Codec<M>::write(w, m);
  }
  template <typename M>
  static void handles_of(const M& m, HandleSink& sink)
  {
    Codec<M>::handles(m, sink);
  }
  template <typename M>
  static std::size_t heap_of(const M& m)
  {
    return Codec<M>::heap_bytes(m);
  }
  template <typename C, typename M>
  static M* v_type(const Field<C, M>&)
  {
    return nullptr;
  }
  template <typename M>
  static nlohmann::json schema_of(SchemaContext& ctx, M*)
  {
    return Codec<M>::schema(ctx);
  }
};

// --- Inline implementations ---

template <typename Build>
nlohmann::json SchemaContext::ref(std::type_index type, const std::string& name, Build&& build)
{
  const auto known = m_keys.find(type);
  if (known != m_keys.end()) {
    return {{"$ref", "#/$defs/" + known->second}};
  }
  const std::string key = def_key(type, name);
  m_defs[key] = nlohmann::json::object(); // a placeholder while it is built: types may recurse
  nlohmann::json def = build();
  m_defs[key] = std::move(def);
  return {{"$ref", "#/$defs/" + key}};
}

} // namespace pagable::objects
