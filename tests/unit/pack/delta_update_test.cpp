// SPDX-License-Identifier: MIT OR Apache-2.0
// Updates are deltas (DESIGN §4): packing a new version with PackOptions::update_of hints
// each new node's old counterpart to the store, which compresses against it.
#include <pagable/gc.hpp>
#include <pagable/hydrate.hpp>
#include <pagable/pack.hpp>
#include <pagable/verify.hpp>

#include "support/archive_fixture.hpp"
#include "support/gcc_false_positive.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <random>
#include <sstream>

using namespace pagable;
using nlohmann::ordered_json;

namespace {

std::string token(std::mt19937& rng, int n)
{
  std::string s;
  for (int k = 0; k < n; ++k) {
    s += "abcdefghijklmnopqrstuvwxyz0123456789"[rng() % 36];
  }
  return s;
}

// A compat-table-shaped document, about 1.4 MB, hard to compress on its own (random
// tokens): a large object (chunked) whose members hold nodes of their own, a large array
// of records (chunked), all with version strings the updates edit.
ordered_json synthetic_document()
{
  std::mt19937 rng(42);
  ordered_json doc;
  doc["meta"] = {{"version", "1.0.0"}, {"generator", token(rng, 40)}};
  ordered_json api = ordered_json::object();
  for (int i = 0; i < 120; ++i) {
    ordered_json feature = ordered_json::object();
    for (int j = 0; j < 24; ++j) {
      PAGABLE_GCC_FALSE_POSITIVE_BEGIN("-Wrestrict") // g++ 12 false positive, GCC bug 105329
      feature["member_" + token(rng, 8)] = {
          {"description", token(rng, 120)},
          {"support", {{"chrome", {{"version_added", "1" + std::to_string(j)}}},
                       {"firefox", {{"version_added", "2" + std::to_string(j)}}}}},
          {"spec", "https://example.org/" + token(rng, 30)}};
      PAGABLE_GCC_FALSE_POSITIVE_END
    }
    api["Interface" + std::to_string(i) + "_" + token(rng, 6)] = feature;
  }
  doc["api"] = api;
  ordered_json list = ordered_json::array();
  for (int i = 0; i < 1500; ++i) {
    list.push_back({{"id", i}, {"name", token(rng, 60)}, {"version_added", "3.0"}});
  }
  doc["list"] = list;
  return doc;
}

// Edits `count` version strings spread through the document (every k-th one, from `seed`).
void edit_versions(ordered_json& doc, int count, int seed)
{
  std::vector<ordered_json*> versions;
  for (auto& [name, feature] : doc["api"].items()) {
    for (auto& [mname, member] : feature.items()) {
      versions.push_back(&member["support"]["chrome"]["version_added"]);
    }
  }
  for (auto& item : doc["list"]) {
    versions.push_back(&item["version_added"]);
  }
  const std::size_t step = versions.size() / static_cast<std::size_t>(count);
  for (int i = 0; i < count; ++i) {
    auto& v = *versions[(static_cast<std::size_t>(i) * step + static_cast<std::size_t>(seed)) %
                        versions.size()];
    v = v.get<std::string>() + "." + std::to_string(seed);
  }
}

pack::PackResult pack_text(store::BlobStore& s, const std::string& text,
                           const pack::PackOptions& options = {},
                           const pack::BoundarySettings& boundaries = {})
{
  std::istringstream in(text);
  auto r = pack::pack_stream(s, in, boundaries, options);
  INFO((r ? std::string() : r.error().message()));
  REQUIRE(r);
  return std::move(r).value();
}

std::string hydrate_text(const store::BlobStore& s, const Key& key)
{
  hydrate::Document doc(s, key);
  std::ostringstream out;
  const auto w = doc.write_json(out, "");
  INFO((w ? std::string() : w.error().message()));
  REQUIRE(w);
  return out.str();
}

// Bytes the store gained while `fn` ran (packs and index rows).
template <typename F>
std::uint64_t bytes_added(store::BlobStore& s, F&& fn)
{
  const auto before = s.counters().bytes_written;
  fn();
  REQUIRE(s.flush());
  return s.counters().bytes_written - before;
}

void commit(store::BlobStore& s, const std::string& name, const Key& key)
{
  test::archive::commit(s, name, key);
}

} // namespace

