// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/arc_cache.hpp>

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using pagable::ArcCache;
using pagable::Key;

namespace {
Key key_of(int i)
{
  return pagable::compute_key(test::bytes(std::to_string(i)), {});
}
} // namespace

TEST_CASE("arc_cache decodes a key once even when many threads ask at once", "[store][arc_cache]")
{
  ArcCache cache;
  std::atomic<int> decodes{0};
  std::vector<std::thread> threads;
  std::vector<std::shared_ptr<const std::string>> got(16);
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      got[t] = cache
                   .get<std::string>(key_of(1), [&]() -> pagable::Result<std::pair<std::shared_ptr<const std::string>, std::size_t>> {
                     ++decodes;
                     std::this_thread::sleep_for(std::chrono::milliseconds(20));
                     return std::pair{std::make_shared<const std::string>("value"), std::size_t{5}};
                   })
                   .value();
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(decodes.load() == 1);
  for (const auto& p : got) {
    CHECK(p.get() == got[0].get()); // one shared object: identity is preserved
  }
  CHECK(cache.counters().decodes == 1);
  CHECK(cache.counters().hits == 15);
}

TEST_CASE("arc_cache is bounded in bytes and counts re-decodes", "[store][arc_cache]")
{
  ArcCache cache(100);
  auto decode = [](int i) {
    return [i]() -> pagable::Result<std::pair<std::shared_ptr<const int>, std::size_t>> {
      return std::pair{std::make_shared<const int>(i), std::size_t{40}};
    };
  };
  for (int i = 0; i < 5; ++i) {
    CHECK(*cache.get<int>(key_of(i), decode(i)).value() == i);
  }
  CHECK(cache.bytes_cached() <= 100);
  CHECK(cache.counters().evictions == 3);
  CHECK(*cache.get<int>(key_of(0), decode(0)).value() == 0); // evicted, decoded again
  CHECK(cache.counters().re_decodes == 1);
  CHECK(cache.counters().decodes == 6);
}

TEST_CASE("arc_cache remembers a bounded number of evicted keys", "[store][arc_cache]")
{
  // The seed's record of evicted keys grew with every eviction: a long walk through a graph
  // far larger than the cache held one key per node it ever evicted.
  ArcCache cache(1);
  const auto decode = [](int i) {
    return [i]() -> pagable::Result<std::pair<std::shared_ptr<const int>, std::size_t>> {
      return std::pair{std::make_shared<const int>(i), std::size_t{8}};
    };
  };
  const int n = static_cast<int>(ArcCache::k_evicted_kept) + 1000;
  for (int i = 0; i < n; ++i) {
    REQUIRE(cache.get<int>(key_of(i), decode(i)));
  }
  CHECK(cache.counters().evictions == static_cast<std::uint64_t>(n - 1));
  CHECK(cache.evicted_remembered() == ArcCache::k_evicted_kept);
  // A recently evicted key still counts as a re-decode; one evicted long ago is forgotten.
  REQUIRE(cache.get<int>(key_of(n - 2), decode(n - 2)));
  CHECK(cache.counters().re_decodes == 1);
  REQUIRE(cache.get<int>(key_of(0), decode(0)));
  CHECK(cache.counters().re_decodes == 1);
}

TEST_CASE("arc_cache returns a failed decode's error to its waiters and retries later",
          "[store][arc_cache]")
{
  ArcCache cache;
  auto fail = []() -> pagable::Result<std::pair<std::shared_ptr<const int>, std::size_t>> {
    return pagable::make_error(pagable::Errc::corrupt, "bad blob");
  };
  auto r = cache.get<int>(key_of(9), fail);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == pagable::Errc::corrupt);
  auto ok = cache.get<int>(key_of(9), []() -> pagable::Result<std::pair<std::shared_ptr<const int>, std::size_t>> {
    return std::pair{std::make_shared<const int>(9), std::size_t{1}};
  });
  CHECK(*ok.value() == 9);
}
