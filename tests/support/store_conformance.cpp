// SPDX-License-Identifier: MIT OR Apache-2.0
#include "support/store_conformance.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

using pagable::Blob;
using pagable::Key;
using pagable::store::RootRecord;

namespace test {
namespace {

Blob make_blob(const std::string& text, std::vector<Key> children = {})
{
  return Blob{bytes(text), std::move(children)};
}

} // namespace

void run_store_conformance(const StoreFactory& make)
{
  SECTION("round trip: what is stored comes back, children in order")
  {
    auto store = make();
    const Key leaf1 = store->put(make_blob("leaf one")).value();
    const Key leaf2 = store->put(make_blob("leaf two")).value();
    const Blob parent = make_blob("parent", {leaf2, leaf1, leaf2});
    const Key pk = store->put(parent).value();
    REQUIRE(store->flush());
    CHECK(pk == parent.key());
    const auto got = store->get(pk).value();
    REQUIRE(got.has_value());
    CHECK(*got == parent);
    CHECK(store->children_of(pk).value() == std::optional(parent.children));
    CHECK(store->contains(leaf1).value());
  }
  SECTION("idempotent store: a second put of the same blob is not an error and adds nothing")
  {
    auto store = make();
    const Key a = store->put(make_blob("same")).value();
    const Key b = store->put(make_blob("same")).value();
    REQUIRE(store->flush());
    CHECK(a == b);
    CHECK(store->counters().blobs_written == 1);
    CHECK(store->counters().blobs_deduped == 1);
    CHECK(store->stats().value().blobs == 1);
  }
  SECTION("an absent key is nullopt, not an error")
  {
    auto store = make();
    const Key missing = make_blob("never stored").key();
    CHECK_FALSE(store->get(missing).value().has_value());
    CHECK_FALSE(store->contains(missing).value());
    CHECK_FALSE(store->children_of(missing).value().has_value());
    CHECK_FALSE(store->get_async(missing).get().value().has_value());
  }
  SECTION("the non-blocking get gives the same answer")
  {
    auto store = make();
    const Key k = store->put(make_blob("async")).value();
    REQUIRE(store->flush());
    auto future = store->get_async(k);
    CHECK(future.get().value()->data == bytes("async"));
  }
  SECTION("enumeration lists every key exactly once")
  {
    auto store = make();
    std::set<Key> expected;
    for (int i = 0; i < 5000; ++i) {
      expected.insert(store->put(make_blob("blob " + std::to_string(i))).value());
    }
    REQUIRE(store->flush());
    std::set<Key> seen;
    std::size_t calls = 0;
    REQUIRE(store->for_each_key([&](const Key& k) -> pagable::Result<void> {
      seen.insert(k);
      ++calls;
      return {};
    }));
    CHECK(calls == expected.size());
    CHECK(seen == expected);
  }
  SECTION("keys are found by hex prefix, in key order, up to a limit")
  {
    auto store = make();
    std::vector<Key> all;
    for (int i = 0; i < 300; ++i) {
      all.push_back(store->put(make_blob("prefix " + std::to_string(i))).value());
    }
    REQUIRE(store->flush());
    const std::string hex = all[5].to_hex();
    CHECK(store->find_keys_with_prefix(hex.substr(0, 12), 10).value() == std::vector<Key>{all[5]});
    std::string upper = hex.substr(0, 12);
    for (char& c : upper) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    CHECK(store->find_keys_with_prefix(upper, 10).value() == std::vector<Key>{all[5]});
    const auto one_digit = store->find_keys_with_prefix(hex.substr(0, 1), 1000).value();
    std::vector<Key> expected;
    for (const Key& k : all) {
      if (k.has_hex_prefix(hex.substr(0, 1))) {
        expected.push_back(k);
      }
    }
    std::sort(expected.begin(), expected.end());
    CHECK(one_digit == expected);
    CHECK(store->find_keys_with_prefix(hex.substr(0, 1), 2).value().size() == 2);
    CHECK(store->find_keys_with_prefix(hex, 10).value().size() == 1);
    CHECK(store->find_keys_with_prefix("xyz", 10).error().code() == pagable::Errc::invalid_argument);
  }
  SECTION("remove deletes the given blobs and skips absent ones")
  {
    auto store = make();
    const Key a = store->put(make_blob("a")).value();
    const Key b = store->put(make_blob("b")).value();
    REQUIRE(store->flush());
    const Key absent = make_blob("absent").key();
    const std::vector<Key> doomed{a, absent};
    CHECK(store->remove(doomed).value() == 1);
    CHECK_FALSE(store->contains(a).value());
    CHECK(store->contains(b).value());
  }
  SECTION("roots: commit, list, replace, remove")
  {
    auto store = make();
    const Key child = store->put(make_blob("child")).value();
    const Key top = store->put(make_blob("top", {child})).value();
    RootRecord r;
    r.name = "run-1";
    r.key = top;
    r.labels = {{"commit", "abc123"}};
    REQUIRE(store->commit_root(r));
    auto got = store->get_root("run-1").value();
    REQUIRE(got.has_value());
    CHECK(got->key == top);
    CHECK(got->labels.at("commit") == "abc123");
    CHECK(got->created_unix_ms > 0);
    r.key = child;
    REQUIRE(store->commit_root(r));
    CHECK(store->get_root("run-1").value()->key == child);
    CHECK(store->list_roots().value().size() == 1);
    CHECK(store->remove_root("run-1").value());
    CHECK_FALSE(store->remove_root("run-1").value());
    CHECK(store->list_roots().value().empty());
  }
  SECTION("a root whose blobs are not all stored is refused, naming the missing blob")
  {
    auto store = make();
    const Key missing = make_blob("missing child").key();
    const Key top = store->put(make_blob("top", {missing})).value();
    RootRecord r;
    r.name = "broken";
    r.key = top;
    auto res = store->commit_root(r);
    REQUIRE_FALSE(res);
    CHECK(res.error().code() == pagable::Errc::not_found);
    CHECK_THAT(res.error().message(), Catch::Contains(missing.to_hex()));
    CHECK_FALSE(store->get_root("broken").value().has_value());
  }
  SECTION("writes since a mark are taken back, but for what a root committed since reaches")
  {
    auto store = make();
    const Key old_leaf = store->put(make_blob("old leaf")).value();
    RootRecord kept_root;
    kept_root.name = "kept";
    kept_root.key = store->put(make_blob("kept top", {old_leaf})).value();
    REQUIRE(store->commit_root(kept_root));
    const auto mark = store->mark_writes().value();
    // A failed document: new blobs, one of them reused by another root committed since.
    const Key shared = store->put(make_blob("shared since")).value();
    const Key lone = store->put(make_blob("lone")).value();
    const Key parent = store->put(make_blob("parent", {lone, shared, old_leaf})).value();
    RootRecord other;
    other.name = "other";
    other.key = store->put(make_blob("other top", {shared})).value();
    REQUIRE(store->commit_root(other));
    const auto figures = store->discard_writes_since(mark).value();
    CHECK(figures.blobs_removed == 2); // lone, parent
    CHECK(figures.blobs_kept == 2);    // shared, other top
    CHECK_FALSE(store->contains(lone).value());
    CHECK_FALSE(store->contains(parent).value());
    CHECK(store->contains(shared).value());
    CHECK(store->contains(other.key).value());
    CHECK(store->contains(old_leaf).value());
    CHECK(store->get(kept_root.key).value().has_value());
    CHECK(store->stats().value().blobs == 4);
    // Taken back once: a second discard from the same mark finds nothing more.
    const auto again = store->discard_writes_since(mark).value();
    CHECK(again.blobs_removed == 0);
    // Nothing written since a mark: nothing to do.
    const auto quiet = store->mark_writes().value();
    CHECK(store->discard_writes_since(quiet).value().blobs_removed == 0);
    // What is taken back may be stored again.
    CHECK(store->put(make_blob("lone")).value() == lone);
    REQUIRE(store->flush());
    CHECK(store->contains(lone).value());
  }
  SECTION("settings: first value wins")
  {
    auto store = make();
    CHECK(store->init_settings({{"threshold", "4096"}}).value().at("threshold") == "4096");
    CHECK(store->init_settings({{"threshold", "1"}, {"other", "x"}}).value().at("threshold") ==
          "4096");
    CHECK(store->settings().value().at("other") == "x");
  }
  SECTION("settings: replaced while the store has no root, fixed once it has one")
  {
    using pagable::store::SettingsWrite;
    auto store = make();
    store->init_settings({{"threshold", "4096"}}).value();
    CHECK(store->init_settings({{"threshold", "1"}}, SettingsWrite::replace_while_rootless)
              .value()
              .at("threshold") == "1");
    RootRecord r;
    r.name = "first";
    r.key = store->put(make_blob("doc")).value();
    REQUIRE(store->commit_root(r));
    CHECK(store->init_settings({{"threshold", "2"}}, SettingsWrite::replace_while_rootless)
              .value()
              .at("threshold") == "1");
  }
  SECTION("concurrent readers during writes see only whole, correct blobs")
  {
    auto store = make();
    std::vector<Blob> blobs;
    for (int i = 0; i < 2000; ++i) {
      blobs.push_back(make_blob(std::string(200, static_cast<char>('a' + i % 26)) + std::to_string(i)));
    }
    // Half stored and flushed before the readers start.
    for (int i = 0; i < 1000; ++i) {
      REQUIRE(store->put(blobs[i]));
    }
    REQUIRE(store->flush());
    std::atomic<bool> done{false};
    std::atomic<int> bad{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 4; ++t) {
      readers.emplace_back([&, t] {
        int i = t;
        while (!done.load()) {
          const Blob& b = blobs[static_cast<std::size_t>(i % 2000)];
          auto got = store->get(b.key());
          if (!got) {
            ++bad;
          } else if (got->has_value() && **got != b) {
            ++bad;
          } else if (i % 2000 < 1000 && !got->has_value()) {
            ++bad; // flushed before the readers began: must be there
          }
          i += 7;
        }
      });
    }
    for (int i = 1000; i < 2000; ++i) {
      REQUIRE(store->put(blobs[i]));
      if (i % 100 == 0) {
        REQUIRE(store->flush());
      }
    }
    REQUIRE(store->flush());
    done = true;
    for (auto& r : readers) {
      r.join();
    }
    CHECK(bad.load() == 0);
    for (const auto& b : blobs) {
      REQUIRE(store->get(b.key()).value().has_value());
    }
  }
}

} // namespace test
