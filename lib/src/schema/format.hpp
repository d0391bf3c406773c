// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Checks for the `format` values asserted with SchemaOptions::validate_formats.

#include <string_view>

namespace pagable::schema {

enum class Format : unsigned char {
  none, // unknown or not asserted: always passes
  date_time, date, time, duration, email, idn_email, hostname, idn_hostname, ipv4, ipv6,
  uri, uri_reference, iri, iri_reference, uuid, regex, json_pointer, relative_json_pointer,
};

Format format_from_name(std::string_view name) noexcept;

// True if `value` is valid for `format` (Format::none: always).
bool check_format(Format format, std::string_view value);

} // namespace pagable::schema
