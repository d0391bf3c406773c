// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Text helpers for JSON Pointers (RFC 6901) and URI fragments (RFC 3986), shared by the
// schema compiler and the node codec.

#include <pagable/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pagable::util {

// Decodes %XX escapes (invalid escapes are kept as they are).
std::string percent_decode(std::string_view text);
// Encodes as %XX (upper-case hex) every byte but RFC 3986's unreserved characters (letters,
// digits, "-._~") and those in `also_plain`: "" for a query value, a fragment's sub-delims
// and ":@/?" for a JSON pointer in a URI fragment (RFC 6901 §6).
std::string percent_encode(std::string_view text, std::string_view also_plain = "");

// RFC 6901: "a/b~c" <-> "a~1b~0c".
std::string escape_pointer_token(std::string_view token);

// What parse_pointer does with a '~' not followed by 0 or 1.
enum class PointerEscapes : std::uint8_t {
  strict,  // an error: what a user typed (`hydrate --at`) or a document's `$ref` says
  lenient, // kept as it is: schema locations, where a resource may spell one loosely
};

// The reference tokens of a JSON Pointer ("" = none: the whole document), unescaped.
// Errc::invalid_argument when it does not start with '/', or (strict) has a bad escape.
Result<std::vector<std::string>> parse_pointer(std::string_view pointer,
                                               PointerEscapes escapes = PointerEscapes::strict);

} // namespace pagable::util
