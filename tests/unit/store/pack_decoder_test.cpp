// SPDX-License-Identifier: MIT OR Apache-2.0
// PackDecoder: a pack decoded only as far as it is read, resumed where it stopped.
#include "store/pack_codec.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <string>

using namespace pagable;
using namespace pagable::store;

namespace {

// About `n` bytes of JSON-like records: compressible, but not to nothing, so a zstd frame of
// it holds many blocks (zstd blocks are at most 128 KiB of content).
Bytes content(std::size_t n, unsigned seed)
{
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < n) {
    s += "{\"id\":" + std::to_string(rng() % 100000) + ",\"token\":\"";
    for (int k = 0; k < 24; ++k) {
      s += "abcdefghijklmnop"[rng() % 16];
    }
    s += "\"},";
  }
  s.resize(n);
  return Bytes(s.begin(), s.end());
}

std::span<const std::uint8_t> span_of(const Bytes& b) { return {b.data(), b.size()}; }

} // namespace

TEST_CASE("pack decoder: a read near the start decodes only the start, and resumes",
          "[store][pack_codec]")
{
  const Bytes raw = content(2 << 20, 1);
  const EncodedPack enc = encode_pack(raw, 3);
  REQUIRE(enc.codec == PackCodec::zstd);
  auto d = PackDecoder::open(enc.codec, span_of(enc.data), raw.size(), 256 << 20).value();

  auto first = d->decode_to(1000).value();
  CHECK(first.size() >= 1000);
  CHECK(first.size() <= 256 * 1024); // a block or two, not the whole 2 MiB
  CHECK(std::equal(first.begin(), first.end(), raw.begin()));

  auto middle = d->decode_to(raw.size() / 2).value();
  CHECK(middle.size() >= raw.size() / 2);
  CHECK(middle.size() < raw.size());
  CHECK(middle.data() == first.data()); // bytes already decoded never move

  auto all = d->decode_to(raw.size() + 12345).value();
  REQUIRE(all.size() == raw.size());
  CHECK(std::equal(all.begin(), all.end(), raw.begin()));
  CHECK(d->decode_to(10).value().size() == raw.size());
}

TEST_CASE("pack decoder: a delta pack decodes against its prefix", "[store][pack_codec]")
{
  const Bytes base = content(600 * 1024, 2);
  Bytes raw = base;
  raw[1000] = 'X';
  raw[400000] = 'Y';
  const EncodedPack enc = encode_pack(raw, 3, span_of(base));
  REQUIRE(enc.codec == PackCodec::zstd_prefix);
  CHECK(PackDecoder::open(enc.codec, span_of(enc.data), raw.size(), 256 << 20).error().code() ==
        Errc::corrupt); // no prefix
  auto d = PackDecoder::open(enc.codec, span_of(enc.data), raw.size(), 256 << 20, base).value();
  CHECK(d->decode_to(2000).value()[1000] == 'X');
  auto all = d->decode_to(raw.size()).value();
  CHECK(Bytes(all.begin(), all.end()) == raw);
  CHECK(Bytes(all.begin(), all.end()) ==
        decode_pack(enc.codec, span_of(enc.data), raw.size(), 256 << 20, span_of(base)).value());
}

TEST_CASE("pack decoder: raw packs, and the row's claims are checked up front", "[store][pack_codec]")
{
  const Bytes raw = {'a', 'b', 'c'};
  auto d = PackDecoder::open(PackCodec::raw, span_of(raw), 3, 100).value();
  CHECK(d->decode_to(1).value().size() == 3);
  CHECK(PackDecoder::open(PackCodec::raw, span_of(raw), 4, 100).error().code() == Errc::corrupt);

  const Bytes big = content(300 * 1024, 3);
  const EncodedPack enc = encode_pack(big, 3);
  CHECK(PackDecoder::open(enc.codec, span_of(enc.data), big.size() - 1, 1 << 30).error().code() ==
        Errc::corrupt); // the frame states another size
  CHECK(PackDecoder::open(enc.codec, span_of(enc.data), big.size(), 1000).error().code() ==
        Errc::corrupt); // above the limit
  CHECK(PackDecoder::open(PackCodec::zstd_dict, span_of(enc.data), big.size(), 1 << 30)
            .error()
            .code() == Errc::unusable_archive);
}

TEST_CASE("pack decoder: damage is reported when the read reaches it, and then every time",
          "[store][pack_codec]")
{
  const Bytes raw = content(1 << 20, 4);
  const EncodedPack enc = encode_pack(raw, 3);
  REQUIRE(enc.codec == PackCodec::zstd);

  SECTION("truncated frame")
  {
    const Bytes cut(enc.data.begin(), enc.data.end() - static_cast<std::ptrdiff_t>(enc.data.size() / 3));
    auto d = PackDecoder::open(enc.codec, span_of(cut), raw.size(), 1 << 30).value();
    CHECK(d->decode_to(100).value().size() >= 100); // the start is intact
    const auto e = d->decode_to(raw.size());
    REQUIRE_FALSE(e);
    CHECK(e.error().code() == Errc::corrupt);
    CHECK(e.error().message().find("truncated") != std::string::npos);
    CHECK_FALSE(d->decode_to(100)); // no half-read state is served after a failure
  }
  SECTION("bytes after the frame")
  {
    Bytes longer = enc.data;
    longer.push_back(0);
    auto d = PackDecoder::open(enc.codec, span_of(longer), raw.size(), 1 << 30).value();
    const auto e = d->decode_to(raw.size());
    REQUIRE_FALSE(e);
    CHECK(e.error().message().find("after its zstd frame") != std::string::npos);
  }
  SECTION("a damaged block near the end")
  {
    Bytes bad = enc.data;
    for (std::size_t i = bad.size() - 200; i < bad.size() - 100; ++i) {
      bad[i] ^= 0x5a;
    }
    auto d = PackDecoder::open(enc.codec, span_of(bad), raw.size(), 1 << 30).value();
    CHECK(d->decode_to(100)); // not read yet
    CHECK_FALSE(d->decode_to(raw.size()));
  }
}
