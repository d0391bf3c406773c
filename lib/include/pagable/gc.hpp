// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// gc: removes the blobs no root reaches and gives their space back (DESIGN §4-5, STYLE R12).
// plan() marks (index only: no blob is decompressed; memory is one bit per blob row, a stack
// of pending edges of 40 bytes each, and a fixed 64 MB SQLite page cache -- never the
// archive's content; measured: 73 MB peak RSS on 1,000,000 blobs); execute() sweeps in short write
// transactions and rewrites packs that are mostly dead.
//
// Concurrent writers: every sweep transaction first marks what roots committed since the
// plan reach, so no committed root ever loses a blob (and a root committing after a sweep
// transaction confirms inside its own transaction that its blobs exist). The trade-off: a
// pack still in flight -- blobs stored or reused, root not committed yet -- may see a blob
// removed; its commit_root then fails with Errc::not_found naming the blob and changes
// nothing; the pack must then be run again (put is idempotent, so that is cheap).
// Thread-safety: plan/execute use their own connection; a plan belongs to one thread.

#include <pagable/result.hpp>
#include <pagable/store.hpp>

#include <cstdint>
#include <memory>

namespace pagable::gc {

struct GcOptions {
  // Packs whose live (still used) content is below this fraction of their size are rewritten.
  double rewrite_below_live_fraction = 0.5;
  // Blob rows deleted per write transaction (keeps the write lock short).
  std::size_t sweep_batch = 16384;
  // Packs rewritten per write transaction.
  std::size_t packs_per_transaction = 64;
  // After the sweep: VACUUM, so the file shrinks (needs free disk space of about twice the
  // archive's size while it runs); an archive from before format 4 first gets format 4's
  // blob table and key index, and is marked 4 (docs/FORMAT.md "Blobs").
  bool compact = false;
};

struct GcFigures {
  std::uint64_t roots = 0;
  std::uint64_t blobs_total = 0;           // blob rows in the snapshot
  std::uint64_t blobs_live = 0;            // reachable from a root
  std::uint64_t blobs_removed = 0;         // unreachable: removed (or would be, dry run)
  std::uint64_t bytes_logical_removed = 0; // their data bytes, uncompressed
  // Stored bytes given back: the index rows of removed blobs (key, children, 16 bytes of
  // integers), every pack no blob uses any more, and for each rewritten pack the share of its
  // stored size that dead content takes (an estimate: the new pack is compressed anew).
  std::uint64_t bytes_freed = 0;
  std::uint64_t packs_removed = 0;
  std::uint64_t packs_rewritten = 0;
};

namespace detail {
struct PlanState;
}

class GcPlan {
public:
  GcPlan();
  ~GcPlan();
  GcPlan(GcPlan&&) noexcept;
  GcPlan& operator=(GcPlan&&) noexcept;

  GcFigures figures;

private:
  friend Result<GcPlan> plan(const store::BlobStore&, const GcOptions&);
  friend Result<GcFigures> execute(const store::BlobStore&, GcPlan&, const GcOptions&);
  std::unique_ptr<detail::PlanState> m_state;
};

// Marks from every root in one read snapshot and works out what a sweep would remove and
// free. Changes nothing (a dry run is plan() alone). Works on a store opened read-only.
Result<GcPlan> plan(const store::BlobStore& store, const GcOptions& options = {});

// Sweeps what `plan` found unreachable, rewrites or removes mostly dead packs, and compacts
// when asked. The store must be open for writing. Returns what was really done (fewer blobs
// than planned when roots committed meanwhile reach some of them). Interrupting it at any
// instant leaves a valid archive: every transaction is complete or absent.
Result<GcFigures> execute(const store::BlobStore& store, GcPlan& plan,
                          const GcOptions& options = {});

} // namespace pagable::gc
