// SPDX-License-Identifier: MIT OR Apache-2.0
// read_json_document: pack's grammar into a value, for validate (issue 20).
#include <pagable/json_document.hpp>

#include <catch2/catch.hpp>

#include <sstream>

using namespace pagable;
using nlohmann::json;

namespace {

Result<json> read(const std::string& text)
{
  std::istringstream in(text);
  return pack::read_json_document(in);
}

} // namespace

TEST_CASE("read_json_document: the value pack would store", "[pack][json_document]")
{
  const auto doc = read(R"({"a":[1,-2,1.5,"s",null,true,{"b":{}}],"c":{"d":[[],[0]]},"e":18446744073709551615})");
  REQUIRE(doc);
  CHECK(*doc == json::parse(R"({"a":[1,-2,1.5,"s",null,true,{"b":{}}],"c":{"d":[[],[0]]},"e":18446744073709551615})"));
  // The same name in two objects is no repetition.
  CHECK(read(R"({"a":{"x":1},"b":{"x":2},"x":3})"));
  // Beyond binary64, an integer is its nearest double (here, infinity) in the value.
  const auto big = read(std::string(400, '9'));
  REQUIRE(big);
  CHECK(big->is_number_float());
}

TEST_CASE("read_json_document: refuses what pack refuses, saying where", "[pack][json_document]")
{
  struct Bad {
    std::string doc;
    const char* message;
  };
  for (const Bad& b : {Bad{std::string("{}\0{}", 5), "line 1, column 3"},
                       Bad{"{\"a\":1,\n\"b\":{\"x\":1,\"x\":2}}", "duplicate member name \"x\" at line 2"},
                       Bad{"[1e400]", "overflows binary64"}, Bad{"[1e-400]", "rounds to zero"},
                       Bad{"", "the input is empty"}, Bad{"[1,]", "line 1, column 4"}}) {
    INFO(b.doc);
    const auto r = read(b.doc);
    REQUIRE(!r);
    CHECK(r.error().code() == Errc::invalid_input);
    CHECK_THAT(r.error().message(), Catch::Contains(b.message));
  }
  const auto missing = pack::read_json_document(std::string("/nonexistent/doc.json"));
  REQUIRE(!missing);
  CHECK(missing.error().code() == Errc::not_found);
}
