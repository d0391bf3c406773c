// SPDX-License-Identifier: MIT OR Apache-2.0
// The SQLite wrapper under allocation failures (store/sqlite_db.hpp), as the every-N fault loop
// met them (issue 20): a bind that could not copy its value must fail the statement, not store
// NULL ("NOT NULL constraint failed", exit 70), and a ROLLBACK that could not run must not
// leave the transaction open for the next BEGIN ("cannot start a transaction within a
// transaction", exit 70).
#include "store/sqlite_db.hpp"

#include "support/fault_vfs.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <vector>

using namespace pagable;
using store::sql::Db;
using test::fault::Failure;
using test::fault::FaultVfs;
using test::fault::Op;

namespace {

// A database of its own, opened through the fault VFS of the caller's FaultVfs::Scope.
Db open_db(const test::TempDir& dir)
{
  return Db::open("file:" + dir.file("t.db"), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                  std::chrono::milliseconds(1000))
      .value();
}

// The rows of table t.
std::int64_t rows(Db& db)
{
  auto count = db.prepare("SELECT count(*) FROM t").value();
  REQUIRE(count.step("counting").value());
  return count.column_int(0);
}

} // namespace

TEST_CASE("sqlite_db: a bind that fails for want of memory fails the step, storing nothing",
          "[store][faults]")
{
  test::TempDir dir;
  FaultVfs::Scope scope;
  {
    Db db = open_db(dir);
    REQUIRE(db.exec("CREATE TABLE t(k BLOB NOT NULL, v TEXT NOT NULL)"));
    auto ins = db.prepare("INSERT INTO t(k, v) VALUES (?1, ?2)").value();
    const std::vector<std::uint8_t> key(4096, 7); // copied (SQLITE_TRANSIENT): an allocation
    FaultVfs::arm(Op::alloc, 1, Failure::nomem, false);
    ins.bind(1, key);
    FaultVfs::disarm();
    ins.bind(2, std::string_view("value"));
    auto ran = ins.run("inserting");
    REQUIRE_FALSE(ran);
    CHECK(ran.error().code() == Errc::io); // out of memory, as the exit-code table says
    CHECK_THAT(ran.error().message(), Catch::Contains("out of memory"));
    CHECK(rows(db) == 0);
    // After the failure the statement binds and runs again as new.
    REQUIRE(ins.bind(1, key).bind(2, std::string_view("value")).run("inserting"));
    CHECK(rows(db) == 1);
  }
}

TEST_CASE("sqlite_db: rollback_if_open ends a transaction even when a ROLLBACK runs out of memory",
          "[store][faults]")
{
  test::TempDir dir;
  FaultVfs::Scope scope;
  {
    Db db = open_db(dir);
    REQUIRE(db.exec("CREATE TABLE t(x)"));
    REQUIRE(db.exec("BEGIN IMMEDIATE; INSERT INTO t VALUES (1)"));
    REQUIRE(db.in_transaction());
    // A plain ROLLBACK whose preparation fails leaves the transaction open ...
    FaultVfs::arm(Op::alloc, 1, Failure::nomem, false);
    const auto plain = db.exec("ROLLBACK");
    const bool fired = FaultVfs::fired();
    FaultVfs::disarm();
    REQUIRE(fired);
    CHECK_FALSE(plain);
    CHECK(db.in_transaction());
    // ... which the next BEGIN would fail on. rollback_if_open tries again.
    FaultVfs::arm(Op::alloc, 1, Failure::nomem, false);
    db.rollback_if_open();
    FaultVfs::disarm();
    CHECK_FALSE(db.in_transaction());
    REQUIRE(db.exec("BEGIN IMMEDIATE"));
    REQUIRE(db.exec("COMMIT"));
    CHECK(rows(db) == 0); // the insert was rolled back
    // A read snapshot whose COMMIT runs out of memory ends all the same (a pooled reader left
    // inside one failed its next BEGIN).
    REQUIRE(db.exec("BEGIN"));
    CHECK(rows(db) == 0); // a read: the snapshot starts
    REQUIRE(db.in_transaction());
    FaultVfs::arm(Op::alloc, 1, Failure::nomem, false);
    db.end_read();
    FaultVfs::disarm();
    CHECK_FALSE(db.in_transaction());
  }
}
