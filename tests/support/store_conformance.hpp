// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// One conformance suite for every BlobStore backend (STYLE R5). A backend is finished when
// run_store_conformance passes for it.

#include <pagable/store.hpp>

#include <functional>
#include <memory>

namespace test {

using StoreFactory = std::function<std::unique_ptr<pagable::store::BlobStore>()>;

// Runs every conformance check, each on a fresh store from `make`.
void run_store_conformance(const StoreFactory& make);

} // namespace test
