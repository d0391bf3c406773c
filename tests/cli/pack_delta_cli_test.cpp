// SPDX-License-Identifier: MIT OR Apache-2.0
// pack --update-of and re-packing under the same name (updates are deltas), and pack's
// progress line, through the built binary. The browser-compat data case packs 20 MB four
// times (about 2 minutes in a Debug build): it is [.slow]; the synthetic cases always run.
#include "support/archive_fixture.hpp"
#include "support/report_schema.hpp"
#include "support/run_pagable.hpp"
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_documents.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>

using test::run_pagable;
using nlohmann::ordered_json;
using test::run_process;

namespace {

nlohmann::json pack_json(const std::vector<std::string>& args)
{
  std::vector<std::string> all{"--json", "pack"};
  all.insert(all.end(), args.begin(), args.end());
  const auto r = run_pagable(all);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return test::check_report(PAGABLE_SOURCE_DIR, r.out, "pack");
}

ordered_json hydrate(const std::string& archive, const std::string& root)
{
  const auto r = run_pagable({"hydrate", archive, root});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return ordered_json::parse(r.out);
}

void verify_clean(const std::string& archive)
{
  const auto r = run_pagable({"verify", archive});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
}

// Appends ".1" to `count` "version_added" strings spread evenly through `text` (JSON text).
std::string edit_versions(std::string text, int count)
{
  const std::string needle = "\"version_added\":";
  std::vector<std::size_t> at;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) {
    const auto open = text.find_first_not_of(" ", p + needle.size());
    if (open != std::string::npos && text[open] == '"') {
      at.push_back(text.find('"', open + 1)); // the closing quote
    }
  }
  REQUIRE(at.size() >= static_cast<std::size_t>(count));
  const std::size_t step = at.size() / static_cast<std::size_t>(count);
  for (int i = count - 1; i >= 0; --i) { // from the end: earlier offsets stay valid
    text.insert(at[static_cast<std::size_t>(i) * step], ".1");
  }
  return text;
}

} // namespace

TEST_CASE("cli pack: re-packing an edited browser-compat data under its name adds a few times "
          "fewer bytes than a fresh pack, and gc keeps the new root whole",
          "[cli][pack][delta]")
{
  const std::string shared = test::shared_dir();
  if (shared.empty()) {
    PAGABLE_SKIP("../shared absent");
  }
  const std::string src = shared + "/corpora/mdn-browser-compat-data.json";
  test::TempDir dir;
  const std::string edited_path = dir.file("mdn.json");
  test::write_file(edited_path, edit_versions(test::read_file(src), 200));

  const std::string base = dir.file("base.pagable");
  const auto first = pack_json({base, src, "--name", "mdn"});
  const std::string old_key = first["key"];
  CHECK(first["documents"][0]["update_of"].is_null());
  const std::string same = dir.file("same.pagable"), other = dir.file("other.pagable");
  std::filesystem::copy_file(base, same);
  std::filesystem::copy_file(base, other);

  // The same name: aligned with the root it replaces.
  const auto update = pack_json({same, edited_path, "--name", "mdn"});
  CHECK(update["documents"][0]["update_of"] == old_key);
  CHECK(update["delta_nodes"].get<std::uint64_t>() > 0);
  // Another name: nothing to align with.
  const auto fresh = pack_json({other, edited_path, "--name", "mdn-edited"});
  CHECK(fresh["documents"][0]["update_of"].is_null());
  CHECK(fresh["delta_nodes"] == 0);
  CHECK(fresh["key"] == update["key"]);
  CHECK(fresh["new_nodes"] == update["new_nodes"]);
  const auto with = update["bytes_added"].get<std::uint64_t>();
  const auto without = fresh["bytes_added"].get<std::uint64_t>();
  INFO("bytes added: aligned " << with << ", fresh " << without);
  CHECK(with * 4 < without);

  const ordered_json edited = ordered_json::parse(test::read_file(edited_path));
  CHECK(hydrate(same, "mdn") == edited);
  verify_clean(same);

  // --update-of an old root kept under its own name; then the old root goes and gc runs.
  REQUIRE(run_pagable({"rm", other, "mdn-edited"}).exit_code == 0);
  REQUIRE(run_pagable({"gc", other}).exit_code == 0); // back to the first version's blobs only
  const auto explicit_update = pack_json({other, edited_path, "--name", "v2", "--update-of", "mdn"});
  CHECK(explicit_update["documents"][0]["update_of"] == old_key);
  CHECK(explicit_update["bytes_added"].get<std::uint64_t>() * 4 < without);
  CHECK(hydrate(other, "mdn") == ordered_json::parse(test::read_file(src)));
  REQUIRE(run_pagable({"rm", other, "mdn"}).exit_code == 0);
  const auto gc = run_pagable({"gc", other});
  INFO(gc.err);
  REQUIRE(gc.exit_code == 0);
  CHECK(hydrate(other, "v2") == edited);
  verify_clean(other);
}

