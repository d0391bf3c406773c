// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// How a C++ value is written as the JSON value it prints as, read back from it, measured and
// described by a JSON Schema (objects.hpp's handles, pager and registry build on it). The
// encoding is the archive's node encoding (docs/FORMAT.md), written through pack's own node
// writer, so `pagable hydrate` prints a C++ value and `pagable pack` reads one
// (docs/OBJECTS.md "How values are written").
//
// A type says how it is written by declaring its fields, in one line:
//
//   struct Rule {
//     std::string name;
//     std::vector<std::string> command;
//     PAGABLE_FIELDS(Rule, name, command)
//   };
//
// or, for renamed fields, by writing the static function the macro writes:
//
//   static constexpr auto pagable_fields() {
//     return std::make_tuple(pagable::objects::field("cmd", &Rule::command).alias("command"));
//   }
//
// Fields are written by name, in declaration order. On read, a field that is absent keeps
// the value the type's default constructor gave it (a type may gain a field), a member no
// field names is skipped (a type may lose one), and an alias names a field's older names.
// Codecs exist for bool, integers of every width (not char), float and double (finite
// only), std::string, ByteString (base64 text), enums (by name with PAGABLE_ENUM, else by
// value), std::optional, std::variant (an object whose one member names the alternative),
// std::vector/deque/list/array, std::set/unordered_set (sorted), std::map/unordered_map
// (string keys: an object with members in byte order of their names; other keys: an array
// of [key, value] pairs in key order), std::pair/tuple (arrays), structs with fields, and
// handles (objects.hpp). A type with a codec of its own specialises Codec<T>.
//
// Thread-safety: codecs are stateless; a Writer or Reader is used by one thread at a time.

#include <pagable/key.hpp>
#include <pagable/result.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeindex>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

namespace pagable::objects {

class Registry;
namespace detail {
class Cell;
struct ValueOps;
// The stable name `type` is registered under in `registry`, or nullptr (registry.cpp).
const std::string* registered_name(const Registry& registry, std::type_index type);
} // namespace detail

// The member a polymorphic value writes first: its stable name ("build.Copy/1"). A field of
// this name is refused.
inline constexpr std::string_view k_type_member = "$type";

// A byte string: written as base64 text (RFC 4648, padded), since node strings are UTF-8.
using ByteString = std::vector<std::byte>;
std::string encode_base64(std::span<const std::byte> bytes);
// Errc::invalid_input for text that is not padded base64.
Result<ByteString> decode_base64(std::string_view text);

// Where a value's events go: pack's node writer for page-out (objects.cpp). The first error
// sticks (fail()); later events are ignored, and the caller reads error() at the end.
class Writer {
public:
  virtual ~Writer() = default;
  virtual void null() = 0;
  virtual void boolean(bool v) = 0;
  virtual void integer(std::int64_t v) = 0;
  virtual void unsigned_integer(std::uint64_t v) = 0;
  // A NaN or an infinity fails the write (Errc::invalid_argument, naming where).
  virtual void number(double v) = 0;
  // Text that is not UTF-8 fails the write (use ByteString for bytes).
  virtual void string(std::string_view v) = 0;
  void bytes(std::span<const std::byte> v) { string(encode_base64(v)); }
  virtual void begin_object() = 0;
  virtual void name(std::string_view member) = 0; // before each member's value
  virtual void end_object() = 0;
  virtual void begin_array() = 0;
  virtual void end_array() = 0;
  // A handle: its value's node (stored first: page-out stores children before parents).
  virtual void handle(const std::shared_ptr<detail::Cell>& cell) = 0;
  virtual void fail(Error error) = 0;
  virtual bool failed() const = 0;
  // The registry polymorphic values are written by (their stable names).
  virtual const Registry& registry() const = 0;
};

// Where a value's events come from: a stored node (objects.cpp). Containers may be chunked
// and values may be nodes of their own: the reader follows both, except where a handle
// takes a node's key instead (peek() says Kind::node).
class Reader {
public:
  enum class Kind : std::uint8_t { null, boolean, integer, big_integer, number, string, array, object, node };
  virtual ~Reader() = default;
  // The kind of the next value, without following a node (Kind::node: a ref to one).
  virtual Result<Kind> peek() = 0;
  // The same, after following nodes: never Kind::node.
  virtual Result<Kind> peek_value() = 0;
  // Consumes a ref and returns the key of its node. REQUIRES: peek() == Kind::node.
  virtual Result<Key> take_node() = 0;
  // Scalars (after following nodes); a value of another kind is Errc::invalid_input naming
  // where it is and what it is.
  virtual Result<bool> read_bool() = 0;
  virtual Result<std::int64_t> read_integer() = 0;
  virtual Result<std::uint64_t> read_unsigned() = 0;
  virtual Result<double> read_number() = 0; // an integer reads as the nearest double
  virtual Result<void> read_null() = 0;
  // Valid until the next call on the reader.
  virtual Result<std::string_view> read_string() = 0;
  // Containers: begin_*, then next_member()/next_item() until it says the end.
  virtual Result<void> begin_object() = 0;
  // The next member's name (valid until the next call), or nullopt after the last member.
  virtual Result<std::optional<std::string_view>> next_member() = 0;
  virtual Result<void> begin_array() = 0;
  // Returns true iff another item follows (it is then the next value).
  virtual Result<bool> next_item() = 0;
  // Skips the next value, whatever it is.
  virtual Result<void> skip() = 0;
  // The string value of member `member` of the object that is the next value, reading
  // nothing (nullopt when it has none). For polymorphic values, whose stable name tells what
  // to read; usually the first member.
  virtual Result<std::optional<std::string>> peek_member_string(std::string_view member) = 0;
  // The handle of the stored value `key` as type `ops` (the same handle every time while one
  // lives: identity is kept, DESIGN §2), not read yet.
  virtual std::shared_ptr<detail::Cell> handle(const detail::ValueOps& ops, const Key& key) = 0;
  // A handle whose value was stored inline (a document packed without x-pagable-arc there):
  // a new resident value.
  virtual std::shared_ptr<detail::Cell> adopt(const detail::ValueOps& ops,
                                              std::shared_ptr<const void> value,
                                              std::size_t resident_bytes) = 0;
  // Errc::invalid_input: `what` at the reader's position (a JSON pointer).
  virtual Error mismatch(std::string_view what) const = 0;
  virtual const Registry& registry() const = 0;
};

// Collects the handles a value holds (page-out stores them first).
class HandleSink {
public:
  virtual ~HandleSink() = default;
  virtual void handle(const std::shared_ptr<detail::Cell>& cell) = 0;
  virtual void fail(Error error) = 0;
  virtual const Registry& registry() const = 0;
};

// Builds a JSON Schema (2020-12) of the types a value uses: each struct and polymorphic
// family once under $defs, `x-pagable-type` naming it, `x-pagable-arc: true` where handles
// are (docs/OBJECTS.md "The generated schema").
class SchemaContext {
public:
  explicit SchemaContext(const Registry& registry) : m_registry(registry) {}
  const Registry& registry() const noexcept { return m_registry; }
  // {"$ref": "#/$defs/NAME"} for `type`, building its definition with `build` the first time
  // (`name` is also its x-pagable-type; a second type of the same name gets "NAME-2").
  template <typename Build>
  nlohmann::json ref(std::type_index type, const std::string& name, Build&& build);
  nlohmann::json& defs() noexcept { return m_defs; }
  // The first problem met (a type named twice by the registry, say), or nullopt.
  std::optional<Error>& error() noexcept { return m_error; }

private:
  std::string def_key(std::type_index type, const std::string& name);
  const Registry& m_registry;
  nlohmann::json m_defs = nlohmann::json::object();
  std::map<std::type_index, std::string> m_keys;
  std::optional<Error> m_error;
};

// A field of a struct: its JSON name, the member, and older names it was written under.
template <typename C, typename M>
struct Field {
  static constexpr std::size_t k_max_aliases = 4;
  std::string_view name;
  M C::*member;
  std::array<std::string_view, k_max_aliases> aliases{};
  std::size_t alias_count = 0;

