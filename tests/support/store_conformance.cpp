// SPDX-License-Identifier: MIT OR Apache-2.0
#include "support/store_conformance.hpp"

#include "support/temp_dir.hpp"

#include "store/pack_codec.hpp"

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

void run_reader_conformance(const StoreFactory& make)
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

void run_writer_conformance(const StoreFactory& make)
{
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
  SECTION("a replacing put stores a key's copy again, once, and take-back never removes it")
  {
    auto store = make();
    const Key a = store->put(make_blob("a")).value();
    RootRecord root;
    root.name = "r";
    root.key = store->put(make_blob("top", {a})).value();
    REQUIRE(store->commit_root(root));
    const auto mark = store->mark_writes().value();
    pagable::store::PutHints replace;
    replace.replace = true;
    CHECK(store->put(make_blob("a"), replace).value() == a);
    CHECK(store->put(make_blob("a"), replace).value() == a); // once is enough
    const Key fresh = store->put(make_blob("fresh"), replace).value(); // not stored: as usual
    REQUIRE(store->flush());
    CHECK(store->counters().blobs_replaced == 1);
    CHECK(store->discard_writes_since(mark).value().blobs_removed == 1); // fresh
    CHECK_FALSE(store->contains(fresh).value());
    CHECK(store->get(a).value().has_value());
    CHECK(store->get(root.key).value().has_value());
  }
}

void run_catalog_conformance(const StoreFactory& make)
{
  SECTION("roots: each commit of a name adds a version; list, remove one, remove all")
  {
    auto store = make();
    const Key child = store->put(make_blob("child")).value();
    const Key top = store->put(make_blob("top", {child})).value();
    RootRecord r;
    r.name = "run-1";
    r.key = top;
    r.labels = {{"commit", "abc123"}};
    const auto first = store->commit_root(r);
    REQUIRE(first);
    CHECK(first->version == 1);
    CHECK(first->bytes_added.has_value());
    auto got = store->get_root("run-1").value();
    REQUIRE(got.has_value());
    CHECK(got->key == top);
    CHECK(got->version == 1);
    CHECK(got->labels.at("commit") == "abc123");
    CHECK(got->created_unix_ms > 0);
    // A second commit of the name adds version 2; version 1 stays.
    r.key = child;
    r.labels = {{"commit", "def456"}};
    REQUIRE(store->commit_root(r).value().version == 2);
    CHECK(store->get_root("run-1").value()->key == child);
    CHECK(store->list_roots().value().size() == 2);
    const auto versions = store->list_versions("run-1").value();
    REQUIRE(versions.size() == 2);
    CHECK(versions[0].version == 1);
    CHECK(versions[0].key == top);
    CHECK(versions[0].labels.at("commit") == "abc123");
    CHECK(versions[1].version == 2);
    CHECK(store->list_versions("no-such").value().empty());
    // The same document again is a version of its own: the run is recorded.
    REQUIRE(store->commit_root(r).value().version == 3);
    // Removing one version leaves the others; its number is never given again.
    const std::uint64_t doomed[] = {3, 7};
    CHECK(store->remove_versions("run-1", doomed).value() == 1);
    CHECK(store->get_root("run-1").value()->version == 2);
    REQUIRE(store->commit_root(r).value().version == 4);
    const std::uint64_t first_two[] = {1, 2};
    CHECK(store->remove_versions("run-1", first_two).value() == 2);
    CHECK(store->list_versions("run-1").value().size() == 1);
    CHECK(store->remove_root("run-1").value() == 1);
    CHECK(store->remove_root("run-1").value() == 0);
    CHECK(store->list_roots().value().empty());
    CHECK(store->remove_versions("run-1", first_two).value() == 0);
  }
  SECTION("two commits of one name at once get two version numbers")
  {
    auto store = make();
    const Key top = store->put(make_blob("shared top")).value();
    constexpr int k_threads = 4;
    constexpr int k_each = 5;
    std::vector<std::thread> threads;
    std::vector<std::vector<std::uint64_t>> got(k_threads);
    for (int t = 0; t < k_threads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < k_each; ++i) {
          RootRecord r;
          r.name = "ci";
          r.key = top;
          auto c = store->commit_root(r);
          got[static_cast<std::size_t>(t)].push_back(c ? c->version : 0);
        }
      });
    }
    for (auto& th : threads) {
      th.join();
    }
    std::set<std::uint64_t> numbers;
    for (const auto& g : got) {
      numbers.insert(g.begin(), g.end());
    }
    CHECK(numbers.size() == k_threads * k_each);
    CHECK(numbers.count(0) == 0);
    CHECK(*numbers.rbegin() == k_threads * k_each);
    CHECK(store->list_versions("ci").value().size() == k_threads * k_each);
  }
  SECTION("import_root keeps a copied version's number and time; numbers only grow")
  {
    auto store = make();
    const Key top = store->put(make_blob("imported")).value();
    RootRecord r;
    r.name = "api";
    r.key = top;
    r.version = 3;
    r.created_unix_ms = 1'600'000'000'000;
    const auto got = store->import_root(r).value();
    CHECK(got.version == 3);
    CHECK(got.created_unix_ms == 1'600'000'000'000);
    CHECK(store->get_root("api").value()->version == 3);
    // A number at or below one the name was given is refused; a commit takes the next.
    r.version = 3;
    auto again = store->import_root(r);
    REQUIRE_FALSE(again);
    CHECK(again.error().code() == pagable::Errc::invalid_argument);
    r.version = 0;
    CHECK(store->commit_root(r).value().version == 4);
    r.version = 9;
    CHECK(store->import_root(r).value().version == 9);
    CHECK(store->list_versions("api").value().size() == 3);
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
}

