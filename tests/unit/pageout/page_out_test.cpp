// SPDX-License-Identifier: MIT OR Apache-2.0
// The seed's three tests, in spirit, plus the hang the seed can hit.
#include <pagable/arc_cache.hpp>
#include <pagable/pageout.hpp>
#include <pagable/store.hpp>

#include "support/counting_store.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

using namespace pagable;
using pagable::pageout::Node;
using pagable::pageout::PageOutSession;
using pagable::pageout::Serialized;

namespace {

class BytesNode final : public Node {
public:
  explicit BytesNode(Bytes data, std::vector<std::shared_ptr<const Node>> children = {})
      : m_data(std::move(data)), m_children(std::move(children))
  {
  }
  Result<Serialized> serialize() const override
  {
    serializations.fetch_add(1);
    return Serialized{m_data, m_children};
  }
  mutable std::atomic<int> serializations{0};

private:
  Bytes m_data;
  std::vector<std::shared_ptr<const Node>> m_children;
};

class FailingNode final : public Node {
public:
  explicit FailingNode(std::chrono::milliseconds delay = {}) : m_delay(delay) {}
  Result<Serialized> serialize() const override
  {
    std::this_thread::sleep_for(m_delay);
    return make_error(Errc::invalid_input, "intentional serialization failure");
  }

private:
  std::chrono::milliseconds m_delay;
};

Serialized item(int i, std::shared_ptr<const Node> child)
{
  return Serialized{Bytes{static_cast<std::uint8_t>(i)}, {std::move(child)}};
}

} // namespace

TEST_CASE("page_out: 100 items sharing one child store that child once", "[pageout]")
{
  test::CountingStore store(store::make_memory_store());
  auto shared = std::make_shared<BytesNode>(Bytes(1000, 0xAB));
  PageOutSession session(store);
  std::vector<std::future<Result<Key>>> futures;
  for (int i = 0; i < 100; ++i) {
    futures.push_back(std::async(std::launch::async, [&, i] { return session.page_out(item(i, shared)); }));
  }
  for (auto& f : futures) {
    REQUIRE(f.get());
  }
  REQUIRE(store.flush());
  CHECK(store.puts.load() <= 101);
  CHECK(shared->serializations.load() == 1);
}

TEST_CASE("page_out then parallel hydrate fetches the shared child once", "[pageout][arc_cache]")
{
  test::CountingStore store(store::make_memory_store());
  auto shared = std::make_shared<BytesNode>(Bytes(1000, 0xAB));
  PageOutSession session(store);
  std::vector<Key> keys;
  for (int i = 0; i < 100; ++i) {
    keys.push_back(session.page_out(item(i, shared)).value());
  }
  REQUIRE(store.flush());
  store.gets = 0;

  ArcCache cache;
  std::vector<std::future<bool>> futures;
  for (const Key& k : keys) {
    futures.push_back(std::async(std::launch::async, [&, k] {
      // optional::value() checks that the blob is there (an exception fails the CHECK below).
      const Blob top = store.get(k).value().value();
      const Key child = top.children.at(0);
      auto value = cache.get<Bytes>(child, [&]() -> Result<std::pair<std::shared_ptr<const Bytes>, std::size_t>> {
        auto b = store.get(child);
        if (!b) {
          return std::move(b).error();
        }
        return std::pair{std::make_shared<const Bytes>((*b)->data), (*b)->data.size()};
      });
      return value.has_value() && (*value)->size() == 1000;
    }));
  }
  for (auto& f : futures) {
    CHECK(f.get());
  }
  CHECK(store.gets.load() <= 101);
}

TEST_CASE("page_out returns the original error of a nested child that fails", "[pageout]")
{
  test::CountingStore store(store::make_memory_store());
  PageOutSession session(store);
  auto failing = std::make_shared<FailingNode>();
  auto middle = std::make_shared<BytesNode>(test::bytes("middle"),
                                            std::vector<std::shared_ptr<const Node>>{failing});
  auto r = session.page_out(item(42, middle));
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == Errc::invalid_input);
  CHECK_THAT(r.error().message(), Catch::Contains("intentional serialization failure"));
  CHECK(session.failed());
}

TEST_CASE("page_out: 8 workers, one fails midway, every worker returns", "[pageout]")
{
  // Worker 0's tree is: top -> A -> B -> failing leaf. It claims A and B (ancestors of the
  // failure) before failing. The other workers share A: without marking A failed on the way
  // out, they would wait for it forever, as the seed's walker can.
  store::BlobStore* raw = nullptr;
  auto mem = store::make_memory_store();
  raw = mem.get();
  PageOutSession session(*raw);
  auto failing = std::make_shared<FailingNode>(std::chrono::milliseconds(50));
  auto b = std::make_shared<BytesNode>(test::bytes("B"), std::vector<std::shared_ptr<const Node>>{failing});
  auto a = std::make_shared<BytesNode>(test::bytes("A"), std::vector<std::shared_ptr<const Node>>{b});
  std::vector<std::future<Result<Key>>> futures;
  for (int w = 0; w < 8; ++w) {
    futures.push_back(std::async(std::launch::async, [&, w] {
      if (w != 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10)); // let worker 0 claim first
      }
      return session.page_out(item(w, a));
    }));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int own = 0, others = 0;
  for (auto& f : futures) {
    REQUIRE(f.wait_until(deadline) == std::future_status::ready); // nobody hangs
    auto r = f.get();
    REQUIRE_FALSE(r);
    if (r.error().code() == Errc::another_failed) {
      ++others;
      CHECK_THAT(r.error().message(), Catch::Contains("another worker already failed"));
    } else {
      ++own;
      CHECK_THAT(r.error().message(), Catch::Contains("intentional serialization failure"));
    }
  }
  CHECK(own == 1);
  CHECK(others == 7);
}
