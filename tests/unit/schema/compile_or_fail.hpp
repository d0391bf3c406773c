// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Compiles a schema for a test, failing the test (with the compiler's message) when it does
// not compile.
#include <pagable/schema.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <memory>

namespace test {

inline std::shared_ptr<const pagable::schema::Schema>
compile(const nlohmann::json& schema, pagable::schema::SchemaOptions options = {})
{
  auto s = pagable::schema::compile_schema(schema, options);
  if (!s) {
    FAIL("schema did not compile: " << s.error().message());
  }
  return *s;
}

} // namespace test
