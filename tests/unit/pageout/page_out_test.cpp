// SPDX-License-Identifier: MIT OR Apache-2.0
// The walker (pagable/pageout.hpp): the seed's page-out tests, and what the seed got wrong
// -- a failure that fails everything or hangs, a cycle found only by a timeout, nodes held
// until the session ends, recursion on deep graphs.
#include <pagable/blob.hpp>
#include <pagable/pageout.hpp>

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

using namespace pagable;
using pagable::pageout::Node;
using pagable::pageout::PageOutOptions;
using pagable::pageout::PageOutSession;

namespace {

// A node stored as its bytes plus its children's keys, counting its stores.
class TestNode final : public Node {
public:
  explicit TestNode(std::string data, std::vector<std::shared_ptr<Node>> children = {},
                    std::chrono::milliseconds delay = {}, bool fails = false)
      : m_data(std::move(data)), m_children(std::move(children)), m_delay(delay), m_fails(fails)
  {
  }
  std::optional<Key> key() const override
  {
    std::lock_guard lock(m_mutex);
    return m_key;
  }
  Result<void> children(std::vector<std::shared_ptr<Node>>& out) const override
  {
    std::lock_guard lock(m_mutex);
    out.insert(out.end(), m_children.begin(), m_children.end());
    return {};
  }
  Result<Key> store() override
  {
    std::this_thread::sleep_for(m_delay);
    stores.fetch_add(1);
    if (m_fails) {
      return make_error(Errc::invalid_input, "intentional serialization failure in " + m_data);
    }
    Blob blob{test::bytes(m_data), {}};
    std::lock_guard lock(m_mutex);
    for (const auto& c : m_children) {
      const auto k = c->key();
      if (!k) {
        return make_error(Errc::internal, "a child was not stored first");
      }
      blob.children.push_back(*k);
    }
    m_key = blob.key();
    return *m_key;
  }
  std::string describe() const override { return "node " + m_data; }
  void add_child(std::shared_ptr<Node> c)
  {
    std::lock_guard lock(m_mutex);
    m_children.push_back(std::move(c));
  }
  // Breaks a test's own reference cycle.
  void clear_children()
  {
    std::lock_guard lock(m_mutex);
    m_children.clear();
  }

  std::atomic<int> stores{0};

private:
  mutable std::mutex m_mutex;
  std::string m_data;
  std::vector<std::shared_ptr<Node>> m_children;
  std::optional<Key> m_key;
  std::chrono::milliseconds m_delay;
  bool m_fails;
};

std::shared_ptr<TestNode> node(std::string data, std::vector<std::shared_ptr<Node>> children = {},
                               std::chrono::milliseconds delay = {}, bool fails = false)
{
  return std::make_shared<TestNode>(std::move(data), std::move(children), delay, fails);
}

} // namespace

TEST_CASE("page_out: 100 items sharing one node on 8 threads store it once", "[pageout]")
{
  // The shared node is slow, so that workers meet it claimed and wait.
  auto shared = node(std::string(1000, 'x'), {}, std::chrono::milliseconds(20));
  std::vector<std::shared_ptr<TestNode>> items;
  for (int i = 0; i < 100; ++i) {
    items.push_back(node("item " + std::to_string(i), {shared}));
  }
  PageOutSession session;
  std::atomic<std::size_t> next{0};
  std::vector<std::future<bool>> workers;
  for (int w = 0; w < 8; ++w) {
    workers.push_back(std::async(std::launch::async, [&] {
      bool ok = true;
      for (std::size_t i; (i = next.fetch_add(1)) < items.size();) {
        ok = session.page_out(items[i]).has_value() && ok;
      }
      return ok;
    }));
  }
  for (auto& w : workers) {
    CHECK(w.get());
  }
  CHECK(shared->stores.load() == 1);
  CHECK(session.counters().stored == 101);
  CHECK(session.counters().waited > 0);
  for (const auto& i : items) {
    CHECK(i->stores.load() == 1);
  }
}

