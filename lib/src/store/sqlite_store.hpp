// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Opening the SQLite archive as a BlobStore (docs/FORMAT.md): one file, WAL mode, one writer
// thread that groups new blobs into zstd packs and commits them in batches, and a pool of
// read connections. Library users open archives through pagable/archive.hpp, which owns the
// defaults users get; these options are the mechanism's, and tests set them directly.
// Thread-safety: the store is (BlobStore's contract); options are plain values.

#include <pagable/store.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace pagable::store {

struct SqliteOptions {
  OpenMode mode = OpenMode::read_only;
  // How long to wait for SQLite's write lock before Errc::locked. 0 = fail at once.
  std::chrono::milliseconds lock_wait{10'000};
  // zstd level for packs: higher is smaller and slower to write; reading speed is the same.
  int compression_level = 3;
  // Uncompressed bytes grouped into one pack: larger compresses better, smaller makes a
  // random read decompress less.
  std::size_t pack_target_bytes = 64 * 1024;
  // The same for packs of index blobs (PutHints::index), when smaller: a lookup reads a few
  // blobs here and there from these, and routing fingerprints do not compress, so small
  // packs lose little and spare decoding (0: each index blob in a pack of its own).
  std::size_t index_pack_target_bytes = 64 * 1024;
  // Blobs stored with delta bases (PutHints::delta_bases) fill packs of their own, finished
  // once they hold this many bytes (a node of this size or more gets one to itself), so that
  // a delta pack's prefix holds only its few nodes' bases: a read decodes little besides
  // their history, and its depth is theirs (docs/FORMAT.md "Choosing the defaults").
  std::size_t delta_pack_target_bytes = 64 * 1024;
  // Bytes of blobs queued for the writer before put() blocks (back-pressure).
  std::size_t write_queue_bytes = 32 * 1024 * 1024;
  // Bytes of decompressed packs kept for readers (shared by all reader threads).
  std::size_t pack_cache_bytes = 16 * 1024 * 1024;
  // Read connections in the pool; 0 = one per hardware thread (at least 2).
  unsigned readers = 0;
  // Bytes of the file each read connection maps into memory (SQLite's mmap_size); 0 reads
  // through system calls only. A mapped page costs no pread and no copy into SQLite's cache,
  // but an I/O error on a mapped page, or the file truncated by something other than SQLite
  // while it is open, kills the process with SIGBUS instead of returning an error, and mapped
  // pages count in the process's RSS once touched (per connection).
  std::size_t read_mmap_bytes = 0;
  // SQLite's page size for an archive this store creates (a power of two from 512 to 65536);
  // an existing archive keeps its own. SQLite stores a row up to a page whole and starts a
  // new page when the next does not fit, so rows of 1 to 4 kB fill 4 KiB pages badly
  // (docs/FORMAT.md "The file").
  std::size_t new_archive_page_bytes = 1024;
  // A pack (or blob) claiming more than this many uncompressed bytes is refused as corrupt.
  std::size_t max_pack_bytes = 256 * 1024 * 1024;
};

// Opens (or creates, per options.mode) the archive at `path`. Errors: Errc::unusable_archive
// when the file is missing (unless create), not SQLite, not a pagable archive, or of a newer
// format; Errc::io when the OS refuses; Errc::locked when the write lock stays busy.
Result<std::unique_ptr<BlobStore>> open_sqlite_store(const std::string& path,
                                                     const SqliteOptions& options = {});

} // namespace pagable::store
