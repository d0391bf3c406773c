// SPDX-License-Identifier: MIT OR Apache-2.0
// The seed's headline workload through the typed-objects API (pagable/objects.hpp), and the
// same graph in cereal and Boost.Serialization when they are built in. Each run prints one
// JSON line. bench/run drives it (workload 8); every mode:
//
//   bench_objects pagable-save ARCHIVE N V d [workers] [budget_mb]
//       N values of V bytes (the index's digits repeated), each holding handles to its d
//       predecessors, made under a budget (default: all of them fit) and committed as root
//       "seed" into a new SQLite archive: the commit pages out everything not paged out yet.
//   bench_objects pagable-load ARCHIVE INDEX
//       in one process: open the archive, read value INDEX (root -> its bucket -> the value),
//       and, separately timed, pin every value (the full load).
//   bench_objects pagable-paging ARCHIVE N V budget_mb
//       a graph of N values made under the budget (10 times smaller than it, for the
//       harness), then walked twice in random order: accounted peak, and peak RSS against
//       the bound of budget + 64 MB (rss_limit_kb, rss_within_limit).
//   bench_objects cereal-save FILE N V d | cereal-load FILE INDEX
//   bench_objects boost-save FILE N V d  | boost-load FILE INDEX
//       the same graph as std::shared_ptr nodes, saved with shared-pointer tracking in binary
//       archives; load reads the whole file (the only way) and then the value.
//
// The root holds the values in buckets of 1,000 handles, so reading one value reads three
// nodes; a flat vector of 500,000 handles would make every page-in of the root create
// 500,000 handles. cereal and Boost save the values in index order from a flat vector, so
// that their recursion through shared pointers stays shallow.
#include <pagable/archive.hpp>
#include <pagable/objects.hpp>

#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#ifdef PAGABLE_HAVE_CEREAL
#include <cereal/archives/binary.hpp>
#include <cereal/types/memory.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#endif
#ifdef PAGABLE_HAVE_BOOST_SERIALIZATION
#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/shared_ptr.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#endif

