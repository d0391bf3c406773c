// SPDX-License-Identifier: MIT OR Apache-2.0
// Values written through the codecs and read back (object_io.hpp): every kind of field, the
// JSON each prints as, evolution (added, removed and renamed fields), and the errors.
#include <pagable/hydrate.hpp>
#include <pagable/objects.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <sstream>

using namespace pagable;
using namespace pagable::objects;

namespace {

enum class Color : std::uint8_t { red, green, blue };
PAGABLE_ENUM(Color, red, green, blue)
enum class Level : int { low = 1, high = 9 };

struct Inner {
  std::string label;
  std::int16_t weight = 0;
  PAGABLE_FIELDS(Inner, label, weight)
  friend bool operator==(const Inner&, const Inner&) = default;
};

struct Everything {
  bool flag = false;
  std::int8_t i8 = 0;
  std::uint8_t u8 = 0;
  std::int32_t i32 = 0;
  std::uint32_t u32 = 0;
  std::int64_t i64 = 0;
  std::uint64_t u64 = 0;
  float f = 0;
  double d = 0;
  std::string text;
  ByteString bytes;
  Color color = Color::red;
  Level level = Level::low;
  std::optional<std::string> maybe;
  std::optional<std::int32_t> nothing;
  std::variant<std::monostate, std::string, std::int64_t, Inner> choice;
  std::vector<Inner> inners;
  std::array<int, 3> three{};
  std::deque<std::string> deque;
  std::list<int> list;
  std::set<std::string> set;
  std::unordered_set<int> hashed;
  std::map<std::string, int> by_name;
  std::unordered_map<std::string, int> by_name_hashed;
  std::map<int, std::string> by_number;
  std::pair<int, std::string> pair;
  std::tuple<bool, double, std::string> tuple;
  PAGABLE_FIELDS(Everything, flag, i8, u8, i32, u32, i64, u64, f, d, text, bytes, color, level,
                 maybe, nothing, choice, inners, three, deque, list, set, hashed, by_name,
                 by_name_hashed, by_number, pair, tuple)
  friend bool operator==(const Everything&, const Everything&) = default;
};

Everything sample()
{
  Everything e;
  e.flag = true;
  e.i8 = -128;
  e.u8 = 255;
  e.i32 = -123456;
  e.u32 = 4000000000u;
  e.i64 = std::numeric_limits<std::int64_t>::min();
  e.u64 = std::numeric_limits<std::uint64_t>::max();
  e.f = 1.5f;
  e.d = 0.1;
  e.text = "h\xc3\xa9llo \"world\"\n";
  e.bytes = ByteString{std::byte{0}, std::byte{0xff}, std::byte{0x10}, std::byte{0x7f}};
  e.color = Color::blue;
  e.level = Level::high;
  e.maybe = "here";
  e.choice = Inner{"in", 3};
  e.inners = {Inner{"a", 1}, Inner{"b", -2}};
  e.three = {1, 2, 3};
  e.deque = {"x", "y"};
  e.list = {5, 4};
  e.set = {"b", "a"};
  e.hashed = {3, 1, 2};
  e.by_name = {{"zeta", 1}, {"alpha", 2}};
  e.by_name_hashed = {{"k2", 2}, {"k1", 1}, {"k3", 3}};
  e.by_number = {{10, "ten"}, {2, "two"}};
  e.pair = {7, "seven"};
  e.tuple = {false, 2.5, "t"};
  return e;
}

struct Fixture {
  std::unique_ptr<Archive> archive = Archive::open_in_memory();
  std::unique_ptr<Pager> pager = Pager::open(*archive).value();

  std::string hydrate(const Key& key)
  {
    hydrate::Document doc(archive->store(), key);
    std::ostringstream out;
    REQUIRE(doc.write_json(out, ""));
    return out.str();
  }
};

} // namespace

TEST_CASE("codecs write every kind of field as the JSON it prints as, and read it back", "[objects][codec]")
{
  Fixture fx;
  const auto value = fx.pager->make<Everything>(sample());
  const auto key = fx.pager->store(value);
  INFO((key ? "" : key.error().message()));
  REQUIRE(key);
  const auto json = nlohmann::json::parse(fx.hydrate(*key));
  CHECK(json["flag"] == true);
  CHECK(json["i8"] == -128);
  CHECK(json["u64"].get<std::uint64_t>() == std::numeric_limits<std::uint64_t>::max());
  CHECK(json["i64"].get<std::int64_t>() == std::numeric_limits<std::int64_t>::min());
  CHECK(json["bytes"] == "AP8Qfw==");
  CHECK(json["color"] == "blue");
  CHECK(json["level"] == 9);
  CHECK(json["nothing"].is_null());
  CHECK(json["choice"] == nlohmann::json::parse(R"({"Inner": {"label": "in", "weight": 3}})"));
  CHECK(json["set"] == nlohmann::json::parse(R"(["a", "b"])"));
  CHECK(json["hashed"] == nlohmann::json::parse("[1, 2, 3]"));
  CHECK(json["by_number"] == nlohmann::json::parse(R"([[2, "two"], [10, "ten"]])"));
  CHECK(json["tuple"] == nlohmann::json::parse(R"([false, 2.5, "t"])"));
  // Members are written in declaration order, maps in key order.
  const std::string text = fx.hydrate(*key);
  CHECK(text.find("\"flag\"") < text.find("\"i8\""));
  CHECK(text.find("\"k1\"") < text.find("\"k2\""));
  CHECK(text.find("\"alpha\"") < text.find("\"zeta\""));

  // Read back in another pager (nothing cached).
  auto reader = Pager::open(*fx.archive).value();
  const auto loaded = reader->load<Everything>(*key);
  const auto pinned = loaded.pin();
  INFO((pinned ? "" : pinned.error().message()));
  REQUIRE(pinned);
  CHECK(**pinned == sample());
}

