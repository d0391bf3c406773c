// SPDX-License-Identifier: MIT OR Apache-2.0
// The façade's contract (pagable/archive.hpp): a pack is a root atomically, under a failure
// mid-document, a stop request or a concurrent gc; its defaults are the ones the CLI writes
// with, gc keeps them; one Archive may be shared by threads.
#include <pagable/archive.hpp>
#include <pagable/gc.hpp>
#include <pagable/hydrate.hpp>
#include <pagable/verify.hpp>

#include "store/pack_codec.hpp"
#include "support/archive_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <sstream>
#include <thread>

using namespace pagable;

namespace {

std::unique_ptr<Archive> open_rw(const std::string& path, ArchiveOptions o = {})
{
  o.mode = OpenMode::create;
  auto a = Archive::open(path, o);
  INFO((a ? std::string() : a.error().message()));
  REQUIRE(a);
  return std::move(a).value();
}

// A document of `items` members, each an object big enough to be a node of its own; members
// below `shared` are the same in every document made with that `shared`.
std::string document(int items, int shared, const std::string& salt)
{
  std::string doc = "{";
  for (int i = 0; i < items; ++i) {
    doc += test::cat(i ? "," : "", "\"m", i, "\":{\"text\":\"",
                     std::string(400, static_cast<char>('a' + i % 26)), i < shared ? "" : salt,
                     "\",\"i\":", i, "}");
  }
  return doc + "}";
}

Result<PackReport> pack_text(Archive& a, const std::string& name, const std::string& text,
                             std::stop_token stop = {})
{
  std::istringstream in(text);
  PackRequest r;
  r.name = name;
  return a.pack(PackSource::stream(in), r, stop);
}

std::string hydrate_text(const Archive& a, const Key& key)
{
  hydrate::Document doc(a.store(), key);
  std::ostringstream out;
  REQUIRE(doc.write_json(out, ""));
  return out.str();
}

std::uint64_t blob_count(const Archive& a)
{
  return a.store().stats().value().blobs;
}

} // namespace

TEST_CASE("archive: a document that fails part-way leaves no root and no blob",
          "[archive]")
{
  test::TempDir dir;
  auto a = open_rw(dir.file("a.pagable"));
  REQUIRE(pack_text(*a, "kept", document(50, 50, "")));
  const auto before = blob_count(*a);
  // Many nodes are stored before the parser meets the syntax error at the end.
  std::string bad = document(400, 0, "new");
  bad.back() = ',';
  bad += "}";
  auto failed = pack_text(*a, "bad", bad);
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code() == Errc::invalid_input);
  CHECK_FALSE(a->store().get_root("bad").value().has_value());
  CHECK(blob_count(*a) == before);
  CHECK(a->list_roots().value().size() == 1);
}

TEST_CASE("archive: a stop request stops a pack, which then leaves nothing", "[archive]")
{
  test::TempDir dir;
  auto a = open_rw(dir.file("a.pagable"));
  const auto before = blob_count(*a);
  std::stop_source stop;
  stop.request_stop(); // before the first node: the pack must notice at once
  auto stopped = pack_text(*a, "big", document(2000, 0, "x"), stop.get_token());
  REQUIRE_FALSE(stopped);
  CHECK(stopped.error().code() == Errc::cancelled);
  CHECK(blob_count(*a) == before);
  CHECK(a->list_roots().value().empty());
  // The same Archive packs the next document as usual.
  CHECK(pack_text(*a, "after", document(20, 0, "y")));
}