TEST_CASE("cli pack: --update-of a root that does not exist is a usage error", "[cli][pack][delta]")
{
  test::TempDir dir;
  const std::string archive = dir.file("a.pagable");
  const std::string doc = dir.file("d.json");
  test::write_file(doc, test::versioned_object(1));
  pack_json({archive, doc, "--name", "v1"});
  const auto r = run_pagable({"pack", archive, doc, "--name", "v2", "--update-of", "nope"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("--update-of") && Catch::Contains("no root named \"nope\""));
  const auto ls = run_pagable({"--json", "ls", archive});
  CHECK(ls.out.find("\"v2\"") == std::string::npos);
  const auto two = run_pagable({"pack", archive, doc, doc, "--update-of", "v1"});
  CHECK(two.exit_code == 2);
}

TEST_CASE("cli pack: a synthetic update under the same name is stored as deltas",
          "[cli][pack][delta]")
{
  test::TempDir dir;
  const std::string archive = dir.file("a.pagable"), plain = dir.file("b.pagable");
  const std::string v1 = dir.file("v1.json"), v2 = dir.file("v2.json");
  test::write_file(v1, test::versioned_object(1));
  test::write_file(v2, test::versioned_object(2));
  pack_json({archive, v1, "--name", "doc"});
  pack_json({plain, v1, "--name", "doc"});
  const auto update = pack_json({archive, v2, "--name", "doc"});
  const auto fresh = pack_json({plain, v2, "--name", "other"});
  CHECK(update["delta_nodes"].get<std::uint64_t>() > 0);
  INFO("aligned " << update["bytes_added"] << ", fresh " << fresh["bytes_added"]);
  CHECK(update["bytes_added"].get<std::uint64_t>() * 4 < fresh["bytes_added"].get<std::uint64_t>());
  CHECK(hydrate(archive, "doc") == ordered_json::parse(test::read_file(v2)));
  // Updated nodes go into delta packs of about 64 KiB (a read decodes few bases); a fresh
  // document keeps large shared packs.
  CHECK(test::archive::sql_int(archive, "SELECT count(*) FROM packs WHERE codec = 3") >= 2);
  CHECK(test::archive::sql_int(archive, "SELECT max(raw_size) FROM packs WHERE codec = 3") <
        64 * 1024 + 128 * 1024);
  CHECK(test::archive::sql_int(plain, "SELECT count(*) FROM packs WHERE codec = 3") == 0);
  CHECK(test::archive::sql_int(plain, "SELECT max(raw_size) FROM packs") >= 256 * 1024);
}

TEST_CASE("cli pack: progress on stderr with --progress, none with -q or --json", "[cli][pack]")
{
  test::TempDir dir;
  const std::string doc = dir.file("d.json");
  const std::string text = test::versioned_object(1);
  test::write_file(doc, text);
  const auto shown = run_pagable({"--progress", "pack", dir.file("a.pagable"), doc});
  REQUIRE(shown.exit_code == 0);
  // The last state, redrawn with \r and ended with a newline: all bytes of the known total.
  char total[32];
  std::snprintf(total, sizeof total, "%.1f / %.1f MB (100%%)", static_cast<double>(text.size()) / 1e6,
                static_cast<double>(text.size()) / 1e6);
  INFO(shown.err);
  CHECK_THAT(shown.err, Catch::Contains("\rpack " + doc + ": " + total));
  CHECK_THAT(shown.err, Catch::Contains("MB/s") && Catch::Contains(" nodes, "));
  CHECK_THAT(shown.err, Catch::EndsWith("\n"));

  const auto quiet = run_pagable({"--progress", "-q", "pack", dir.file("b.pagable"), doc});
  REQUIRE(quiet.exit_code == 0);
  CHECK(quiet.err.empty());
  const auto json = run_pagable({"--progress", "--json", "pack", dir.file("c.pagable"), doc});
  REQUIRE(json.exit_code == 0);
  CHECK(json.err.empty());
  const auto plain = run_pagable({"pack", dir.file("d.pagable"), doc}); // stderr is no terminal
  REQUIRE(plain.exit_code == 0);
  CHECK(plain.err.find("MB/s") == std::string::npos);

  // On a terminal it shows unasked: script(1) gives the command a pseudo-terminal and copies
  // what it writes there to its own standard output.
  const auto tty = test::run_process(
      {"/usr/bin/script", "-qec", std::string(PAGABLE_BINARY) + " pack " + dir.file("e.pagable") + " " + doc,
       "/dev/null"});
  INFO(tty.out << tty.err);
  REQUIRE(tty.exit_code == 0);
  CHECK_THAT(tty.out, Catch::Contains("\rpack " + doc + ": " + total) && Catch::Contains("MB/s"));
  const auto tty_quiet = test::run_process(
      {"/usr/bin/script", "-qec", std::string(PAGABLE_BINARY) + " -q pack " + dir.file("f.pagable") + " " + doc,
       "/dev/null"});
  REQUIRE(tty_quiet.exit_code == 0);
  CHECK(tty_quiet.out.find("MB/s") == std::string::npos);
}
