// SPDX-License-Identifier: MIT OR Apache-2.0
// Benchmark (not a test): verify at each level and gc on an archive of many small blobs,
// built with the library. One phase per process, so that each phase's peak RSS
// (getrusage) is its own; bench/run_verify_gc runs them all.
//
//   bench_verify_gc build ARCHIVE [BLOBS]     BLOBS small leaves (default 1,000,000) under
//                                             10 roots, 100 children per inner node
//   bench_verify_gc read ARCHIVE [JOBS]       baseline: read every blob row and pack and
//                                             decompress (what verify must not be much slower than)
//   bench_verify_gc verify ARCHIVE LEVEL [JOBS]  LEVEL: quick | connectivity | full
//   bench_verify_gc rm ARCHIVE N              remove the first N roots
//   bench_verify_gc gc ARCHIVE [dry]          plan + execute (or plan only)
//
// Each prints one JSON line: {"phase", "seconds", "peak_rss_mb", ...}.
#include <pagable/gc.hpp>
#include <pagable/store.hpp>
#include "store/maintenance.hpp"
#include "store/sqlite_store.hpp"
#include <pagable/verify.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <vector>

using namespace pagable;

namespace {

double peak_rss_mb()
{
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

[[noreturn]] void die(const std::string& what)
{
  std::fprintf(stderr, "bench_verify_gc: %s\n", what.c_str());
  std::exit(1);
}

template <typename T> T must(Result<T> r, const char* what)
{
  if (!r) {
    die(std::string(what) + ": " + r.error().message());
  }
  return std::move(r).value();
}

void must(Result<void> r, const char* what)
{
  if (!r) {
    die(std::string(what) + ": " + r.error().message());
  }
}

std::unique_ptr<store::BlobStore> open_store(const std::string& path, store::OpenMode mode)
{
  store::SqliteOptions o;
  o.mode = mode;
  return must(store::open_sqlite_store(path, o), "open");
}

// A leaf of roughly 60-120 bytes that compresses like real small JSON values.
Bytes leaf(std::uint64_t i)
{
  std::string s = "{\"id\":" + std::to_string(i) + ",\"name\":\"target-" +
                  std::to_string(i * 7919 % 100003) + "\",\"deps\":[" + std::to_string(i % 977) +
                  "," + std::to_string(i % 131) + "]";
  s += std::string(i % 40, 'x') + "}";
  return Bytes(s.begin(), s.end());
}

int build(const std::string& path, std::uint64_t blobs)
{
  auto s = open_store(path, store::OpenMode::create);
  const std::uint64_t roots = 10;
  const std::uint64_t per_root = blobs / roots;
  std::uint64_t stored = 0;
  for (std::uint64_t r = 0; r < roots; ++r) {
    std::vector<Key> level;
    for (std::uint64_t i = 0; i < per_root; ++i) {
      level.push_back(must(s->put(Blob{leaf(r * per_root + i), {}}), "put"));
      ++stored;
    }
    while (level.size() > 1) {
      std::vector<Key> up;
      for (std::size_t i = 0; i < level.size(); i += 100) {
        const std::size_t end = std::min(level.size(), i + 100);
        std::vector<Key> children(level.begin() + static_cast<std::ptrdiff_t>(i),
                                  level.begin() + static_cast<std::ptrdiff_t>(end));
        const std::string text = "{\"node\":" + std::to_string(up.size()) + "}";
        up.push_back(
            must(s->put(Blob{Bytes(text.begin(), text.end()), std::move(children)}), "put"));
        ++stored;
      }
      level = std::move(up);
    }
    store::RootRecord rec;
    rec.name = "root-" + std::to_string(r);
    rec.key = level.front();
    must(s->commit_root(rec), "commit_root");
  }
  const auto st = must(s->stats(), "stats");
  std::printf("{\"phase\":\"build\",\"blobs\":%llu,\"bytes_logical\":%llu,\"bytes_stored\":%llu,"
              "\"file_bytes\":%llu",
              static_cast<unsigned long long>(st.blobs),
              static_cast<unsigned long long>(st.bytes_logical),
              static_cast<unsigned long long>(st.bytes_stored),
              static_cast<unsigned long long>(st.file_bytes));
  (void)stored;
  return 0;
}

// The baseline: every blob row and every pack read through one snapshot and decompressed on
// `jobs` threads; no walk, no hashing.
int read_baseline(const std::string& path, unsigned jobs)
{
  auto s = open_store(path, store::OpenMode::read_only);
  auto session = must(store::open_maintenance(*s, store::SessionAccess::read), "session");
  must(session->begin_read(), "begin");
  std::mutex m;
  std::condition_variable cv;
  std::deque<store::PackRow> queue;
  bool done = false;
  std::atomic<std::uint64_t> bytes{0};
  std::vector<std::thread> workers;
  for (unsigned j = 0; j < jobs; ++j) {
    workers.emplace_back([&] {
      for (;;) {
        store::PackRow p;
        {
          std::unique_lock lock(m);
          cv.wait(lock, [&] { return done || !queue.empty(); });
          if (queue.empty()) {
            return;
          }
          p = std::move(queue.front());
          queue.pop_front();
        }
        cv.notify_all();
        bytes += must(store::decode_pack_row(p, session->max_pack_bytes()), "decode").size();
      }
    });
  }
  const std::int64_t max_id = must(session->max_blob_id(), "max id");
  std::int64_t current = -1;
  std::uint64_t rows = 0;
  must(session->for_each_blob(0, max_id, 0,
                              [&](const store::IndexRow& row) -> Result<void> {
                                ++rows;
                                if (row.pack != current) {
                                  current = row.pack;
                                  auto p = must(session->pack(row.pack), "pack");
                                  if (p) {
                                    std::unique_lock lock(m);
                                    cv.wait(lock, [&] { return queue.size() < 2 * jobs; });
                                    queue.push_back(std::move(*p));
                                    cv.notify_all();
                                  }
                                }
                                return {};
                              }),
       "rows");
  {
    std::lock_guard lock(m);
    done = true;
  }
  cv.notify_all();
  for (auto& w : workers) {
    w.join();
  }
  std::printf("{\"phase\":\"read+decompress\",\"jobs\":%u,\"rows\":%llu,\"bytes\":%llu", jobs,
              static_cast<unsigned long long>(rows), static_cast<unsigned long long>(bytes.load()));
  return 0;
}

int run_verify(const std::string& path, const std::string& level, unsigned jobs)
{
  auto s = open_store(path, store::OpenMode::read_only);
  verify::VerifyOptions o;
  o.level = level == "quick"          ? verify::VerifyLevel::quick
            : level == "connectivity" ? verify::VerifyLevel::connectivity
                                      : verify::VerifyLevel::full;
  o.jobs = jobs;
  const auto r = must(verify::run(*s, o), "verify");
  std::printf("{\"phase\":\"verify-%s\",\"jobs\":%u,\"ok\":%s,\"blobs_reached\":%llu,"
              "\"blobs_checked\":%llu,\"bytes_checked\":%llu,\"walk_seconds\":%.3f,"
              "\"rehash_seconds\":%.3f",
              level.c_str(), jobs, r.ok() ? "true" : "false",
              static_cast<unsigned long long>(r.blobs_reached),
              static_cast<unsigned long long>(r.blobs_checked),
              static_cast<unsigned long long>(r.bytes_checked), r.walk_seconds, r.rehash_seconds);
  return r.ok() ? 0 : 3;
}

int run_rm(const std::string& path, int n)
{
  auto s = open_store(path, store::OpenMode::read_write);
  for (int i = 0; i < n; ++i) {
    (void)must(s->remove_root("root-" + std::to_string(i)), "rm");
  }
  std::printf("{\"phase\":\"rm\",\"removed\":%d", n);
  return 0;
}

int run_gc(const std::string& path, bool dry)
{
  auto s = open_store(path, dry ? store::OpenMode::read_only : store::OpenMode::read_write);
  auto plan = must(gc::plan(*s), "plan");
  gc::GcFigures f = plan.figures;
  if (!dry) {
    f = must(gc::execute(*s, plan), "execute");
  }
  std::printf(
      "{\"phase\":\"gc%s\",\"blobs_total\":%llu,\"blobs_removed\":%llu,\"bytes_freed\":%llu,"
      "\"packs_removed\":%llu,\"packs_rewritten\":%llu",
      dry ? "-dry-run" : "", static_cast<unsigned long long>(f.blobs_total),
      static_cast<unsigned long long>(f.blobs_removed),
      static_cast<unsigned long long>(f.bytes_freed),
      static_cast<unsigned long long>(f.packs_removed),
      static_cast<unsigned long long>(f.packs_rewritten));
  return 0;
}

} // namespace

int main(int argc, char** argv)
{
  if (argc < 3) {
    die("usage: bench_verify_gc build|read|verify|rm|gc ARCHIVE [...]");
  }
  const std::string mode = argv[1];
  const std::string path = argv[2];
  const auto start = std::chrono::steady_clock::now();
  int rc = 0;
  if (mode == "build") {
    rc = build(path, argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1'000'000);
  } else if (mode == "read") {
    rc = read_baseline(path, argc > 3 ? static_cast<unsigned>(std::atoi(argv[3])) : 1);
  } else if (mode == "verify" && argc > 3) {
    rc = run_verify(path, argv[3], argc > 4 ? static_cast<unsigned>(std::atoi(argv[4])) : 1);
  } else if (mode == "rm" && argc > 3) {
    rc = run_rm(path, std::atoi(argv[3]));
  } else if (mode == "gc") {
    rc = run_gc(path, argc > 3 && std::string(argv[3]) == "dry");
  } else {
    die("unknown mode " + mode);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(",\"seconds\":%.3f,\"peak_rss_mb\":%.1f}\n", seconds, peak_rss_mb());
  return rc;
}
