// SPDX-License-Identifier: MIT OR Apache-2.0
// The pager (pagable/objects.hpp): the seed's three storage tests through this API, identity
// across views and page-ins, the budget, deep chains, cycles, and what the seed's failures
// taught.
#include <pagable/objects.hpp>

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <future>
#include <random>
#include <thread>

using namespace pagable;
using namespace pagable::objects;

namespace {

struct Item {
  std::uint32_t index = 0;
  Arc<ByteString> shared;
  PAGABLE_FIELDS(Item, index, shared)
};

// A value whose page-out fails: a double that JSON cannot hold.
struct Bad {
  double value = std::nan("");
  PAGABLE_FIELDS(Bad, value)
};

struct Holder {
  std::uint32_t index = 0;
  std::optional<Arc<Bad>> bad;
  Arc<ByteString> good;
  PAGABLE_FIELDS(Holder, index, bad, good)
};

struct Action {
  virtual ~Action() = default;
  std::string name;
  PAGABLE_POLYMORPHIC(Action)
};
struct Copy : Action {
  std::string from;
  std::string to;
  PAGABLE_FIELDS(Copy, name, from, to)
};
struct Run : Action {
  std::vector<std::string> argv;
  PAGABLE_FIELDS(Run, name, argv)
};
struct Views {
  Arc<Action> as_base;
  Arc<Copy> as_derived;
  PAGABLE_FIELDS(Views, as_base, as_derived)
};

struct Link {
  std::uint64_t n = 0;
  std::optional<Arc<Link>> next;
  PAGABLE_FIELDS(Link, n, next)
};

// A node whose successor is set after it is made: how a cycle can be built at all.
struct Loop {
  std::string name;
  mutable std::optional<Arc<Loop>> next;
  PAGABLE_FIELDS(Loop, name, next)
};

// The shape of bench/bench_objects.cpp's seed graph: values holding handles to their
// predecessors, gathered in buckets under one root.
struct SeedNode {
  std::string value;
  std::vector<Arc<SeedNode>> deps;
  PAGABLE_FIELDS(SeedNode, value, deps)
};
struct Bucket {
  std::vector<Arc<SeedNode>> nodes;
  PAGABLE_FIELDS(Bucket, nodes)
};
struct SeedGraph {
  std::vector<Arc<Bucket>> buckets;
  PAGABLE_FIELDS(SeedGraph, buckets)
};

ByteString filled(std::size_t n, std::uint8_t b)
{
  return ByteString(n, static_cast<std::byte>(b));
}

std::unique_ptr<Pager> open_pager(Archive& archive, PagerOptions options = {})
{
  auto p = Pager::open(archive, options);
  INFO((p ? "" : p.error().message()));
  REQUIRE(p);
  return std::move(p).value();
}

Result<void> register_actions(Registry& r)
{
  PAGABLE_TRY(r.add<Copy>("test.Copy/1"));
  return r.add<Run>("test.Run/1");
}

} // namespace

TEST_CASE("pager: 100 items sharing one value, paged out on 8 threads: one serialization, one store",
          "[objects][pager]")
{
  auto archive = Archive::open_in_memory();
  PagerOptions o;
  o.workers = 8;
  auto pager = open_pager(*archive, o);
  auto shared = pager->make<ByteString>(filled(1000, 0xAB));
  std::vector<Arc<Item>> items;
  for (std::uint32_t i = 0; i < 100; ++i) {
    items.push_back(pager->make<Item>(Item{i, shared}));
  }
  const auto puts_before = archive->store().counters().puts;
  const auto paged = pager->page_out_unpinned();
  REQUIRE(paged);
  CHECK(*paged == 101);
  CHECK(pager->stats().serialized == 101);
  CHECK(archive->store().counters().puts - puts_before == 101);
  for (const auto& item : items) {
    CHECK(item.key().has_value());
  }
  CHECK(pager->stats().resident_bytes == 0);
}

