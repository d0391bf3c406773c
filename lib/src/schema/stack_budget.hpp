// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// How much machine stack a recursive walk has used since it started, so that hostile input
// (deep nesting, $ref loops) ends with an error before the stack overflows -- whatever the
// frame sizes of this build (sanitizers make frames several times larger).

#include <cstddef>
#include <cstdint>

namespace pagable::schema {

class StackBudget {
public:
  explicit StackBudget(std::size_t bytes) noexcept : m_base(here()), m_bytes(bytes) {}

  bool exceeded() const noexcept
  {
    const std::uintptr_t now = here();
    return (m_base > now ? m_base - now : now - m_base) > m_bytes;
  }

private:
  // The frame address is the real stack even when ASan moves locals to a fake stack.
  static std::uintptr_t here() noexcept
  {
    return reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  }

  std::uintptr_t m_base;
  std::size_t m_bytes;
};

} // namespace pagable::schema
