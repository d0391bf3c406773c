// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable hydrate REMOTE end to end: the built binary reading a version lazily from the real
// registry through a local cache, with a counting proxy in front to count what crosses the
// wire.
#include "remote/mapping.hpp"
#include "support/registry_fixture.hpp"
#include "support/remote_helpers.hpp"
#include "support/run_pagable.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <thread>

using test::run_pagable;

namespace {

struct Pushed {
  std::string archive;
  std::unique_ptr<test::CountingProxy> proxy;
};

// Packs `items` members as "doc" into a.pagable and pushes it to `repo` behind a counting proxy.
Pushed push_document(const test::TempDir& dir, const test::TestRegistry& registry, const std::string& repo, int items)
{
  Pushed p;
  p.archive = dir.file("a.pagable");
  test::write_file(dir.file("doc.json"), test::member_document(items, 0, 1));
  REQUIRE(run_pagable({"pack", p.archive, dir.file("doc.json"), "--name", "doc"}).exit_code == 0);
  REQUIRE(run_pagable({"push", p.archive, registry.url(repo)}).exit_code == 0);
  std::string why;
  p.proxy = test::CountingProxy::start(registry.port(), why);
  INFO(why);
  REQUIRE(p.proxy);
  return p;
}

// The --stats object hydrate printed on stderr (its last line).
nlohmann::json stats_of(const test::ProcessResult& r)
{
  INFO(r.err);
  const auto end = r.err.find_last_not_of('\n');
  const auto start = r.err.rfind('\n', end);
  return nlohmann::json::parse(r.err.substr(start == std::string::npos ? 0 : start + 1));
}

std::uint64_t files_in(const std::string& dir)
{
  std::uint64_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    n += e.is_regular_file() && e.path().parent_path().extension() == ".packs" ? 1 : 0;
  }
  return n;
}

} // namespace

TEST_CASE("remote hydrate: a cold cache fetches the indexes and only the packs on the pointer's path, "
          "a warm one fetches no pack",
          "[cli][remote]")
{
  test::TempDir dir;
  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), {});
  auto pushed = push_document(dir, *reg, "ci/lazy", 4000);
  const std::string cache = dir.file("cache");
  const std::string url = pushed.proxy->url("ci/lazy");
  const auto local = run_pagable({"hydrate", pushed.archive, "doc", "--at", "/m3999"});
  REQUIRE(local.exit_code == 0);

  const auto cold = run_pagable({"hydrate", url, "doc", "--at", "/m3999", "--cache", cache, "--stats"});
  INFO(cold.err);
  REQUIRE(cold.exit_code == 0);
  CHECK(cold.out == local.out);
  const auto first = stats_of(cold);
  test::check_report(PAGABLE_SOURCE_DIR, first.dump(), "hydrate");
  const auto f = first["remote"];
  INFO(first.dump());
  CHECK(f["version_packs"].get<int>() >= 4);
  CHECK(f["packs_fetched"].get<int>() >= 1);
  CHECK(f["packs_fetched"].get<int>() < f["version_packs"].get<int>());
  CHECK(f["pack_bytes"].get<std::uint64_t>() < f["version_bytes"].get<std::uint64_t>() / 2);
  // One round for the indexes, then one per pack the reads missed.
  CHECK(f["fetch_rounds"].get<std::uint64_t>() <= 1 + f["packs_fetched"].get<std::uint64_t>());
  // At the registry: the root record, every index, and the packs fetched; nothing else.
  const auto at_cold = pushed.proxy->figures();
  CHECK(at_cold.blob_gets == 1 + f["indexes_fetched"].get<std::uint64_t>() + f["packs_fetched"].get<std::uint64_t>());
  CHECK(files_in(cache) == f["packs_fetched"].get<std::uint64_t>());

  pushed.proxy->reset();
  const auto warm = run_pagable({"hydrate", url, "doc", "--at", "/m3999", "--cache", cache, "--stats"});
  REQUIRE(warm.exit_code == 0);
  CHECK(warm.out == local.out);
  CHECK(stats_of(warm)["remote"]["packs_fetched"] == 0);
  CHECK(pushed.proxy->figures().blob_gets == 1 + f["indexes_fetched"].get<std::uint64_t>());

  // The whole value, without --at, as local hydrate writes it.
  const auto whole = run_pagable({"hydrate", url, "doc", "--cache", cache});
  REQUIRE(whole.exit_code == 0);
  CHECK(whole.out == run_pagable({"hydrate", pushed.archive, "doc"}).out);
  // XDG_CACHE_HOME is the default cache's home.
  const auto xdg = run_pagable({"hydrate", url, "doc", "--at", "/m1/i"}, {}, {"XDG_CACHE_HOME=" + dir.file("xdg")});
  INFO(xdg.err);
  CHECK(xdg.exit_code == 0);
  CHECK(xdg.out == "1");
  CHECK(std::filesystem::exists(dir.file("xdg") + "/pagable"));
}

