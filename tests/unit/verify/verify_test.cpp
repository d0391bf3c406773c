// SPDX-License-Identifier: MIT OR Apache-2.0
// verify on archives built through the library and then damaged the ways real damage looks.
#include <pagable/gc.hpp>
#include <pagable/pack.hpp>
#include <pagable/schema.hpp>
#include <pagable/stored_schema.hpp>
#include <pagable/verify.hpp>

#include "support/archive_fixture.hpp"
#include "support/gcc_false_positive.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace pagable;
using namespace test::archive;
using verify::ProblemKind;
using verify::VerifyLevel;

namespace {

// Two roots sharing a subtree: "A" (private leaves a*) and "B".
struct TwoRoots {
  std::string path;
  Doc a, b;
  Key stray; // stored, reached by no root
};

TwoRoots build(const test::TempDir& dir)
{
  TwoRoots t;
  t.path = dir.file("a.pagable");
  auto s = open(t.path);
  t.a = put_doc(*s, "A", 20, 10);
  t.b = put_doc(*s, "B", 20, 10);
  t.stray = put(*s, "nobody reaches me");
  commit(*s, "A", t.a.top);
  commit(*s, "B", t.b.top);
  return t;
}

verify::VerifyReport run_verify(const std::string& path, verify::VerifyOptions o = {})
{
  auto s = open(path, store::OpenMode::read_only);
  auto r = verify::run(*s, o);
  INFO((r ? "" : r.error().message()));
  REQUIRE(r);
  return std::move(r).value();
}

const verify::Problem* find(const verify::VerifyReport& r, ProblemKind kind, const Key& key)
{
  for (const auto& p : r.problems) {
    if (p.kind == kind && p.key == key) {
      return &p;
    }
  }
  return nullptr;
}

std::string describe(const verify::VerifyReport& r)
{
  std::string out;
  for (const auto& p : r.problems) {
    out += std::string(verify::kind_name(p.kind)) + " " + (p.key ? p.key->short_hex() : "-") + " " +
           p.detail + " roots:";
    for (const auto& n : p.roots) {
      out += " " + n;
    }
    out += "\n";
  }
  return out;
}

} // namespace

TEST_CASE("verify: a sound archive is clean at every level, and unreachable blobs are not problems",
          "[verify]")
{
  test::TempDir dir;
  const auto t = build(dir);
  for (const auto level : {VerifyLevel::quick, VerifyLevel::connectivity, VerifyLevel::full}) {
    verify::VerifyOptions o;
    o.level = level;
    const auto r = run_verify(t.path, o);
    INFO(describe(r));
    CHECK(r.ok());
    CHECK(r.next_step == verify::NextStep::none);
    if (level == VerifyLevel::quick) {
      CHECK(r.blobs_reached == 0);
    } else {
      // The union of both documents: every blob but the stray one.
      std::set<Key> all = t.a.all;
      all.insert(t.b.all.begin(), t.b.all.end());
      CHECK(r.blobs_reached == all.size());
      CHECK(r.roots_checked == 2);
      CHECK(r.blobs_checked == (level == VerifyLevel::full ? all.size() : 0));
    }
  }
}