TEST_CASE("archive: packs racing a gc on the same file commit whole roots or fail cleanly",
          "[archive][gc]")
{
  test::TempDir dir;
  const std::string path = dir.file("race.pagable");
  auto packer = open_rw(path);
  auto collector = open_rw(path);
  std::atomic<bool> done{false};
  std::vector<std::string> texts;
  for (int round = 0; round < 12; ++round) {
    texts.push_back(document(60, 40, test::cat("r", round)));
  }
  std::thread gc_thread([&] {
    while (!done.load()) {
      auto plan = gc::plan(collector->store());
      if (plan) {
        (void)gc::execute(collector->store(), *plan);
      }
    }
  });
  int committed = 0;
  for (int round = 0; round < 12; ++round) {
    // Each round's version replaces the last one (removed once it committed): the old
    // version's nodes become garbage the gc races for, and the new one reuses most of them.
    auto r = pack_text(*packer, "doc", texts[static_cast<std::size_t>(round)]);
    if (r) {
      ++committed;
      std::vector<std::uint64_t> older;
      for (std::uint64_t v = 1; v < r->root.version; ++v) {
        older.push_back(v);
      }
      REQUIRE(packer->store().remove_versions("doc", older));
      CHECK(nlohmann::json::parse(hydrate_text(*packer, r->root.key)) ==
            nlohmann::json::parse(texts[static_cast<std::size_t>(round)]));
    } else {
      CHECK(r.error().code() == Errc::locked); // a stream cannot be read again: a clean failure
    }
  }
  done = true;
  gc_thread.join();
  CHECK(committed > 0);
  const auto report = verify::run(packer->store()).value();
  CHECK(report.ok());
  // Whatever the last committed round was, its root reads back whole.
  const auto root = packer->find_root("doc").value();
  CHECK_FALSE(hydrate_text(*packer, root.key).empty());
}

TEST_CASE("archive: gc rewrites packs with the archive's compression", "[archive][gc]")
{
  test::TempDir dir;
  auto a = open_rw(dir.file("gc.pagable"));
  // Two documents whose first 300 of 1,000 members are the same: the second stores only its
  // own chunks, so the first one's pack holds the shared ones too.
  REQUIRE(pack_text(*a, "first", document(1000, 300, "first")));
  REQUIRE(pack_text(*a, "second", document(1000, 300, "second")));
  const auto before = test::archive::pack_rows(a->location());
  // Most of the first pack dies with the first document: gc rewrites what is left of it.
  REQUIRE(a->store().remove_root("first").value() == 1);
  auto plan = gc::plan(a->store()).value();
  const auto figures = gc::execute(a->store(), plan).value();
  REQUIRE(figures.packs_rewritten > 0);
  const auto after = test::archive::pack_rows(a->location());
  int checked = 0;
  for (const auto& [id, row] : after) {
    if (before.count(id) != 0 || row.codec != static_cast<std::int64_t>(store::PackCodec::zstd)) {
      continue; // not rewritten
    }
    const auto raw = store::decode_pack(store::PackCodec::zstd, row.data,
                                        static_cast<std::uint64_t>(row.raw_size), 1 << 30)
                         .value();
    CHECK(row.data.size() == store::encode_pack(raw, ArchiveOptions{}.compression_level).data.size());
    CHECK(row.data.size() != store::encode_pack(raw, 1).data.size());
    ++checked;
  }
  CHECK(checked > 0);
}

TEST_CASE("archive: one Archive shared by threads packs and reads", "[archive]")
{
  test::TempDir dir;
  auto a = open_rw(dir.file("shared.pagable"));
  std::vector<std::string> texts;
  for (int t = 0; t < 4; ++t) {
    texts.push_back(document(80, 60, test::cat("t", t)));
  }
  std::atomic<bool> done{false};
  std::atomic<int> read_errors{0};
  std::thread reader([&] {
    while (!done.load()) {
      auto roots = a->list_roots();
      if (!roots) {
        ++read_errors;
        continue;
      }
      for (const auto& r : *roots) {
        if (!a->find_root(r.name) || !a->store().get(r.key).value().has_value()) {
          ++read_errors;
        }
      }
    }
  });
  std::vector<std::thread> packers;
  std::atomic<int> pack_errors{0};
  for (int t = 0; t < 4; ++t) {
    packers.emplace_back([&, t] {
      if (!pack_text(*a, test::cat("t", t), texts[static_cast<std::size_t>(t)])) {
        ++pack_errors;
      }
    });
  }
  for (auto& p : packers) {
    p.join();
  }
  done = true;
  reader.join();
  CHECK(pack_errors.load() == 0);
  CHECK(read_errors.load() == 0);
  for (int t = 0; t < 4; ++t) {
    const auto root = a->find_root("t" + std::to_string(t)).value();
    CHECK(nlohmann::json::parse(hydrate_text(*a, root.key)) ==
          nlohmann::json::parse(texts[static_cast<std::size_t>(t)]));
  }
  CHECK(verify::run(a->store()).value().ok());
}

