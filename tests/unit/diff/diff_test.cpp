// SPDX-License-Identifier: MIT OR Apache-2.0
// diff (pagable/diff.hpp): applying the patch to A gives B, for synthetic edits of every kind
// (into inline, chunked and routed containers) and for real release pairs; an inserted array
// item is one operation; a document diffed with itself is empty; equal subtrees are not read.
#include <pagable/archive.hpp>
#include <pagable/diff.hpp>
#include <pagable/hydrate.hpp>

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

using namespace pagable;
using json = nlohmann::json;

namespace {

// Small boundaries, so that documents of a few hundred kB have nodes, chunk trees several
// levels deep and routed objects.
const std::map<std::string, std::string> k_small = {
    {"node_bytes", "512"},       {"chunk_above_bytes", "2048"}, {"chunk_target_bytes", "512"},
    {"chunk_max_bytes", "2048"}, {"index_fanout", "4"},         {"route_members", "32"},
    {"route_member_bytes", "8"}};

Key pack_json(Archive& a, const std::string& name, const std::string& text,
              const std::map<std::string, std::string>& settings = {})
{
  std::istringstream in(text);
  PackRequest r;
  r.name = name;
  r.settings = settings;
  auto p = a.pack(PackSource::stream(in), r);
  INFO((p ? std::string() : p.error().message()));
  REQUIRE(p);
  return p->result.key;
}

json patch_of(const diff::DiffResult& d)
{
  return json::parse(diff::to_json_patch(d.patch).dump());
}

// Diffs a and b, applies the patch to A's JSON and checks it gives B's.
diff::DiffResult check_patch(const Archive& archive, const Key& a, const Key& b, const json& ja,
                             const json& jb, diff::DiffOptions options = {})
{
  auto d = diff::diff(archive.store(), a, b, options);
  INFO((d ? std::string() : d.error().message()));
  REQUIRE(d);
  const json patch = patch_of(*d);
  json applied;
  try {
    applied = ja.patch(patch);
  } catch (const std::exception& e) {
    FAIL("the patch does not apply: " << e.what() << "\n" << patch.dump().substr(0, 2000));
  }
  CHECK(applied == jb);
  if (d->merge_patch) {
    json merged = ja;
    merged.merge_patch(json::parse(d->merge_patch->dump()));
    CHECK(merged == jb);
  }
  return std::move(d).value();
}

json synthetic_document(std::mt19937& rng)
{
  json doc = json::object();
  json big = json::array(); // chunked at the small boundaries
  for (int i = 0; i < 600; ++i) {
    big.push_back({{"id", i}, {"name", "item-" + std::to_string(i)}, {"tags", {"a", i % 7}}});
  }
  doc["items"] = big;
  json routed = json::object(); // routed: many members of a few dozen bytes
  for (int i = 0; i < 300; ++i) {
    routed["member-" + std::to_string(i)] = "value of member " + std::to_string(i * 7919);
  }
  doc["routed"] = routed;
  json nested = json::object();
  for (int i = 0; i < 40; ++i) {
    nested["k" + std::to_string(i)] = {{"list", json::array({1, 2.5, "three", nullptr, true})},
                                       {"obj", {{"x", i}, {"y", std::string(i * 3, 'y')}}}};
  }
  doc["nested"] = nested;
  doc["scalars"] = {1, -2, 3.25, "s", false, nullptr};
  doc["numbers"] = json::array();
  for (int i = 0; i < 3000; ++i) {
    doc["numbers"].push_back(static_cast<int>(rng() % 1000)); // an array of tiny repeated items
  }
  return doc;
}

// A random JSON pointer to a value of `doc` (maybe the document itself), and that value.
std::vector<std::string> random_path(const json& doc, std::mt19937& rng)
{
  std::vector<std::string> path;
  const json* at = &doc;
  while ((at->is_object() || at->is_array()) && !at->empty() && rng() % 5 != 0) {
    if (at->is_object()) {
      auto it = at->begin();
      std::advance(it, static_cast<long>(rng() % at->size()));
      path.push_back(it.key());
      at = &*it;
    } else {
      const auto i = rng() % at->size();
      path.push_back(std::to_string(i));
      at = &(*at)[i];
    }
  }
  return path;
}

json::json_pointer pointer_of(const std::vector<std::string>& tokens)
{
  json::json_pointer p;
  for (const auto& t : tokens) {
    p /= t;
  }
  return p;
}

// Every container of `doc` that is an array (or an object), as pointers.
void containers(const json& v, const json::json_pointer& at, json::value_t type,
                std::vector<json::json_pointer>& out)
{
  if (v.type() == type) {
    out.push_back(at);
  }
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      containers(*it, at / it.key(), type, out);
    }
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      containers(v[i], at / i, type, out);
    }
  }
}

