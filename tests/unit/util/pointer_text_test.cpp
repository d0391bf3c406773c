// SPDX-License-Identifier: MIT OR Apache-2.0
#include "util/pointer_text.hpp"
#include "support/text.hpp"

#include <catch2/catch.hpp>

using pagable::util::escape_pointer_token;
using pagable::util::parse_pointer;
using pagable::util::PointerEscapes;

TEST_CASE("pointer_text: one parser for every JSON Pointer, strict or lenient about escapes",
          "[util]")
{
  using V = std::vector<std::string>;
  CHECK(parse_pointer("").value().empty());
  CHECK(parse_pointer("/").value() == V{""});
  CHECK(parse_pointer("/a~1b/~0/0").value() == V{"a/b", "~", "0"});
  CHECK(parse_pointer("//x").value() == V{"", "x"});
  CHECK(parse_pointer("a").error().code() == pagable::Errc::invalid_argument);
  // A bad escape: refused where a user or a document wrote it, kept in a schema location.
  CHECK(parse_pointer("/a~2").error().code() == pagable::Errc::invalid_argument);
  CHECK(parse_pointer("/a~").error().code() == pagable::Errc::invalid_argument);
  CHECK(parse_pointer("/a~2", PointerEscapes::lenient).value() == V{"a~2"});
  CHECK(parse_pointer("/a~", PointerEscapes::lenient).value() == V{"a~"});
  CHECK_FALSE(parse_pointer("a", PointerEscapes::lenient));
  for (const std::string token : {"plain", "a/b", "~", "~1", "/~0/"}) {
    CHECK(parse_pointer(test::cat("/", escape_pointer_token(token))).value() == V{token});
  }
}

TEST_CASE("pointer_text: percent-encoding keeps the unreserved and the characters asked for",
          "[util]")
{
  using pagable::util::percent_decode;
  using pagable::util::percent_encode;
  CHECK(percent_encode("a-b._~Z9") == "a-b._~Z9");
  CHECK(percent_encode("a b/c=d&e\xC3\xA9") == "a%20b%2Fc%3Dd%26e%C3%A9");
  CHECK(percent_encode("/a b:c@d", ":@/") == "/a%20b:c@d");
  CHECK(percent_encode("%") == "%25");
  for (const std::string text : {"", "plain", "a b%c/d?e#f", "\x01\xFF"}) {
    CHECK(percent_decode(percent_encode(text)) == text);
  }
}
