// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/hydrate.hpp>
#include <pagable/pack.hpp>
#include <pagable/version.hpp>

#include "codec/navigate.hpp"
#include "support/archive_fixture.hpp"
#include "support/counting_store.hpp"
#include "support/text.hpp"
#include "support/gcc_false_positive.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

using namespace pagable;
using codec::Tag;

namespace {

pack::PackResult pack_text(store::BlobStore& s, const std::string& text,
                           const pack::PackOptions& options = {},
                           const pack::BoundarySettings& b = {})
{
  std::istringstream in(text);
  auto r = pack::pack_stream(s, in, b, options);
  INFO((r ? std::string() : r.error().message()));
  REQUIRE(r);
  return std::move(r).value();
}

std::string hydrate_text(const store::BlobStore& s, const Key& key, const std::string& at = "")
{
  hydrate::Document doc(s, key);
  std::ostringstream out;
  REQUIRE(doc.write_json(out, at));
  return out.str();
}

// Boundaries small enough that a few kB of JSON make nodes, chunks and index levels.
pack::BoundarySettings tiny_boundaries()
{
  pack::BoundarySettings b;
  b.node_bytes = 64;
  b.chunk_above_bytes = 512;
  b.chunk_target_bytes = 128;
  b.chunk_max_bytes = 512;
  b.index_fanout = 4;
  return b;
}

} // namespace

TEST_CASE("pack: canonical output and the same key whatever the whitespace", "[pack]")
{
  auto s = store::make_memory_store();
  const auto a = pack_text(*s, R"({"b":[1,2,{"c":null}],"a":"x"})");
  const auto b = pack_text(*s, "{ \"b\" : [ 1 , 2 , { \"c\" : null } ] ,\n \"a\" : \"x\" }\n");
  CHECK(a.key == b.key);
  CHECK(hydrate_text(*s, a.key) == R"({"b":[1,2,{"c":null}],"a":"x"})");
  CHECK(hydrate_text(*s, a.key, "/b/2/c") == "null");
}

TEST_CASE("pack: small thresholds give nodes, chunks and the same value back", "[pack]")
{
  auto s = store::make_memory_store();
  const pack::BoundarySettings b = tiny_boundaries();
  std::string doc = "{\"list\":[";
  for (int i = 0; i < 2000; ++i) {
    PAGABLE_GCC_FALSE_POSITIVE_BEGIN("-Wrestrict") // g++ 12 false positive, GCC bug 105329
    doc += (i ? "," : "") + std::string("{\"i\":") + std::to_string(i) + ",\"v\":[" +
           std::to_string(i % 7) + "]}";
    PAGABLE_GCC_FALSE_POSITIVE_END
  }
  doc += "],\"map\":{";
  for (int i = 0; i < 2000; ++i) {
    PAGABLE_GCC_FALSE_POSITIVE_BEGIN("-Wrestrict") // g++ 12 false positive, GCC bug 105329
    doc += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":" + std::to_string(i);
    PAGABLE_GCC_FALSE_POSITIVE_END
  }
  doc += "}}";
  const auto r = pack_text(*s, doc, {}, b);
  CHECK(r.nodes > 50);
  CHECK(hydrate_text(*s, r.key) == doc);
  CHECK(hydrate_text(*s, r.key, "/list/1234") == R"({"i":1234,"v":[2]})");
  CHECK(hydrate_text(*s, r.key, "/map/k1999") == "1999");
  // Workers do not change the keys.
  auto s2 = store::make_memory_store();
  pack::PackOptions one;
  one.workers = 1;
  const auto r1 = pack_text(*s2, doc, one, b);
  CHECK(r1.key == r.key);
}

TEST_CASE("pack: workers counts the parsing thread: N - 1 threads put, or the parser with 1",
          "[pack]")
{
  // PackOptions::workers (pagable pack -j) is the page-out threads, the parser included: on 2
  // cores one worker per core beside the parser and the store's writer was a thread too many.
  std::string doc = "[";
  for (int i = 0; i < 3000; ++i) {
    PAGABLE_GCC_FALSE_POSITIVE_BEGIN("-Wrestrict") // g++ 12 false positive, GCC bug 105329
    doc += (i ? "," : "") + std::string(R"({"i":)") + std::to_string(i) + R"(,"v":"abcdefgh"})";
    PAGABLE_GCC_FALSE_POSITIVE_END
  }
  doc += "]";
  Key first;
  for (const unsigned n : {1U, 2U, 3U}) {
    INFO("workers = " << n);
    test::CountingStore s(store::make_memory_store());
    pack::PackOptions o;
    o.workers = n;
    const auto r = pack_text(s, doc, o, tiny_boundaries());
    REQUIRE(r.nodes > 100);
    const auto threads = s.put_threads();
    if (n == 1) {
      CHECK(threads == std::set<std::thread::id>{std::this_thread::get_id()});
    } else {
      CHECK(threads.count(std::this_thread::get_id()) == 0);
      CHECK(threads.size() >= 1);
      CHECK(threads.size() <= n - 1);
    }
    if (n == 1) {
      first = r.key;
    }
    CHECK(r.key == first);
  }
}