// A container of the type for an edit: half of the time one of `big` (the chunked arrays, the
// routed object), otherwise any, so that small inline containers get edits too.
json& pick(json& doc, std::mt19937& rng, json::value_t type, const std::vector<std::string>& big)
{
  // Several edits in a row may have removed or replaced a big one, or the document.
  const json::json_pointer chosen(big[rng() % big.size()]);
  if (rng() % 2 == 0 && doc.contains(chosen) && doc[chosen].type() == type) {
    return doc[chosen];
  }
  std::vector<json::json_pointer> all;
  containers(doc, json::json_pointer(), type, all);
  if (all.empty()) {
    doc = type == json::value_t::array ? json::array() : json::object();
    return doc;
  }
  return doc[all[rng() % all.size()]];
}

const std::vector<std::string> k_edit_kinds = {"insert", "remove item", "add member",
                                               "remove member", "replace"};

// One edit of `kind` (k_edit_kinds): an array item inserted or removed, a member added or
// removed, a value (scalar or subtree) replaced by a string.
void edit(json& doc, std::mt19937& rng, const std::string& kind, int n)
{
  const std::string fresh = "edit-" + std::to_string(n);
  if (kind == "insert" || kind == "remove item") {
    json& v = pick(doc, rng, json::value_t::array, {"/items", "/numbers"});
    if (kind == "insert" || v.empty()) {
      v.insert(v.begin() + static_cast<long>(rng() % (v.size() + 1)), json{{"new", fresh}});
    } else {
      v.erase(v.begin() + static_cast<long>(rng() % v.size()));
    }
  } else if (kind == "add member" || kind == "remove member") {
    json& v = pick(doc, rng, json::value_t::object, {"/routed"});
    if (kind == "add member" || v.empty()) {
      v[fresh] = {{"added", n}};
    } else {
      auto it = v.begin();
      std::advance(it, static_cast<long>(rng() % v.size()));
      v.erase(it);
    }
  } else {
    auto path = random_path(doc, rng);
    doc[pointer_of(path)] = fresh;
  }
}

std::string bench_cache()
{
  if (const char* env = std::getenv("PAGABLE_BENCH_CACHE"); env != nullptr && *env != '\0') {
    return env;
  }
  return std::string(PAGABLE_SOURCE_DIR) + "/build/bench-cache";
}

bool readable(const std::string& path)
{
  return std::ifstream(path).good();
}

} // namespace

TEST_CASE("diff: a document diffed with itself is empty and reads nothing", "[diff]")
{
  auto archive = Archive::open_in_memory();
  std::mt19937 rng(1);
  const Key a = pack_json(*archive, "doc", synthetic_document(rng).dump(), k_small);
  const auto d = diff::diff(archive->store(), a, a).value();
  CHECK(d.equal());
  CHECK(d.stats.blobs_read == 0);
}

TEST_CASE("diff: >= 50 synthetic edits, ten of each kind, into inline, chunked and routed "
          "containers: the patch turns A into B with one operation per edit",
          "[diff]")
{
  auto archive = Archive::open_in_memory();
  std::mt19937 rng(7);
  const json a = synthetic_document(rng);
  const Key ka = pack_json(*archive, "doc", a.dump(), k_small);
  int n = 0;
  for (const auto& kind : k_edit_kinds) {
    for (int i = 0; i < 10; ++i, ++n) {
      json b = a;
      edit(b, rng, kind, n);
      INFO("edit " << n << ": " << kind);
      const Key kb = pack_json(*archive, "doc", b.dump());
      diff::DiffOptions options;
      options.merge_patch = true;
      const auto d = check_patch(*archive, ka, kb, a, b, options);
      CHECK(d.patch.size() == 1);
    }
  }
  // Several edits at once, and the other way round.
  for (int m = 0; m < 10; ++m) {
    json b = a;
    for (int e = 0; e < 6; ++e) {
      edit(b, rng, k_edit_kinds[rng() % k_edit_kinds.size()], 100 + m * 10 + e);
    }
    const Key kb = pack_json(*archive, "doc", b.dump());
    check_patch(*archive, ka, kb, a, b);
    check_patch(*archive, kb, ka, b, a);
  }
}

TEST_CASE("diff: an item inserted into a chunked array is one add, and reads few blobs", "[diff]")
{
  auto archive = Archive::open_in_memory();
  json a = json::array();
  for (int i = 0; i < 20000; ++i) {
    a.push_back("entry number " + std::to_string(i));
  }
  const Key ka = pack_json(*archive, "list", a.dump(), k_small);
  for (const std::size_t at : {std::size_t{0}, std::size_t{777}, std::size_t{12345}, std::size_t{20000}}) {
    INFO(at);
    json b = a;
    b.insert(b.begin() + static_cast<long>(at), "inserted");
    const Key kb = pack_json(*archive, "list", b.dump());
    const auto d = check_patch(*archive, ka, kb, a, b);
    REQUIRE(d.patch.size() == 1);
    CHECK(d.patch[0].kind == diff::OpKind::add);
    CHECK(d.patch[0].path == "/" + std::to_string(at));
    // The array is hundreds of blobs; the diff reads the changed path on both sides.
    CHECK(d.stats.blobs_read < 40);
    json removed = b;
    const auto back = check_patch(*archive, kb, ka, b, a);
    REQUIRE(back.patch.size() == 1);
    CHECK(back.patch[0].kind == diff::OpKind::remove);
  }
}