TEST_CASE("pager: 100 roots paged in in parallel decode their shared value once, at one address",
          "[objects][pager]")
{
  auto archive = Archive::open_in_memory();
  std::vector<Key> keys;
  {
    auto writer = open_pager(*archive);
    auto shared = writer->make<ByteString>(filled(1000, 0xAB));
    for (std::uint32_t i = 0; i < 100; ++i) {
      keys.push_back(writer->store(writer->make<Item>(Item{i, shared})).value());
    }
  }
  auto pager = open_pager(*archive);
  std::vector<Arc<Item>> roots;
  for (const Key& k : keys) {
    roots.push_back(pager->load<Item>(k));
  }
  std::vector<std::future<const ByteString*>> readers;
  std::atomic<std::size_t> next{0};
  std::vector<const ByteString*> addresses(roots.size());
  std::vector<std::optional<Pinned<ByteString>>> pins(roots.size());
  std::mutex m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (std::size_t i; (i = next.fetch_add(1)) < roots.size();) {
        auto item = roots[i].pin();
        REQUIRE(item);
        auto value = (*item)->shared.pin();
        REQUIRE(value);
        std::lock_guard lock(m);
        addresses[i] = value->get();
        pins[i].emplace(std::move(*value));
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  for (const auto* a : addresses) {
    CHECK(a == addresses.front());
  }
  CHECK((*pins.front())->size() == 1000);
  CHECK(pager->stats().decodes == 101);
}

TEST_CASE("pager: a failing value among 8 workers fails only what reaches it, and stays usable",
          "[objects][pager]")
{
  auto archive = Archive::open_in_memory();
  PagerOptions o;
  o.workers = 8;
  auto pager = open_pager(*archive, o);
  auto bad = pager->make<Bad>();
  std::vector<Arc<Holder>> holders;
  for (std::uint32_t i = 0; i < 64; ++i) {
    Holder h{i, std::nullopt, pager->make<ByteString>(filled(100, static_cast<std::uint8_t>(i)))};
    if (i % 2 == 0) {
      h.bad = bad;
    }
    holders.push_back(pager->make<Holder>(std::move(h)));
  }
  const auto paged = pager->page_out_unpinned();
  REQUIRE(paged); // the batch itself ran: failures are per value
  for (std::uint32_t i = 0; i < 64; ++i) {
    CHECK(holders[i].key().has_value() == (i % 2 == 1));
  }
  CHECK_FALSE(bad.key().has_value());
  const auto errors = pager->page_out_errors();
  REQUIRE(errors.size() == 33); // the bad value and the 32 holders that reach it
  for (const auto& e : errors) {
    CHECK_THAT(e.message(), Catch::Contains("NaN"));
  }
  CHECK(pager->stats().unpageable == 33);
  // Still resident and usable.
  const auto pinned = bad.pin();
  REQUIRE(pinned);
  CHECK(std::isnan((*pinned)->value));
  const auto holder = holders[0].pin();
  REQUIRE(holder);
  CHECK((*holder)->index == 0);
}

TEST_CASE("pager: a value's base and derived views are one object with one key and one allocation",
          "[objects][pager][polymorphic]")
{
  auto archive = Archive::open_in_memory();
  Key root;
  {
    auto pager = open_pager(*archive);
    REQUIRE(register_actions(pager->types()));
    auto copy = pager->make<Copy>();
    const Arc<Action> base = copy;
    CHECK(base == Arc<Action>(copy));
    root = pager->store(pager->make<Views>(Views{base, copy})).value();
    CHECK(base.key() == copy.key());
  }
  auto pager = open_pager(*archive);
  REQUIRE(register_actions(pager->types()));
  const auto views = pager->load<Views>(root).pin();
  REQUIRE(views);
  CHECK((*views)->as_base == Arc<Action>((*views)->as_derived));
  const auto base = (*views)->as_base.pin();
  const auto derived = (*views)->as_derived.pin();
  REQUIRE(base);
  REQUIRE(derived);
  CHECK(base->get() == static_cast<const Action*>(derived->get()));
  CHECK(pager->stats().decodes == 2); // Views, and the Copy once
  // The wrong view is an error, not a bad cast.
  const auto run_view = pager->load<Run>(*(*views)->as_base.key()).pin();
  REQUIRE_FALSE(run_view);
  CHECK_THAT(run_view.error().message(), Catch::Contains("test.Copy/1"));
}

TEST_CASE("pager: paging a value in and out again serializes nothing", "[objects][pager]")
{
  auto archive = Archive::open_in_memory();
  auto pager = open_pager(*archive);
  const Key key = pager->store(pager->make<Item>(Item{7, pager->make<ByteString>(filled(10, 1))})).value();
  auto reader = open_pager(*archive);
  auto item = reader->load<Item>(key);
  {
    auto pinned = item.pin();
    REQUIRE(pinned);
    REQUIRE((*pinned)->shared.pin());
  }
  CHECK(reader->stats().resident_values == 2);
  const auto paged = reader->page_out_unpinned();
  REQUIRE(paged);
  CHECK(*paged == 2);
  CHECK(reader->stats().serialized == 0);
  CHECK(reader->stats().resident_values == 0);
}

TEST_CASE("pager: a held value is what a second page-in returns, with no decode", "[objects][pager]")
{
  auto archive = Archive::open_in_memory();
  const Key key = [&] {
    auto writer = open_pager(*archive);
    return writer->store(writer->make<ByteString>(filled(64, 9))).value();
  }();
  auto pager = open_pager(*archive);
  SECTION("held by a pin: another handle to the key gets the same allocation")
  {
    const auto first = pager->load<ByteString>(key).pin();
    REQUIRE(first);
    const auto decodes = pager->stats().decodes;
    const auto second = pager->load<ByteString>(key).pin();
    REQUIRE(second);
    CHECK(first->get() == second->get());
    CHECK(pager->stats().decodes == decodes);
  }
  SECTION("held by a shared_ptr after the value was paged out")
  {
    auto handle = pager->load<ByteString>(key);
    std::shared_ptr<const ByteString> held = handle.pin().value().share();
    REQUIRE(pager->page_out_unpinned().value() == 1);
    const auto decodes = pager->stats().decodes;
    const auto again = handle.pin();
    REQUIRE(again);
    CHECK(again->get() == held.get());
    CHECK(pager->stats().decodes == decodes);
    CHECK(pager->stats().reused == 1);
  }
}

TEST_CASE("pager: a graph 8 times the budget, built and walked at random, stays within it",
          "[objects][pager][budget]")
{
  constexpr std::size_t k_budget = 1 << 20;
  constexpr std::size_t k_value = 8 << 10;
  constexpr unsigned k_workers = 4;
  // In memory, and in an archive file: its store commits puts on its own thread, so a value
  // paged out moments ago may not be readable yet when it is paged back in.
  test::TempDir dir;
  const bool in_file = GENERATE(false, true);
  INFO((in_file ? "archive file" : "in memory"));
  auto archive = in_file ? Archive::open(dir.file("a.pagable"), {.mode = OpenMode::create}).value()
                         : Archive::open_in_memory();
  PagerOptions o;
  o.budget_bytes = k_budget;
  o.workers = k_workers;
  auto pager = open_pager(*archive, o);
  std::vector<Arc<Item>> items;
  const std::size_t n = 8 * k_budget / k_value + 64;
  std::size_t largest = 0;
  for (std::size_t i = 0; i < n; ++i) {
    auto bytes = pager->make<ByteString>(filled(k_value, static_cast<std::uint8_t>(i)));
    items.push_back(pager->make<Item>(Item{static_cast<std::uint32_t>(i), bytes}));
    largest = std::max(largest, resident_size(filled(k_value, 0)));
  }
  std::mt19937 rng(42);
  for (int round = 0; round < 2; ++round) {
    std::shuffle(items.begin(), items.end(), rng);
    for (const auto& item : items) {
      const auto pinned = item.pin();
      REQUIRE(pinned);
      const auto bytes = (*pinned)->shared.pin();
      REQUIRE(bytes);
      CHECK((*bytes)->size() == k_value);
      CHECK((**bytes)[0] == static_cast<std::byte>((*pinned)->index));
    }
  }
  const auto stats = pager->stats();
  CHECK(stats.paged_out > n);
  CHECK(stats.paged_in > n);
  CHECK(stats.peak_resident_bytes <= k_budget + k_workers * largest);
}

TEST_CASE("pager: a chain paged out on 4 workers is stored with no worker waiting for another",
          "[objects][pager][parallel]")
{
  // Each value holds its predecessor: only one value at a time can be stored. Workers that
  // claimed values and waited for each other took turns, one hand-over a value.
  auto archive = Archive::open_in_memory();
  PagerOptions o;
  o.workers = 4;
  auto pager = open_pager(*archive, o);
  Arc<Link> head = pager->make<Link>(Link{0, std::nullopt});
  for (std::uint64_t i = 1; i < 5000; ++i) {
    head = pager->make<Link>(Link{i, head});
  }
  // And values that can be stored side by side, sharing one.
  auto shared = pager->make<ByteString>(filled(100, 1));
  std::vector<Arc<Item>> items;
  for (std::uint32_t i = 0; i < 200; ++i) {
    items.push_back(pager->make<Item>(Item{i, shared}));
  }
  REQUIRE(pager->store(head));
  CHECK(pager->page_out_unpinned().value() == 5201);
  CHECK(pager->stats().serialized == 5201);
  CHECK(pager->stats().page_out_waits == 0);
  CHECK(pager->page_out_errors().empty());
}

TEST_CASE("pager: the seed graph's key is pinned, whatever the workers and the budget",
          "[objects][pager][keys]")
{
  // bench/bench_objects.cpp's graph at 3,000 values of 100 bytes (d = 4, buckets of 1,000):
  // this key is what `bench_objects pagable-save ARCHIVE 3000 100 4` printed before the
  // save path was made faster. Keys are the format: changing how values are written must
  // not change them.
  for (const unsigned workers : {1U, 4U}) {
    for (const std::size_t budget : {std::size_t{1} << 30, std::size_t{64} << 10}) {
      auto archive = Archive::open_in_memory();
      PagerOptions o;
      o.workers = workers;
      o.budget_bytes = budget;
      auto pager = open_pager(*archive, o);
      std::vector<Arc<SeedNode>> nodes;
      for (std::size_t i = 0; i < 3000; ++i) {
        SeedNode node;
        const std::string digits = std::to_string(i);
        while (node.value.size() < 100) {
          node.value += digits;
        }
        node.value.resize(100);
        for (std::size_t j = 1; j <= 4 && j <= i; ++j) {
          node.deps.push_back(nodes[i - j]);
        }
        nodes.push_back(pager->make<SeedNode>(std::move(node)));
      }
      SeedGraph g;
      for (std::size_t b = 0; b < nodes.size(); b += 1000) {
        g.buckets.push_back(pager->make<Bucket>(
            Bucket{std::vector<Arc<SeedNode>>(nodes.begin() + static_cast<std::ptrdiff_t>(b),
                                              nodes.begin() + static_cast<std::ptrdiff_t>(b + 1000))}));
      }
      const auto committed = pager->commit(pager->make<SeedGraph>(std::move(g)), CommitRequest{"seed", {}});
      INFO("workers " << workers << ", budget " << budget);
      REQUIRE(committed);
      CHECK(committed->root.key.to_hex() == "1c02beea34c46214940c6595ee6e93fbc122b9d2e2fd849548989e24034a0532");
      if (budget < (std::size_t{1} << 20)) {
        CHECK(pager->stats().paged_out > 0); // the budget paged values out before the commit
      }
    }
  }
}

TEST_CASE("pager: a chain of a million values pages out, in, and is destroyed without recursing",
          "[objects][pager][chain]")
{
  constexpr std::uint64_t k_length = 1000000;
  auto archive = Archive::open_in_memory();
  PagerOptions o;
  o.budget_bytes = 64 << 20;
  auto pager = open_pager(*archive, o);
  Key head_key;
  {
    Arc<Link> head = pager->make<Link>(Link{0, std::nullopt});
    for (std::uint64_t i = 1; i < k_length; ++i) {
      head = pager->make<Link>(Link{i, head});
    }
    head_key = pager->store(head).value();
    REQUIRE(pager->page_out_unpinned());
  } // the chain's handles go here: a million nested releases, done in a loop
  CHECK(pager->stats().values == 0);
  auto reader = open_pager(*archive, o);
  Arc<Link> at = reader->load<Link>(head_key);
  std::uint64_t expect = k_length - 1;
  for (;;) {
    const auto pinned = at.pin();
    REQUIRE(pinned);
    REQUIRE((*pinned)->n == expect);
    if (!(*pinned)->next) {
      break;
    }
    const Arc<Link> next = *(*pinned)->next;
    at = next;
    --expect;
  }
  CHECK(expect == 0);
}

TEST_CASE("pager: a cycle of handles is refused at once", "[objects][pager]")
{
  auto archive = Archive::open_in_memory();
  auto pager = open_pager(*archive);
  auto a = pager->make<Loop>(Loop{"a", std::nullopt});
  auto b = pager->make<Loop>(Loop{"b", a});
  a.pin().value()->next = b; // legal: `next` is mutable
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = pager->store(a);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("cycle"));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
  a.pin().value()->next.reset(); // let the test's own cycle go
}