TEST_CASE("pack: limits and dangling references are invalid input", "[pack]")
{
  auto s = store::make_memory_store();
  pack::PackOptions o;
  o.max_string_bytes = 4;
  std::istringstream in(R"({"a":"too long"})");
  auto r = pack::pack_stream(*s, in, {}, o);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == Errc::invalid_input);
  CHECK_THAT(r.error().message(), Catch::Contains("/a"));

  std::istringstream refs(R"({"a":{"$ref":"#/b"},"c":{"$ref":"#/a"}})");
  auto d = pack::pack_stream(*s, refs, {}, {});
  REQUIRE_FALSE(d);
  CHECK_THAT(d.error().message(), Catch::Contains("#/b") && Catch::Contains("at /a"));
  pack::PackOptions allow;
  allow.dangling_refs = pack::DanglingRefs::allow;
  const auto kept = pack_text(*s, R"({"a":{"$ref":"#/b"},"c":{"$ref":"#/a"}})", allow);
  CHECK(kept.dangling.size() == 1);
  CHECK(kept.refs == 2);
}

TEST_CASE("pack: $ref targets found or missing wherever they sit, without re-reading", "[pack]")
{
  struct Case {
    const char* doc;
    std::vector<std::string> dangling; // their $ref texts
    bool reads_back;                   // a target's parent closed before its $ref was read
  };
  const std::vector<Case> cases = {
      {R"({"a":{"$ref":"#/defs/x"},"defs":{"x":1}})", {}, false},
      {R"({"a":{"$ref":"#/defs/y"},"defs":{"x":1}})", {"#/defs/y"}, false},
      {R"({"nodes":{"k0":{},"k1":{"deps":[{"$ref":"#/nodes/k0"},{"$ref":"#/nodes/k9"}]}}})",
       {"#/nodes/k9"}, false},
      {R"({"defs":{"x":1},"a":{"$ref":"#/defs/x"},"b":{"$ref":"#/defs/z"}})", {"#/defs/z"}, true},
      {R"({"l":[{"$ref":"#/l/1"},5,{"$ref":"#/l/4"},{"$ref":"#/l/01"}]})", {"#/l/4", "#/l/01"}, false},
      {R"({"a/b":{"~c":1},"r":{"$ref":"#/a~1b/~0c"},"q":{"$ref":"#/a~1b/c"}})", {"#/a~1b/c"}, true},
      {R"({"s":5,"r":{"$ref":"#/s/x"}})", {"#/s/x"}, true},
      {R"({"r":{"$ref":"#/r/$ref"}})", {}, false},
      {R"({"r":{"$ref":"#/d/0/k"},"d":[{"k":1},[{"$ref":"#/d/1/0"}]]})", {}, false},
      {R"([{"$ref":"#/0"},{"$ref":"#/2"}])", {"#/2"}, false},
  };
  for (const auto& c : cases) {
    INFO(c.doc);
    auto s = store::make_memory_store();
    pack::PackOptions allow;
    allow.dangling_refs = pack::DanglingRefs::allow;
    const auto r = pack_text(*s, c.doc, allow);
    std::vector<std::string> texts;
    for (const auto& d : r.dangling) { // "\"<text>\" at <where>"
      texts.push_back(d.substr(1, d.find("\" at ") - 1));
    }
    std::vector<std::string> want = c.dangling;
    std::sort(want.begin(), want.end());
    std::sort(texts.begin(), texts.end());
    CHECK(texts == want);
    CHECK((s->counters().gets > 0) == c.reads_back);
  }
}

TEST_CASE("pack: cancel stops with Errc::cancelled", "[pack]")
{
  auto s = store::make_memory_store();
  std::atomic<bool> stop{true};
  pack::PackOptions o;
  o.cancel = &stop;
  std::istringstream in("[1,2,3]");
  auto r = pack::pack_stream(*s, in, {}, o);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == Errc::cancelled);
}

TEST_CASE("pack: boundary settings round-trip through archive settings", "[pack]")
{
  auto s = store::make_memory_store();
  pack::BoundarySettings custom;
  custom.node_bytes = 1234;
  const auto first = pack::init_boundaries(*s, custom).value();
  CHECK(first.node_bytes == 1234);
  const auto again = pack::init_boundaries(*s, {}).value(); // fixed for the archive's life
  CHECK(again.node_bytes == 1234);
  CHECK_FALSE(pack::BoundarySettings::from_settings({{"pack.node_bytes", "zero"}}));
  CHECK_FALSE(pack::BoundarySettings::from_settings({{"pack.node_bytes", "0"}}));
  // Routing may be switched off, and that survives the archive's settings.
  auto t = store::make_memory_store();
  pack::BoundarySettings off;
  off.route_members = 0;
  const auto stored = pack::init_boundaries(*t, off);
  REQUIRE(stored);
  CHECK(stored->route_members == 0);
  CHECK(pack::init_boundaries(*t, {}).value().route_members == 0);
}

namespace {

// An archive as a format-2 pagable leaves it: marked 2, with `settings` (none: its first pack
// failed before recording them) and, when `rooted`, a root.
std::string older_archive(const test::TempDir& dir, const std::string& name,
                          const std::map<std::string, std::string>& settings, bool rooted,
                          int format = 2)
{
  const auto path = dir.file(name);
  {
    auto s = test::archive::open(path);
    if (rooted) {
      const Key k = s->put(Blob{{1, 2, 3}, {}}).value();
      REQUIRE(s->commit_root(store::RootRecord{"r", k, std::nullopt, 0, {}, "{}"}));
    }
  }
  test::archive::sql(path, "DELETE FROM settings");
  for (const auto& [n, v] : settings) {
    test::archive::sql(path, "INSERT INTO settings(name, value) VALUES ('" + n + "', '" + v + "')");
  }
  const auto f = std::to_string(format);
  test::archive::sql(path, "UPDATE meta SET value = '" + f + "' WHERE name = 'format_version'");
  test::archive::sql(path, "PRAGMA user_version = " + f);
  return path;
}

std::int64_t marked_format(const std::string& path)
{
  return test::archive::sql_int(path, "PRAGMA user_version");
}

} // namespace

TEST_CASE("pack: an archive an older pagable may write keeps fingerprint 1", "[pack]")
{
  // What a format-2 pagable recorded: every setting but pack.fingerprint.
  auto older = pack::BoundarySettings{}.to_settings();
  older.erase("pack.fingerprint");
  CHECK(pack::BoundarySettings::from_archive(older).value().fingerprint == 1);
  CHECK(pack::BoundarySettings::from_archive({}).value().fingerprint == 2); // a new archive
  CHECK(pack::BoundarySettings{}.fingerprint == 2);
  test::TempDir dir;

  SECTION("a new archive gets fingerprint 2")
  {
    auto s = test::archive::open(dir.file("new.pagable"));
    CHECK(pack::init_boundaries(*s).value().fingerprint == 2);
  }
  SECTION("settings and a root from format 2: fingerprint 1, recorded")
  {
    const auto path = older_archive(dir, "rooted.pagable", older, true);
    auto s = test::archive::open(path, store::OpenMode::read_write);
    CHECK(pack::init_boundaries(*s).value().fingerprint == 1);
    CHECK(s->settings().value().at("pack.fingerprint") == "1");
    // Replacing is refused with a root: the fingerprint stays 1, whatever is asked.
    pack::BoundarySettings chosen;
    chosen.node_bytes = 4096;
    const auto kept = pack::init_boundaries(*s, chosen, store::SettingsWrite::replace_while_rootless);
    CHECK(kept.value().fingerprint == 1);
    CHECK(kept.value().node_bytes == 16384);
  }
  SECTION("no settings yet (its first pack failed early): fingerprint 1, and the marks stay")
  {
    // Until a blob is stored, a format-2 pagable may still pack into it, with FNV-1a.
    const auto path = older_archive(dir, "empty.pagable", {}, false);
    auto s = test::archive::open(path, store::OpenMode::read_write);
    CHECK(pack::init_boundaries(*s).value().fingerprint == 1);
    s.reset();
    CHECK(marked_format(path) == 2);
  }
  SECTION("settings from format 2 in an archive marked since (gc --compact): fingerprint 1")
  {
    // gc --compact marks an old archive with today's format and records no setting; the ones
    // there were recorded without pack.fingerprint, by a pagable that chunked with FNV-1a.
    const auto path = older_archive(dir, "compacted.pagable", older, true, 4);
    auto s = test::archive::open(path, store::OpenMode::read_write);
    CHECK(pack::init_boundaries(*s).value().fingerprint == 1);
    CHECK(s->settings().value().at("pack.fingerprint") == "1");
  }
  SECTION("no settings yet in an archive marked 3: fingerprint 2, as a format 3 pagable records")
  {
    // Only archives from before format 3 were chunked with FNV-1a (format 4 changed no setting).
    const auto path = older_archive(dir, "empty3.pagable", {}, false, 3);
    auto s = test::archive::open(path, store::OpenMode::read_write);
    CHECK(pack::init_boundaries(*s).value().fingerprint == 2);
    CHECK(s->settings().value().at("pack.fingerprint") == "2");
    s.reset();
    CHECK(marked_format(path) == 3);
  }
  SECTION("replacing a rootless archive's settings marks it with today's format, so the new ones hold")
  {
    // A failed first pack with --setting: fingerprint 2 recorded in an archive still marked 2
    // would let a format-2 pagable pack into it with FNV-1a under a setting that says 2.
    const auto path = older_archive(dir, "rootless.pagable", older, false);
    auto s = test::archive::open(path, store::OpenMode::read_write);
    pack::BoundarySettings chosen;
    chosen.node_bytes = 4096;
    const auto replaced = pack::init_boundaries(*s, chosen, store::SettingsWrite::replace_while_rootless);
    CHECK(replaced.value().fingerprint == 2);
    CHECK(replaced.value().node_bytes == 4096);
    s.reset();
    CHECK(marked_format(path) == pagable::k_format_version);
  }
}

TEST_CASE("pack: boundary settings out of range are refused, not packed with", "[pack]")
{
  // An index fanout of 1 closed an index node per entry at every level, without end: pack
  // crashed (stack overflow) on an archive whose settings said so.
  for (const char* bad : {"1", "0", "65537", "18446744073709551615"}) {
    const auto r = pack::BoundarySettings::from_settings({{"pack.index_fanout", bad}});
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::unusable_archive);
    CHECK_THAT(r.error().message(), Catch::Contains("pack.index_fanout") &&
                                        Catch::Contains("from 2 to 65536"));
  }
  CHECK_FALSE(pack::BoundarySettings::from_settings({{"pack.chunk_max_bytes", "1099511627777"}}));
  CHECK(pack::BoundarySettings::from_settings({{"pack.index_fanout", "2"}}).value().index_fanout == 2);
  CHECK(pack::BoundarySettings::from_settings({{"pack.route_members", "0"}}));
  // The library entry point checks what a caller hands it, too.
  pack::BoundarySettings b;
  b.index_fanout = 1;
  CHECK_FALSE(b.check());
  auto s = store::make_memory_store();
  std::istringstream in("[1,2,3]");
  const auto r = pack::pack_stream(*s, in, b, {});
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == Errc::invalid_argument);
  CHECK_THAT(r.error().message(), Catch::Contains("pack.index_fanout"));
}

TEST_CASE("pack: the $ref check reads a chunked object one part at a time", "[pack]")
{
  // Regression: the check used to list the members of the referenced object with every part
  // held in memory at once, so a document whose $refs point into one big map (the seed-shaped
  // workload) needed memory proportional to the document.
  auto s = store::make_memory_store();
  const pack::BoundarySettings b = tiny_boundaries();
  std::string doc = "{\"nodes\":{";
  for (int i = 0; i < 3000; ++i) {
    PAGABLE_GCC_FALSE_POSITIVE_BEGIN("-Wrestrict") // g++ 12 false positive, GCC bug 105329
    doc += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":{\"deps\":[" +
           (i ? "{\"$ref\":\"#/nodes/k" + std::to_string(i - 1) + "\"}" : std::string()) + "]}";
    PAGABLE_GCC_FALSE_POSITIVE_END
  }
  doc += "},\"list\":[1,2,3]}";
  const auto r = pack_text(*s, doc, {}, b);
  CHECK(r.refs == 2999);
  CHECK(r.dangling.empty());

  int alive = 0;
  int most_alive = 0;
  int loads = 0;
  const codec::BlobLoader load = [&](const Key& k) -> Result<std::shared_ptr<const Blob>> {
    auto got = s->get(k);
    REQUIRE(got);
    REQUIRE(*got);
    ++loads;
    most_alive = std::max(most_alive, ++alive);
    return std::shared_ptr<const Blob>(new Blob(std::move(**got)), [&alive](const Blob* p) {
      --alive;
      delete p;
    });
  };
  auto nodes = codec::locate(load, r.key, {"nodes"});
  REQUIRE(nodes);
  std::size_t names = 0;
  const auto is_object = codec::for_each_member_name(load, *nodes, [&](std::string_view) { ++names; });
  REQUIRE(is_object);
  CHECK(*is_object);
  CHECK(names == 3000);
  CHECK(loads > 20); // the map really is a chunk tree of many parts...
  INFO("most blobs alive at once: " << most_alive << " of " << loads << " loaded");
  CHECK(most_alive <= 12); // ...of which only the path to the current part is held

  // The two questions the check asks of the stored document, answered the same way.
  const auto found = codec::has_values(load, r.key, {"/nodes/k0", "/nodes/k2999", "/nodes/k3000",
                                                     "/list/2", "/list/3", "/nope/x", "", "/list"});
  REQUIRE(found);
  CHECK(*found == std::vector<bool>{true, true, false, true, false, false, true, true});
  // count_members streams the chunked object once for several names.
  const auto counts = codec::count_members(load, r.key, "/nodes", {"k0", "k2999", "k3000", "k17"});
  REQUIRE(counts);
  CHECK(*counts == std::vector<std::uint64_t>{1, 1, 0, 1});
  CHECK(codec::count_members(load, r.key, "/list", {"0"}).value() ==
        std::vector<std::uint64_t>{0}); // an array
  CHECK(codec::count_members(load, r.key, "/nope", {"k0"}).error().code() == Errc::not_found);
  CHECK(most_alive <= 12);
}

TEST_CASE("pack: a routed object finds every member, through fingerprint collisions", "[pack]")
{
  // Names whose 16-bit fingerprint equals that of "m7": two become members far apart, and one
  // stays out of the object, so lookups meet parts that list the fingerprint in vain.
  const auto fp = [](const std::string& name) {
    return codec::member_fingerprint(codec::member_name_hash(name));
  };
  std::vector<std::string> twins;
  for (int j = 0; twins.size() < 3; ++j) {
    if (fp("twin" + std::to_string(j)) == fp("m7")) {
      twins.push_back("twin" + std::to_string(j));
    }
  }
  std::string doc = "{";
  for (int i = 0; i < 600; ++i) {
    PAGABLE_GCC_FALSE_POSITIVE_BEGIN("-Wrestrict") // g++ 12 false positive, GCC bug 105329
    doc += (i ? "," : "") + std::string("\"m") + std::to_string(i) + "\":" + std::to_string(i);
    PAGABLE_GCC_FALSE_POSITIVE_END
    if (i == 100 || i == 500) {
      doc += ",\"" + twins[i == 100 ? 0 : 1] + "\":\"" + twins[i == 100 ? 0 : 1] + "\"";
    }
  }
  doc += "}";
  pack::BoundarySettings routed = tiny_boundaries();
  routed.route_members = 50;
  routed.route_member_bytes = 0; // these members are tiny
  pack::BoundarySettings plain = tiny_boundaries();
  plain.route_members = 0;

  auto s = store::make_memory_store();
  const auto r = pack_text(*s, doc, {}, routed);
  CHECK(hydrate_text(*s, r.key) == doc);
  for (int i = 0; i < 600; ++i) {
    CHECK(hydrate_text(*s, r.key, "/m" + std::to_string(i)) == std::to_string(i));
  }
  CHECK(hydrate_text(*s, r.key, "/m7") == "7");
  CHECK(hydrate_text(*s, r.key, "/" + twins[0]) == "\"" + twins[0] + "\"");
  CHECK(hydrate_text(*s, r.key, "/" + twins[1]) == "\"" + twins[1] + "\"");
  {
    hydrate::Document d(*s, r.key);
    std::ostringstream out;
    const auto absent = d.write_json(out, "/" + twins[2]);
    REQUIRE_FALSE(absent);
    CHECK(absent.error().code() == Errc::not_found);
  }
  // The fingerprints spare the scan: the last member costs a few blobs, not every part.
  const auto gets_for = [](const store::BlobStore& st, const Key& key, const std::string& at) {
    const auto before = st.counters().gets;
    hydrate_text(st, key, at);
    return st.counters().gets - before;
  };
  auto p = store::make_memory_store();
  const auto rp = pack_text(*p, doc, {}, plain);
  CHECK(rp.key != r.key); // routing is part of the node boundaries, so of the keys
  CHECK(gets_for(*s, r.key, "/m599") * 4 < gets_for(*p, rp.key, "/m599"));
  // Members this small (a few bytes each) are not worth 2 bytes of fingerprint each: with the
  // default route_member_bytes the object is left plain.
  pack::BoundarySettings small_members = routed;
  small_members.route_member_bytes = pack::BoundarySettings{}.route_member_bytes;
  auto q = store::make_memory_store();
  CHECK(pack_text(*q, doc, {}, small_members).key == rp.key);
  // One worker or several: the same keys.
  for (const unsigned workers : {1U, 4U}) {
    auto sw = store::make_memory_store();
    pack::PackOptions o;
    o.workers = workers;
    CHECK(pack_text(*sw, doc, o, routed).key == r.key);
  }
}

TEST_CASE("pack: a routed object of route_wide_members or more stores 24-bit fingerprints",
          "[pack]")
{
  // Names whose 16-bit fingerprint is m7's but whose 24-bit one is not: two are members, and
  // looking up the third (absent) visits their parts with narrow fingerprints, none with wide.
  const auto hash = [](const std::string& name) { return codec::member_name_hash(name); };
  std::vector<std::string> twins;
  for (int j = 0; twins.size() < 3; ++j) {
    const std::string name = "twin" + std::to_string(j);
    if (codec::member_fingerprint(hash(name)) == codec::member_fingerprint(hash("m7")) &&
        codec::wide_member_fingerprint(hash(name)) != codec::wide_member_fingerprint(hash("m7"))) {
      twins.push_back(name);
    }
  }
  std::string doc = "{";
  for (int i = 0; i < 600; ++i) {
    PAGABLE_GCC_FALSE_POSITIVE_BEGIN("-Wrestrict") // g++ 12 false positive, GCC bug 105329
    doc += (i ? "," : "") + std::string("\"m") + std::to_string(i) + "\":" + std::to_string(i);
    PAGABLE_GCC_FALSE_POSITIVE_END
    if (i == 100 || i == 500) {
      doc += ",\"" + twins[i == 100 ? 0 : 1] + "\":0";
    }
  }
  doc += "}";
  pack::BoundarySettings narrow = tiny_boundaries();
  narrow.route_members = 50;
  narrow.route_member_bytes = 0;
  narrow.route_wide_members = 603; // one more than the object has
  pack::BoundarySettings wide = narrow;
  wide.route_wide_members = 602;

  const auto fingerprint_tags = [](const store::BlobStore& st, const Key& root) {
    const Blob top = st.get(root).value().value();
    REQUIRE(static_cast<Tag>(top.data.at(0)) == Tag::routed_object);
    std::set<Tag> tags;
    for (std::size_t i = 1; i < top.children.size(); ++i) {
      tags.insert(static_cast<Tag>(st.get(top.children[i]).value().value().data.at(0)));
    }
    return tags;
  };
  const auto gets_for = [](const store::BlobStore& st, const Key& key, const std::string& at) {
    const auto before = st.counters().gets;
    hydrate::Document d(st, key);
    std::ostringstream out;
    (void)d.write_json(out, at);
    return st.counters().gets - before;
  };
  auto n = store::make_memory_store();
  auto w = store::make_memory_store();
  const auto rn = pack_text(*n, doc, {}, narrow);
  const auto rw = pack_text(*w, doc, {}, wide);
  CHECK(fingerprint_tags(*n, rn.key) == std::set<Tag>{Tag::member_fingerprints});
  CHECK(fingerprint_tags(*w, rw.key) == std::set<Tag>{Tag::wide_member_fingerprints});
  CHECK(rw.key != rn.key);
  // Below the threshold the object is exactly what format 1 wrote: no threshold at all gives
  // the same keys.
  pack::BoundarySettings never = narrow;
  never.route_wide_members = 0;
  auto v = store::make_memory_store();
  CHECK(pack_text(*v, doc, {}, never).key == rn.key);

  CHECK(hydrate_text(*w, rw.key) == doc);
  for (int i = 0; i < 600; ++i) {
    CHECK(hydrate_text(*w, rw.key, "/m" + std::to_string(i)) == std::to_string(i));
  }
  CHECK(hydrate_text(*w, rw.key, "/" + twins[0]) == "0");
  CHECK(hydrate_text(*w, rw.key, "/" + twins[1]) == "0");
  // The absent twin: narrow fingerprints send the lookup to three parts (m7's and the two
  // twins'), wide ones to none.
  CHECK(gets_for(*w, rw.key, "/" + twins[2]) + 3 <= gets_for(*n, rn.key, "/" + twins[2]));
  for (const unsigned workers : {1U, 4U}) {
    auto sw = store::make_memory_store();
    pack::PackOptions o;
    o.workers = workers;
    CHECK(pack_text(*sw, doc, o, wide).key == rw.key);
  }
}

TEST_CASE("pack: fingerprint groups end where format 1 ended them, whatever the width", "[pack]")
{
  // 300,000 tiny members in parts of about 85: some groups run to the 16 KiB cap, which is
  // counted in 16-bit fingerprints whatever their width, so that narrow groups, and the keys
  // of format-1 archives, stay as they were.
  std::string doc = "{";
  for (int i = 0; i < 300000; ++i) {
    doc += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i % 97);
  }
  doc += "}";
  pack::BoundarySettings narrow = tiny_boundaries();
  narrow.chunk_target_bytes = 1024;
  narrow.chunk_max_bytes = 4096;
  narrow.route_members = 50;
  narrow.route_member_bytes = 0;
  narrow.route_wide_members = 0;
  narrow.fingerprint = 1; // what format-1 archives were made with, and keep
  pack::BoundarySettings wide = narrow;
  wide.route_wide_members = 1;
  auto n = store::make_memory_store();
  auto w = store::make_memory_store();
  const auto rn = pack_text(*n, doc, {}, narrow);
  const auto rw = pack_text(*w, doc, {}, wide);
  // The key pagable 0.1.0 gave this document with format 1 (commit cae1cf8).
  CHECK(rn.key.to_hex() == "f1187ca3d162f433ad74204106fd228440f75de1df862f97928d17cac6882423");
  const Blob rn_top = n->get(rn.key).value().value();
  const Blob rw_top = w->get(rw.key).value().value();
  REQUIRE(static_cast<Tag>(rn_top.data.at(0)) == Tag::routed_object);
  CHECK(rw_top.data == rn_top.data); // the same groups of the same parts
  CHECK(rw_top.children.at(0) == rn_top.children.at(0));
  std::size_t capped = 0;
  for (std::size_t i = 1; i < rn_top.children.size(); ++i) {
    capped += n->get(rn_top.children[i]).value().value().data.size() >= 4 * 4096 ? 1 : 0;
  }
  CHECK(capped >= 1);
}

TEST_CASE("pack: a routed object whose fingerprints disagree with its parts is corrupt", "[pack]")
{
  // Hand-made blobs with valid keys: the fingerprints claim 3 members in a part of 2.
  auto s = store::make_memory_store();
  const auto tag = [](Tag t) { return static_cast<std::uint8_t>(t); };
  Bytes part{tag(Tag::object_part), 2};
  codec::put_name(part, "x");
  codec::put_integer(part, 1);
  codec::put_name(part, "y");
  codec::put_integer(part, 2);
  const Key part_key = s->put(Blob{part, {}}).value();
  const Key tree = s->put(Blob{Bytes{tag(Tag::object_chunks), 1, 2}, {part_key}}).value();
  const std::uint16_t fx = codec::member_fingerprint(codec::member_name_hash("x"));
  const Bytes fps{tag(Tag::member_fingerprints), 1, 3, static_cast<std::uint8_t>(fx & 0xFF),
                  static_cast<std::uint8_t>(fx >> 8), 0, 0, 0, 0};
  const Key fps_key = s->put(Blob{fps, {}}).value();
  const Key routed = s->put(Blob{Bytes{tag(Tag::routed_object), 1, 1, 3}, {tree, fps_key}}).value();
  const codec::BlobLoader load = [&](const Key& k) -> Result<std::shared_ptr<const Blob>> {
    auto got = s->get(k);
    REQUIRE(got);
    REQUIRE(*got);
    return std::make_shared<const Blob>(std::move(**got));
  };
  const auto found = codec::locate(load, routed, {"x"});
  REQUIRE_FALSE(found);
  CHECK(found.error().code() == Errc::corrupt);
  CHECK_THAT(found.error().message(), Catch::Contains("disagree"));
  // Whole-document reading follows the chunk tree alone.
  CHECK(hydrate_text(*s, routed) == R"({"x":1,"y":2})");

  // Fingerprints that cover fewer members than the tree: a name they do not list cannot be
  // called absent.
  const Bytes short_fps{tag(Tag::member_fingerprints), 1, 1, static_cast<std::uint8_t>(fx & 0xFF),
                        static_cast<std::uint8_t>(fx >> 8)};
  const Key short_key = s->put(Blob{short_fps, {}}).value();
  const Key short_routed =
      s->put(Blob{Bytes{tag(Tag::routed_object), 1, 1, 1}, {tree, short_key}}).value();
  const auto absent = codec::locate(load, short_routed, {"no such name"});
  REQUIRE_FALSE(absent);
  CHECK(absent.error().code() == Errc::corrupt);
  // And a routed object's own counts must match its fingerprint blob's.
  const Key miscounted =
      s->put(Blob{Bytes{tag(Tag::routed_object), 1, 2, 1}, {tree, short_key}}).value();
  const auto bad_count = codec::locate(load, miscounted, {"no such name"});
  REQUIRE_FALSE(bad_count);
  CHECK(bad_count.error().code() == Errc::corrupt);

  // Two groups of one part each, one narrow and one wide: one object's fingerprints have one
  // width (format 2), so the second group is corrupt.
  const Key tree2 =
      s->put(Blob{Bytes{tag(Tag::object_chunks), 2, 2, 2}, {part_key, part_key}}).value();
  const Bytes narrow_fps{tag(Tag::member_fingerprints), 1, 2, 0, 0, 0, 0};
  const Bytes wide_fps{tag(Tag::wide_member_fingerprints), 1, 2, 0, 0, 0, 0, 0, 0};
  const Key mixed = s->put(Blob{Bytes{tag(Tag::routed_object), 2, 1, 2, 1, 2},
                                {tree2, s->put(Blob{narrow_fps, {}}).value(),
                                 s->put(Blob{wide_fps, {}}).value()}})
                        .value();
  const auto mixed_lookup = codec::locate(load, mixed, {"no such name"});
  REQUIRE_FALSE(mixed_lookup);
  CHECK(mixed_lookup.error().code() == Errc::corrupt);
  CHECK_THAT(mixed_lookup.error().message(), Catch::Contains("width"));
  // The same object with both groups wide is sound: the name is simply absent.
  const Key wide_key = s->put(Blob{wide_fps, {}}).value();
  const Key both_wide = s->put(Blob{Bytes{tag(Tag::routed_object), 2, 1, 2, 1, 2},
                                    {tree2, wide_key, wide_key}})
                            .value();
  const auto absent_wide = codec::locate(load, both_wide, {"no such name"});
  REQUIRE_FALSE(absent_wide);
  CHECK(absent_wide.error().code() == Errc::not_found);
}

TEST_CASE("pack: sibling routed objects each keep their own fingerprints", "[pack]")
{
  // Frames are reused for siblings at the same depth: an object must not inherit what the one
  // before it left (fingerprints of an object too small to be chunked or routed), or its
  // lookups would miss members. Sizes: 3 members (inline), 30 (chunked, not routed), then
  // 300, 400 and 500 (routed).
  const int sizes[] = {3, 30, 300, 400, 500};
  std::string doc = "[";
  for (int o = 0; o < 5; ++o) {
    doc += o ? ",{" : "{";
    for (int i = 0; i < sizes[o]; ++i) {
      doc += test::cat(i ? "," : "", "\"o", o, "m", i, "\":\"",
                       std::string(40, static_cast<char>('a' + o)), "\"");
    }
    doc += "}";
  }
  doc += "]";
  pack::BoundarySettings routed = tiny_boundaries();
  routed.route_members = 50;
  auto s = store::make_memory_store();
  const auto r = pack_text(*s, doc, {}, routed);
  CHECK(hydrate_text(*s, r.key) == doc);
  for (int o = 0; o < 5; ++o) {
    for (int i = 0; i < sizes[o]; ++i) {
      PAGABLE_GCC_FALSE_POSITIVE_BEGIN("-Wrestrict") // g++ 12 false positive, GCC bug 105329
      CHECK(hydrate_text(*s, r.key, "/" + std::to_string(o) + "/o" + std::to_string(o) + "m" +
                                        std::to_string(i)) ==
            "\"" + std::string(40, static_cast<char>('a' + o)) + "\"");
      PAGABLE_GCC_FALSE_POSITIVE_END
    }
  }
}

TEST_CASE("pack: the nodes a lookup passes through are packed apart from the content", "[pack]")
{
  // A lookup of one member reads the root, the routing fingerprints and the chunk index on
  // its way to one part. Stored apart (PutHints::index), they do not make a cold read
  // decompress the content packs they would otherwise be mixed into.
  std::string members;
  for (int i = 0; i < 400; ++i) {
    PAGABLE_GCC_FALSE_POSITIVE_BEGIN("-Wrestrict") // g++ 12 false positive, GCC bug 105329
    members += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":\"" +
               std::string(40, static_cast<char>('a' + i % 26)) + "\"";
    PAGABLE_GCC_FALSE_POSITIVE_END
  }
  const std::string doc = "{\"meta\":\"x\",\"nodes\":{" + members + "}}";
  // A root with content of its own (more data than child keys) is content.
  const std::string big_root = "{\"meta\":\"" + std::string(300, 'm') + "\",\"nodes\":{" +
                               members + ",\"extra\":1}}";
  pack::BoundarySettings routed = tiny_boundaries();
  routed.route_members = 50;
  test::TempDir dir;
  const std::string path = dir.file("a.pagable");
  store::SqliteOptions o;
  o.mode = store::OpenMode::create;
  o.pack_target_bytes = 2048; // many packs
  auto s = store::open_sqlite_store(path, o).value();
  const auto r = pack_text(*s, doc, {}, routed);
  const auto r2 = pack_text(*s, big_root, {}, routed);
  REQUIRE(s->flush());

  const auto packs = test::archive::blobs_by_pack(path);

  const auto is_index = [&](const Key& k) {
    const Blob b = s->get(k).value().value();
    const auto tag = static_cast<Tag>(b.data.at(0));
    return k == r.key || tag == Tag::object_chunks || tag == Tag::array_chunks ||
           tag == Tag::routed_object || tag == Tag::member_fingerprints;
  };
  std::size_t index_packs = 0, content_packs = 0;
  for (const auto& [pack, keys] : packs) {
    const auto n = std::count_if(keys.begin(), keys.end(), is_index);
    INFO("pack " << pack << ": " << n << " of " << keys.size() << " blobs are index nodes");
    CHECK((n == 0 || n == static_cast<std::ptrdiff_t>(keys.size())));
    (n == 0 ? content_packs : index_packs) += 1;
    if (std::find(keys.begin(), keys.end(), r2.key) != keys.end()) {
      CHECK(n == 0);
    }
  }
  CHECK(index_packs >= 1);
  CHECK(content_packs >= 2);
}

namespace {

// {"nodes":{"k0":{"deps":[...]}, ... -- left open: member i lists `refs(i)` as its deps.
template <typename Refs>
std::string seed_doc(int members, Refs refs)
{
  std::string doc = "{\"nodes\":{";
  for (int i = 0; i < members; ++i) {
    doc += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":{\"deps\":[";
    const std::vector<std::string> targets = refs(i);
    for (std::size_t j = 0; j < targets.size(); ++j) {
      doc += (j ? "," : "") + std::string("{\"$ref\":\"#/nodes/") + targets[j] + "\"}";
    }
    doc += "]}";
  }
  return doc;
}

std::vector<std::string> dangling_texts(const pack::PackResult& r)
{
  std::vector<std::string> out = r.dangling;
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

TEST_CASE("pack: $refs into a huge object, backward and forward, with their places", "[pack]")
{
  // Backward refs are settled against the open object's member names at once, forward ones
  // when the member arrives or the object ends. Beyond exact_member_names only hashes of the
  // names are kept: both regimes must give the same answers.
  const auto doc = seed_doc(3000, [](int i) {
    std::vector<std::string> t;
    if (i > 0) {
      t.push_back("k" + std::to_string(i - 1)); // backward
    }
    if (i + 5 < 3000) {
      t.push_back("k" + std::to_string(i + 5)); // forward
    }
    if (i == 10) {
      t.push_back("k2999"); // forward, far
      t.push_back("k3000"); // forward, never defined
    }
    if (i == 2500) {
      t.push_back("k0");    // backward, far
      t.push_back("zz");    // never defined
      t.push_back("k3000"); // the same dangling target again: its first place is kept
    }
    return t;
  }) + "},\"after\":[{\"$ref\":\"#/nodes/k17\"},{\"$ref\":\"#/nodes/k-1\"}]}";
  for (const std::size_t exact : {std::size_t{100000}, std::size_t{16}}) {
    INFO("exact_member_names = " << exact);
    auto s = store::make_memory_store();
    pack::PackOptions o;
    o.dangling_refs = pack::DanglingRefs::allow;
    o.exact_member_names = exact;
    const auto r = pack_text(*s, doc, o, tiny_boundaries());
    CHECK(r.refs == 2999 + 2995 + 2 + 3 + 2);
    CHECK(dangling_texts(r) == std::vector<std::string>{
                                   "\"#/nodes/k-1\" at /after/1",
                                   "\"#/nodes/k3000\" at /nodes/k10/deps/3",
                                   "\"#/nodes/zz\" at /nodes/k2500/deps/3",
                               });
    // And refused by default, naming the first (in sorted order) and how many more.
    auto t = store::make_memory_store();
    std::istringstream in(doc);
    pack::PackOptions strict;
    strict.exact_member_names = exact;
    const auto refused = pack::pack_stream(*t, in, tiny_boundaries(), strict);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code() == Errc::invalid_input);
    CHECK_THAT(refused.error().message(),
               Catch::Contains("\"#/nodes/k-1\" at /after/1 (and 2 more)"));
  }
}

TEST_CASE("pack: repeated names in a huge object are rejected, repeated hashes are not", "[pack]")
{
  // With 4-bit name hashes, the 3000 distinct names of a huge object share 16 hashes: each
  // repeat is verified against the stored object, and only a real duplicate is an error,
  // with the place where it was read.
  pack::PackOptions weak;
  weak.exact_member_names = 16;
  weak.member_name_hash_bits = 4;
  weak.dangling_refs = pack::DanglingRefs::allow; // 4-bit hashes say "found" to most names
  const auto doc = seed_doc(3000, [](int i) {
    return i > 0 ? std::vector<std::string>{"k" + std::to_string(i - 1)} : std::vector<std::string>{};
  });
  for (const auto& options : {weak, pack::PackOptions{}}) {
    auto s = store::make_memory_store();
    const auto r = pack_text(*s, doc + "}}", options, tiny_boundaries());
    CHECK(hydrate_text(*s, r.key, "/nodes/k2999/deps/0") == R"({"$ref":"#/nodes/k2998"})");
  }
  const std::string inner = R"("inner":{)" + [] {
    std::string m;
    for (int i = 0; i < 40; ++i) {
      m += (i ? "," : "") + std::string("\"i") + std::to_string(i) + "\":" + std::to_string(i);
    }
    return m;
  }();
  struct Case {
    std::string doc;
    std::string error; // empty: packs
  };
  const std::vector<Case> cases = {
      {doc + ",\"k1234\":{}}}", "duplicate member name \"k1234\" at line 1"},
      {doc + ",\"k3000\":{}}}", ""},
      // An inner object between the outer object's suspects: each is checked on its own.
      {doc + "," + inner + "}," + "\"k3001\":1}}", ""},
      {doc + "," + inner + ",\"i7\":0}," + "\"k3001\":1}}", "duplicate member name \"i7\""},
      {doc + "," + inner + "}," + "\"k7\":1}}", "duplicate member name \"k7\""},
      {doc + "},\"k7\":1}", ""}, // another object's name
  };
  for (const auto& options : {weak, pack::PackOptions{}}) {
    for (const auto& c : cases) {
      INFO(c.doc.substr(c.doc.size() - 40) << " with " << options.member_name_hash_bits << " bits");
      auto s = store::make_memory_store();
      std::istringstream in(c.doc);
      const auto r = pack::pack_stream(*s, in, tiny_boundaries(), options);
      if (c.error.empty()) {
        CHECK(r);
        continue;
      }
      REQUIRE_FALSE(r);
      CHECK(r.error().code() == Errc::invalid_input);
      CHECK_THAT(r.error().message(), Catch::Contains(c.error));
    }
  }
  // The place: line and column of the repeat, and its pointer, as when it is found at once.
  std::vector<std::string> messages;
  for (const auto& options : {weak, pack::PackOptions{}}) {
    auto s = store::make_memory_store();
    std::istringstream in(doc + ",\n  \"k1234\":{}}}");
    const auto r = pack::pack_stream(*s, in, tiny_boundaries(), options);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message(), Catch::Contains("at line 2, column") &&
                                        Catch::Contains("(at \"/nodes/k1234\")"));
    messages.push_back(r.error().message());
  }
  CHECK(messages[0] == messages[1]);
}

TEST_CASE("pack: a file from open_input is read in place, with the results of a copy", "[pack]")
{
  // Several read(2) blocks of plain input, then an error far in: the same key, byte count
  // and error position as from a string stream (which is copied block by block).
  test::TempDir dir;
  std::string doc = "{\"items\":[";
  for (int i = 0; i < 20000; ++i) {
    doc += (i ? ",\n" : "") + std::string("{\"i\":") + std::to_string(i) + ",\"s\":\"" +
           std::string(static_cast<std::size_t>(i % 50), 'x') + "\"}";
  }
  const std::string good = doc + "]}";
  const std::string bad = doc + ",tru]}";
  REQUIRE(good.size() > 3 * 256 * 1024);
  for (const auto& text : {good, bad}) {
    const auto path = dir.file("doc.json");
    {
      std::ofstream(path, std::ios::binary) << text;
    }
    auto s = store::make_memory_store();
    std::istringstream mem(text);
    const auto want = pack::pack_stream(*s, mem, {}, {});
    auto file = pack::open_input(path);
    REQUIRE(file);
    const auto got = pack::pack_stream(*s, **file, {}, {});
    REQUIRE(bool(got) == bool(want));
    if (want) {
      CHECK(got->key == want->key);
      CHECK(got->bytes_in == text.size());
      CHECK(got->bytes_in == want->bytes_in);
    } else {
      CHECK_THAT(got.error().message(), Catch::Contains("line 20000"));
      CHECK(got.error().message() == want.error().message());
    }
  }
}

TEST_CASE("pack: repeated name hashes are kept for the end only up to a bound", "[pack]")
{
  // Each repeat is kept (its place and message) until the document is packed; a document
  // with tens of thousands of duplicate names must not make that grow without end. With
  // 60-bit hashes only real duplicates get there; 4-bit ones make 70,000 distinct names
  // look like it, and are refused the same way.
  pack::PackOptions weak;
  weak.exact_member_names = 16;
  weak.member_name_hash_bits = 4;
  std::string doc = "{";
  for (int i = 0; i < 70000; ++i) {
    doc += (i ? ",\"" : "\"") + std::to_string(i) + "\":0";
  }
  doc += "}";
  auto s = store::make_memory_store();
  std::istringstream in(doc);
  const auto r = pack::pack_stream(*s, in, {}, weak);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("more than 65536 repeated member-name hashes"));
  CHECK(pack_text(*s, doc).refs == 0); // with the full hashes, the same names are fine
}

namespace {

// Takes `limit` bytes, then refuses more (a full disk, a closed pipe).
class RefusingBuf : public std::streambuf {
public:
  explicit RefusingBuf(std::size_t limit) : m_left(limit) {}

protected:
  int_type overflow(int_type c) override
  {
    if (c == traits_type::eof()) {
      return traits_type::not_eof(c);
    }
    if (m_left == 0) {
      return traits_type::eof();
    }
    --m_left;
    return c;
  }
  std::streamsize xsputn(const char*, std::streamsize n) override
  {
    const auto took = std::min<std::streamsize>(n, static_cast<std::streamsize>(m_left));
    m_left -= static_cast<std::size_t>(took);
    return took;
  }

private:
  std::size_t m_left;
};

} // namespace

TEST_CASE("hydrate: an output that fails stops the walk at once", "[pack][hydrate]")
{
  // 500 copies of one 20 kB node: stored once, written 500 times. Before, a failed output was
  // noticed only once the whole document had been walked (for a crafted archive whose nodes
  // share children two by two, 2^n values).
  auto s = store::make_memory_store();
  const std::string one = "{\"k\":\"" + std::string(20000, 'x') + "\"}";
  std::string doc = "[";
  for (int i = 0; i < 500; ++i) {
    doc += (i ? "," : "") + one;
  }
  doc += "]";
  const auto packed = pack_text(*s, doc);
  hydrate::Document d(*s, packed.key);
  RefusingBuf buf(64 * 1024);
  std::ostream out(&buf);
  const auto r = d.write_json(out, "");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == Errc::io);
  INFO("cache hits " << d.stats().cache_hits);
  CHECK(d.stats().cache_hits < 20); // a few copies in, not 500
}

namespace {

// Counts what reaches it, and the largest single write.
class MeasuringBuf : public std::streambuf {
public:
  std::uint64_t total = 0;
  std::size_t largest = 0;

protected:
  std::streamsize xsputn(const char*, std::streamsize n) override
  {
    total += static_cast<std::uint64_t>(n);
    largest = std::max(largest, static_cast<std::size_t>(n));
    return n;
  }
  int_type overflow(int_type c) override
  {
    ++total;
    return traits_type::not_eof(c);
  }
};

} // namespace

TEST_CASE("hydrate: an indented deep document streams instead of piling up", "[pack][hydrate]")
{
  // 3,000 levels indented by 2: the opening lines alone are 9 MB. They were all held until
  // the first value (at 200,000 levels: std::bad_alloc and no output at all).
  auto s = store::make_memory_store();
  const std::size_t depth = 3000;
  pack::PackOptions options;
  options.max_depth = depth + 1;
  const auto packed =
      pack_text(*s, std::string(depth, '[') + "1" + std::string(depth, ']'), options);
  hydrate::Document d(*s, packed.key);
  MeasuringBuf buf;
  std::ostream out(&buf);
  hydrate::WriteOptions w;
  w.indent = 2;
  REQUIRE(d.write_json(out, "", w));
  // Each level opens a line of 2 * level spaces and closes another.
  CHECK(buf.total > 2 * depth * (depth - 1));
  CHECK(buf.largest < 128 * 1024);
}
