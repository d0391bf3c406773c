// SPDX-License-Identifier: MIT OR Apache-2.0
// Pack: stream a JSON document into the store as a graph of nodes (DESIGN §3). The input is
// parsed as a stream; each node is encoded (docs/FORMAT.md "Node encoding") and paged out as
// soon as it is complete, so memory is bounded by the open containers along the current path
// and the write queues, not by the document. Worker threads hash and store nodes; the keys
// and the set of stored blobs do not depend on the number of workers.
// Thread-safety: pack_stream may run in several threads at once on one store.
#pragma once

#include <pagable/key.hpp>
#include <pagable/result.hpp>
#include <pagable/store.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pagable::schema {
class Schema;
} // namespace pagable::schema

namespace pagable::pack {

// Where node boundaries fall. Part of every node's identity: recorded in the archive's
// settings when it is first packed into and fixed for its life (DESIGN §3).
struct BoundarySettings {
  // An object or array whose encoding reaches this many bytes becomes its own node; smaller
  // ones stay inline in their parent. Larger: fewer nodes, better compression, coarser dedup.
  std::size_t node_bytes = 16384;
  // A container whose encoding exceeds this is split into content-defined chunks.
  std::size_t chunk_above_bytes = 131072;
  // The average size of a chunk (a part of a chunked container); smaller: cheaper edits,
  // more nodes.
  std::size_t chunk_target_bytes = 32768;
  // A part is cut here whatever the content says (bounds a node's size).
  std::size_t chunk_max_bytes = 131072;
  // Average entries per node of a chunk tree's index levels.
  std::size_t index_fanout = 32;
  // A chunked object with at least this many members, of at least route_member_bytes encoded
  // bytes each on average, also stores 16-bit fingerprints of its member names, part by part,
  // so that finding one member reads the fingerprints and about one part instead of every
  // part (FORMAT.md "Routed objects"). Costs 2 incompressible bytes per member, which is why
  // objects of tiny members are left to be scanned. 0 switches routing off. (4096 until
  // 2026-12-06: the browser-compat data's /api, 1,109 members, was scanned.)
  std::size_t route_members = 512;
  std::size_t route_member_bytes = 32;
  // A routed object with at least this many members stores 24-bit fingerprints instead (one
  // more byte a member): a 16-bit one also matches one member in 65,536 of the others, and
  // each such match costs a lookup a part read for nothing (format 2). 0: never.
  std::size_t route_wide_members = 131072;
  // How a node's bytes are hashed into the fingerprint that places chunk and index boundaries
  // (FORMAT.md "Chunking"): 1 is FNV-1a, a byte at a time (archives made before format 3, which
  // keep it); 2 takes four 64-bit words at a time (format 3). pack hashes every byte of its
  // input this way on the one thread that parses it: 2 packs the seed graph 26% faster.
  std::size_t fingerprint = 2;

