// SPDX-License-Identifier: MIT OR Apache-2.0
// JsonReader must give pack the events nlohmann::json::sax_parse gives (pack used it before):
// the same values, number types and literals, the same documents rejected, and errors at the
// same line and column.
#include "pack/json_reader.hpp"

#include "support/temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

using namespace pagable;

namespace {

using json = nlohmann::json;

// Events as text, and the error's position when there is one.
struct Recording {
  std::vector<std::string> events;
  bool ok = false;
  std::string where; // "line L, column C" of the error
  std::string message;
};

std::string position_in(const std::string& message)
{
  const auto at = message.find("at line ");
  if (at == std::string::npos) {
    return "(none)";
  }
  int line = 0;
  int col = 0;
  if (std::sscanf(message.c_str() + at, "at line %d, column %d", &line, &col) != 2) {
    return "(none)";
  }
  return "at line " + std::to_string(line) + ", column " + std::to_string(col);
}

std::pair<int, int> line_and_column(const std::string& where)
{
  int line = 0;
  int col = 0;
  REQUIRE(std::sscanf(where.c_str(), "at line %d, column %d", &line, &col) == 2);
  return {line, col};
}

struct Recorder {
  Recording* r;
  bool null() { return add("null"); }
  bool boolean(bool v) { return add(v ? "true" : "false"); }
  bool number_integer(std::int64_t v) { return add("int " + std::to_string(v)); }
  bool number_unsigned(std::uint64_t v) { return add("uint " + std::to_string(v)); }
  bool number_float(double v, const std::string& literal)
  {
    std::ostringstream s;
    s.precision(17);
    s << "float " << v << " " << literal;
    return add(s.str());
  }
  bool string(std::string& s) { return add("string " + json(s).dump()); }
  bool start_object(std::size_t) { return add("{"); }
  bool key(std::string& s) { return add("key " + json(s).dump()); }
  bool end_object() { return add("}"); }
  bool start_array(std::size_t) { return add("["); }
  bool end_array() { return add("]"); }
  bool add(std::string e)
  {
    r->events.push_back(std::move(e));
    return true;
  }
  // nlohmann's
  bool binary(json::binary_t&) { return add("binary"); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e)
  {
    r->message = e.what();
    r->where = position_in(r->message);
    return false;
  }
  // JsonReader's
  void syntax_error(const std::string& what)
  {
    r->message = what;
    r->where = position_in(what);
  }
};

Recording with_nlohmann(const std::string& text)
{
  Recording r;
  Recorder h{&r};
  std::istringstream in(text);
  r.ok = json::sax_parse(in, &h);
  return r;
}

Recording with_reader(const std::string& text)
{
  Recording r;
  Recorder h{&r};
  std::istringstream in(text);
  pack::JsonSource source(in.rdbuf());
  r.ok = pack::JsonReader<Recorder>(source, h).parse();
  return r;
}

void same_as_nlohmann(const std::string& text)
{
  const Recording want = with_nlohmann(text);
  const Recording got = with_reader(text);
  INFO("input: " << json(text).dump(-1, ' ', true, json::error_handler_t::replace));
  INFO("nlohmann: " << want.message);
  INFO("reader: " << got.message);
  REQUIRE(got.ok == want.ok);
  CHECK(got.events == want.events);
  if (!got.ok) {
    // The same line. The column is that of the offending byte, or of the first byte of an
    // unexpected token, where nlohmann reads the whole token first and counts a newline inside
    // a string as column 0 of the next line.
    REQUIRE(got.where != "(none)");
    const auto [line, col] = line_and_column(got.where);
    if (want.where != "(none)") {
      const auto [want_line, want_col] = line_and_column(want.where);
      CHECK((line == want_line || (want_col == 0 && line + 1 == want_line)));
    }
    CHECK(col >= 1);
  }
}

} // namespace

TEST_CASE("JsonReader: values, number types and literals as nlohmann gives them", "[pack][reader]")
{
  const char* docs[] = {
      "null", "true", "false", "0", "-0", "7", "-7", "18446744073709551615", "18446744073709551616",
      "-9223372036854775808", "-9223372036854775809", "1.5", "-0.0", "1e3", "1E+3", "1e-3",
      "2.50e0", "123456789012345678901234567890", "\"\"", "\"plain\"",
      R"("esc \" \\ \/ \b \f \n \r \t \u0041 \u00e9 \u20ac \ud83d\ude00 \u0000")",
      "\"utf-8: \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xED\x9F\xBF \xEF\xBF\xBF \xF4\x8F\xBF\xBF\"",
      "[]", "{}", "[[]]", " \t\r\n[ 1 , 2 ,\n3 ] \n", R"({"a":{"b":[1,{"c":null}],"d":""},"e":[]})",
      "\xEF\xBB\xBF{\"bom\":1}", R"([1.0,-1.25e-7,0.1,1e308,4.9e-324])",
  };
  for (const char* d : docs) {
    same_as_nlohmann(d);
  }
}

