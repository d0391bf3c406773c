// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// One conformance suite for every BlobStore backend (STYLE R5), role by role. A backend is
// finished when run_store_conformance passes for it, and pack transfer to and from the other
// backends.

#include <pagable/store.hpp>

#include <functional>
#include <memory>

namespace test {

using StoreFactory = std::function<std::unique_ptr<pagable::store::BlobStore>()>;

// The checks of one role each (pagable/store.hpp), each on a fresh store from `make`.
void run_reader_conformance(const StoreFactory& make);
void run_writer_conformance(const StoreFactory& make);
void run_catalog_conformance(const StoreFactory& make);
void run_settings_conformance(const StoreFactory& make);
// Packs move from stores made by make_source to stores made by make_target (two backends, or
// one).
void run_transfer_conformance(const StoreFactory& make_source, const StoreFactory& make_target);

// Every role's checks, transfer between two stores of the same kind.
void run_store_conformance(const StoreFactory& make);

} // namespace test