TEST_CASE("verify: --deep validates each root against its stored schema", "[verify][schema]")
{
  test::TempDir dir;
  const std::string path = dir.file("a.pagable");
  {
    auto s = open(path);
    const auto boundaries = pack::init_boundaries(*s);
    REQUIRE(boundaries);
    std::istringstream text(R"({"name": "x", "tags": ["a", 2], "n": 5})");
    const auto packed = pack::pack_stream(*s, text, *boundaries, {});
    REQUIRE(packed);
    const auto compile = [](const char* schema_text) {
      auto compiled = schema::compile_schema(nlohmann::json::parse(schema_text), {});
      REQUIRE(compiled);
      return *compiled;
    };
    // The document matches the first schema and breaks the second twice.
    const auto loose = stored_schema::put(*s, *compile(R"({"type": "object"})"));
    const auto strict = stored_schema::put(
        *s, *compile(R"({"properties": {"tags": {"items": {"type": "string"}}, "n": {"maximum": 3}}})"));
    REQUIRE(loose);
    REQUIRE(strict);
    const auto commit_with = [&](const std::string& name, std::optional<Key> schema_key) {
      store::RootRecord r;
      r.name = name;
      r.key = packed->key;
      r.schema_key = schema_key;
      REQUIRE(s->commit_root(r));
    };
    commit_with("loose", *loose);
    commit_with("strict", *strict);
    commit_with("plain", std::nullopt);
  }
  verify::VerifyOptions o;
  o.level = VerifyLevel::deep;
  const auto r = run_verify(path, o);
  CHECK(r.roots_schema_checked == 2);
  CHECK(r.roots_without_schema == 1);
  REQUIRE(r.problems.size() == 2);
  std::set<std::pair<std::string, std::string>> where;
  for (const auto& p : r.problems) {
    CHECK(p.kind == ProblemKind::schema_violation);
    CHECK(p.roots == std::vector<std::string>{"strict#1"});
    CHECK_THAT(p.detail, Catch::StartsWith("root \"strict#1\": "));
    where.emplace(p.instance_location, p.schema_location);
  }
  CHECK(where == std::set<std::pair<std::string, std::string>>{
                     {"/tags/1", "#/properties/tags/items/type"}, {"/n", "#/properties/n/maximum"}});
  CHECK(r.next_step == verify::NextStep::fix_documents);
  // The full level does not look at schemas.
  o.level = VerifyLevel::full;
  CHECK(run_verify(path, o).ok());
}

TEST_CASE("verify: --deep names roots whose schema or document cannot be used", "[verify][schema]")
{
  // Regressions: the detail of an unusable stored schema printed "root  + root.name + " (a
  // string-literal slip), and a root whose document could not be read was skipped silently.
  test::TempDir dir;
  const std::string path = dir.file("a.pagable");
  {
    auto s = open(path);
    const auto not_a_bundle = s->put(Blob{test::bytes("this is not a schema bundle"), {}});
    const auto not_a_node = s->put(Blob{test::bytes("\xff\xfe not a node"), {}});
    auto good = schema::compile_schema(nlohmann::json::parse(R"({"type": "object"})"), {});
    REQUIRE(good);
    const auto schema_key = stored_schema::put(*s, **good);
    REQUIRE(not_a_bundle);
    REQUIRE(not_a_node);
    REQUIRE(schema_key);
    store::RootRecord r;
    r.name = "bad-schema";
    r.key = *not_a_node;
    r.schema_key = *not_a_bundle;
    REQUIRE(s->commit_root(r));
    r.name = "bad-document";
    r.schema_key = *schema_key;
    REQUIRE(s->commit_root(r));
  }
  verify::VerifyOptions o;
  o.level = VerifyLevel::deep;
  const auto r = run_verify(path, o);
  INFO(describe(r));
  CHECK(r.roots_schema_checked == 0);
  bool schema_named = false;
  bool document_named = false;
  for (const auto& p : r.problems) {
    if (p.kind != ProblemKind::schema_violation) {
      continue;
    }
    schema_named |= p.detail.starts_with("root \"bad-schema#1\": its stored schema cannot be used");
    document_named |= p.detail.starts_with("root \"bad-document#1\": not checked against its schema");
  }
  CHECK(schema_named);
  CHECK(document_named);
  CHECK_FALSE(r.ok());
}

// A child's row deleted: its key went with it, since from format 6 its parent's list names it
// by row id. verify reports the parent's row, blamed on exactly the roots that reach it.
TEST_CASE("verify: a missing child is its parent's bad row, blamed on exactly the roots that reach it",
          "[verify]")
{
  test::TempDir dir;
  const auto t = build(dir);
  const Key victim =
      *t.a.privates.begin() == t.a.top ? *t.a.privates.rbegin() : *t.a.privates.begin();
  REQUIRE(victim != t.a.top);
  delete_blob_row(t.path, victim);
  SECTION("quick does not walk the graph")
  {
    verify::VerifyOptions o;
    o.level = VerifyLevel::quick;
    CHECK(run_verify(t.path, o).ok());
  }
  SECTION("connectivity finds it")
  {
    verify::VerifyOptions o;
    o.level = VerifyLevel::connectivity;
    const auto r = run_verify(t.path, o);
    INFO(describe(r));
    REQUIRE(r.problems.size() == 1);
    const auto& p = r.problems[0];
    CHECK(p.kind == ProblemKind::bad_index_row);
    CHECK_THAT(p.detail, Catch::Contains("which is not in the store"));
    CHECK(p.roots == std::vector<std::string>{"A#1"});
    CHECK(r.next_step != verify::NextStep::none);
  }
  SECTION("a missing shared blob affects both roots")
  {
    const Key shared = *std::find_if(t.a.all.begin(), t.a.all.end(),
                                     [&](const Key& k) { return t.b.all.count(k) != 0; });
    delete_blob_row(t.path, shared);
    const auto r = run_verify(t.path);
    INFO(describe(r));
    bool both = false;
    for (const auto& p : r.problems) {
      CHECK(p.kind == ProblemKind::bad_index_row);
      both = both || p.roots == std::vector<std::string>{"A#1", "B#1"};
    }
    CHECK(both);
  }
}

