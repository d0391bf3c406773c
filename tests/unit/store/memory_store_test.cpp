// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/store.hpp>

#include "support/store_conformance.hpp"

#include <catch2/catch.hpp>

namespace {

std::unique_ptr<pagable::store::BlobStore> memory()
{
  return pagable::store::make_memory_store();
}

} // namespace

TEST_CASE("memory_store: reading", "[store][memory]")
{
  test::run_reader_conformance(memory);
}

TEST_CASE("memory_store: writing and take-back", "[store][memory]")
{
  test::run_writer_conformance(memory);
}

TEST_CASE("memory_store: the root catalogue", "[store][memory]")
{
  test::run_catalog_conformance(memory);
}

TEST_CASE("memory_store: settings", "[store][memory]")
{
  test::run_settings_conformance(memory);
}

TEST_CASE("memory_store: pack transfer between memory stores", "[store][memory][transfer]")
{
  test::run_transfer_conformance(memory, memory);
}