TEST_CASE("archive: roots are found by name, then by a unique key prefix", "[archive]")
{
  auto a = Archive::open_in_memory();
  const auto one = pack_text(*a, "one", "{\"a\":1}").value();
  const auto two = pack_text(*a, "two", "{\"a\":2}").value();
  CHECK(a->find_root("one").value().key == one.root.key);
  CHECK(a->find_root(two.root.key.to_hex().substr(0, 10)).value().name == "two");
  CHECK(a->find_root("nothing").error().code() == Errc::not_found);
  auto dup = pack_text(*a, "one-again", "{\"a\":1}").value();
  CHECK(dup.root.key == one.root.key); // one document under two names: its prefix picks it
  CHECK(a->find_root(one.root.key.to_hex().substr(0, 10)));
}

TEST_CASE("archive: each pack of a name adds a version, numbered, delta-compressed against the "
          "newest, with what it added",
          "[archive][versions]")
{
  test::TempDir dir;
  const std::string path = dir.file("v.pagable");
  auto a = open_rw(path);
  // What a version added is the pages its transactions took: with no other writer, exactly
  // what the file's pages in use grew by (a small enough version may take no new page).
  const auto used_bytes = [&] {
    return test::archive::sql_int(path, "SELECT ((SELECT page_count FROM pragma_page_count) - "
                                        "(SELECT freelist_count FROM pragma_freelist_count)) * "
                                        "(SELECT page_size FROM pragma_page_size)");
  };
  REQUIRE(pack_text(*a, "first", "{}")); // the archive's tables exist before "doc" is measured
  std::vector<PackReport> packs;
  for (int v = 0; v < 4; ++v) {
    const auto used_before = used_bytes();
    auto r = pack_text(*a, "doc", document(120, 110 - v, "v" + std::to_string(v)));
    REQUIRE(r);
    CHECK(r->root.version == static_cast<std::uint64_t>(v + 1));
    CHECK(r->bytes_added == r->root.bytes_added.value());
    CHECK(static_cast<std::int64_t>(r->bytes_added) == used_bytes() - used_before);
    if (v > 0) {
      CHECK(r->update_of == packs.back().root.key);
      CHECK(r->delta_nodes > 0);
    }
    packs.push_back(*r);
  }
  const auto versions = a->list_versions("doc").value();
  REQUIRE(versions.size() == 4);
  CHECK(a->find_root("doc").value().version == 4);
  CHECK(a->find_root("doc#2").value().key == packs[1].root.key);
  CHECK(a->find_root("doc~3").value().key == packs[0].root.key);
  CHECK(a->find_root(packs[2].root.key.to_hex().substr(0, 10)).value().version == 3);
  // The stats record what each version stored, for log.
  const auto stats = nlohmann::json::parse(versions[3].stats_json);
  CHECK(stats["new_nodes"] == packs[3].new_nodes);
  CHECK(stats["delta_nodes"] == packs[3].delta_nodes);
  // Names selectors or unpack could not take are refused before anything is read.
  for (const char* bad : {"a#1", "../up", "x@y", ""}) {
    INFO(bad);
    auto r = pack_text(*a, bad, "{}");
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::invalid_argument);
  }
}

