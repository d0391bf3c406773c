// SPDX-License-Identifier: MIT OR Apache-2.0
// Child lists as row ids (format 6, store/child_keys.hpp): the encoding round-trips, never
// reads as a key list, and refuses damage; a new archive stores them, an older one keeps key
// lists until gc --compact gives it format 6's blob table.
#include <pagable/store.hpp>

#include "store/child_keys.hpp"
#include "store/sqlite_db.hpp"
#include "store/sqlite_store.hpp"

#include "support/archive_fixture.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

using namespace pagable;
using store::sql::Db;

namespace {

Key key_of(int i)
{
  return Blob{test::bytes("child " + std::to_string(i)), {}}.key();
}

// A blobs table of `n` rows, row i holding key_of(i), to resolve ids against.
Db table_of(const std::string& path, int n)
{
  Db db = Db::open("file:" + path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, std::chrono::milliseconds(1000))
              .value();
  REQUIRE(db.exec("CREATE TABLE blobs(id INTEGER PRIMARY KEY AUTOINCREMENT, key BLOB NOT NULL)"));
  auto ins = db.prepare("INSERT INTO blobs(id, key) VALUES (?1, ?2)").value();
  for (int i = 1; i <= n; ++i) {
    REQUIRE(ins.bind(1, i).bind(2, key_of(i).bytes()).run("test row"));
  }
  return db;
}

} // namespace

TEST_CASE("child refs: row ids and keys of rowless children round-trip, never 32-byte aligned",
          "[store][child_refs]")
{
  test::TempDir dir;
  Db db = table_of(dir.file("t.db"), 300);
  auto key_of_id = db.prepare(store::k_key_of_id_sql).value();
  std::unordered_map<Key, std::int64_t> ids;
  for (int i = 1; i <= 300; ++i) {
    ids.emplace(key_of(i), i);
  }
  const auto id_of = [&](const Key& k) -> Result<std::optional<std::int64_t>> {
    const auto it = ids.find(k);
    return it == ids.end() ? std::optional<std::int64_t>() : std::optional<std::int64_t>(it->second);
  };
  // Every length from 1 to 40 children, one of them without a row (its key written whole):
  // some of these land on a multiple of 32 before the padding byte.
  bool padded = false;
  for (int n = 1; n <= 40; ++n) {
    std::vector<Key> children;
    for (int i = 0; i < n; ++i) {
      children.push_back(i == n / 2 ? key_of(1000 + n) : key_of(1 + (i * 37) % 300));
    }
    const Bytes raw = store::encode_child_refs(children, id_of).value();
    INFO(n << " children, " << raw.size() << " bytes");
    CHECK(raw.size() % Key::k_size != 0);
    CHECK(store::holds_row_ids(raw));
    padded = padded || raw.back() == 0;
    if (n > 1) { // one child without a row costs its key and 3 bytes more
      CHECK(raw.size() < children.size() * Key::k_size);
    }
    CHECK(store::decode_children(raw, "blob x", &key_of_id).value() == children);
  }
  CHECK(padded);
  // A key list reads as before, with no statement needed.
  const std::vector<Key> keys{key_of(1), key_of(2)};
  CHECK(store::decode_children(store::encode_children(keys), "blob x").value() == keys);
  CHECK(store::encode_child_refs({}, id_of).value().empty());
}

TEST_CASE("child refs: damaged lists and rows that are gone are errors naming the blob",
          "[store][child_refs]")
{
  test::TempDir dir;
  Db db = table_of(dir.file("t.db"), 3);
  auto key_of_id = db.prepare(store::k_key_of_id_sql).value();
  const auto bad = [&](const Bytes& raw) {
    auto r = store::decode_children(raw, "blob 3fa2", &key_of_id);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message(), Catch::Contains("blob 3fa2"));
    return r.error().code();
  };
  CHECK(bad(Bytes{0x01, 0x02}) == Errc::corrupt);             // two children promised, none there
  CHECK(bad(Bytes{0x02, 0x01, 0x01}) == Errc::corrupt);       // neither encoding
  CHECK(bad(Bytes{0x01, 0x01, 0x01, 0x07}) == Errc::corrupt); // bytes after the last child
  CHECK(bad(Bytes{0x01, 0x01, 0x00, 0x05}) == Errc::corrupt); // a key cut short
  CHECK(bad(Bytes{0x01, 0x01, 0x09}) == Errc::corrupt);       // row 9 does not exist
  // Without a statement, ids cannot be read.
  CHECK_FALSE(store::decode_children(Bytes{0x01, 0x01, 0x01}, "blob 3fa2"));
}

TEST_CASE("child refs: a new archive names children by row id and reads them back as keys",
          "[store][child_refs][sqlite]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  std::vector<Key> children;
  Key top;
  {
    auto s = test::archive::open(path);
    for (int i = 0; i < 40; ++i) {
      children.push_back(s->put(Blob{test::bytes("leaf " + std::to_string(i)), {}}).value());
    }
    // Children written in an earlier transaction than their parent are found by key.
    REQUIRE(s->flush());
    children.push_back(s->put(Blob{test::bytes("late leaf"), {}}).value());
    top = s->put(Blob{test::bytes("top"), children}).value();
    REQUIRE(s->flush());
  }
  const std::string where = " FROM blobs WHERE key = x'" + top.to_hex() + "'";
  // 41 ids under 128, a byte each, after the tag and the count: 43 bytes, not 41 * 32.
  CHECK(test::archive::sql_int(path, "SELECT length(children)" + where) == 43);
  auto s = test::archive::open(path, store::OpenMode::read_only);
  const auto blob = s->get(top).value();
  REQUIRE(blob);
  CHECK(blob->children == children);
  CHECK(s->children_of(top).value().value() == children);
}