TEST_CASE("verify: a root pointing at a missing blob is reported against that root", "[verify]")
{
  test::TempDir dir;
  const auto t = build(dir);
  delete_blob_row(t.path, t.b.top);
  verify::VerifyOptions o;
  o.level = VerifyLevel::connectivity;
  const auto r = run_verify(t.path, o);
  INFO(describe(r));
  REQUIRE(r.problems.size() == 1);
  const auto* p = find(r, ProblemKind::missing_blob, t.b.top);
  REQUIRE(p != nullptr);
  CHECK(p->roots == std::vector<std::string>{"B#1"});
  CHECK_THAT(p->detail, Catch::Contains("root \"B#1\""));
}

TEST_CASE("verify: a blob whose stored bytes do not match its key is a hash mismatch", "[verify]")
{
  test::TempDir dir;
  const auto t = build(dir);
  // Two private leaves of A of the same size: swap where their rows point.
  std::vector<Key> leaves;
  {
    auto s = open(t.path, store::OpenMode::read_only);
    for (const Key& k : t.a.privates) {
      const Blob b = s->get(k).value().value(); // throws if the key's blob were absent
      if (b.children.empty()) {
        leaves.push_back(k);
      }
    }
  }
  REQUIRE(leaves.size() >= 2);
  swap_blob_places(t.path, leaves[0], leaves[1]);
  for (const unsigned jobs : {1u, 3u}) {
    verify::VerifyOptions o;
    o.jobs = jobs;
    const auto r = run_verify(t.path, o);
    INFO(describe(r));
    CHECK(r.problems.size() == 2);
    for (const Key& k : {leaves[0], leaves[1]}) {
      const auto* p = find(r, ProblemKind::hash_mismatch, k);
      REQUIRE(p != nullptr);
      CHECK(p->roots == std::vector<std::string>{"A#1"});
    }
  }
  verify::VerifyOptions conn;
  conn.level = VerifyLevel::connectivity;
  CHECK(run_verify(t.path, conn).ok()); // the index alone cannot see it
}

TEST_CASE("verify: a flipped byte in compressed data is found and blamed on the roots", "[verify]")
{
  test::TempDir dir;
  const auto t = build(dir);
  REQUIRE(sql_int(t.path, "SELECT count(*) FROM packs WHERE codec = 1") >= 1);
  const auto pack = sql_int(t.path, "SELECT min(id) FROM packs WHERE codec = 1");
  const auto len = static_cast<std::size_t>(
      sql_int(t.path, "SELECT length(data) FROM packs WHERE id = " + std::to_string(pack)));
  flip_pack_byte(t.path, pack, len / 2);
  const auto r = run_verify(t.path);
  INFO(describe(r));
  REQUIRE_FALSE(r.ok());
  for (const auto& p : r.problems) {
    CHECK((p.kind == ProblemKind::undecodable_blob || p.kind == ProblemKind::hash_mismatch));
    REQUIRE(p.key.has_value());
    CHECK_FALSE(p.roots.empty());
    CHECK_FALSE(p.detail.empty());
  }
}