TEST_CASE("page_out: a failing node among 8 workers fails exactly the items that reach it", "[pageout]")
{
  // Half the items reach the failing node through a chain A -> B -> failing; the other half
  // do not. Nobody may hang, every item reaching it gets its error, and the rest are stored.
  auto failing = node("bad", {}, std::chrono::milliseconds(30), true);
  auto b = node("B", {failing});
  auto a = node("A", {b});
  auto fine = node("fine");
  std::vector<std::shared_ptr<TestNode>> items;
  for (int i = 0; i < 64; ++i) {
    items.push_back(node("item " + std::to_string(i), {i % 2 == 0 ? a : fine}));
  }
  PageOutSession session;
  std::vector<std::optional<Result<Key>>> results(items.size());
  std::atomic<std::size_t> next{0};
  std::vector<std::future<void>> workers;
  for (int w = 0; w < 8; ++w) {
    workers.push_back(std::async(std::launch::async, [&] {
      for (std::size_t i; (i = next.fetch_add(1)) < items.size();) {
        results[i] = session.page_out(items[i]);
      }
    }));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (auto& w : workers) {
    REQUIRE(w.wait_until(deadline) == std::future_status::ready); // nobody hangs
  }
  int own = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& r = *results[i];
    if (i % 2 == 1) {
      CHECK(r.has_value());
      CHECK(items[i]->key().has_value());
      continue;
    }
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message(), Catch::Contains("intentional serialization failure in bad"));
    own += r.error().code() == Errc::invalid_input ? 1 : 0;
    CHECK_FALSE(items[i]->key().has_value());
  }
  CHECK(own == 1); // the worker that stored it got its own error; the others another_failed
  CHECK(failing->stores.load() == 1);
  CHECK(fine->stores.load() == 1);
  CHECK_FALSE(a->key().has_value());
}

TEST_CASE("page_out refuses a cycle at once, in one worker or across two", "[pageout]")
{
  SECTION("one worker")
  {
    auto a = node("A");
    auto b = node("B", {a});
    a->add_child(b);
    PageOutSession session;
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = session.page_out(a);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::invalid_argument);
    CHECK_THAT(r.error().message(), Catch::Contains("cycle"));
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
    a->clear_children();
  }
  SECTION("two workers meeting each other's claims")
  {
    // X -> Y -> X, X and Y slow: worker 1 starts at X, worker 2 at Y; each claims its start
    // and then needs the other's.
    auto x = node("X", {}, std::chrono::milliseconds(0));
    auto y = node("Y", {x});
    x->add_child(y);
    PageOutOptions options;
    options.wait_limit = std::chrono::minutes(5); // a timeout is not how it may end
    PageOutSession session(options);
    const auto t0 = std::chrono::steady_clock::now();
    auto f1 = std::async(std::launch::async, [&] { return session.page_out(x); });
    auto f2 = std::async(std::launch::async, [&] { return session.page_out(y); });
    const auto r1 = f1.get();
    const auto r2 = f2.get();
    CHECK_FALSE(r1);
    CHECK_FALSE(r2);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30));
    const bool cycle_named = (!r1 && r1.error().message().find("cycle") != std::string::npos) ||
                             (!r2 && r2.error().message().find("cycle") != std::string::npos);
    CHECK(cycle_named);
    x->clear_children();
  }
}

TEST_CASE("page_out lets go of a node once it is stored", "[pageout]")
{
  PageOutSession session;
  std::weak_ptr<TestNode> watch;
  {
    auto leaf = node("leaf");
    watch = leaf;
    auto top = node("top", {leaf});
    REQUIRE(session.page_out(top));
  }
  CHECK(watch.expired()); // the session holds no reference to what it stored
}

TEST_CASE("page_out walks a chain of 100,000 nodes without recursing", "[pageout]")
{
  std::vector<std::shared_ptr<TestNode>> chain{node("0")};
  for (int i = 1; i < 100000; ++i) {
    chain.push_back(node(std::to_string(i), {chain.back()}));
  }
  PageOutSession session;
  REQUIRE(session.page_out(chain.back()));
  CHECK(session.counters().stored == 100000);
  // Drop the newest first, so that each node's destruction releases one still held.
  while (!chain.empty()) {
    chain.pop_back();
  }
}
