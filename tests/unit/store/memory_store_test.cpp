// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/store.hpp>

#include "support/store_conformance.hpp"

#include <catch2/catch.hpp>

TEST_CASE("memory_store passes the store conformance suite", "[store][memory]")
{
  test::run_store_conformance([] { return pagable::store::make_memory_store(); });
}