TEST_CASE("diff: --at compares the values at a pointer, old values on request, merge patches only "
          "where exact",
          "[diff]")
{
  auto archive = Archive::open_in_memory();
  const json a = {{"x", {{"keep", 1}, {"s", "old"}}}, {"list", {1, 2, 3}}, {"gone", true}};
  const json b = {{"x", {{"keep", 1}, {"s", "new"}}}, {"list", {1, 3}}, {"null", nullptr}};
  const Key ka = pack_json(*archive, "d", a.dump());
  const Key kb = pack_json(*archive, "d", b.dump());
  diff::DiffOptions options;
  options.old_values = diff::OldValues::yes;
  options.merge_patch = true;
  const auto d = check_patch(*archive, ka, kb, a, b, options);
  CHECK_FALSE(d.merge_patch.has_value()); // "null": null cannot be said in a merge patch
  CHECK_THAT(d.merge_patch_problem, Catch::Contains("/null"));
  bool saw_replace = false;
  for (const auto& op : d.patch) {
    if (op.kind == diff::OpKind::replace) {
      saw_replace = true;
      CHECK(op.path == "/x/s");
      CHECK(op.old == nlohmann::ordered_json("old"));
    }
  }
  CHECK(saw_replace);
  options.at = "/x";
  const auto at = diff::diff(archive->store(), ka, kb, options).value();
  REQUIRE(at.patch.size() == 1);
  CHECK(at.patch[0].path == "/s");
  CHECK(at.merge_patch == nlohmann::ordered_json({{"s", "new"}}));
  options.at = "/nowhere";
  CHECK(diff::diff(archive->store(), ka, kb, options).error().code() == Errc::not_found);
}

TEST_CASE("diff: real release pairs (bench/run's npm cache): the patch turns each into the next",
          "[diff][corpus]")
{
  const std::string cache = bench_cache();
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"mdn-browser-compat-data-8.1.4.json", "mdn-browser-compat-data-8.1.5.json"},
      {"mdn-browser-compat-data-8.1.7.json", "mdn-browser-compat-data-8.1.9.json"},
      {"octokit-openapi-22.0.0.json", "octokit-openapi-23.0.0.json"},
      {"octokit-openapi-23.0.0.json", "octokit-openapi-23.0.1.json"},
  };
  int ran = 0;
  for (const auto& [from, to] : pairs) {
    if (!readable(cache + "/" + from) || !readable(cache + "/" + to)) {
      continue;
    }
    INFO(from << " -> " << to);
    ++ran;
    auto archive = Archive::open_in_memory();
    const std::string ta = test::read_file(cache + "/" + from);
    const std::string tb = test::read_file(cache + "/" + to);
    const Key ka = pack_json(*archive, "release", ta);
    const Key kb = pack_json(*archive, "release", tb);
    const auto d = check_patch(*archive, ka, kb, json::parse(ta), json::parse(tb));
    CHECK_FALSE(d.patch.empty());
  }
  if (ran == 0) {
    PAGABLE_SKIP("no release pair in " << cache << " (bench/run fetches them from npm)");
  }
}

TEST_CASE("diff: one string changed in the GitHub REST description reads a few blobs, not the "
          "document",
          "[diff][corpus]")
{
  const std::string shared = test::shared_dir();
  if (shared.empty() || !readable(shared + "/corpora/github-api.openapi.json")) {
    PAGABLE_SKIP("../shared/corpora is absent");
  }
  test::TempDir dir;
  auto archive = Archive::open(dir.file("a.pagable"), ArchiveOptions{OpenMode::create}).value();
  const std::string text = test::read_file(shared + "/corpora/github-api.openapi.json");
  // Ordered: nlohmann::json would sort the members, and every node of B would be new.
  nlohmann::ordered_json doc = nlohmann::ordered_json::parse(text);
  const Key ka = pack_json(*archive, "api", text);
  doc["paths"]["/repos/{owner}/{repo}/pulls"]["get"]["summary"] = "List pull requests (edited)";
  std::istringstream in(doc.dump());
  PackRequest r;
  r.name = "api";
  const auto packed = archive->pack(PackSource::stream(in), r).value();
  const auto d = diff::diff(archive->store(), ka, packed.result.key).value();
  REQUIRE(d.patch.size() == 1);
  CHECK(d.patch[0].path == "/paths/~1repos~1{owner}~1{repo}~1pulls/get/summary");
  // The changed path is the new version's new nodes; the diff reads it on both sides.
  CHECK(d.stats.blobs_read <= 2 * packed.new_nodes + 2);
  hydrate::Document whole(archive->store(), packed.result.key);
  std::ostringstream sink;
  REQUIRE(whole.write_json(sink, ""));
  CHECK(d.stats.blobs_read * 20 < whole.stats().blobs_read);
}