TEST_CASE("archive: forget removes the versions a policy drops, and gc then keeps the delta bases the "
          "versions kept decode from",
          "[archive][versions]")
{
  test::TempDir dir;
  auto a = open_rw(dir.file("f.pagable"));
  std::vector<std::string> texts;
  for (int v = 0; v < 6; ++v) {
    texts.push_back(document(150, 140 - 3 * v, "r" + std::to_string(v)));
    auto r = pack_text(*a, "doc", texts.back());
    REQUIRE(r);
    if (v > 0) {
      CHECK(r->delta_nodes > 0); // its new nodes are deltas against the version before
    }
  }
  REQUIRE(pack_text(*a, "other", document(10, 10, "")));
  KeepPolicy policy;
  policy.last = 1;
  const std::vector<std::string> names = {"doc"};
  const auto dry = a->forget(names, policy, DryRun::yes).value();
  REQUIRE(dry.names.size() == 1);
  CHECK(dry.names[0].removed == 0);
  CHECK(a->list_versions("doc").value().size() == 6);
  const auto done = a->forget(names, policy, DryRun::no).value();
  CHECK(done.names[0].removed == 5);
  CHECK(a->list_versions("other").value().size() == 1);
  auto plan = gc::plan(a->store()).value();
  REQUIRE(gc::execute(a->store(), plan));
  CHECK(verify::run(a->store()).value().ok());
  CHECK(nlohmann::json::parse(hydrate_text(*a, a->find_root("doc").value().key)) ==
        nlohmann::json::parse(texts.back()));
  // An empty policy and an unknown name are refused, nothing removed.
  CHECK(a->forget(names, KeepPolicy{}, DryRun::no).error().code() == Errc::invalid_argument);
  const std::vector<std::string> unknown = {"nope"};
  CHECK(a->forget(unknown, policy, DryRun::no).error().code() == Errc::not_found);
}

namespace {

// Writes what a walk reports as a line of events.
class EventLog final : public hydrate::ValueVisitor {
public:
  std::string text;
  Result<void> null_value() override { return add("null"); }
  Result<void> boolean(bool b) override { return add(b ? "true" : "false"); }
  Result<void> integer(std::int64_t i) override { return add(test::cat("i", i)); }
  Result<void> big_integer(std::string_view d) override { return add(test::cat("big", d)); }
  Result<void> number(double d) override { return add(test::cat("d", d)); }
  Result<void> string(std::string_view s) override { return add(test::cat("s:", s)); }
  Result<void> begin_object() override { return add("{"); }
  Result<void> member(std::string_view n) override { return add(std::string(n) + "="); }
  Result<void> end_object() override { return add("}"); }
  Result<void> begin_array() override { return add("["); }
  Result<void> end_array() override { return add("]"); }

private:
  Result<void> add(const std::string& event)
  {
    text += event + " ";
    return {};
  }
};

// Stops the walk at its third event.
class StopEarly final : public hydrate::ValueVisitor {
public:
  int events = 0;
  Result<void> null_value() override { return step(); }
  Result<void> boolean(bool) override { return step(); }
  Result<void> integer(std::int64_t) override { return step(); }
  Result<void> big_integer(std::string_view) override { return step(); }
  Result<void> number(double) override { return step(); }
  Result<void> string(std::string_view) override { return step(); }
  Result<void> begin_object() override { return step(); }
  Result<void> member(std::string_view) override { return step(); }
  Result<void> end_object() override { return step(); }
  Result<void> begin_array() override { return step(); }
  Result<void> end_array() override { return step(); }

private:
  Result<void> step()
  {
    if (++events == 3) {
      return make_error(Errc::cancelled, "enough");
    }
    return {};
  }
};

} // namespace

