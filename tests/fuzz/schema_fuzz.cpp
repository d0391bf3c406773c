// SPDX-License-Identifier: MIT OR Apache-2.0
// libFuzzer target: JSON Schema compile and validate. The input is a schema and an instance,
// both JSON text, separated by the first NUL byte. Properties checked, besides no crash, hang
// or sanitizer report (hostile schemas meet the compiler's depth, stack and regex limits):
// - compiling never fails with Errc::internal;
// - the node-by-node validator pack uses (NodeValidator) gives the whole-document
//   validator's verdict on the same instance (docs/SCHEMA.md "Streaming validation"), unless
//   one of them stopped at a limit;
// - the schema's bundle (what the archive stores) compiles again and gives the same verdict.
// Seeds: tests/fuzz/corpus/schema_fuzz (committed; the default test run replays them).
#include "fuzz_support.hpp"

#include <pagable/schema.hpp>

#include <string>

using namespace pagable;

namespace {

// Feeds `value` to `v` as pack's walk does: members and elements in document order.
void feed(schema::NodeValidator& v, const nlohmann::json& value)
{
  if (v.stopped()) {
    return;
  }
  if (value.is_object()) {
    v.begin_object();
    for (const auto& [k, member] : value.items()) {
      v.key(k);
      feed(v, member);
    }
    v.end_container();
  } else if (value.is_array()) {
    v.begin_array();
    for (const auto& element : value) {
      feed(v, element);
    }
    v.end_container();
  } else {
    v.scalar(value);
  }
}

// A verdict a limit decided proves nothing about the other validator's.
bool at_a_limit(const schema::ValidationReport& r)
{
  for (const auto& e : r.errors) {
    const auto& m = e.message;
    if (m.find("too deep") != std::string::npos || m.find("limit") != std::string::npos ||
        m.find("stack") != std::string::npos || m.find("buffer") != std::string::npos) {
      return true;
    }
  }
  return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto nul = input.find('\0');
  if (nul == std::string::npos) {
    return 0;
  }
  const auto schema_doc = nlohmann::json::parse(input.substr(0, nul), nullptr, false);
  const auto instance = nlohmann::json::parse(input.substr(nul + 1), nullptr, false);
  if (schema_doc.is_discarded() || instance.is_discarded()) {
    return 0;
  }
  schema::SchemaOptions options;
  options.max_errors = 1000;
  auto compiled = schema::compile_schema(schema_doc, options);
  if (!compiled) {
    if (compiled.error().code() == Errc::internal) {
      fuzz::fail("schema_fuzz", "compile failed with an internal error: " + compiled.error().message());
    }
    return 0;
  }
  const auto whole = (*compiled)->validate(instance);
  auto streaming = (*compiled)->node_validator();
  feed(*streaming, instance);
  const auto& streamed = streaming->report();
  if (!streaming->stopped() && !at_a_limit(whole) && !at_a_limit(streamed) && whole.valid != streamed.valid) {
    const auto first = [](const schema::ValidationReport& r) {
      return r.errors.empty() ? std::string() : r.errors.front().to_string();
    };
    fuzz::fail("schema_fuzz", std::string("validate says ") + (whole.valid ? "valid" : "invalid") +
                                  ", the node-by-node validator " +
                                  (streamed.valid ? "valid" : "invalid") + ": " + first(whole) +
                                  " / " + first(streamed));
  }
  auto reloaded = schema::load_schema_bundle((*compiled)->bundle(), options);
  if (!reloaded) {
    fuzz::fail("schema_fuzz", "the bundle does not compile again: " + reloaded.error().message());
  }
  const auto again = (*reloaded)->validate(instance);
  if (!at_a_limit(whole) && !at_a_limit(again) && again.valid != whole.valid) {
    fuzz::fail("schema_fuzz", "the bundle's verdict differs from the schema's");
  }
  return 0;
}
