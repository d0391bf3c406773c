// SPDX-License-Identifier: MIT OR Apache-2.0
// End-to-end: a root committed by a C++ program (pagable/objects.hpp) through the built
// binary: hydrate prints it as JSON, --share-refs writes shared values once, --max-output-bytes
// stops a tree that shared values blow up, --types shows the stable names, verify --deep
// validates it against the generated schema stored with it, and gc keeps what it reaches.
#include <pagable/hydrate.hpp>
#include <pagable/objects.hpp>

#include "support/run_pagable.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sstream>

using test::run_pagable;
using nlohmann::json;
using namespace pagable;
using namespace pagable::objects;

namespace {

struct Action {
  virtual ~Action() = default;
  PAGABLE_POLYMORPHIC(Action)
};
struct Copy : Action {
  std::string from;
  std::string to;
  PAGABLE_FIELDS(Copy, from, to)
};
struct Link : Action {
  std::vector<std::string> objects;
  PAGABLE_FIELDS(Link, objects)
};

// Each level refers to the one below twice (a diamond), and to an action.
struct Level {
  std::int32_t depth = 0;
  Arc<Action> action;
  std::optional<Arc<Level>> left;
  std::optional<Arc<Level>> right;
  PAGABLE_FIELDS(Level, depth, action, left, right)
};

// Commits a chain of `levels` diamonds as root "graph"; returns the JSON hydrate should print.
std::string commit_graph(const std::string& path, int levels)
{
  auto archive = Archive::open(path, {.mode = OpenMode::create}).value();
  auto pager = Pager::open(*archive).value();
  REQUIRE(pager->types().add<Copy>("test.Copy/1"));
  REQUIRE(pager->types().add<Link>("test.Link/1"));
  auto c = std::make_shared<Copy>();
  c->from = "a";
  c->to = "b";
  auto l = std::make_shared<Link>();
  l->objects = {"a.o", "b.o"};
  const Arc<Action> copy = pager->adopt<Copy>(c);
  const Arc<Action> link = pager->adopt<Link>(l);
  Arc<Level> top = pager->make<Level>(Level{0, copy, std::nullopt, std::nullopt});
  for (int i = 1; i <= levels; ++i) {
    top = pager->make<Level>(Level{i, i % 2 == 0 ? copy : link, top, top});
  }
  const auto committed = pager->commit(top, CommitRequest{"graph", {}});
  INFO((committed ? "" : committed.error().message()));
  REQUIRE(committed);
  hydrate::Document doc(archive->store(), committed->root.key);
  std::ostringstream out;
  REQUIRE(doc.write_json(out, ""));
  return out.str();
}

} // namespace

TEST_CASE("cli: a C++ root hydrates, shares refs, is bounded, lists its types and verifies deep",
          "[cli][objects]")
{
  test::TempDir dir;
  const std::string path = dir.file("objects.pagable");
  const std::string expected = commit_graph(path, 2);

  const auto tree = run_pagable({"hydrate", path, "graph"});
  INFO(tree.err);
  REQUIRE(tree.exit_code == 0);
  CHECK(json::parse(tree.out) == json::parse(expected));
  CHECK(json::parse(tree.out)["action"] == json::parse(R"({"$type": "test.Copy/1", "from": "a", "to": "b"})"));

  const auto shared = run_pagable({"hydrate", path, "graph", "--share-refs"});
  REQUIRE(shared.exit_code == 0);
  const json once = json::parse(shared.out);
  CHECK(once["right"] == json::parse(R"({"$ref": "#/left"})"));
  CHECK(once["left"]["right"] == json::parse(R"({"$ref": "#/left/left"})"));
  CHECK(run_pagable({"hydrate", path, "graph", "--share-refs", "--expand-refs"}).exit_code != 0);

  const auto bounded = run_pagable({"hydrate", path, "graph", "--max-output-bytes", "64"});
  CHECK(bounded.exit_code == 1);
  CHECK_THAT(bounded.err, Catch::Contains("--share-refs"));
  CHECK(run_pagable({"hydrate", path, "graph", "--max-output-bytes", "0"}).exit_code == 0);

  const auto types = run_pagable({"hydrate", path, "graph", "--types"});
  INFO(types.err);
  REQUIRE(types.exit_code == 0);
  CHECK_THAT(types.out, Catch::Contains("test.Copy/1"));
  CHECK_THAT(types.out, Catch::Contains("test.Link/1"));

  const auto deep = run_pagable({"--json", "verify", path, "--deep"});
  INFO(deep.out << deep.err);
  CHECK(deep.exit_code == 0);
  CHECK(json::parse(deep.out)["roots_schema_checked"] == 1);

  CHECK(run_pagable({"gc", path}).exit_code == 0);
  CHECK(run_pagable({"hydrate", path, "graph"}).out == tree.out);
}
