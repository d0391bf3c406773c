// SPDX-License-Identifier: MIT OR Apache-2.0
// The CLI is a shell over the façade (pagable/archive.hpp): what `pagable pack` writes is what
// a library user packing through Archive writes.
#include <pagable/archive.hpp>

#include "support/archive_fixture.hpp"
#include "support/run_pagable.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace pagable;

TEST_CASE("cli: pack writes the root keys, settings and packs the façade writes", "[cli][archive]")
{
  test::TempDir dir;
  std::string doc = "{\"list\":[";
  for (int i = 0; i < 3000; ++i) {
    doc += (i ? "," : "") + std::string("{\"id\":") + std::to_string(i) + ",\"name\":\"item " +
           std::to_string(i * 7919 % 1000) + "\",\"tags\":[\"a\",\"b\"]}";
  }
  doc += "]}";
  test::write_file(dir.file("doc.json"), doc);
  {
    ArchiveOptions o;
    o.mode = OpenMode::create;
    auto lib = Archive::open(dir.file("lib.pagable"), o).value();
    PackRequest request;
    request.name = "doc";
    REQUIRE(lib->pack(PackSource::file(dir.file("doc.json")), request));
  }
  const auto cli = test::run_pagable({"pack", dir.file("cli.pagable"), dir.file("doc.json"), "--quiet"});
  INFO(cli.err);
  REQUIRE(cli.exit_code == 0);
  auto from_lib = Archive::open(dir.file("lib.pagable")).value();
  auto from_cli = Archive::open(dir.file("cli.pagable")).value();
  CHECK(from_cli->find_root("doc").value().key == from_lib->find_root("doc").value().key);
  CHECK(from_cli->store().settings().value() == from_lib->store().settings().value());
  const auto lib_packs = test::archive::pack_rows(dir.file("lib.pagable"));
  const auto cli_packs = test::archive::pack_rows(dir.file("cli.pagable"));
  REQUIRE(lib_packs.size() == cli_packs.size());
  for (auto l = lib_packs.begin(), c = cli_packs.begin(); l != lib_packs.end(); ++l, ++c) {
    CHECK(l->second.codec == c->second.codec);
    CHECK(l->second.raw_size == c->second.raw_size);
    CHECK(l->second.data == c->second.data); // same level, same pack size: the same bytes
  }
}