TEST_CASE("registry: a name registered twice, a malformed name, and an unknown name on load",
          "[objects][registry]")
{
  Registry r;
  REQUIRE(r.add<Copy>("test.Copy/1"));
  auto twice = r.add<Run>("test.Copy/1");
  REQUIRE_FALSE(twice);
  CHECK_THAT(twice.error().message(), Catch::Contains("registered twice"));
  auto same_type = r.add<Copy>("test.Copy/2");
  REQUIRE_FALSE(same_type);
  CHECK_THAT(same_type.error().message(), Catch::Contains("registered twice"));
  for (const char* bad : {"Copy", "test.Copy/", "/1", "test Copy/1", "test.Copy/01", "1x/1"}) {
    INFO(bad);
    CHECK_FALSE(r.add<Run>(bad));
  }

  auto archive = Archive::open_in_memory();
  Key key;
  {
    auto pager = open_pager(*archive);
    REQUIRE(register_actions(pager->types()));
    key = pager->store(Arc<Action>(pager->make<Run>())).value();
  }
  auto pager = open_pager(*archive);
  REQUIRE(pager->types().add<Copy>("test.Copy/1")); // Run is not registered here
  const auto loaded = pager->load<Action>(key).pin();
  REQUIRE_FALSE(loaded);
  CHECK_THAT(loaded.error().message(), Catch::Contains("unknown type name \"test.Run/1\""));
  CHECK_THAT(loaded.error().message(), Catch::Contains("registered: test.Copy/1"));
  // Writing an unregistered type is refused too, and the value stays resident.
  auto unregistered = Arc<Action>(pager->make<Run>());
  const auto stored = pager->store(unregistered);
  REQUIRE_FALSE(stored);
  CHECK_THAT(stored.error().message(), Catch::Contains("has no stable name"));
  CHECK(unregistered.pin());
}
