// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// RFC 3986 reference resolution and RFC 6901 JSON Pointer escapes, just enough for schema
// identifiers ($id, $ref, file URIs, URNs). No I/O, no normalisation beyond dot segments.

#include "util/pointer_text.hpp"

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

using util::escape_pointer_token;
using util::percent_decode;

// Splits a JSON Pointer ("" or "/a/b") into unescaped tokens; false if malformed.
bool split_pointer(std::string_view pointer, std::vector<std::string>& tokens);

} // namespace pagable::schema
