// SPDX-License-Identifier: MIT OR Apache-2.0
// A root's JSON Schema as stored in the archive (docs/FORMAT.md "Schema bundles"): one blob,
// no children, holding Schema::bundle() as canonical JSON text. So an archive describes
// itself: hydrate --types and verify --deep need no schema file.
// Thread-safety: both functions may run in several threads at once on one store.
#pragma once

#include <pagable/key.hpp>
#include <pagable/result.hpp>
#include <pagable/schema.hpp>
#include <pagable/store.hpp>

#include <cstdint>
#include <memory>

namespace pagable::stored_schema {

// How put treats a copy already stored under the bundle's key.
enum class Reuse : std::uint8_t {
  by_index,      // trusted, as any stored blob
  after_reading, // read back (re-hashed) and replaced when damaged: pack --repair
};

// Stores `schema`'s bundle (idempotent: the same schema files give the same key) and
// flushes it. Its key goes into RootRecord::schema_key.
Result<Key> put(store::BlobStore& store, const schema::Schema& schema, Reuse reuse = Reuse::by_index);

// Loads and compiles the bundle stored under `key`. Errc::not_found when the blob is absent,
// Errc::corrupt when it is not a schema bundle or does not compile.
Result<std::shared_ptr<const schema::Schema>> get(const store::BlobStore& store, const Key& key,
                                                  const schema::SchemaOptions& options = {});

} // namespace pagable::stored_schema