TEST_CASE("verify: a truncated file never crashes: unreadable, or problems found", "[verify]")
{
  test::TempDir dir;
  const auto t = build(dir);
  {
    // More pages, so that truncation cuts into tables rather than the header alone.
    auto s = open(t.path, store::OpenMode::read_write);
    for (int i = 0; i < 40; ++i) {
      PAGABLE_GCC_FALSE_POSITIVE_BEGIN("-Wrestrict") // g++ 12 false positive, GCC bug 105329
      const auto d = put_doc(*s, "C" + std::to_string(i), 5, 50);
      commit(*s, "C" + std::to_string(i), d.top);
      PAGABLE_GCC_FALSE_POSITIVE_END
    }
  }
  const auto size = std::filesystem::file_size(t.path);
  REQUIRE(size > 8192);
  std::filesystem::resize_file(t.path, size / 2);
  auto s = store::open_sqlite_store(t.path);
  if (!s) {
    CHECK((s.error().code() == Errc::unusable_archive || s.error().code() == Errc::corrupt));
    return;
  }
  const auto r = verify::run(**s);
  if (!r) {
    CHECK((r.error().code() == Errc::unusable_archive || r.error().code() == Errc::corrupt));
    return;
  }
  INFO(describe(*r));
  CHECK_FALSE(r->ok());
}

TEST_CASE("verify: a file that is not SQLite cannot be opened (unusable)", "[verify]")
{
  test::TempDir dir;
  test::write_file(dir.file("junk"), std::string(5000, 'j'));
  const auto s = store::open_sqlite_store(dir.file("junk"));
  REQUIRE_FALSE(s);
  CHECK(s.error().code() == Errc::unusable_archive);
}

TEST_CASE("verify: subsets n/t cover every blob exactly once", "[verify]")
{
  test::TempDir dir;
  const auto t = build(dir);
  const auto whole = run_verify(t.path);
  std::uint64_t sum = 0;
  for (unsigned n = 1; n <= 3; ++n) {
    verify::VerifyOptions o;
    o.subset = verify::Subset{n, 3};
    const auto r = run_verify(t.path, o);
    CHECK(r.blobs_checked < whole.blobs_checked);
    sum += r.blobs_checked;
  }
  CHECK(sum == whole.blobs_checked);
  CHECK(verify::parse_subset("2/3").value().n == 2);
  CHECK_FALSE(verify::parse_subset("0/3"));
  CHECK_FALSE(verify::parse_subset("4/3"));
  CHECK_FALSE(verify::parse_subset("x"));
}

TEST_CASE("verify: named roots limit the check to what they reach", "[verify]")
{
  test::TempDir dir;
  const auto t = build(dir);
  const Key victim = *std::find_if(t.a.privates.begin(), t.a.privates.end(),
                                   [&](const Key& k) { return k != t.a.top; });
  delete_blob_row(t.path, victim);
  verify::VerifyOptions o;
  o.roots = {"B"};
  const auto r = run_verify(t.path, o);
  CHECK(r.ok());
  CHECK(r.blobs_checked == t.b.all.size());
  o.roots = {"A"};
  CHECK_FALSE(run_verify(t.path, o).ok());
  o.roots = {"nope"};
  auto s = open(t.path, store::OpenMode::read_only);
  const auto missing = verify::run(*s, o);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code() == Errc::not_found);
}

TEST_CASE("verify: works on a read-only file and writes nothing", "[verify]")
{
  if (::geteuid() == 0) {
    WARN("running as root: permission bits are not enforced; checking that nothing is written");
  }
  test::TempDir dir;
  const auto sub = dir.file("ro");
  std::filesystem::create_directory(sub);
  const auto path = sub + "/a.pagable";
  {
    auto s = open(path);
    const auto d = put_doc(*s, "A", 5, 5);
    commit(*s, "A", d.top);
  }
  const std::string before = test::read_file(path);
  ::chmod(path.c_str(), 0444);
  ::chmod(sub.c_str(), 0555);
  const auto r = run_verify(path);
  CHECK(r.ok());
  CHECK(r.blobs_checked == 13);
  CHECK(test::read_file(path) == before);
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));
  ::chmod(sub.c_str(), 0755);
  ::chmod(path.c_str(), 0644);
}