TEST_CASE("JsonReader: rejects what nlohmann rejects, at the same line and column", "[pack][reader]")
{
  const char* docs[] = {
      "", " ", "nul", "tru", "falsy", "[1,]", "[1 2]", "{\"a\" 1}", "{\"a\":1,}", "{1:2}", "{\"a\":}",
      "[", "{", "{\"a\"", "{\"a\":1", "[1", "01", "-", "-a", "1.", "1.e3", "1e", "1e+", ".5", "+1",
      "1e400", "-1e400", "[1]]", "[1] x", "{} {}", "\"open", "\"ctl \x01\"", "\"tab \t\"",
      "\"line\nbreak\"", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\ud800\"", "\"\\ud800\\u0041\"",
      "\"\\udc00\"", "\"\\ud800x\"", "\"\xC3\x28\"", "\"\xC0\xAF\"", "\"\xE0\x80\x80\"",
      "\"\xED\xA0\x80\"", "\"\xF4\x90\x80\x80\"", "\"\xF5\x80\x80\x80\"", "\"\x80\"", "\"\xC3\"",
      "\xEF\xBB{}", "\xEF{}", "[1,\n2,\n  x]", "{\"a\":[1,2,\n{\"b\":tru}]}", "/* c */ 1", "[1] // c",
      "[\"a\"\n,\n\"b\"\n:]", "[1,\r\n\r\n  ]",
  };
  for (const char* d : docs) {
    same_as_nlohmann(d);
  }
  same_as_nlohmann(std::string("[\"a\0b\"]", 7));
}

// Where the reader departs from nlohmann on purpose: one number policy (issue 20).
TEST_CASE("JsonReader: integers of any length pass, a non-zero literal may not round to zero",
          "[pack][reader]")
{
  const std::string big(400, '9');
  for (const std::string& d : {big, "-" + big, "[" + big.substr(0, 309) + "]"}) {
    INFO(d.size());
    const Recording r = with_reader(d);
    CHECK(r.ok);
    REQUIRE(r.events.size() >= 1);
    CHECK_THAT(r.events[r.events.size() == 1 ? 0 : 1], Catch::Contains(d.front() == '[' ? d.substr(1, 309) : d));
    CHECK(!with_nlohmann(d).ok); // nlohmann overflows on them
  }
  for (const char* zero : {"0e-400", "-0.0e-999", "0.000e99999", "4.9e-324"}) {
    INFO(zero);
    CHECK(with_reader(zero).ok);
  }
  struct Bad {
    const char* doc;
    const char* message;
  };
  for (const Bad& b : {Bad{"1e-400", "rounds to zero"}, Bad{"[-0.5e-400]", "rounds to zero"},
                       Bad{"1e400", "overflows binary64"}, Bad{"[1,\n -1.5e309]", "overflows binary64"}}) {
    INFO(b.doc);
    const Recording r = with_reader(b.doc);
    CHECK(!r.ok);
    CHECK_THAT(r.message, Catch::Contains(b.message));
    CHECK(r.where != "(none)");
  }
}

TEST_CASE("JsonReader: an error names the offending byte's line and column", "[pack][reader]")
{
  const Recording bad_literal = with_reader("{\"a\":[1,2,\n{\"b\":tru}]}");
  CHECK(!bad_literal.ok);
  CHECK(bad_literal.where == "at line 2, column 9"); // the "}" where "e" belongs
  CHECK_THAT(bad_literal.message, Catch::Contains("invalid literal"));
  const Recording bad_utf8 = with_reader("[1,\n\n  \"ok \xC3\x28\"]");
  CHECK(bad_utf8.where == "at line 3, column 8"); // the byte that cannot follow 0xC3
  CHECK_THAT(bad_utf8.message, Catch::Contains("UTF-8"));
  const Recording missing = with_reader("{\"a\":1\n\n");
  CHECK(missing.where == "at line 3, column 1");
  CHECK_THAT(missing.message, Catch::Contains("end of input"));
}

namespace {

// A BlockInput handing out `block` bytes at a time, counting how it is read.
class TinyBlocks : public pack::BlockInput {
public:
  TinyBlocks(std::string text, std::size_t block) : m_text(std::move(text)), m_block(block) {}

  std::span<const char> next_block() override
  {
    ++blocks_in_place;
    const std::size_t n = std::min(m_block, m_text.size() - m_pos);
    const std::span<const char> out(m_text.data() + m_pos, n);
    m_pos += n;
    return out;
  }

  int blocks_in_place = 0;
  int underflows = 0;

protected:
  int_type underflow() override
  {
    ++underflows;
    const std::span<const char> b = next_block();
    if (b.empty()) {
      return traits_type::eof();
    }
    char* p = const_cast<char*>(b.data());
    setg(p, p, p + b.size());
    return traits_type::to_int_type(*p);
  }

private:
  std::string m_text;
  std::size_t m_block;
  std::size_t m_pos = 0;
};

} // namespace