TEST_CASE("remote hydrate: a pack served with wrong bytes exits 5 and leaves nothing in the cache",
          "[cli][remote]")
{
  test::TempDir dir;
  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), {});
  auto pushed = push_document(dir, *reg, "ci/flip", 1500);
  const std::string cache = dir.file("cache");
  // Packs only: the root record and the indexes read as they are, so the read gets to a pack.
  std::vector<std::string> packs;
  {
    auto where = pagable::remote::parse_location(reg->url("ci/flip"));
    REQUIRE(where);
    auto registry = pagable::remote::Registry::open(*where);
    REQUIRE(registry);
    const auto manifest = (*registry)->get_manifest("doc");
    REQUIRE(manifest);
    REQUIRE(manifest->has_value());
    const auto decoded = pagable::remote::decode_manifest((*manifest)->bytes);
    REQUIRE(decoded);
    for (const auto& layer : decoded->layers) {
      if (layer.media_type == pagable::remote::k_pack_type) {
        packs.push_back(pagable::remote::digest_text(layer.digest));
      }
    }
  }
  REQUIRE(packs.size() >= 2);
  pushed.proxy->flip_only(packs);
  pushed.proxy->flip_blob_bytes(true);
  const auto refused = run_pagable({"--json", "hydrate", pushed.proxy->url("ci/flip"), "doc", "--at", "/m7", "--cache", cache});
  CHECK(refused.exit_code == 5);
  CHECK(test::report_of(refused, "error")["error"]["code"] == "corrupt");
  CHECK(files_in(cache) == 0);
  std::string host_dir = pushed.proxy->host(); // "127.0.0.1:PORT" -> "127.0.0.1_PORT"
  host_dir[9] = '_';
  const auto stat = test::report_of(
      run_pagable({"--json", "stat", test::cat(dir.file("cache"), "/", host_dir, "/ci/flip.pagable")}), "stat");
  CHECK(stat["blobs"] == 0);
  pushed.proxy->flip_blob_bytes(false);
  const auto read = run_pagable({"hydrate", pushed.proxy->url("ci/flip"), "doc", "--at", "/m7/i", "--cache", cache});
  INFO(read.err);
  CHECK(read.exit_code == 0);
  CHECK(read.out == "7");
}

TEST_CASE("remote hydrate: the cache bound evicts least recently used packs, and two processes share "
          "a cache at once",
          "[cli][remote]")
{
  test::TempDir dir;
  PAGABLE_REQUIRE_REGISTRY(reg, dir.path(), {});
  auto pushed = push_document(dir, *reg, "ci/bound", 4000);
  const std::string url = pushed.proxy->url("ci/bound");
  const std::string cache = dir.file("cache");
  // Two readers at once on a cold shared cache, each reading the whole document.
  test::ProcessResult ra;
  test::ProcessResult rb;
  std::thread ta([&] { ra = run_pagable({"hydrate", url, "doc", "--cache", cache}); });
  std::thread tb([&] { rb = run_pagable({"hydrate", url, "doc", "--cache", cache}); });
  ta.join();
  tb.join();
  INFO(ra.err << rb.err);
  CHECK(ra.exit_code == 0);
  CHECK(rb.exit_code == 0);
  const std::string expected = run_pagable({"hydrate", pushed.archive, "doc"}).out;
  CHECK(ra.out == expected);
  CHECK(rb.out == expected);
  const auto everything = files_in(cache);
  CHECK(everything >= 4);

  // A bound of one byte keeps nothing past the read; the value is still right.
  const auto bounded = run_pagable({"hydrate", url, "doc", "--at", "/m3999/i", "--cache", cache,
                                    "--cache-max-bytes", "1", "--stats"});
  INFO(bounded.err);
  REQUIRE(bounded.exit_code == 0);
  CHECK(bounded.out == "3999");
  const auto s = stats_of(bounded)["remote"];
  CHECK(s["packs_evicted"].get<std::uint64_t>() == everything);
  CHECK(s["cached_bytes"] == 0);
  CHECK(files_in(cache) == 0);

  // A bound that holds some: the packs used last stay, the oldest go.
  REQUIRE(run_pagable({"hydrate", url, "doc", "--cache", cache}).exit_code == 0); // everything again
  const auto one = run_pagable({"hydrate", url, "doc", "--at", "/m0/i", "--cache", cache, "--stats"});
  REQUIRE(one.exit_code == 0);
  const auto read = stats_of(one)["remote"]["packs_read"].get<std::uint64_t>();
  REQUIRE(read < everything);
  // Its packs are now the newest; a bound near their size keeps them and drops the rest.
  const auto kept = run_pagable({"hydrate", url, "doc", "--at", "/m0/i", "--cache", cache, "--stats",
                                 "--cache-max-bytes", std::to_string(3 * 1024 * 1024)});
  REQUIRE(kept.exit_code == 0);
  const auto k = stats_of(kept)["remote"];
  INFO(k.dump());
  CHECK(k["packs_evicted"].get<std::uint64_t>() >= 1);
  CHECK(k["packs_fetched"] == 0);
  CHECK(k["cached_bytes"].get<std::uint64_t>() <= 3 * 1024 * 1024);
  pushed.proxy->reset();
  const auto again = run_pagable({"hydrate", url, "doc", "--at", "/m0/i", "--cache", cache, "--stats"});
  REQUIRE(again.exit_code == 0);
  CHECK(stats_of(again)["remote"]["packs_fetched"] == 0); // what it reads stayed
}