TEST_CASE("verify: runs in one snapshot, so concurrent rm+gc+pack never look like damage",
          "[verify][concurrency]")
{
  test::TempDir dir;
  const auto path = dir.file("a.pagable");
  {
    auto s = open(path);
    const auto d = put_doc(*s, "r0", 30, 30);
    commit(*s, "r0", d.top);
  }
  std::atomic<bool> stop{false};
  std::string churn_error;
  std::atomic<int> rounds{0};
  std::thread churn([&] {
    try {
      store::SqliteOptions o;
      o.mode = store::OpenMode::read_write;
      auto s = store::open_sqlite_store(path, o).value();
      for (int i = 1; !stop.load(); ++i) {
        PAGABLE_GCC_FALSE_POSITIVE_BEGIN("-Wrestrict") // g++ 12 false positive, GCC bug 105329
        const auto d = put_doc(*s, "r" + std::to_string(i), 30, 30);
        store::RootRecord r;
        r.name = "r" + std::to_string(i);
        r.key = d.top;
        if (auto c = s->commit_root(r); !c) {
          throw std::runtime_error(c.error().message());
        }
        (void)s->remove_root("r" + std::to_string(i - 1)).value();
        PAGABLE_GCC_FALSE_POSITIVE_END
        auto plan = gc::plan(*s);
        if (!plan || !gc::execute(*s, *plan)) {
          throw std::runtime_error("gc failed");
        }
        ++rounds;
      }
    } catch (const std::exception& e) {
      churn_error = e.what();
    }
  });
  int checked = 0;
  for (int i = 0; i < 15; ++i) {
    const auto r = run_verify(path);
    INFO(describe(r));
    CHECK(r.ok());
    checked += r.blobs_checked > 0 ? 1 : 0;
  }
  stop = true;
  churn.join();
  CHECK(churn_error.empty());
  CHECK(checked == 15);
  CHECK(rounds.load() > 0);
}

TEST_CASE("verify: a malformed child list is a bad index row blamed on its roots", "[verify]")
{
  test::TempDir dir;
  const auto t = build(dir);
  sql(t.path, "UPDATE blobs SET children = x'0102' WHERE key = x'" + t.a.top.to_hex() + "'");
  const auto r = run_verify(t.path);
  INFO(describe(r));
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].kind == ProblemKind::bad_index_row);
  CHECK(r.problems[0].roots == std::vector<std::string>{"A#1"});
  CHECK_THAT(r.problems[0].detail, Catch::Contains(t.a.top.to_hex()));
}

TEST_CASE("verify: a key stored in two rows is a duplicate key, which gc cures", "[verify]")
{
  test::TempDir dir;
  const auto t = build(dir);
  // Format 4 has no UNIQUE constraint on key: the writer keeps to one row per key, and verify
  // checks that it did.
  sql(t.path, "INSERT INTO blobs(key, pack, offset, size, children) SELECT key, pack, offset, "
              "size, children FROM blobs WHERE key = x'" + t.a.top.to_hex() + "'");
  verify::VerifyOptions o;
  o.level = VerifyLevel::connectivity;
  const auto r = run_verify(t.path, o);
  INFO(describe(r));
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].kind == ProblemKind::duplicate_key);
  CHECK(r.problems[0].key == t.a.top);
  CHECK(r.problems[0].roots == std::vector<std::string>{"A#1"});
  CHECK_THAT(r.problems[0].detail, Catch::Contains("the same key"));
  CHECK(r.next_step == verify::NextStep::remove_duplicates);
  // Only keys the checked roots reach count, as everywhere in verify.
  o.roots = {"B"};
  CHECK(run_verify(t.path, o).problems.empty());
  // gc keeps the row the key is found by and removes the other.
  {
    auto s = open(t.path, store::OpenMode::read_write);
    auto plan = gc::plan(*s);
    REQUIRE(plan);
    REQUIRE(gc::execute(*s, *plan));
  }
  o.roots.clear();
  CHECK(run_verify(t.path, o).ok());
  CHECK(test::archive::sql_int(t.path, "SELECT count(*) FROM blobs WHERE key = x'" +
                                           t.a.top.to_hex() + "'") == 1);
}

TEST_CASE("verify: an archive whose key index was dropped is a bad layout", "[verify]")
{
  test::TempDir dir;
  const auto t = build(dir);
  sql(t.path, "DROP INDEX blobs_key_prefix");
  verify::VerifyOptions o;
  o.level = VerifyLevel::quick;
  const auto r = run_verify(t.path, o);
  INFO(describe(r));
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].kind == ProblemKind::bad_layout);
  CHECK_THAT(r.problems[0].detail, Catch::Contains("no index on key") &&
                                       Catch::Contains("CREATE INDEX blobs_key_prefix"));
}
