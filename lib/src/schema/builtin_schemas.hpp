// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The texts of schemas/meta/*.json, compiled in by lib/CMakeLists.txt (builtin_schemas.cpp is
// generated from those files at configure time).

#include <cstddef>

namespace pagable::schema {

extern const char* const k_builtin_schemas[];
extern const std::size_t k_builtin_schema_count;

} // namespace pagable::schema
