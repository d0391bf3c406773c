// SPDX-License-Identifier: MIT OR Apache-2.0
// The seed's headline workload through the library API: N blobs of V bytes (each value its
// index repeated), each referring to its d predecessors, put by parallel workers into a new
// archive opened with the defaults users get (Archive::open: zstd level 8, 2 MiB packs, an
// 8 MiB write queue), then committed as a root. Prints one JSON line: blobs/s, MB/s, archive
// bytes, peak RSS.
//   bench_store ARCHIVE [N=500000] [V=1000] [d=4] [producers=1]
#include <pagable/archive.hpp>
#include <pagable/store.hpp>

#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

using namespace pagable;

int main(int argc, char** argv)
{
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_store ARCHIVE [N] [V] [d] [producers]\n");
    return 2;
  }
  const std::string path = argv[1];
  const std::size_t n = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 500000;
  const std::size_t v = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1000;
  const std::size_t d = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 4;
  // Each node's key depends on its predecessor's, so hashing is one chain: a single producer
  // hashes while the store's writer thread indexes, compresses and commits. More producers
  // only spin waiting for each other (measured: 2 producers were 2.5x slower on 2 cores).
  const unsigned workers = argc > 5 ? static_cast<unsigned>(std::strtoul(argv[5], nullptr, 10)) : 1;
  std::remove(path.c_str());

  ArchiveOptions options;
  options.mode = OpenMode::create;
  auto opened = Archive::open(path, options);
  if (!opened) {
    std::fprintf(stderr, "%s\n", opened.error().message().c_str());
    return 1;
  }
  auto& s = (*opened)->store();
  const auto t0 = std::chrono::steady_clock::now();
  // Node i's key depends on its predecessors' keys, so workers take contiguous stripes of a
  // chain that is built in order: worker w stores nodes w, w+W, ... and waits on earlier keys.
  std::vector<Key> keys(n);
  std::vector<std::atomic<bool>> ready(n);
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      for (std::size_t i = w; i < n && !failed; i += workers) {
        Blob b;
        const std::string idx = std::to_string(i);
        b.data.reserve(v + idx.size()); // the last copy may pass v: no second allocation
        while (b.data.size() < v) {
          b.data.insert(b.data.end(), idx.begin(), idx.end());
        }
        b.data.resize(v);
        for (std::size_t j = 1; j <= d && j <= i; ++j) {
          while (!ready[i - j].load(std::memory_order_acquire)) {
            std::this_thread::yield();
          }
          b.children.push_back(keys[i - j]);
        }
        auto k = s.put(std::move(b));
        if (!k) {
          failed = true;
          std::fprintf(stderr, "%s\n", k.error().message().c_str());
          return;
        }
        keys[i] = *k;
        ready[i].store(true, std::memory_order_release);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  if (failed || !s.flush()) {
    return 1;
  }
  store::RootRecord root;
  root.name = "bench";
  root.key = keys.back();
  const auto t1 = std::chrono::steady_clock::now();
  if (auto r = s.commit_root(root); !r) {
    std::fprintf(stderr, "%s\n", r.error().message().c_str());
    return 1;
  }
  const auto t2 = std::chrono::steady_clock::now();
  opened.value().reset(); // close: checkpoint into one file
  const auto t3 = std::chrono::steady_clock::now();
  const double secs = std::chrono::duration<double>(t1 - t0).count();
  const double root_secs = std::chrono::duration<double>(t2 - t1).count();
  const double total = std::chrono::duration<double>(t3 - t0).count();
  struct stat st {};
  ::stat(path.c_str(), &st);
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  std::printf("{\"n\":%zu,\"v\":%zu,\"d\":%zu,\"workers\":%u,\"store_seconds\":%.3f,"
              "\"root_commit_seconds\":%.3f,\"total_seconds\":%.3f,\"blobs_per_s\":%.0f,\"mb_per_s\":%.1f,"
              "\"archive_bytes\":%lld,\"peak_rss_kb\":%ld}\n",
              n, v, d, workers, secs, root_secs, total, n / secs, n * v / 1e6 / secs,
              static_cast<long long>(st.st_size), ru.ru_maxrss);
  return 0;
}