  // As archive settings ("pack.node_bytes", ...).
  std::map<std::string, std::string> to_settings() const;
  // Reads pack.* settings as given (absent ones keep their defaults): for values a caller
  // chooses. An archive's settings are read with from_archive.
  // Errc::unusable_archive when a value is not a whole number in its range: at least 1 (0
  // allowed for the routing settings, where it switches routing off), an index fanout of
  // 2 to 65,536, route_member_bytes at most 2^20, a fingerprint of 1 or 2, the others at
  // most 2^40.
  static Result<BoundarySettings> from_settings(const std::map<std::string, std::string>& s);
  // An archive's settings: the same, except that settings written before format 3 have no
  // pack.fingerprint and mean fingerprint 1 (what made their keys).
  static Result<BoundarySettings> from_archive(std::map<std::string, std::string> s);
  // Errc::invalid_argument naming the first setting out of those ranges. pack_stream checks.
  Result<void> check() const;
};

enum class DanglingRefs : std::uint8_t { error, allow };

// How a node already in the archive is reused. by_index trusts the index (a key there is a
// blob stored); after_reading (pack --repair) reads the stored copy back first and, when it
// is damaged or unreadable, stores this one in its place (store::PutHints::replace). It also
// drops delta hints, so that nothing new decodes through a damaged base.
enum class Reuse : std::uint8_t { by_index, after_reading };

// How far a pack has got, for a progress display (the library never prints).
struct PackProgress {
  std::uint64_t bytes_in = 0; // JSON bytes read so far (after decompression)
  std::uint64_t nodes = 0;    // nodes emitted so far
  bool done = false;          // the last report of this document (its input is all read)
};

struct PackOptions {
  // Threads that page nodes out, the parsing thread included: it encodes them, and hands
  // them to workers - 1 threads that hash and store them (with 1, it does that too); 0 = one
  // per hardware thread. The store's writer thread, which compresses and commits, is not
  // counted: on 2 cores, 1 worker beside the parser and the writer packs the 500,000-node
  // seed graph in 1.42 s, 2 (one per core, as before) in 1.80 s and none in 1.57 s.
  unsigned workers = 0;
  // Deeper nesting is an error naming the pointer. The parser never recurses, so any limit is
  // safe for the C++ stack; memory grows by a few hundred bytes per open level.
  std::size_t max_depth = 10000;
  // A longer string (or member name) is an error.
  std::size_t max_string_bytes = 64 * 1024 * 1024;
  // A node whose encoding is larger is an error (only one huge string can make one).
  std::size_t max_node_bytes = 128 * 1024 * 1024;
  DanglingRefs dangling_refs = DanglingRefs::error;
  // Encoded nodes handed to workers and not yet stored, before the parser waits. Once the
  // store's writer is the bottleneck this fills up, and more of it only costs memory: with it
  // and the store's write queue at 8 MiB instead of 32, the 500,000-node seed graph packs at
  // the same speed with a peak RSS of 59 MB instead of 110, a 200 MB document with 52 MB
  // instead of 126 (pagable pack, 2 cores).
  std::size_t in_flight_bytes = 8 * 1024 * 1024;
  // Set from another thread (a signal handler's flag) to stop: Errc::cancelled.
  const std::atomic<bool>* cancel = nullptr;
  // Validate the document node by node as it is packed (schema::NodeValidator); a violation
  // is Errc::invalid_input listing the errors, and no root must then be committed. With a
  // schema, `x-pagable-arc` decides node boundaries where a subschema says it (DESIGN §3).
  std::shared_ptr<const schema::Schema> schema;
  // schema::StreamOptions::max_buffer_bytes: the most a value kept whole for a construct that
  // needs it (oneOf, uniqueItems, ...) may take.
  std::size_t schema_buffer_bytes = std::size_t{256} << 20;
  // The top-level key of an older version of this document (DESIGN §4 "Updates need
  // deltas"). Each new node is then hinted to the store with the old nodes at the same JSON
  // path (members by name, items by index, chunks by the members they cover) as its delta
  // bases; the old graph is read lazily along the way. Never changes the keys. A blob of the
  // old version that cannot be read only stops the hints (PackResult::alignment_error).
  std::optional<Key> update_of;
  // Called on the parsing thread as input is read, at most once per `progress_interval`,
  // and once more with done = true when the input is all read.
  std::function<void(const PackProgress&)> progress;
  std::chrono::milliseconds progress_interval{250};
  // An object's member names are kept whole up to this many members, to reject a repeated
  // one; beyond, only 60 bits of a hash of each (~8 bytes a name), so that a huge object's
  // names cost little. A repeated hash is verified against the stored object once the
  // document is packed (a true duplicate is then the error, with its line and column), and a
  // $ref into such an object is taken as found when its name's hash is there (a dangling ref
  // is missed with a chance of members / 2^60).
  std::size_t exact_member_names = 4096;
  // Bits of those name hashes before the 60 kept (64; tests use few to force repeats).
  unsigned member_name_hash_bits = 64;
  Reuse reuse = Reuse::by_index;
};

struct PackResult {
  Key key;                          // the document's top-level node
  std::uint64_t nodes = 0;          // nodes in the document (a repeated node counts each time)
  std::uint64_t bytes_in = 0;       // JSON bytes read (after decompression)
  std::uint64_t refs = 0;           // "$ref": "#/..." objects
  std::vector<std::string> dangling; // refs that do not resolve (only with DanglingRefs::allow)
  std::uint64_t schema_buffered = 0;  // values kept whole for validation (with a schema)
  std::uint64_t hinted = 0;          // nodes given delta bases (with update_of; stored or not)
  std::string alignment_error;       // why hints stopped early (with update_of), or empty
};

// Reads the archive's boundary settings, recording `defaults` first if it has none yet (and,
// with SettingsWrite::replace_while_rootless, over the ones it has while it has no root).
// An archive marked with a format before 3 records fingerprint 1, whatever `defaults` says,
// unless `mode` replaces its settings (it has no root), which marks it with today's format.
Result<BoundarySettings> init_boundaries(store::BlobStore& store,
                                         const BoundarySettings& defaults = {},
                                         store::SettingsWrite mode = store::SettingsWrite::keep_set);

// Packs the one JSON document in `input` and returns its key once every node is stored and
// flushed. Commits no root: the caller does (so a failed document leaves no root).
// Errors: Errc::invalid_input for bad JSON, limits and dangling refs, with line:column and
// the JSON pointer; Errc::cancelled; store errors as they are.
Result<PackResult> pack_stream(store::BlobStore& store, std::istream& input,
                               const BoundarySettings& boundaries, const PackOptions& options);

// Opens `path` ("-" = standard input) for packing, decompressing zstd or gzip input
// recognised by its magic bytes. Errc::not_found / Errc::io when it cannot be opened.
Result<std::unique_ptr<std::istream>> open_input(const std::string& path);

// The JSON bytes the file at `path` holds when it is a plain (not compressed) regular file:
// the total a progress display can show. nullopt for standard input, a pipe, compressed
// input, or a file that cannot be read.
std::optional<std::uint64_t> plain_input_size(const std::string& path);

} // namespace pagable::pack