TEST_CASE("pack update: aligned with the old version, spread edits add several times fewer bytes",
          "[pack][delta]")
{
  test::TempDir dir;
  ordered_json doc = synthetic_document();
  const std::string v1 = doc.dump();
  edit_versions(doc, 200, 1);
  const std::string v2 = doc.dump();
  REQUIRE(v1 != v2);

  auto aligned = test::archive::open(dir.file("aligned.pagable"));
  auto plain = test::archive::open(dir.file("plain.pagable"));
  const Key k1 = pack_text(*aligned, v1).key;
  REQUIRE(pack_text(*plain, v1).key == k1);
  commit(*aligned, "v1", k1);

  pack::PackOptions update;
  update.update_of = k1;
  pack::PackResult r2a, r2p;
  const auto with = bytes_added(*aligned, [&] { r2a = pack_text(*aligned, v2, update); });
  const auto without = bytes_added(*plain, [&] { r2p = pack_text(*plain, v2); });
  INFO("bytes added: aligned " << with << ", without alignment " << without);
  CHECK(r2a.key == r2p.key); // hints never change what is stored
  CHECK(r2a.hinted > 0);
  CHECK(r2a.alignment_error.empty());
  CHECK(r2p.hinted == 0);
  CHECK(aligned->counters().blobs_delta > 0);
  CHECK(plain->counters().blobs_delta == 0);
  CHECK(with * 4 < without);

  commit(*aligned, "v2", r2a.key);
  CHECK(hydrate_text(*aligned, k1) == v1);
  CHECK(hydrate_text(*aligned, r2a.key) == v2);
  const auto report = verify::run(*aligned).value();
  INFO((report.ok() ? "" : report.problems.front().detail));
  CHECK(report.ok());
}

TEST_CASE("pack update: a routed object's changed fingerprint group compresses against the old",
          "[pack][delta]")
{
  // 3,000 members (routed at the default route_members), one inserted in the middle: the
  // group of 16-bit fingerprints listing it changes, about 3 kB that do not compress alone.
  std::mt19937 rng(7);
  std::vector<std::pair<std::string, std::string>> members;
  for (int i = 0; i < 3000; ++i) {
    PAGABLE_GCC_FALSE_POSITIVE_BEGIN("-Wrestrict") // g++ 12 false positive, GCC bug 105329
    members.emplace_back("m" + token(rng, 10), token(rng, 40));
    PAGABLE_GCC_FALSE_POSITIVE_END
  }
  const auto document = [&] {
    ordered_json big = ordered_json::object();
    for (const auto& [name, value] : members) {
      big[name] = value;
    }
    ordered_json doc;
    doc["big"] = big;
    return doc.dump();
  };
  const std::string v1 = document();
  members.insert(members.begin() + 1500, {"inserted", token(rng, 40)});
  const std::string v2 = document();
  REQUIRE(pack::BoundarySettings{}.route_members <= 3000);

  // The bytes the update adds, with routing (default) and without.
  const auto update_bytes = [&](const pack::BoundarySettings& b, const char* file) {
    test::TempDir dir;
    auto s = test::archive::open(dir.file(file));
    const Key k1 = pack_text(*s, v1, {}, b).key;
    commit(*s, "v1", k1);
    pack::PackOptions update;
    update.update_of = k1;
    pack::PackResult r2;
    const auto added = bytes_added(*s, [&] { r2 = pack_text(*s, v2, update, b); });
    CHECK(hydrate_text(*s, r2.key) == v2);
    return added;
  };
  pack::BoundarySettings unrouted;
  unrouted.route_members = 0;
  const auto routed_bytes = update_bytes(pack::BoundarySettings{}, "routed.pagable");
  const auto plain_bytes = update_bytes(unrouted, "plain.pagable");
  INFO("update adds " << routed_bytes << " bytes routed, " << plain_bytes << " unrouted");
  // The new routed node and the group's delta: a few hundred bytes, not the group again.
  CHECK(routed_bytes < plain_bytes + 1024);
}

