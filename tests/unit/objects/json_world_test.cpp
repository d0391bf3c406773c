// SPDX-License-Identifier: MIT OR Apache-2.0
// One blob format for both worlds: a C++ root hydrates to the JSON it was written as (a
// golden file), `pack --schema` of that JSON with the generated schema gives the same keys
// (a vector of 100,000 handles and a routed map of 512 members included), keys do not depend
// on runs or worker counts, and a document packed from JSON loads back as the C++ objects.
#include <pagable/hydrate.hpp>
#include <pagable/objects.hpp>
#include <pagable/schema.hpp>

#include "support/temp_dir.hpp"
#include "support/text.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

using namespace pagable;
using namespace pagable::objects;

namespace {

struct Rule {
  std::string name;
  std::vector<std::string> command;
  PAGABLE_FIELDS(Rule, name, command)
  friend bool operator==(const Rule&, const Rule&) = default;
};

struct Step {
  virtual ~Step() = default;
  PAGABLE_POLYMORPHIC(Step)
};
struct Compile : Step {
  std::vector<std::string> sources;
  Arc<Rule> rule; // a handle inside a polymorphic value
  PAGABLE_FIELDS(Compile, sources, rule)
};
struct Note : Step {
  std::string text;
  ByteString blob;
  PAGABLE_FIELDS(Note, text, blob)
};

struct Target {
  std::string name;
  std::optional<Arc<Rule>> rule; // a handle inside an optional
  std::vector<Arc<Step>> steps;
  std::variant<std::monostate, std::string, Arc<Rule>> extra;
  std::map<std::string, std::int64_t> counts;
  double weight = 0;
  PAGABLE_FIELDS(Target, name, rule, steps, extra, counts, weight)
};

struct Graph {
  std::string title;
  std::vector<Arc<Target>> targets;
  std::map<std::string, Arc<Rule>> rules;
  std::vector<std::int32_t> numbers;
  Arc<std::string> motto; // a handle to a scalar
  PAGABLE_FIELDS(Graph, title, targets, rules, numbers, motto)
};

Result<void> register_steps(Registry& r)
{
  PAGABLE_TRY(r.add<Compile>("test.Compile/1"));
  return r.add<Note>("test.Note/1");
}

std::unique_ptr<Pager> open_pager(Archive& archive, unsigned workers = 0)
{
  PagerOptions o;
  o.workers = workers;
  auto p = Pager::open(archive, o);
  REQUIRE(p);
  REQUIRE(register_steps((*p)->types()));
  return std::move(p).value();
}

// A small graph with every kind of field, handles shared between parents.
Arc<Graph> small_graph(Pager& pager)
{
  auto cc = pager.make<Rule>(Rule{"cc", {"cc", "-c"}});
  auto ld = pager.make<Rule>(Rule{"ld", {"ld"}});
  auto c = std::make_shared<Compile>();
  c->sources = {"a.c", "b.c"};
  c->rule = cc;
  const Arc<Compile> compile = pager.adopt<Compile>(c);
  auto n = std::make_shared<Note>();
  n->text = "hello";
  n->blob = ByteString{std::byte{1}, std::byte{2}, std::byte{3}};
  const Arc<Note> note = pager.adopt<Note>(n);
  Target lib{"lib", cc, {compile, note}, std::monostate{}, {{"b", 2}, {"a", 1}}, 0.5};
  Target app{"app", std::nullopt, {compile}, ld, {}, 1.0};
  Target doc{"doc", ld, {}, std::string("free text"), {{"pages", 12}}, -2.25};
  Graph g;
  g.title = "small";
  g.targets = {pager.make<Target>(lib), pager.make<Target>(app), pager.make<Target>(doc)};
  g.rules = {{"cc", cc}, {"ld", ld}};
  g.numbers = {3, 1, 4, 1, 5};
  g.motto = pager.make<std::string>("shared values are stored once");
  return pager.make<Graph>(std::move(g));
}

// A graph with 100,000 targets (a chunked array of handles) and 600 rules (a routed object).
Arc<Graph> big_graph(Pager& pager)
{
  std::vector<Arc<Rule>> rules;
  Graph g;
  g.title = "big";
  for (int i = 0; i < 600; ++i) {
    rules.push_back(pager.make<Rule>(Rule{"rule" + std::to_string(i), {"tool", "--flag=" + std::to_string(i)}}));
    g.rules.emplace("rule" + std::to_string(i), rules.back());
  }
  auto note = pager.make<Note>();
  for (int i = 0; i < 100000; ++i) {
    Target t;
    t.name = test::cat("t", i);
    if (i % 3 != 0) {
      t.rule = rules[static_cast<std::size_t>(i) % rules.size()];
    }
    if (i % 1000 == 0) {
      t.steps.push_back(note);
    }
    g.targets.push_back(pager.make<Target>(std::move(t)));
  }
  for (int i = 0; i < 50000; ++i) {
    g.numbers.push_back(i * 7);
  }
  g.motto = pager.make<std::string>("big");
  return pager.make<Graph>(std::move(g));
}

std::string hydrate_json(Archive& archive, const Key& key, int indent = -1)
{
  hydrate::Document doc(archive.store(), key);
  std::ostringstream out;
  hydrate::WriteOptions o;
  o.indent = indent;
  REQUIRE(doc.write_json(out, "", o));
  return out.str();
}

// Packs `json_text` with `schema` and returns its key.
Key pack_json(Archive& archive, const std::string& json_text, const nlohmann::json& schema_doc,
              const std::string& name)
{
  auto compiled = schema::compile_schema(schema_doc, {}, "urn:pagable:objects");
  INFO((compiled ? "" : compiled.error().message()));
  REQUIRE(compiled);
  std::istringstream in(json_text);
  PackRequest request;
  request.name = name;
  request.schema = *compiled;
  auto packed = archive.pack(PackSource::stream(in), request);
  INFO((packed ? "" : packed.error().message()));
  REQUIRE(packed);
  return packed->root.key;
}

std::string golden_path()
{
  return std::string(PAGABLE_SOURCE_DIR) + "/tests/data/objects/small-graph.json";
}

} // namespace