  // The field was written as `old` before (a rename); several may be given.
  constexpr Field alias(std::string_view old) const
  {
    Field f = *this;
    f.aliases[f.alias_count++] = old; // at most k_max_aliases
    return f;
  }
  // Returns true iff `n` is the field's name or one of its aliases.
  constexpr bool named(std::string_view n) const
  {
    if (n == name) {
      return true;
    }
    for (std::size_t i = 0; i < alias_count; ++i) {
      if (aliases[i] == n) {
        return true;
      }
    }
    return false;
  }
};

template <typename C, typename M>
constexpr Field<C, M> field(std::string_view name, M C::*member)
{
  return Field<C, M>{name, member};
}

// The codec of T (specialisations below and in objects.hpp). Each has:
//   static constexpr bool k_handles;                  // can a T hold handles?
//   static void write(Writer&, const T&);
//   static Result<void> read(Reader&, T&);
//   static void handles(const T&, HandleSink&);       // every handle a T holds
//   static std::size_t heap_bytes(const T&);          // memory it owns beyond sizeof(T)
//   static nlohmann::json schema(SchemaContext&);
//   static std::string label();                       // its name as a variant alternative
template <typename T, typename Enable = void>
struct Codec;

// A value's resident size, what a pager counts against its budget: sizeof(T) plus the memory
// its strings and containers own (their capacities, tree and hash nodes estimated), not what
// its handles point to; or what T::pagable_resident_size() says when T declares one.
template <typename T>
std::size_t resident_size(const T& v);

} // namespace pagable::objects

// --- Declaring fields ---

// Inside a struct: PAGABLE_FIELDS(Type, member, ...) declares each member as a field named
// like the member, in that order (up to 48).
#define PAGABLE_FIELDS(Type, ...)                                                                  \
  using pagable_described_type = Type;                                                             \
  static constexpr std::string_view pagable_type_name() { return #Type; }                          \
  static constexpr auto pagable_fields()                                                           \
  {                                                                                                \
    return std::make_tuple(PAGABLE_FOR_EACH_(PAGABLE_FIELD_OF_, Type, __VA_ARGS__));               \
  }

// Inside the base class of a polymorphic family (which has a virtual destructor): handles to
// it and to its derived classes are one family, written with their stable names.
#define PAGABLE_POLYMORPHIC(Base)                                                                  \
  using pagable_polymorphic_root = Base;                                                           \
  static constexpr std::string_view pagable_family_name() { return #Base; }

// At namespace scope: PAGABLE_ENUM(Enum, a, b, ...) writes the enum's values by name.
#define PAGABLE_ENUM(Enum, ...)                                                                    \
  [[maybe_unused]] constexpr auto pagable_enum_names(Enum)                                         \
  {                                                                                                \
    return std::array{PAGABLE_FOR_EACH_(PAGABLE_ENUM_PAIR_, Enum, __VA_ARGS__)};                   \
  }

#define PAGABLE_FIELD_OF_(Type, m) ::pagable::objects::field(#m, &Type::m)
#define PAGABLE_ENUM_PAIR_(Enum, v) std::pair<Enum, std::string_view>(Enum::v, #v)

#include <pagable/object_macros.hpp>
#include <pagable/object_codecs.hpp>
