// SPDX-License-Identifier: MIT OR Apache-2.0
#include "codec/navigate.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace pagable;
using codec::Tag;

namespace {

// A graph of nodes built by hand, and a loader over it that counts the loads of each blob.
class Graph {
public:
  Key add(Bytes data, std::vector<Key> children = {})
  {
    Blob blob{std::move(data), std::move(children)};
    REQUIRE(codec::check_node(blob));
    const Key key = blob.key();
    m_blobs.emplace(key, std::move(blob));
    return key;
  }
  void remove(const Key& key) { m_blobs.erase(key); }
  codec::BlobLoader loader()
  {
    return [this](const Key& key) -> Result<std::shared_ptr<const Blob>> {
      ++m_loads[key];
      const auto it = m_blobs.find(key);
      if (it == m_blobs.end()) {
        return std::shared_ptr<const Blob>();
      }
      return std::make_shared<const Blob>(it->second);
    };
  }
  int loads(const Key& key) const
  {
    const auto it = m_loads.find(key);
    return it == m_loads.end() ? 0 : it->second;
  }

private:
  std::map<Key, Blob> m_blobs;
  std::map<Key, int> m_loads;
};

Bytes object_part(const std::vector<std::pair<std::string, std::int64_t>>& members)
{
  Bytes b;
  codec::put_tag(b, Tag::object_part);
  codec::put_varint(b, members.size());
  for (const auto& [name, value] : members) {
    codec::put_name(b, name);
    codec::put_integer(b, value);
  }
  return b;
}

Bytes chunks(Tag tag, const std::vector<std::uint64_t>& counts)
{
  Bytes b;
  codec::put_tag(b, tag);
  codec::put_varint(b, counts.size());
  for (const std::uint64_t c : counts) {
    codec::put_varint(b, c);
  }
  return b;
}

// {"nodes": a chunked object of two index levels over the parts {k0, k1} {k2} {k3, k1} (a
// repeated name, which pack refuses but a reader must count), "list": [1, 2, 3],
// "items": a chunked array [10, 11, 12], "scalar": "x"}.
struct Document {
  Key root;
  Key part_a, part_b, part_c;
};

Document build(Graph& g)
{
  Document d;
  d.part_a = g.add(object_part({{"k0", 0}, {"k1", 1}}));
  d.part_b = g.add(object_part({{"k2", 2}}));
  d.part_c = g.add(object_part({{"k3", 3}, {"k1", 4}}));
  const Key inner = g.add(chunks(Tag::object_chunks, {1, 2}), {d.part_b, d.part_c});
  const Key nodes = g.add(chunks(Tag::object_chunks, {2, 3}), {d.part_a, inner});
  Bytes items_a;
  codec::put_tag(items_a, Tag::array_part);
  codec::put_varint(items_a, 2);
  codec::put_integer(items_a, 10);
  codec::put_integer(items_a, 11);
  Bytes items_b;
  codec::put_tag(items_b, Tag::array_part);
  codec::put_varint(items_b, 1);
  codec::put_integer(items_b, 12);
  const Key items =
      g.add(chunks(Tag::array_chunks, {2, 1}), {g.add(std::move(items_a)), g.add(std::move(items_b))});
  Bytes root;
  codec::put_tag(root, Tag::object);
  codec::put_varint(root, 4);
  codec::put_name(root, "nodes");
  codec::put_tag(root, Tag::ref);
  codec::put_name(root, "list");
  codec::put_tag(root, Tag::array);
  codec::put_varint(root, 3);
  for (const std::int64_t v : {1, 2, 3}) {
    codec::put_integer(root, v);
  }
  codec::put_name(root, "items");
  codec::put_tag(root, Tag::ref);
  codec::put_name(root, "scalar");
  codec::put_string(root, "x");
  d.root = g.add(std::move(root), {nodes, items});
  return d;
}

} // namespace

TEST_CASE("codec: JSON pointers and fragments", "[codec]")
{
  CHECK(codec::parse_pointer("").value().empty());
  CHECK(codec::parse_pointer("/a~1b/~0/0").value() == std::vector<std::string>{"a/b", "~", "0"});
  CHECK(codec::parse_pointer("/").value() == std::vector<std::string>{""});
  CHECK_FALSE(codec::parse_pointer("a"));
  CHECK_FALSE(codec::parse_pointer("/a~2"));
  CHECK(codec::fragment_to_pointer("#/a%20b/c").value() == "/a b/c");
  CHECK(codec::escape_pointer_token("a/b~") == "a~1b~0");
}

TEST_CASE("codec: has_values answers many pointers, listing each parent once", "[codec]")
{
  Graph g;
  const Document d = build(g);
  const auto load = g.loader();
  const auto found = codec::has_values(load, d.root,
                                       {"/nodes/k0", "/nodes/k3", "/nodes/k9", "/list/2", "/list/3",
                                        "/items/2", "/items/3", "/nope/x", "", "/list", "/scalar/x",
                                        "/nodes/k1"});
  REQUIRE(found);
  CHECK(*found == std::vector<bool>{true, true, false, true, false, true, false, false, true, true,
                                    false, true});
  // The four pointers into "nodes" streamed its members once.
  CHECK(g.loads(d.part_a) == 1);
  CHECK(g.loads(d.part_c) == 1);

  const auto not_a_pointer = codec::has_values(load, d.root, {"/list/0", "nodes"});
  REQUIRE_FALSE(not_a_pointer);
  CHECK(not_a_pointer.error().code() == Errc::invalid_argument);
}

TEST_CASE("codec: count_members streams an object once for several names", "[codec]")
{
  Graph g;
  const Document d = build(g);
  const auto load = g.loader();
  const auto counts = codec::count_members(load, d.root, "/nodes", {"k0", "k1", "k9"});
  REQUIRE(counts);
  CHECK(*counts == std::vector<std::uint64_t>{1, 2, 0});
  CHECK(g.loads(d.part_a) == 1);
  CHECK(g.loads(d.part_b) == 1);
  CHECK(g.loads(d.part_c) == 1);
  CHECK(codec::count_members(load, d.root, "", {"list", "nodes"}).value() ==
        std::vector<std::uint64_t>{1, 1});
  CHECK(codec::count_members(load, d.root, "/list", {"0"}).value() ==
        std::vector<std::uint64_t>{0}); // an array
  CHECK(codec::count_members(load, d.root, "/nope", {"k0"}).error().code() == Errc::not_found);

  g.remove(d.part_c); // a missing blob is damage, not absence
  const auto damaged = codec::count_members(load, d.root, "/nodes", {"k0"});
  REQUIRE_FALSE(damaged);
  CHECK(damaged.error().code() == Errc::corrupt);
  const auto asked = codec::has_values(load, d.root, {"/nodes/k0"});
  REQUIRE_FALSE(asked);
  CHECK(asked.error().code() == Errc::corrupt);
}