TEST_CASE("archive: a root's values are walked in document order, chunks and all", "[archive]")
{
  auto a = Archive::open_in_memory();
  const auto small =
      pack_text(*a, "small", R"({"b":[1,-2,{"c":null}],"a":"x","t":true,"f":1.5,)"
                             R"("big":123456789012345678901234567890})")
          .value();
  EventLog log;
  REQUIRE(a->document(small.root.key)->walk("", log));
  CHECK(log.text == "{ b= [ i1 i-2 { c= null } ] a= s:x t= true f= d1.500000 "
                    "big= big123456789012345678901234567890 } ");
  EventLog at;
  REQUIRE(a->document(small.root.key)->walk("/b/2", at));
  CHECK(at.text == "{ c= null } ");
  // A document big enough for chunk trees walks as it writes.
  const std::string big = document(3000, 0, "w");
  const auto packed = pack_text(*a, "big", big).value();
  CHECK(packed.result.nodes > 1);
  EventLog whole;
  REQUIRE(a->document(packed.root.key)->walk("", whole));
  CHECK(std::count(whole.text.begin(), whole.text.end(), '{') == 3001);
  StopEarly stop;
  const auto stopped = a->document(packed.root.key)->walk("", stop);
  REQUIRE_FALSE(stopped);
  CHECK(stopped.error().code() == Errc::cancelled);
  CHECK(stop.events == 3);
  CHECK(a->document(packed.root.key)->walk("/nothing", log).error().code() == Errc::not_found);
}

TEST_CASE("archive: remove takes out named roots, or all but the newest few", "[archive]")
{
  test::TempDir dir;
  auto a = open_rw(dir.file("rm.pagable"));
  for (const char* name : {"run-1", "run-2", "run-3", "other"}) {
    REQUIRE(pack_text(*a, name, std::string("{\"n\":\"") + name + "\"}"));
  }
  RemoveRequest keep;
  keep.keep_last = 1;
  keep.prefix = "run-";
  CHECK(a->plan_remove(keep).value().names == std::vector<std::string>{"run-1", "run-2"});
  RemoveRequest named;
  named.names = {"other", "nobody"};
  const auto missing = a->plan_remove(named);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code() == Errc::not_found);
  CHECK(a->list_roots().value().size() == 4); // nothing removed by a plan
  CHECK(a->remove(a->plan_remove(keep).value()).value().removed ==
        std::vector<std::string>{"run-1", "run-2"});
  const auto stats = a->stat().value();
  CHECK(stats.store.roots == 2);
  CHECK(stats.store.names == 2);
  CHECK(stats.newest.has_value());
  std::uint64_t added = 0; // documents this small may take no new page: the sum, not "> 0"
  const auto left = a->list_roots().value();
  for (const auto& r : left) {
    added += r.bytes_added.value_or(0);
  }
  CHECK(stats.bytes_added_total == added);
  CHECK(stats.reclaimable.blobs_removed > 0); // the two documents' blobs, for gc
  REQUIRE(stats.boundaries.has_value());
  CHECK(stats.boundaries->node_bytes == pack::BoundarySettings{}.node_bytes);
  auto plan = a->plan_gc().value();
  CHECK(a->collect_garbage(plan).value().blobs_removed == stats.reclaimable.blobs_removed);
  CHECK(a->verify().value().ok());
}

TEST_CASE("archive: a large document's root is read without decoding the content before it",
          "[archive][pack]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  // A root with data of its own (200 members inline, more than its child keys) after 1.3 MB
  // of content (JSON text), at the archive defaults.
  std::string doc = "{";
  for (const char* array : {"a", "b"}) {
    doc += test::cat("\"", array, "\":[");
    for (int i = 0; i < 1500; ++i) {
      doc += test::cat(i ? "," : "", "{\"text\":\"", std::string(400, static_cast<char>('a' + i % 26)),
                       "\",\"i\":", i, "}");
    }
    doc += "],";
  }
  for (int i = 0; i < 200; ++i) {
    doc += test::cat(i ? "," : "", "\"s", i, "\":", i);
  }
  doc += "}";
  Key root;
  {
    auto a = open_rw(path);
    root = pack_text(*a, "doc", doc).value().root.key;
  }
  auto a = Archive::open(path, {}).value();
  std::ostringstream out;
  REQUIRE(a->document(root)->write_json(out, "/s7"));
  CHECK(out.str() == "7");
  // In the content pack, the root came last: 0.62 MB decoded to reach it (1.5 kB now).
  CHECK(a->store().counters().pack_bytes_decoded < 256 * 1024);
  std::ostringstream whole;
  REQUIRE(a->document(root)->write_json(whole, ""));
  CHECK(nlohmann::json::parse(whole.str()) == nlohmann::json::parse(doc));
}
