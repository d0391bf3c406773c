// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Text helpers for JSON Pointers (RFC 6901) and URI fragments (RFC 3986), shared by the
// schema compiler and the node codec.

#include <string>
#include <string_view>

namespace pagable::util {

// Decodes %XX escapes (invalid escapes are kept as they are).
std::string percent_decode(std::string_view text);

// RFC 6901: "a/b~c" <-> "a~1b~0c".
std::string escape_pointer_token(std::string_view token);
std::string unescape_pointer_token(std::string_view token);

} // namespace pagable::util
