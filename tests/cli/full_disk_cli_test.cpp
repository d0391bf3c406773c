// SPDX-License-Identifier: MIT OR Apache-2.0
// End-to-end on a full disk (issue 20): a 20 MB tmpfs, mounted when the tests run as root
// (skipped, saying so, otherwise). A failed pack leaves no -wal or -shm and nothing of its
// document; reading needs no free space; gc works on the full disk and the next pack reuses
// what it freed; only gc --compact refuses, up front, saying how much it needs.
#include "support/run_pagable.hpp"
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

using test::run_pagable;
using nlohmann::json;

namespace {

// A tmpfs of `megabytes` at `dir`, unmounted when it goes.
class SmallDisk {
public:
  SmallDisk(const std::string& dir, int megabytes) : m_dir(dir)
  {
    std::filesystem::create_directories(dir);
    const std::string options = "size=" + std::to_string(megabytes) + "m";
    m_mounted = ::geteuid() == 0 && ::mount("pagable-test", dir.c_str(), "tmpfs", 0, options.c_str()) == 0;
    m_why = m_mounted ? "" : (::geteuid() != 0 ? "not root" : std::strerror(errno));
  }
  ~SmallDisk()
  {
    if (m_mounted) {
      ::umount2(m_dir.c_str(), MNT_DETACH);
    }
  }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;
  bool mounted() const noexcept { return m_mounted; }
  const std::string& why() const noexcept { return m_why; }

private:
  std::string m_dir;
  bool m_mounted = false;
  std::string m_why;
};

// Incompressible JSON of about `bytes`: an array of random hex strings (seeded).
std::string random_document(std::size_t bytes, unsigned seed)
{
  std::string doc = "[";
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
  while (doc.size() < bytes) {
    doc += doc.size() > 1 ? ",\"" : "\"";
    for (int i = 0; i < 200; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      doc += "0123456789abcdef"[x & 15];
    }
    doc += "\"";
  }
  return doc + "]";
}

// Writes `name` of `bytes` bytes, or until the file system at `dir` is full (bytes = 0).
void fill(const std::string& dir, const std::string& name, std::size_t bytes = 0)
{
  std::ofstream f(dir + "/" + name, std::ios::binary);
  const std::string block(64 * 1024, 'x');
  std::size_t written = 0;
  while ((bytes == 0 || written < bytes) && f.write(block.data(), static_cast<std::streamsize>(block.size())) &&
         f.flush()) {
    written += block.size();
  }
}

bool leftovers(const std::string& archive)
{
  return std::filesystem::exists(archive + "-wal") || std::filesystem::exists(archive + "-shm");
}

} // namespace

TEST_CASE("full disk: pack fails cleanly, reading works, gc frees, the next pack reuses",
          "[cli][space]")
{
  test::TempDir dir;
  const std::string mnt = dir.file("small");
  SmallDisk disk(mnt, 20);
  if (!disk.mounted()) {
    PAGABLE_SKIP("cannot mount a 20 MB tmpfs (" << disk.why() << ")");
  }
  const std::string archive = mnt + "/a.pagable";
  // Inputs live off the small disk; random hex packs to about 55% of its size.
  test::write_file(dir.file("big.json"), random_document(6 * 1024 * 1024, 1));
  test::write_file(dir.file("third.json"), random_document(9 * 1024 * 1024, 3));
  test::write_file(dir.file("small.json"), random_document(512 * 1024, 4));
  REQUIRE(run_pagable({"pack", archive, dir.file("big.json"), "--name", "big"}).exit_code == 0);
  CHECK_FALSE(leftovers(archive));
  const auto size_with_big = std::filesystem::file_size(archive);
  fill(mnt, "filler", 14 * 1024 * 1024); // about 3 MB stay free

  // A pack that does not fit: exit 6, no root, no -wal or -shm.
  const auto failed = run_pagable({"pack", archive, dir.file("third.json"), "--name", "third"});
  INFO(failed.err);
  CHECK(failed.exit_code == 6);
  CHECK_FALSE(leftovers(archive));

  // Not one byte free: reading needs none; writing fails up front, creating nothing.
  fill(mnt, "filler2");
  const auto ls = run_pagable({"ls", archive});
  INFO(ls.err);
  CHECK(ls.exit_code == 0);
  CHECK_THAT(ls.out, Catch::Contains("big") && !Catch::Contains("third"));
  const auto verified = run_pagable({"verify", archive});
  INFO(verified.out << verified.err);
  CHECK(verified.exit_code == 0);
  CHECK(run_pagable({"hydrate", archive, "big", "--at", "/0"}).exit_code == 0);
  const auto unpacked = run_pagable({"unpack", archive, "-C", dir.file("out")});
  INFO(unpacked.err);
  CHECK(unpacked.exit_code == 0);
  CHECK(test::read_file(dir.file("out/big.json")) == test::read_file(dir.file("big.json")));
  const auto no_room = run_pagable({"pack", archive, dir.file("small.json"), "--name", "small"});
  CHECK(no_room.exit_code == 6);
  CHECK_THAT(no_room.err, Catch::Contains("no space left"));
  CHECK_FALSE(leftovers(archive));
  std::filesystem::remove(mnt + "/filler2");

  // gc --compact refuses up front, saying how much it needs (the live 3 MB, twice, with
  // /tmp on another file system or not: more than is free).
  const auto compact = run_pagable({"gc", archive, "--compact"}, {}, {"SQLITE_TMPDIR=" + mnt});
  INFO(compact.err);
  CHECK(compact.exit_code == 6);
  CHECK_THAT(compact.err, Catch::Contains("needs about") && Catch::Contains("bytes free"));
  CHECK(std::filesystem::file_size(archive) == size_with_big);

  // Plain gc works with little room, and the next pack reuses the pages it freed.
  REQUIRE(run_pagable({"rm", archive, "big"}).exit_code == 0);
  const auto gc = run_pagable({"gc", archive});
  INFO(gc.out << gc.err);
  CHECK(gc.exit_code == 0);
  CHECK_FALSE(leftovers(archive));
  const auto next = run_pagable({"pack", archive, dir.file("small.json"), "--name", "small"});
  INFO(next.err);
  CHECK(next.exit_code == 0);
  CHECK(std::filesystem::file_size(archive) <= size_with_big);
  CHECK(run_pagable({"hydrate", archive, "small"}).out == test::read_file(dir.file("small.json")));
  CHECK(run_pagable({"verify", archive}).exit_code == 0);
  CHECK_FALSE(leftovers(archive));
}
