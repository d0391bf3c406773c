// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// pagable's one error type and a small expected<T, Error> of our own (clang 14 has no
// std::expected). Library functions return Result<T>; exceptions never cross a public
// header. Thread-safety: values only; no shared state.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace pagable {

// Values are stable: they appear in JSON reports and map to exit codes in cli/exit_codes.hpp.
// Append only.
enum class Errc : std::uint8_t {
  not_found = 1,        // a named root, key or file does not exist
  corrupt = 2,          // stored data fails its own checks (hash, frame, layout)
  invalid_input = 3,    // the input document is bad: syntax, schema, references, limits
  io = 4,               // the operating system refused: disk full, permission denied
  locked = 5,           // the archive's write lock was not free within the wait
  invalid_argument = 6, // the caller asked for something meaningless
  unusable_archive = 7, // missing, not a pagable archive, or of a newer format
  cancelled = 8,        // stopped on request (signal)
  internal = 9,         // a broken invariant of ours: a bug
  another_failed = 10,  // parallel work stopped because another worker failed first
  network = 11,         // a remote store could not be reached, or its registry refused
  unsupported = 12,     // a remote store does not offer what was asked (a registry that refuses DELETE)
};

// Stable lower-case name of a code, as used in JSON reports ("corrupt", "io", ...).
std::string_view errc_name(Errc code) noexcept;

class [[nodiscard]] Error {
public:
  Error(Errc code, std::string message) : m_code(code), m_message(std::move(message)) {}

  Errc code() const noexcept { return m_code; }
  const std::string& message() const noexcept { return m_message; }

  // Prefixes the message with `what` and ": ", e.g. "blob 3fa2c1…: " + message.
  Error with_context(std::string_view what) &&
  {
    m_message.insert(0, std::string(what) + ": ");
    return std::move(*this);
  }

private:
  Errc m_code;
  std::string m_message;
};

template <typename T>
class [[nodiscard]] Result {
public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}

  bool has_value() const noexcept { return m_v.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  // REQUIRES: has_value(). Aborts with the error's message otherwise (programmer error).
  T& value() &;
  const T& value() const&;
  T&& value() &&;
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // REQUIRES: !has_value().
  const Error& error() const& { return std::get<1>(m_v); }
  Error&& error() && { return std::get<1>(std::move(m_v)); }

private:
  std::variant<T, Error> m_v;
};

template <>
class [[nodiscard]] Result<void> {
public:
  Result() = default;
  Result(Error error) : m_error(std::move(error)) {}

  bool has_value() const noexcept { return !m_error.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const;
  const Error& error() const& { return *m_error; }
  Error&& error() && { return std::move(*m_error); }

private:
  std::optional<Error> m_error;
};

inline Error make_error(Errc code, std::string message)
{
  return Error(code, std::move(message));
}

namespace detail {
[[noreturn]] void abort_on_error(const Error& error);
} // namespace detail

// --- Inline implementations ---

template <typename T>
T& Result<T>::value() &
{
  if (!has_value()) {
    detail::abort_on_error(error());
  }
  return std::get<0>(m_v);
}

template <typename T>
const T& Result<T>::value() const&
{
  if (!has_value()) {
    detail::abort_on_error(error());
  }
  return std::get<0>(m_v);
}

template <typename T>
T&& Result<T>::value() &&
{
  if (!has_value()) {
    detail::abort_on_error(error());
  }
  return std::get<0>(std::move(m_v));
}

inline void Result<void>::value() const
{
  if (m_error) {
    detail::abort_on_error(*m_error);
  }
}

} // namespace pagable

#define PAGABLE_CONCAT_INNER_(a, b) a##b
#define PAGABLE_CONCAT_(a, b) PAGABLE_CONCAT_INNER_(a, b)

// Propagate an error from an expression returning Result<...>.
#define PAGABLE_TRY(expr) PAGABLE_TRY_IMPL_(PAGABLE_CONCAT_(pagable_try_, __COUNTER__), expr)
#define PAGABLE_TRY_IMPL_(tmp, expr)                                                               \
  do {                                                                                             \
    auto tmp = (expr);                                                                             \
    if (!tmp) {                                                                                    \
      return std::move(tmp).error();                                                               \
    }                                                                                              \
  } while (false)

// Declares `decl` initialised from the value of `expr`, or returns its error.
#define PAGABLE_TRY_ASSIGN(decl, expr)                                                             \
  PAGABLE_TRY_ASSIGN_IMPL_(PAGABLE_CONCAT_(pagable_try_, __COUNTER__), decl, expr)
#define PAGABLE_TRY_ASSIGN_IMPL_(tmp, decl, expr)                                                  \
  auto tmp = (expr);                                                                               \
  if (!tmp) {                                                                                      \
    return std::move(tmp).error();                                                                 \
  }                                                                                                \
  decl = std::move(tmp).value()