TEST_CASE("a NaN, an infinity or text that is not UTF-8 is refused with where it is", "[objects][codec]")
{
  Fixture fx;
  Everything e = sample();
  e.inners[1].label = "bad\xff";
  auto r = fx.pager->store(fx.pager->make<Everything>(e));
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("not UTF-8") != std::string::npos);
  CHECK(r.error().message().find("/inners/1/label") != std::string::npos);

  e = sample();
  e.d = std::nan("");
  r = fx.pager->store(fx.pager->make<Everything>(e));
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("NaN") != std::string::npos);
  CHECK(r.error().message().find("\"/d\"") != std::string::npos);

  e = sample();
  e.f = std::numeric_limits<float>::infinity();
  r = fx.pager->store(fx.pager->make<Everything>(e));
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("infinity") != std::string::npos);
}

TEST_CASE("text is checked as UTF-8 wherever it goes wrong, also after a long ASCII run",
          "[objects][codec]")
{
  // The check takes ASCII eight bytes at a time: a bad byte at every offset of a word, and
  // a multi-byte character cut short at the end, are still found.
  Fixture fx;
  for (std::size_t ascii = 0; ascii < 20; ++ascii) {
    const std::string run(ascii, 'a');
    Inner good{run + "h\xc3\xa9" + run + "\xe2\x82\xac" + run, 1};
    INFO("after " << ascii << " ASCII bytes");
    CHECK(fx.pager->store(fx.pager->make<Inner>(good)));
    for (const std::string& bad : {std::string("\xff"), std::string("\xc3"), std::string("\xe2\x82"),
                                  std::string("\xed\xa0\x80"), std::string("\xc0\xaf")}) {
      for (const std::string& text : {run + bad, run + bad + run, bad + run}) {
        const auto r = fx.pager->store(fx.pager->make<Inner>(Inner{text, 1}));
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message(), Catch::Contains("not UTF-8"));
      }
    }
  }
}

namespace {

struct V1 {
  std::string name;
  std::int32_t size = 0;
  std::string dropped;
  PAGABLE_FIELDS(V1, name, size, dropped)
};

// V1 a version later: `size` renamed `bytes`, `dropped` removed, `tags` added.
struct V2 {
  std::string name;
  std::int64_t bytes = 0;
  std::vector<std::string> tags{"default"};
  static constexpr std::string_view pagable_type_name() { return "V2"; }
  using pagable_described_type = V2;
  static constexpr auto pagable_fields()
  {
    return std::make_tuple(field("name", &V2::name), field("bytes", &V2::bytes).alias("size"),
                           field("tags", &V2::tags));
  }
};

} // namespace

TEST_CASE("a type that gained, lost and renamed fields reads an old archive", "[objects][codec]")
{
  Fixture fx;
  const auto key = fx.pager->store(fx.pager->make<V1>(V1{"old", 42, "gone"}));
  REQUIRE(key);
  auto reader = Pager::open(*fx.archive).value();
  const auto pinned = reader->load<V2>(*key).pin();
  INFO((pinned ? "" : pinned.error().message()));
  REQUIRE(pinned);
  CHECK((*pinned)->name == "old");
  CHECK((*pinned)->bytes == 42);
  CHECK((*pinned)->tags == std::vector<std::string>{"default"});
}

TEST_CASE("base64 round-trips and refuses what is not padded base64", "[objects][codec]")
{
  for (std::size_t n = 0; n < 10; ++n) {
    ByteString b;
    for (std::size_t i = 0; i < n; ++i) {
      b.push_back(static_cast<std::byte>(i * 37 + 1));
    }
    const auto text = encode_base64(b);
    CHECK(text.size() % 4 == 0);
    const auto back = decode_base64(text);
    REQUIRE(back);
    CHECK(*back == b);
  }
  CHECK(encode_base64(ByteString{std::byte{'f'}, std::byte{'o'}, std::byte{'o'}}) == "Zm9v");
  CHECK_FALSE(decode_base64("Zm9"));
  CHECK_FALSE(decode_base64("Zm9*"));
  CHECK(decode_base64("Zm8="));
  CHECK_FALSE(decode_base64("Zm9=")); // bits under the padding that are not zero
}
