// SPDX-License-Identifier: MIT OR Apache-2.0
// SQLite's I/O-error test applied to pagable (issue 20): for each operation of a pack, an
// update, a gc and a gc --compact of a document of about 250 kB, the Nth write, sync or read
// fails (EIO, ENOSPC that stays, a short write) through the fault VFS, or SQLite's Nth
// allocation fails (out of memory). After each, the
// operation has failed with a clear error or succeeded, the archive opens, verify is clean,
// and every version that was there before hydrates identically. The default run takes the
// first, middle and last N of each; the whole loop is [.faults] (ctest -L faults, with
// -DPAGABLE_FAULT_TESTS=ON).
#include <pagable/archive.hpp>
#include <pagable/gc.hpp>
#include <pagable/hydrate.hpp>
#include <pagable/verify.hpp>

#include "support/fault_vfs.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sstream>

using namespace pagable;
using test::fault::Failure;
using test::fault::FaultVfs;
using test::fault::Op;

namespace {

// About 250 kB: 1500 members of ~160 bytes, a routed object; `version` changes every 29th.
std::string document(int version, const std::string& salt)
{
  std::string doc = "{";
  for (int i = 0; i < 1500; ++i) {
    doc += (i == 0 ? "\"" : ",\"") + salt + std::to_string(i) + "\":{\"id\":" + std::to_string(i) +
           ",\"v\":" + std::to_string(i % 29 == 0 ? version : 1) + ",\"text\":\"" +
           std::string(120, static_cast<char>('a' + (i * 7 + static_cast<int>(salt.size())) % 26)) +
           "\"}";
  }
  return doc + "}";
}

Result<PackReport> pack_text(Archive& a, const std::string& name, const std::string& text)
{
  std::istringstream in(text);
  PackRequest request;
  request.name = name;
  return a.pack(PackSource::stream(in), request);
}

std::map<Key, std::string> hydrate_all(Archive& a)
{
  std::map<Key, std::string> out;
  auto roots = a.list_roots();
  REQUIRE(roots);
  for (const auto& r : *roots) {
    std::ostringstream os;
    auto written = a.document(r.key)->write_json(os, "");
    INFO(r.name << ": " << (written ? "" : written.error().message()));
    REQUIRE(written);
    out[r.key] = os.str();
  }
  return out;
}

struct Operation {
  const char* name;
  std::function<Result<void>(Archive&)> run;
};

Result<void> collect(Archive& a, bool compact)
{
  gc::GcOptions options;
  options.compact = compact;
  PAGABLE_TRY_ASSIGN(auto plan, a.plan_gc(options));
  PAGABLE_TRY(a.collect_garbage(plan, options));
  return {};
}

const std::vector<Operation>& operations()
{
  static const std::vector<Operation> ops = {
      {"pack", [](Archive& a) -> Result<void> {
         PAGABLE_TRY(pack_text(a, "new", document(1, "n")));
         return {};
       }},
      {"update", [](Archive& a) -> Result<void> {
         PAGABLE_TRY(pack_text(a, "doc", document(3, "d")));
         return {};
       }},
      {"gc", [](Archive& a) { return collect(a, false); }},
      {"gc --compact", [](Archive& a) { return collect(a, true); }},
  };
  return ops;
}

// The archive every trial starts from: doc (two versions) and, removed, junk (for gc).
std::string make_template(const test::TempDir& dir)
{
  const std::string path = dir.file("template.pagable");
  ArchiveOptions o;
  o.mode = OpenMode::create;
  auto a = Archive::open(path, o);
  REQUIRE(a);
  REQUIRE(pack_text(**a, "doc", document(1, "d")));
  REQUIRE(pack_text(**a, "doc", document(2, "d")));
  REQUIRE(pack_text(**a, "junk", document(1, "j")));
  REQUIRE((*a)->remove(RemovePlan{{"junk"}, {}}));
  return path;
}

struct Tally {
  std::uint64_t trials = 0;
  std::uint64_t failed = 0;    // the operation reported the fault
  std::uint64_t succeeded = 0; // SQLite absorbed it (a read retried, a checkpoint left for later)
};

// One trial: the nth `op` of `operation` fails; then the archive must be sound. Returns false
// when the operation did not reach an nth operation of that kind (the loop is done).
bool trial(const test::TempDir& dir, const std::string& tmpl, const std::map<Key, std::string>& before,
           const Operation& operation, Op op, Failure failure, std::uint64_t n, Tally& tally)
{
  const std::string path = dir.file("trial.pagable");
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(path + suffix);
  }
  std::filesystem::copy_file(tmpl, path);
  INFO(operation.name << ": " << test::fault::op_name(op) << " #" << n << " fails with "
                      << test::fault::failure_name(failure));
  std::optional<Error> error;
  {
    // ENOSPC stays until the command ends (a full disk); EIO and a short write happen once.
    FaultVfs::arm(op, n, failure, failure == Failure::enospc);
    ArchiveOptions o;
    o.mode = OpenMode::read_write;
    o.lock_wait = std::chrono::milliseconds(0);
    auto a = Archive::open(path, o);
    if (!a) {
      error = a.error();
    } else {
      auto r = operation.run(**a);
      if (!r) {
        error = r.error();
      }
    }
    // The Archive closes here, the fault still armed: the command ends on the full disk.
  }
  const bool fired = FaultVfs::fired();
  FaultVfs::disarm();
  if (!fired) {
    CHECK_FALSE(error.has_value());
    return false;
  }
  ++tally.trials;
  if (error) {
    ++tally.failed;
    INFO(error->message());
    CHECK(error->code() != Errc::internal);
    CHECK_FALSE(error->message().empty());
  } else {
    ++tally.succeeded;
  }
  auto reopened = Archive::open(path, ArchiveOptions{});
  INFO((reopened ? "" : reopened.error().message()));
  REQUIRE(reopened);
  const auto report = (*reopened)->verify();
  REQUIRE(report);
  for (const auto& p : report->problems) {
    UNSCOPED_INFO(verify::kind_name(p.kind) << " " << p.detail);
  }
  CHECK(report->problems.empty());
  // Every version listed before is listed still and reads the same; an update that went
  // through added its version (which hydrates: hydrate_all checks).
  const auto after = hydrate_all(**reopened);
  if (!error && std::string(operation.name) == "update") {
    CHECK(after.size() == before.size() + 1);
  }
  for (const auto& [key, text] : before) {
    REQUIRE(after.count(key) == 1);
    CHECK(after.at(key) == text);
  }
  return true;
}

