// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// What an Archive holds (pagable/archive.hpp), shared by the files that implement it:
// archive.cpp (opening, pack, roots), maintenance.cpp (verify, gc, stat),
// versions.cpp (ls, log, diff, rm), types.cpp.
// Thread-safety: as Archive's; pack_mutex orders packs into one Archive.

#include <pagable/archive.hpp>
#include <pagable/store.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace pagable {

struct Archive::Impl {
  std::string location;
  std::unique_ptr<store::BlobStore> store;
  std::mutex pack_mutex; // one pack at a time: take-back undoes this store's writes
};

} // namespace pagable
