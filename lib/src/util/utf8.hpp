// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF): what pack
// accepts in JSON text, what a C++ string field must hold, and what a root name must be
// (names appear in JSON reports). Thread-safety: pure functions.

#include <cstddef>
#include <string>
#include <string_view>

namespace pagable::util {

// Returns true iff `s` is well-formed UTF-8.
bool is_utf8(std::string_view s) noexcept;

// `s` with each byte that is not part of a well-formed sequence replaced by `replacement`,
// cut to at most `max_bytes` without splitting a sequence.
std::string utf8_repaired(std::string_view s, char replacement, std::size_t max_bytes);

} // namespace pagable::util
