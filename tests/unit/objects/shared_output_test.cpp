// SPDX-License-Identifier: MIT OR Apache-2.0
// How a C++ graph's shared values print (hydrate::WriteOptions): in full wherever they are
// reached by default, refused past max_output_bytes (a chain of diamonds doubles at each
// level), once and then as {"$ref": ...} with SharedNodes::refs (whose output packs to other
// keys); and verify --deep validates a C++ root against the schema stored with it.
#include <pagable/hydrate.hpp>
#include <pagable/objects.hpp>
#include <pagable/verify.hpp>

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sstream>

using namespace pagable;
using namespace pagable::objects;

namespace {

// Level n refers to level n-1 twice: the tree of a chain of n diamonds has 2^n leaves.
struct Diamond {
  std::int32_t depth = 0;
  std::optional<Arc<Diamond>> left;
  std::optional<Arc<Diamond>> right;
  PAGABLE_FIELDS(Diamond, depth, left, right)
};

Arc<Diamond> diamonds(Pager& pager, int levels)
{
  Arc<Diamond> top = pager.make<Diamond>(Diamond{0, std::nullopt, std::nullopt});
  for (int i = 1; i <= levels; ++i) {
    top = pager.make<Diamond>(Diamond{i, top, top});
  }
  return top;
}

Result<std::string> write(Archive& archive, const Key& key, const hydrate::WriteOptions& options)
{
  hydrate::Document doc(archive.store(), key);
  std::ostringstream out;
  PAGABLE_TRY(doc.write_json(out, "", options));
  return out.str();
}

} // namespace

TEST_CASE("objects: shared values print as a tree, bounded by max_output_bytes, or once with refs",
          "[objects][json][hydrate]")
{
  auto archive = Archive::open_in_memory();
  auto pager = Pager::open(*archive).value();

  // Small: the tree repeats the shared level, refs write it once.
  const Key small = pager->commit(diamonds(*pager, 2), CommitRequest{"small", {}}).value().root.key;
  hydrate::WriteOptions tree;
  const auto as_tree = write(*archive, small, tree);
  REQUIRE(as_tree);
  CHECK(nlohmann::json::parse(*as_tree) ==
        nlohmann::json::parse(R"({"depth":2,
          "left":{"depth":1,"left":{"depth":0,"left":null,"right":null},"right":{"depth":0,"left":null,"right":null}},
          "right":{"depth":1,"left":{"depth":0,"left":null,"right":null},"right":{"depth":0,"left":null,"right":null}}})"));
  hydrate::WriteOptions refs;
  refs.shared = hydrate::SharedNodes::refs;
  const auto as_refs = write(*archive, small, refs);
  REQUIRE(as_refs);
  CHECK(nlohmann::json::parse(*as_refs) ==
        nlohmann::json::parse(R"({"depth":2,
          "left":{"depth":1,"left":{"depth":0,"left":null,"right":null},"right":{"$ref":"#/left/left"}},
          "right":{"$ref":"#/left"}})"));
  // Expanding those refs gives the tree back; packing them stores the refs (other keys).
  auto other = Archive::open_in_memory();
  std::istringstream in(*as_refs);
  PackRequest request;
  request.name = "refs";
  const Key repacked = other->pack(PackSource::stream(in), request).value().root.key;
  CHECK(repacked != small);
  hydrate::WriteOptions expand;
  expand.expand_refs = hydrate::ExpandRefs::yes;
  CHECK(nlohmann::json::parse(write(*other, repacked, expand).value()) == nlohmann::json::parse(*as_tree));

  // Refs and expanding refs exclude each other.
  hydrate::WriteOptions both = refs;
  both.expand_refs = hydrate::ExpandRefs::yes;
  const auto refused_both = write(*archive, small, both);
  REQUIRE_FALSE(refused_both);
  CHECK(refused_both.error().code() == Errc::invalid_argument);

  // 40 levels: 2^40 leaves as a tree. The limit stops it early; refs write 40 levels.
  const Key big = pager->commit(diamonds(*pager, 40), CommitRequest{"big", {}}).value().root.key;
  hydrate::WriteOptions bounded;
  bounded.max_output_bytes = 1 << 20;
  const auto refused = write(*archive, big, bounded);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == Errc::invalid_input);
  CHECK_THAT(refused.error().message(), Catch::Contains("--share-refs"));
  hydrate::WriteOptions bounded_refs = refs;
  bounded_refs.max_output_bytes = 1 << 20;
  const auto once = write(*archive, big, bounded_refs);
  REQUIRE(once);
  CHECK(once->size() < 16384); // 40 levels, each a ref to "#/left/left/..." of the level below
  CHECK(nlohmann::json::parse(*once)["right"] == nlohmann::json::parse(R"({"$ref":"#/left"})"));
}

TEST_CASE("objects: verify --deep validates a C++ root against the schema stored with it",
          "[objects][json][verify]")
{
  test::TempDir dir;
  auto archive = Archive::open(dir.file("a.pagable"), {.mode = OpenMode::create}).value();
  auto pager = Pager::open(*archive).value();
  REQUIRE(pager->commit(diamonds(*pager, 3), CommitRequest{"graph", {}}));
  pager.reset();
  verify::VerifyOptions options;
  options.level = verify::VerifyLevel::deep;
  const auto report = verify::run(archive->store(), options);
  REQUIRE(report);
  CHECK(report->problems.empty());
  CHECK(report->roots_schema_checked == 1);
}
