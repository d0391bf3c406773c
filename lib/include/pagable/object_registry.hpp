// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Registry: stable, versioned names of C++ types ("build.Copy/1") -- the typetag of the seed.
// A value of a polymorphic family (PAGABLE_POLYMORPHIC) is written with its most-derived
// type's name as its "$type" member, and read back by looking that name up here, so the
// name, not the C++ name, is what archives depend on. Registration is explicit (a call at
// start-up, not a static initialiser that a static library may leave out of the link), and
// a pager owns the registry its values are written and read with (Pager::types()).
// Names are `<name>/<version>`: letters, digits and `_.:-`, a slash, a version number; a
// type whose written form changes incompatibly gets a new version.
// Thread-safety: add() and the lookups may be called from any thread; entries, once added,
// never change or move.

#include <pagable/object_io.hpp>
#include <pagable/result.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <typeindex>
#include <vector>

namespace pagable::objects {

// What the registry knows of one type.
struct TypeEntry {
  std::string name;                      // the stable name
  std::type_index type = typeid(void);   // the C++ type
  std::type_index family = typeid(void); // its polymorphic family's base (type itself if none)
  bool polymorphic = false;
  std::string cpp_name;                  // PAGABLE_FIELDS' type name, for messages
  // `value` points at the family base's subobject of a value of `type`.
  void (*write)(Writer& w, const void* value) = nullptr;
  // A new value of `type`, as a pointer to its family base's subobject; `resident` its size.
  Result<std::shared_ptr<const void>> (*read)(Reader& r, std::size_t& resident) = nullptr;
  void (*handles)(const void* value, HandleSink& sink) = nullptr;
  nlohmann::json (*schema)(SchemaContext& ctx) = nullptr;
};

class Registry {
public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registers T (a struct with PAGABLE_FIELDS) under `stable_name`. A polymorphic T's values
  // then write it as "$type"; any T gets it as its schema's x-pagable-type.
  // Errc::invalid_argument naming the problem when the name is malformed, or is registered
  // already, or T is (the seed silently took the last of two: values then misread).
  template <typename T>
  Result<void> add(std::string stable_name);

  // The entry registered under `name`, or nullptr.
  const TypeEntry* find(std::string_view name) const;
  // The entry registered for `type`, or nullptr.
  const TypeEntry* find(std::type_index type) const;
  // The registered members of a polymorphic family, by name.
  std::vector<const TypeEntry*> family(std::type_index base) const;

private:
  Result<void> add_entry(TypeEntry entry);
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// --- Inline implementations ---

template <typename T>
Result<void> Registry::add(std::string stable_name)
{
  static_assert(detail::Described<T>, "register a struct that declares PAGABLE_FIELDS");
  TypeEntry e;
  e.name = std::move(stable_name);
  e.type = typeid(T);
  e.cpp_name = std::string(T::pagable_type_name());
  if constexpr (detail::Polymorphic<T>) {
    using Base = typename T::pagable_polymorphic_root;
    static_assert(std::has_virtual_destructor_v<Base>,
                  "the base of a polymorphic family needs a virtual destructor");
    static_assert(std::is_base_of_v<Base, T>, "PAGABLE_POLYMORPHIC names a base of the type");
    static_assert(std::is_default_constructible_v<T>, "a registered type is read into a default-constructed value");
    e.family = typeid(Base);
    e.polymorphic = true;
    e.write = [](Writer& w, const void* v) {
      Codec<T>::write(w, dynamic_cast<const T&>(*static_cast<const Base*>(v)));
    };
    e.read = [](Reader& r, std::size_t& resident) -> Result<std::shared_ptr<const void>> {
      auto value = std::make_shared<T>();
      PAGABLE_TRY(Codec<T>::read(r, *value));
      resident = resident_size(*value);
      return std::static_pointer_cast<const void>(std::shared_ptr<const Base>(std::move(value)));
    };
    e.handles = [](const void* v, HandleSink& sink) {
      Codec<T>::handles(dynamic_cast<const T&>(*static_cast<const Base*>(v)), sink);
    };
  } else {
    e.family = typeid(T);
    e.write = [](Writer& w, const void* v) { Codec<T>::write(w, *static_cast<const T*>(v)); };
    e.read = [](Reader& r, std::size_t& resident) -> Result<std::shared_ptr<const void>> {
      auto value = std::make_shared<T>();
      PAGABLE_TRY(Codec<T>::read(r, *value));
      resident = resident_size(*value);
      return std::static_pointer_cast<const void>(std::shared_ptr<const T>(std::move(value)));
    };
    e.handles = [](const void* v, HandleSink& sink) { Codec<T>::handles(*static_cast<const T*>(v), sink); };
  }
  e.schema = [](SchemaContext& ctx) { return Codec<T>::schema(ctx); };
  return add_entry(std::move(e));
}

} // namespace pagable::objects
