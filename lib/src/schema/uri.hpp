// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// RFC 3986 reference resolution and RFC 6901 JSON Pointer escapes, just enough for schema
// identifiers ($id, $ref, file URIs, URNs). No I/O, no normalisation beyond dot segments.

#include <string>
#include <string_view>
#include <vector>

namespace pagable::schema {

// Resolves `ref` against the absolute URI `base` (RFC 3986 section 5.2).
std::string resolve_uri(std::string_view base, std::string_view ref);

// Splits "uri#fragment" into "uri" and "fragment" (without '#'); no '#' gives "".
std::pair<std::string, std::string> split_fragment(std::string_view uri);

// The path component of an absolute URI ("" for a URN or when there is none).
std::string uri_path(std::string_view uri);

// "file://" URI of an absolute or relative file system path.
std::string file_uri(const std::string& path);

// Decodes %XX escapes (invalid escapes are kept as they are).
std::string percent_decode(std::string_view text);

// RFC 6901: "a/b~c" <-> "a~1b~0c".
std::string escape_pointer_token(std::string_view token);
std::string unescape_pointer_token(std::string_view token);

// Splits a JSON Pointer ("" or "/a/b") into unescaped tokens; false if malformed.
bool split_pointer(std::string_view pointer, std::vector<std::string>& tokens);

} // namespace pagable::schema