// How many operations of kind `op` `operation` makes on a copy of the template, unharmed.
std::uint64_t count_ops(const test::TempDir& dir, const std::string& tmpl, const Operation& operation, Op op)
{
  const std::string path = dir.file("count.pagable");
  std::filesystem::remove(path);
  std::filesystem::copy_file(tmpl, path);
  FaultVfs::reset_counts();
  {
    ArchiveOptions o;
    o.mode = OpenMode::read_write;
    auto a = Archive::open(path, o);
    REQUIRE(a);
    REQUIRE(operation.run(**a));
  }
  return FaultVfs::count(op);
}

enum class Coverage : std::uint8_t { sample, every };

void run_loop(Coverage coverage)
{
  test::TempDir dir;
  const std::string tmpl = make_template(dir);
  std::map<Key, std::string> before;
  {
    auto a = Archive::open(tmpl, ArchiveOptions{});
    REQUIRE(a);
    before = hydrate_all(**a);
  }
  REQUIRE_FALSE(before.empty());
  FaultVfs::Scope scope;
  struct Kind {
    Op op;
    Failure failure;
  };
  const Kind kinds[] = {{Op::write, Failure::eio}, {Op::write, Failure::enospc}, {Op::write, Failure::short_write},
                        {Op::sync, Failure::eio}, {Op::read, Failure::eio}, {Op::alloc, Failure::nomem}};
  // PAGABLE_FAULTS_ONLY="pack:allocation" or "update:write/ENOSPC" (an operation, then a kind
  // of operation, with or without its failure) narrows the full loop
  // to one class, and PAGABLE_FAULTS_FROM=N starts it at N: a class rerun after a fix.
  const char* only = std::getenv("PAGABLE_FAULTS_ONLY");
  const char* from = std::getenv("PAGABLE_FAULTS_FROM");
  for (const auto& operation : operations()) {
    for (const auto& k : kinds) {
      const std::string op_class = std::string(operation.name) + ":" + test::fault::op_name(k.op);
      const std::string full_class = op_class + "/" + test::fault::failure_name(k.failure);
      if (coverage == Coverage::every && only != nullptr && op_class != only && full_class != only) {
        continue;
      }
      Tally tally;
      if (coverage == Coverage::every) {
        const std::uint64_t first = from != nullptr ? std::max<std::uint64_t>(std::strtoull(from, nullptr, 10), 1) : 1;
        for (std::uint64_t n = first; trial(dir, tmpl, before, operation, k.op, k.failure, n, tally); ++n) {
        }
      } else {
        // The first, the middle and the last of them.
        const std::uint64_t total = count_ops(dir, tmpl, operation, k.op);
        for (const std::uint64_t n : std::set<std::uint64_t>{1, std::max<std::uint64_t>(total / 2, 1),
                                                             std::max<std::uint64_t>(total, 1)}) {
          trial(dir, tmpl, before, operation, k.op, k.failure, n, tally);
        }
      }
      WARN(operation.name << ", " << test::fault::op_name(k.op) << " "
                          << test::fault::failure_name(k.failure) << ": " << tally.trials
                          << " trials, " << tally.failed << " failed cleanly, " << tally.succeeded
                          << " absorbed by SQLite");
      CHECK(tally.trials > 0);
    }
  }
}

} // namespace

TEST_CASE("faults: a sample of N over pack, update, gc and gc --compact leaves a sound archive",
          "[archive][faults]")
{
  run_loop(Coverage::sample);
}

TEST_CASE("faults: every N over pack, update, gc and gc --compact leaves a sound archive",
          "[.faults]")
{
  run_loop(Coverage::every);
}