namespace {

using pagable::objects::Arc;
using Clock = std::chrono::steady_clock;

constexpr std::size_t k_bucket = 1000;

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

// The seed's value: the index's digits repeated to V bytes.
std::string seed_value(std::size_t i, std::size_t v)
{
  const std::string s = std::to_string(i);
  std::string out;
  out.reserve(v + s.size());
  while (out.size() < v) {
    out += s;
  }
  out.resize(v);
  return out;
}

double since(Clock::time_point t0)
{
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

long peak_rss_kb()
{
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

std::uint64_t file_bytes(const std::string& path)
{
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

int fail(const std::string& what)
{
  std::fprintf(stderr, "bench_objects: %s\n", what.c_str());
  return 1;
}

std::unique_ptr<pagable::Archive> open_archive(const std::string& path, pagable::OpenMode mode)
{
  pagable::ArchiveOptions options;
  options.mode = mode;
  auto a = pagable::Archive::open(path, options);
  if (!a) {
    std::fprintf(stderr, "bench_objects: %s\n", a.error().message().c_str());
    std::exit(1);
  }
  return std::move(a).value();
}

std::unique_ptr<pagable::objects::Pager> open_pager(pagable::Archive& archive, std::size_t budget,
                                                    unsigned workers = 0)
{
  pagable::objects::PagerOptions options;
  options.budget_bytes = budget;
  options.workers = workers;
  auto p = pagable::objects::Pager::open(archive, options);
  if (!p) {
    std::fprintf(stderr, "bench_objects: %s\n", p.error().message().c_str());
    std::exit(1);
  }
  return std::move(p).value();
}

// Makes the seed graph's values; returns the handles in index order.
std::vector<Arc<SeedNode>> make_seed(pagable::objects::Pager& pager, std::size_t n, std::size_t v,
                                     std::size_t d)
{
  std::vector<Arc<SeedNode>> nodes;
  nodes.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    SeedNode node;
    node.value = seed_value(i, v);
    for (std::size_t j = 1; j <= d && j <= i; ++j) {
      node.deps.push_back(nodes[i - j]);
    }
    nodes.push_back(pager.make<SeedNode>(std::move(node)));
  }
  return nodes;
}

Arc<SeedGraph> bucketed(pagable::objects::Pager& pager, const std::vector<Arc<SeedNode>>& nodes)
{
  SeedGraph g;
  for (std::size_t b = 0; b < nodes.size(); b += k_bucket) {
    Bucket bucket;
    for (std::size_t i = b; i < nodes.size() && i < b + k_bucket; ++i) {
      bucket.nodes.push_back(nodes[i]);
    }
    g.buckets.push_back(pager.make<Bucket>(std::move(bucket)));
  }
  return pager.make<SeedGraph>(std::move(g));
}

int pagable_save(const std::string& path, std::size_t n, std::size_t v, std::size_t d, unsigned workers,
                 std::size_t budget)
{
  std::remove(path.c_str());
  const auto t0 = Clock::now();
  auto archive = open_archive(path, pagable::OpenMode::create);
  auto pager = open_pager(*archive, budget, workers);
  const auto nodes = make_seed(*pager, n, v, d);
  const double made = since(t0);
  const auto root = bucketed(*pager, nodes);
  const auto t1 = Clock::now();
  auto committed = pager->commit(root, pagable::objects::CommitRequest{"seed", {}});
  if (!committed) {
    return fail(committed.error().message());
  }
  const double commit = since(t1);
  const double total = since(t0);
  const auto stats = pager->stats();
  archive.reset(); // closes (checkpoints) the file before measuring it
  std::printf("{\"mode\": \"pagable-save\", \"n\": %zu, \"v\": %zu, \"d\": %zu, \"seconds\": %.3f, "
              "\"make_seconds\": %.3f, \"commit_seconds\": %.3f, \"serialized\": %llu, "
              "\"paged_out\": %llu, \"peak_resident_bytes\": %llu, \"bytes\": %llu, \"peak_rss_kb\": %ld, "
              "\"key\": \"%s\"}\n",
              n, v, d, total, made, commit, static_cast<unsigned long long>(stats.serialized),
              static_cast<unsigned long long>(stats.paged_out),
              static_cast<unsigned long long>(stats.peak_resident_bytes),
              static_cast<unsigned long long>(file_bytes(path)), peak_rss_kb(),
              committed->root.key.to_hex().c_str());
  return 0;
}

int pagable_load(const std::string& path, std::size_t index)
{
  const auto t0 = Clock::now();
  auto archive = open_archive(path, pagable::OpenMode::read_only);
  auto pager = open_pager(*archive, std::size_t{1} << 40);
  auto root = pager->load_root<SeedGraph>("seed");
  if (!root) {
    return fail(root.error().message());
  }
  std::size_t value_bytes = 0;
  {
    auto g = root->pin();
    if (!g || index / k_bucket >= (*g)->buckets.size()) {
      return fail("no such value");
    }
    auto bucket = (*g)->buckets[index / k_bucket].pin();
    if (!bucket) {
      return fail(bucket.error().message());
    }
    auto value = (*bucket)->nodes.at(index % k_bucket).pin();
    if (!value) {
      return fail(value.error().message());
    }
    value_bytes = (*value)->value.size();
  }
  const double one = since(t0);
  const auto decodes_one = pager->stats().decodes;
  // The full load, in the same process: every value pinned once.
  const auto t1 = Clock::now();
  std::size_t values = 0;
  {
    auto g = root->pin().value();
    for (const auto& b : g->buckets) {
      auto bucket = b.pin().value();
      for (const auto& node : bucket->nodes) {
        values += node.pin().has_value() ? 1 : 0;
      }
    }
  }
  const double all = since(t1);
  std::printf("{\"mode\": \"pagable-load\", \"open_and_read_one_seconds\": %.6f, \"value_bytes\": %zu, "
              "\"decodes_for_one\": %llu, \"full_load_seconds\": %.3f, \"values\": %zu, \"peak_rss_kb\": %ld}\n",
              one, value_bytes, static_cast<unsigned long long>(decodes_one), all, values, peak_rss_kb());
  return 0;
}

int pagable_paging(const std::string& path, std::size_t n, std::size_t v, std::size_t budget)
{
  std::remove(path.c_str());
  const auto t0 = Clock::now();
  auto archive = open_archive(path, pagable::OpenMode::create);
  auto pager = open_pager(*archive, budget);
  auto nodes = make_seed(*pager, n, v, 4);
  const double made = since(t0);
  std::mt19937_64 rng(7);
  std::uint64_t checked = 0;
  const auto t1 = Clock::now();
  for (int round = 0; round < 2; ++round) {
    std::shuffle(nodes.begin(), nodes.end(), rng);
    for (const auto& node : nodes) {
      auto pinned = node.pin();
      if (!pinned) {
        return fail(pinned.error().message());
      }
      checked += (*pinned)->value.size() == v ? 1 : 0;
    }
  }
  const double walked = since(t1);
  const auto stats = pager->stats();
  // The bound on the process: the budget plus 64 MB (handles, the store's caches,
  // the program itself).
  const long rss_limit_kb = static_cast<long>(budget >> 10) + (64L << 10);
  const long rss_kb = peak_rss_kb();
  std::printf("{\"mode\": \"pagable-paging\", \"n\": %zu, \"v\": %zu, \"budget_bytes\": %zu, "
              "\"graph_bytes\": %zu, \"make_seconds\": %.3f, \"walk_seconds\": %.3f, \"checked\": %llu, "
              "\"peak_resident_bytes\": %llu, \"paged_out\": %llu, \"paged_in\": %llu, \"peak_rss_kb\": %ld, "
              "\"rss_limit_kb\": %ld, \"rss_within_limit\": %s}\n",
              n, v, budget, n * pagable::objects::resident_size(SeedNode{seed_value(0, v), {}}), made,
              walked, static_cast<unsigned long long>(checked),
              static_cast<unsigned long long>(stats.peak_resident_bytes),
              static_cast<unsigned long long>(stats.paged_out),
              static_cast<unsigned long long>(stats.paged_in), rss_kb, rss_limit_kb,
              rss_kb <= rss_limit_kb ? "true" : "false");
  return 0;
}

// --- the peers: the same graph as shared_ptr nodes ---

struct PlainNode {
  std::string value;
  std::vector<std::shared_ptr<PlainNode>> deps;
  // One function serves both peers: cereal accepts Boost's (archive, version) signature and
  // its `&`, and would refuse a type offering both its own and Boost's as ambiguous.
  template <class A>
  void serialize(A& a, const unsigned /*version*/)
  {
    a & value & deps;
  }
};

std::vector<std::shared_ptr<PlainNode>> plain_seed(std::size_t n, std::size_t v, std::size_t d)
{
  std::vector<std::shared_ptr<PlainNode>> nodes;
  nodes.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto node = std::make_shared<PlainNode>();
    node->value = seed_value(i, v);
    for (std::size_t j = 1; j <= d && j <= i; ++j) {
      node->deps.push_back(nodes[i - j]);
    }
    nodes.push_back(std::move(node));
  }
  return nodes;
}

template <typename Save>
int peer_save(const char* mode, const std::string& path, std::size_t n, std::size_t v, std::size_t d, Save save)
{
  const auto nodes = plain_seed(n, v, d);
  const auto t0 = Clock::now();
  {
    std::ofstream out(path, std::ios::binary);
    save(out, nodes);
  }
  const double seconds = since(t0);
  std::printf("{\"mode\": \"%s\", \"n\": %zu, \"v\": %zu, \"d\": %zu, \"seconds\": %.3f, \"bytes\": %llu, "
              "\"peak_rss_kb\": %ld}\n",
              mode, n, v, d, seconds, static_cast<unsigned long long>(file_bytes(path)), peak_rss_kb());
  return 0;
}

template <typename Load>
int peer_load(const char* mode, const std::string& path, std::size_t index, Load load)
{
  const auto t0 = Clock::now();
  std::vector<std::shared_ptr<PlainNode>> nodes;
  {
    std::ifstream in(path, std::ios::binary);
    load(in, nodes);
  }
  if (index >= nodes.size()) {
    return fail("no such value");
  }
  const std::size_t value_bytes = nodes[index]->value.size();
  const double seconds = since(t0);
  std::printf("{\"mode\": \"%s\", \"open_and_read_one_seconds\": %.3f, \"full_load_seconds\": %.3f, "
              "\"value_bytes\": %zu, \"values\": %zu, \"peak_rss_kb\": %ld}\n",
              mode, seconds, seconds, value_bytes, nodes.size(), peak_rss_kb());
  return 0;
}

} // namespace

int main(int argc, char** argv)
{
  const std::vector<std::string> a(argv + 1, argv + argc);
  const auto num = [&](std::size_t i, std::size_t fallback) {
    return i < a.size() ? static_cast<std::size_t>(std::strtoull(a[i].c_str(), nullptr, 10)) : fallback;
  };
  if (a.size() < 2) {
    std::fprintf(stderr, "usage: bench_objects MODE PATH ... (see the top of bench_objects.cpp)\n");
    return 2;
  }
  const std::string& mode = a[0];
  const std::string& path = a[1];
  if (mode == "pagable-save") {
    const std::size_t budget_mb = num(6, 0);
    return pagable_save(path, num(2, 500000), num(3, 1000), num(4, 4), static_cast<unsigned>(num(5, 0)),
                        budget_mb == 0 ? std::size_t{1} << 40 : budget_mb << 20);
  }
  if (mode == "pagable-load") {
    return pagable_load(path, num(2, 0));
  }
  if (mode == "pagable-paging") {
    return pagable_paging(path, num(2, 100000), num(3, 1000), num(4, 16) << 20);
  }
#ifdef PAGABLE_HAVE_CEREAL
  if (mode == "cereal-save") {
    return peer_save("cereal-save", path, num(2, 500000), num(3, 1000), num(4, 4), [](std::ostream& out, const auto& nodes) {
      cereal::BinaryOutputArchive ar(out);
      ar(nodes);
    });
  }
  if (mode == "cereal-load") {
    return peer_load("cereal-load", path, num(2, 0), [](std::istream& in, auto& nodes) {
      cereal::BinaryInputArchive ar(in);
      ar(nodes);
    });
  }
#endif
#ifdef PAGABLE_HAVE_BOOST_SERIALIZATION
  if (mode == "boost-save") {
    return peer_save("boost-save", path, num(2, 500000), num(3, 1000), num(4, 4), [](std::ostream& out, const auto& nodes) {
      boost::archive::binary_oarchive ar(out);
      ar << nodes;
    });
  }
  if (mode == "boost-load") {
    return peer_load("boost-load", path, num(2, 0), [](std::istream& in, auto& nodes) {
      boost::archive::binary_iarchive ar(in);
      ar >> nodes;
    });
  }
#endif
  return fail("unknown mode (or its peer is not built in): " + mode);
}