TEST_CASE("objects: a C++ root hydrates to its golden JSON, and packing that JSON gives its key",
          "[objects][json]")
{
  auto archive = Archive::open_in_memory();
  auto pager = open_pager(*archive);
  const auto committed = pager->commit(small_graph(*pager), CommitRequest{"small", {}});
  INFO((committed ? "" : committed.error().message()));
  REQUIRE(committed);
  const Key key = committed->root.key;
  const std::string json_text = hydrate_json(*archive, key, 2);
  if (std::getenv("PAGABLE_UPDATE_EXPECTED") != nullptr) {
    std::ofstream(golden_path()) << json_text;
  }
  std::ifstream golden(golden_path());
  REQUIRE(golden);
  std::stringstream expected;
  expected << golden.rdbuf();
  CHECK(json_text == expected.str());
  // The same key in every run, on every platform: the golden key.
  CHECK(key.to_hex() == "73bf7d7ad14dd38c140ad22b62d2093add021f543727fa23c6e09b3c3162ad24");

  const auto schema = pager->schema_of<Graph>();
  REQUIRE(schema);
  auto other = Archive::open_in_memory();
  CHECK(pack_json(*other, json_text, *schema, "packed") == key);
}

TEST_CASE("objects: pack --schema of a big C++ root's JSON gives the same key, whatever the workers",
          "[objects][json][big]")
{
  Key by_one;
  std::string json_text;
  nlohmann::json schema;
  {
    auto archive = Archive::open_in_memory();
    auto pager = open_pager(*archive, 1);
    by_one = pager->store(big_graph(*pager)).value();
    json_text = hydrate_json(*archive, by_one);
    schema = pager->schema_of<Graph>().value();
  }
  {
    auto archive = Archive::open_in_memory();
    auto pager = open_pager(*archive, 8);
    CHECK(pager->store(big_graph(*pager)).value() == by_one);
  }
  CHECK(json_text.find("\"t99999\"") != std::string::npos);
  auto other = Archive::open_in_memory();
  CHECK(pack_json(*other, json_text, schema, "packed") == by_one);
}

TEST_CASE("objects: a document packed from JSON loads back as equal C++ objects", "[objects][json]")
{
  const std::string doc = R"({
    "title": "from json",
    "targets": [
      {"name": "x", "rule": {"name": "cc", "command": ["cc"]}, "steps": [
         {"$type": "test.Note/1", "text": "n", "blob": "AAEC"},
         {"sources": ["m.c"], "$type": "test.Compile/1", "rule": {"name": "cc", "command": ["cc"]}}],
       "extra": {"string": "s"}, "counts": {"k": 3}, "weight": 2},
      {"name": "y", "rule": null, "steps": [], "extra": {"null": null}, "counts": {}, "weight": 0.25}
    ],
    "rules": {"cc": {"name": "cc", "command": ["cc"]}},
    "numbers": [1, 2],
    "motto": "m"
  })";
  auto archive = Archive::open_in_memory();
  auto writer = open_pager(*archive);
  const auto schema = writer->schema_of<Graph>();
  REQUIRE(schema);
  // With the schema (handles are nodes) and without (handles are inline): both load.
  for (const bool with_schema : {true, false}) {
    INFO("with schema: " << with_schema);
    Key key;
    if (with_schema) {
      key = pack_json(*archive, doc, *schema, "with");
    } else {
      std::istringstream in(doc);
      PackRequest request;
      request.name = "without";
      key = archive->pack(PackSource::stream(in), request).value().root.key;
    }
    auto pager = open_pager(*archive);
    const auto g = pager->load<Graph>(key).pin();
    INFO((g ? "" : g.error().message()));
    REQUIRE(g);
    CHECK((*g)->title == "from json");
    CHECK((*g)->numbers == std::vector<std::int32_t>{1, 2});
    CHECK(*(*g)->motto.pin().value() == "m");
    REQUIRE((*g)->targets.size() == 2);
    const auto x = (*g)->targets[0].pin().value();
    CHECK(x->name == "x");
    CHECK(*x->rule.value().pin().value() == Rule{"cc", {"cc"}});
    REQUIRE(x->steps.size() == 2);
    const auto note = x->steps[0].pin().value();
    const auto* n = dynamic_cast<const Note*>(note.get());
    REQUIRE(n != nullptr);
    CHECK(n->blob == ByteString{std::byte{0}, std::byte{1}, std::byte{2}});
    const auto compile = x->steps[1].pin().value();
    const auto* c = dynamic_cast<const Compile*>(compile.get());
    REQUIRE(c != nullptr);
    CHECK(c->sources == std::vector<std::string>{"m.c"});
    CHECK(std::get<std::string>(x->extra) == "s");
    CHECK(x->counts.at("k") == 3);
    CHECK(x->weight == 2.0);
    const auto y = (*g)->targets[1].pin().value();
    CHECK_FALSE(y->rule.has_value());
    CHECK(std::holds_alternative<std::monostate>(y->extra));
    CHECK(*(*g)->rules.at("cc").pin().value() == Rule{"cc", {"cc"}});
    if (with_schema) {
      // The same content is one object: the two "cc" rules share one key.
      CHECK(x->rule->key() == (*g)->rules.at("cc").key());
    }
  }
}