TEST_CASE("JsonReader: a BlockInput's blocks are read in place, with the same results", "[pack][reader]")
{
  const std::vector<std::string> docs = {
      R"({"a":[1,-2.5e3,"x\ny",{"b":null,"c":[true,false]}],"d":"\u00e9\ud83d\ude00","e":{}})",
      "{\"a\":[1,2,\n{\"b\":tru}]}", "[1,\n\n  \"ok \xC3\x28\"]", "{\"a\":1\n\n", "", "  \n",
      "[\"" + std::string(1000, 'x') + "\xE2\x82\xAC\"]"};
  for (const auto& doc : docs) {
    for (const std::size_t block : {std::size_t{1}, std::size_t{3}, std::size_t{7}, std::size_t{4096}}) {
      INFO(doc.substr(0, 40) << " in blocks of " << block);
      const Recording want = with_reader(doc); // copied from a stringbuf
      Recording got;
      Recorder h{&got};
      TinyBlocks in(doc, block);
      pack::JsonSource source(&in);
      got.ok = pack::JsonReader<Recorder>(source, h).parse();
      CHECK(got.ok == want.ok);
      CHECK(got.events == want.events);
      CHECK(got.message == want.message);
      CHECK(source.consumed() <= doc.size());
      CHECK(in.underflows == 0);
      CHECK(in.blocks_in_place > 0);
    }
  }
}

TEST_CASE("JsonReader: strings, escapes and UTF-8 across block boundaries", "[pack][reader]")
{
  // The reader reads 256 KiB blocks: each tail starts a few bytes either side of a boundary.
  const std::string tails[] = {"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"]",
                               "\\u00e9\\ud83d\\ude00\\\"x\"]", "\"]", "\" , 12345.678e-2 ]",
                               "\xE2\x82\"]"};
  for (const auto& tail : tails) {
    for (std::size_t pad = 256 * 1024 - 8; pad < 256 * 1024 + 2; ++pad) {
      same_as_nlohmann("[\"" + std::string(pad, 'a') + tail);
    }
  }
}

TEST_CASE("JsonReader: every byte value at every place of the 8 bytes read at once", "[pack][reader]")
{
  // read_string tests 8 bytes together for '"', '\\', control characters and bytes >= 0x80:
  // each one, alone among plain bytes at each offset of a word (and in the bytes after the
  // last whole word), must stop the run exactly where the byte-at-a-time scan stops it.
  for (int byte = 0; byte < 256; ++byte) {
    for (std::size_t at = 0; at < 17; ++at) {
      const std::string text = "[\"" + std::string(at, 'a') + static_cast<char>(byte) +
                               std::string(19 - at, 'b') + "\"]";
      same_as_nlohmann(text);
    }
  }
  for (std::size_t at = 0; at < 17; ++at) {
    same_as_nlohmann("[\"" + std::string(at, ' ') + "\xC3\xA9\\n~\x7F\x7F\x7F\x7F\x7F\x7F\x7F\"]");
  }
}

TEST_CASE("JsonReader: random and mutated documents", "[pack][reader]")
{
  std::mt19937 rng(20261124);
  const std::vector<std::string> pieces = {
      "{", "}", "[", "]", ",", ":", "\"k\"", "\"\\u00e9\"", "\"\\ud83d\\ude00\"", "1", "-2", "0.5",
      "1e5", "true", "false", "null", " ", "\n", "\"", "\\", "\xC3\xA9", "\xFF", "-", "e", ".", "0"};
  for (int i = 0; i < 3000; ++i) {
    std::string doc;
    const int n = static_cast<int>(rng() % 24);
    for (int j = 0; j < n; ++j) {
      doc += pieces[rng() % pieces.size()];
    }
    same_as_nlohmann(doc);
  }
  const std::string valid =
      R"({"a":[1,-2.5e3,"x\ny",{"b":null,"c":[true,false]}],"d":"\u00e9\ud83d\ude00","e":{}})";
  for (std::size_t cut = 0; cut <= valid.size(); ++cut) {
    same_as_nlohmann(valid.substr(0, cut));
  }
  for (int i = 0; i < 2000; ++i) {
    std::string doc = valid;
    doc[rng() % doc.size()] = static_cast<char>(rng() % 256);
    same_as_nlohmann(doc);
  }
}

TEST_CASE("JsonReader: the shared corpora parse to nlohmann's events", "[pack][reader]")
{
  const std::string dir = test::shared_dir();
  if (dir.empty()) {
    PAGABLE_SKIP("../shared absent");
  }
  for (const char* name : {"bom-1.6.SNAPSHOT.schema.json", "openapi-3.1.schema.json",
                           "spdx.SNAPSHOT.schema.json"}) {
    std::ifstream f(dir + "/corpora/" + name, std::ios::binary);
    REQUIRE(f);
    std::ostringstream text;
    text << f.rdbuf();
    INFO(name);
    const Recording want = with_nlohmann(text.str());
    const Recording got = with_reader(text.str());
    REQUIRE(want.ok);
    CHECK(got.ok);
    CHECK(got.events == want.events);
  }
}