TEST_CASE("pack update: a chain of 6 versions hydrates, stays shallow and survives gc",
          "[pack][delta]")
{
  test::TempDir dir;
  const std::string path = dir.file("chain.pagable");
  std::vector<std::string> texts;
  std::vector<Key> keys;
  {
    auto s = test::archive::open(path);
    ordered_json doc = synthetic_document();
    for (int v = 0; v < 6; ++v) {
      if (v > 0) {
        edit_versions(doc, 60, v);
      }
      texts.push_back(doc.dump());
      pack::PackOptions o;
      if (v > 0) {
        o.update_of = keys.back();
      }
      keys.push_back(pack_text(*s, texts.back(), o).key);
      PAGABLE_GCC_FALSE_POSITIVE_BEGIN("-Wrestrict") // g++ 12 false positive, GCC bug 105329
      commit(*s, "v" + std::to_string(v), keys.back());
      PAGABLE_GCC_FALSE_POSITIVE_END
    }
    for (std::size_t v = 0; v < keys.size(); ++v) {
      CHECK(hydrate_text(*s, keys[v]) == texts[v]);
    }
    CHECK(verify::run(*s).value().ok());
    // Only the newest stays: gc must keep (or rewrite) the bases its packs decode from.
    for (int v = 0; v < 5; ++v) {
      PAGABLE_GCC_FALSE_POSITIVE_BEGIN("-Wrestrict") // g++ 12 false positive, GCC bug 105329
      REQUIRE(s->remove_root("v" + std::to_string(v)).value());
      PAGABLE_GCC_FALSE_POSITIVE_END
    }
    auto plan = gc::plan(*s).value();
    REQUIRE(gc::execute(*s, plan));
  }
  // Delta packs chained on earlier delta packs, never deeper than the store's bound.
  CHECK(test::archive::sql_int(path, "SELECT max(depth) FROM packs") >= 2);
  CHECK(test::archive::sql_int(path, "SELECT max(depth) FROM packs") <= 4);
  auto ro = test::archive::open(path, store::OpenMode::read_only);
  CHECK(hydrate_text(*ro, keys.back()) == texts.back());
  const auto report = verify::run(*ro).value();
  INFO((report.ok() ? "" : report.problems.front().detail));
  CHECK(report.ok());
}

TEST_CASE("pack update: aligns array items by index and small documents too", "[pack][delta]")
{
  test::TempDir dir;
  auto s = test::archive::open(dir.file("a.pagable"));
  std::mt19937 rng(7);
  // One array node of about 20 kB (not chunked) whose items are inline records.
  ordered_json v1 = ordered_json::array();
  for (int i = 0; i < 100; ++i) {
    v1.push_back({{"n", token(rng, 150)}, {"v", "1"}});
  }
  ordered_json v2 = v1;
  v2[50]["v"] = "2";
  const Key k1 = pack_text(*s, v1.dump()).key;
  pack::PackOptions o;
  o.update_of = k1;
  const auto before = s->counters().blobs_delta;
  const auto r2 = pack_text(*s, v2.dump(), o);
  CHECK(r2.hinted == 1);
  CHECK(s->counters().blobs_delta == before + 1);
  CHECK(hydrate_text(*s, r2.key) == v2.dump());
  // A scalar document is hinted with the old root.
  const auto r3 = pack_text(*s, "\"a scalar\"", o);
  CHECK(r3.hinted == 1);
}

TEST_CASE("pack update: an old root that cannot be read only loses the hints", "[pack][delta]")
{
  auto s = store::make_memory_store();
  const std::string text = synthetic_document().dump();
  pack::PackOptions o;
  o.update_of = Key::parse(std::string(64, 'a')).value(); // not stored
  const auto r = pack_text(*s, text, o);
  CHECK(r.hinted == 0);
  CHECK_THAT(r.alignment_error, Catch::Contains("missing blob aaaa"));
  CHECK(hydrate_text(*s, r.key) == text);
  CHECK(r.key == pack_text(*s, text).key);
}

TEST_CASE("pack: progress is reported as input is read, then once when done", "[pack]")
{
  auto s = store::make_memory_store();
  const std::string text = synthetic_document().dump();
  std::vector<pack::PackProgress> seen;
  pack::PackOptions o;
  o.progress_interval = std::chrono::milliseconds(0);
  o.progress = [&seen](const pack::PackProgress& p) { seen.push_back(p); };
  const auto r = pack_text(*s, text, o);
  REQUIRE(seen.size() >= 3); // 64 KiB reads of a 1.4 MB document
  for (std::size_t i = 0; i + 1 < seen.size(); ++i) {
    CHECK_FALSE(seen[i].done);
    CHECK(seen[i].bytes_in <= seen[i + 1].bytes_in);
    CHECK(seen[i].nodes <= seen[i + 1].nodes);
  }
  CHECK(seen.back().done);
  CHECK(seen.back().bytes_in == text.size());
  CHECK(seen.back().nodes == r.nodes);

  // The interval bounds how often: one second between reports leaves only the last one here
  // (unless this machine takes a second to pack it).
  seen.clear();
  o.progress_interval = std::chrono::seconds(1);
  const auto t0 = std::chrono::steady_clock::now();
  pack_text(*s, text, o);
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0);
  CHECK(seen.size() <= 1 + static_cast<std::size_t>(secs.count()) + 1);
  CHECK(seen.back().done);
}