void run_settings_conformance(const StoreFactory& make)
{
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
}

namespace {

// A pack image made by hand: `content`'s blobs, compressed against `prefix` when given (a
// delta pack whose bases are `bases`).
pagable::store::PackImage image_of(const std::vector<Blob>& blobs, std::span<const std::uint8_t> prefix,
                                   std::vector<pagable::store::PackBase> bases)
{
  using namespace pagable::store;
  PackImage image;
  pagable::Bytes content;
  for (const Blob& b : blobs) {
    image.entries.push_back(PackEntry{b.key(), content.size(), b.data.size(), b.children});
    content.insert(content.end(), b.data.begin(), b.data.end());
  }
  const EncodedPack encoded = encode_pack(content, 3, prefix);
  image.codec = static_cast<std::int64_t>(encoded.codec);
  image.data = encoded.data;
  image.raw_size = content.size();
  image.digest = PackDigest{pagable::sha256_of(image.data)};
  if (encoded.codec == PackCodec::zstd_prefix) {
    image.bases = std::move(bases);
  }
  return image;
}

} // namespace

void run_transfer_conformance(const StoreFactory& make_source, const StoreFactory& make_target)
{
  using namespace pagable::store;
  SECTION("every pack a root reaches moves, and the root reads back from the other store")
  {
    auto from = make_source();
    const Key leaf = from->put(make_blob(std::string(3000, 'l'))).value();
    const Key mid = from->put(make_blob("mid", {leaf, leaf})).value();
    RootRecord r;
    r.name = "moved";
    r.key = from->put(make_blob("top", {mid, leaf})).value();
    REQUIRE(from->commit_root(r));
    (void)from->put(make_blob("not reached")).value();
    REQUIRE(from->flush());
    const auto digests = from->packs_reached(std::vector<Key>{r.key}).value();
    REQUIRE_FALSE(digests.empty());
    auto to = make_target();
    std::set<Key> indexed;
    for (const PackDigest& d : digests) {
      const auto image = from->export_pack(d).value();
      REQUIRE(image.has_value());
      CHECK(image->digest == d);
      CHECK(pagable::sha256_of(image->data) == d.sha256);
      const auto figures = to->import_pack(*image).value();
      CHECK(figures.pack_added);
      for (const PackEntry& e : image->entries) {
        indexed.insert(e.key);
      }
      // Importing again adds nothing.
      const auto again = to->import_pack(*image).value();
      CHECK_FALSE(again.pack_added);
      CHECK(again.blobs_indexed == 0);
    }
    CHECK(indexed.count(leaf) == 1);
    CHECK(indexed.count(mid) == 1);
    CHECK(indexed.count(r.key) == 1);
    CHECK(*to->get(r.key).value() == *from->get(r.key).value());
    CHECK(*to->get(leaf).value() == *from->get(leaf).value());
    CHECK(to->commit_root(r));
    // The same packs, named the same way, from the other store.
    CHECK(to->packs_reached(std::vector<Key>{r.key}).value().size() >= 1);
    // A pack nobody holds is absent, not an error.
    CHECK_FALSE(from->export_pack(PackDigest{make_blob("no such pack").key()}).value().has_value());
  }
  SECTION("a root that reaches a missing blob names it")
  {
    auto from = make_source();
    const Key missing = make_blob("never stored").key();
    const Key top = from->put(make_blob("top", {missing})).value();
    REQUIRE(from->flush());
    auto reached = from->packs_reached(std::vector<Key>{top});
    REQUIRE_FALSE(reached);
    CHECK(reached.error().code() == pagable::Errc::not_found);
    CHECK_THAT(reached.error().message(), Catch::Contains(missing.to_hex()));
  }
  SECTION("a delta pack needs its base pack first; then its blobs read back")
  {
    std::string text_a(20000, 'a');
    for (std::size_t i = 0; i < text_a.size(); i += 97) {
      text_a[i] = static_cast<char>('b' + i % 20);
    }
    std::string text_b = text_a;
    text_b[5000] = 'Z';
    const Blob a = make_blob(text_a);
    const Blob b = make_blob(text_b);
    const auto base = image_of({a}, {}, {});
    const auto delta = image_of({b}, a.data, {PackBase{base.digest, 0, a.data.size()}});
    REQUIRE(delta.codec == static_cast<std::int64_t>(PackCodec::zstd_prefix));
    CHECK(delta.data.size() < 1000); // compressed against its base
    auto to = make_target();
    auto early = to->import_pack(delta);
    REQUIRE_FALSE(early);
    CHECK(early.error().code() == pagable::Errc::not_found);
    CHECK_THAT(early.error().message(), Catch::Contains(base.digest.to_hex()));
    CHECK_FALSE(to->contains(b.key()).value());
    REQUIRE(to->import_pack(base));
    REQUIRE(to->import_pack(delta));
    CHECK(*to->get(b.key()).value() == b);
    CHECK(*to->get(a.key()).value() == a);
    // Exported again, the delta pack names its base by digest, and leads back to it.
    const auto back = to->export_pack(delta.digest).value();
    REQUIRE(back.has_value());
    CHECK(back->bases == delta.bases);
    const auto order = to->packs_reached(std::vector<Key>{b.key()}).value();
    REQUIRE(order.size() == 2);
    CHECK(order[0] == base.digest);
    CHECK(order[1] == delta.digest);
  }
  SECTION("dropping a base pack drops the packs that decode from it, and both may come back")
  {
    std::string text_a(20000, 'a');
    for (std::size_t i = 0; i < text_a.size(); i += 89) {
      text_a[i] = static_cast<char>('c' + i % 17);
    }
    std::string text_b = text_a;
    text_b[7000] = 'Q';
    const Blob a = make_blob(text_a);
    const Blob b = make_blob(text_b);
    const Blob other = make_blob("an unrelated blob");
    const auto base = image_of({a}, {}, {});
    const auto delta = image_of({b}, a.data, {PackBase{base.digest, 0, a.data.size()}});
    const auto apart = image_of({other}, {}, {});
    auto to = make_target();
    REQUIRE(to->import_pack(base));
    REQUIRE(to->import_pack(delta));
    REQUIRE(to->import_pack(apart));
    CHECK(to->drop_pack(PackDigest{make_blob("no such pack").key()}).value() == 0);
    CHECK(to->drop_pack(base.digest).value() == base.data.size() + delta.data.size());
    CHECK_FALSE(to->contains(a.key()).value());
    CHECK_FALSE(to->contains(b.key()).value());
    CHECK_FALSE(to->get(b.key()).value().has_value());
    CHECK_FALSE(to->export_pack(delta.digest).value().has_value());
    CHECK(*to->get(other.key()).value() == other); // another pack stays
    REQUIRE(to->import_pack(base));
    const auto back = to->import_pack(delta).value();
    CHECK(back.pack_added);
    CHECK(back.blobs_indexed == 1);
    CHECK(*to->get(b.key()).value() == b);
  }
  SECTION("a damaged image is refused whole: wrong bytes, a wrong key, an entry outside the pack")
  {
    const Blob x = make_blob("payload x");
    const Blob y = make_blob("payload y", {x.key()});
    const auto good = image_of({x, y}, {}, {});
    auto to = make_target();
    auto flipped = good;
    flipped.data[flipped.data.size() / 2] ^= 0x40;
    auto wrong_key = good;
    wrong_key.entries[0].key = make_blob("something else").key();
    auto outside = good;
    outside.entries[1].size = 1 << 20;
    for (const PackImage* bad : {&flipped, &wrong_key, &outside}) {
      auto r = to->import_pack(*bad);
      REQUIRE_FALSE(r);
      CHECK(r.error().code() == pagable::Errc::corrupt);
    }
    CHECK_FALSE(to->contains(x.key()).value());
    CHECK(to->stats().value().blobs == 0);
    REQUIRE(to->import_pack(good));
    CHECK(*to->get(y.key()).value() == y);
  }
}

void run_store_conformance(const StoreFactory& make)
{
  SECTION("reading") { run_reader_conformance(make); }
  SECTION("writing") { run_writer_conformance(make); }
  SECTION("the root catalogue") { run_catalog_conformance(make); }
  SECTION("settings") { run_settings_conformance(make); }
  SECTION("pack transfer to a store of the same kind") { run_transfer_conformance(make, make); }
}

} // namespace test
