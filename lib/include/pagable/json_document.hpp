// SPDX-License-Identifier: MIT OR Apache-2.0
// One JSON document read into a value with pack's grammar (lib/src/pack/json_reader.hpp), so
// that every command that reads JSON agrees with `pack` on what JSON is: strict RFC 8259 (no
// comments), nothing but white space after the document (a NUL byte is not white space), no
// repeated member name in an object, zstd and gzip input recognised by their magic bytes.
// Numbers (the policy of man/pagable.1, "NUMBERS"): an integer literal is kept exactly at any
// length by pack; in the value read here one beyond 64 bits is its nearest binary64 (or
// +-infinity past 1.8e308), which is what a schema's numeric keywords compare. A literal with
// a fraction or an exponent that overflows binary64, or that is not zero yet rounds to zero,
// is bad input.
// Thread-safety: the functions keep no state; concurrent calls on distinct inputs are safe.
#pragma once

#include <pagable/result.hpp>

#include <nlohmann/json.hpp>

#include <istream>
#include <string>

namespace pagable::pack {

// Reads the document in `input` (plain bytes; decompress first, as open_input does).
// Errors: Errc::invalid_input naming line, column and what is wrong.
Result<nlohmann::json> read_json_document(std::istream& input);

// Reads the document at `path` ("-" = standard input), decompressing zstd or gzip input.
// Errors: Errc::not_found / Errc::io when it cannot be opened or read, Errc::invalid_input
// as above.
Result<nlohmann::json> read_json_document(const std::string& path);

} // namespace pagable::pack
