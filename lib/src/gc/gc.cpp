// SPDX-License-Identifier: MIT OR Apache-2.0
// gc: mark (bitmap over blob row ids, from the roots of one read snapshot, counting each
// pack's live bytes), then sweep in batches of rows, each batch one write transaction that
// first marks from any root committed since the plan -- so a root committed before the batch
// keeps its blobs, and one committing after it confirms its blobs in its own transaction and
// fails cleanly when one is gone -- then remove and rewrite packs that are mostly dead, a few
// per transaction. A pack in flight (blobs stored, root not yet committed) may lose a blob it
// reused: its commit_root then fails with not_found naming the blob and commits nothing, so
// no root is ever broken, and Archive::pack reads its file again (up to 3 times; a stream
// cannot be read again and fails). All SQL is behind store::MaintenanceSession.
#include <pagable/gc.hpp>
#include "store/maintenance.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <tuple>

namespace pagable::gc {

namespace detail {

struct PlanState {
  std::unique_ptr<store::MaintenanceSession> session;
  store::IdBitmap marked;
  std::int64_t max_id = 0;
  std::int64_t newer_seen = 0; // rows above max_id already marked from (mark_newer_rows)
  // Roots already marked: (name, key, schema key).
  std::set<std::tuple<std::string, Key, std::optional<Key>>> known_roots;
  // Packs to remove or rewrite, with the stored bytes each is expected to give back and the
  // live bytes a rewrite writes again (0: the pack is removed).
  struct PackAction {
    std::int64_t id = 0;
    std::uint64_t gain = 0;
    std::uint64_t live_bytes = 0;
  };
  std::vector<PackAction> pack_actions;
  bool executed = false;
};

} // namespace detail

GcPlan::GcPlan() = default;
GcPlan::~GcPlan() = default;
GcPlan::GcPlan(GcPlan&&) noexcept = default;
GcPlan& GcPlan::operator=(GcPlan&&) noexcept = default;

namespace {

// Marks from every root not marked yet; returns how many roots there are.
Result<std::uint64_t> mark_roots(detail::PlanState& state)
{
  PAGABLE_TRY_ASSIGN(const auto roots, state.session->roots());
  for (const auto& root : roots) {
    if (!root.key) {
      continue; // an unreadable root protects nothing it could name; verify reports it
    }
    auto id = std::make_tuple(root.name, *root.key, root.schema_key);
    if (state.known_roots.count(id) != 0) {
      continue;
    }
    PAGABLE_TRY(store::mark_reachable(*state.session, *root.key, state.marked));
    if (root.schema_key) {
      PAGABLE_TRY(store::mark_reachable(*state.session, *root.schema_key, state.marked));
    }
    state.known_roots.insert(std::move(id));
  }
  return static_cast<std::uint64_t>(roots.size());
}

// Rows written since the plan (ids above max_id: format 6 never gives an id twice) belong to
// documents being packed, whose roots are not committed yet. What they name is kept: from
// format 6 a child list names rows by id, so a child removed under such a row would leave it
// naming a row that is gone for good (a child named by key is simply stored again).
Result<void> mark_newer_rows(detail::PlanState& state)
{
  std::vector<Key> newer;
  PAGABLE_TRY(state.session->for_each_blob(
      std::max(state.max_id, state.newer_seen), std::numeric_limits<std::int64_t>::max(), 0,
      [&](const store::IndexRow& row) -> Result<void> {
        state.newer_seen = row.id;
        if (auto k = Key::from_bytes(row.key)) {
          newer.push_back(*k);
        }
        return {};
      }));
  for (const Key& k : newer) {
    PAGABLE_TRY(store::mark_reachable(*state.session, k, state.marked));
  }
  return {};
}

std::uint64_t index_row_bytes(std::size_t children_bytes)
{
  return Key::k_size + children_bytes + 16;
}

} // namespace

Result<GcPlan> plan(const store::BlobStore& store, const GcOptions& options)
{
  auto state = std::make_unique<detail::PlanState>();
  auto writable = store::open_maintenance(store, store::SessionAccess::write);
  if (writable) {
    state->session = std::move(writable).value();
  } else {
    PAGABLE_TRY_ASSIGN(state->session, store::open_maintenance(store, store::SessionAccess::read));
  }
  store::MaintenanceSession& s = *state->session;
  PAGABLE_TRY(s.begin_read());

  GcPlan result;
  GcFigures& f = result.figures;
  PAGABLE_TRY_ASSIGN(f.roots, mark_roots(*state));
  PAGABLE_TRY_ASSIGN(state->max_id, s.max_blob_id());

  struct Usage {
    std::uint64_t live_bytes = 0;
    std::uint64_t live_blobs = 0;
  };
  std::map<std::int64_t, Usage> usage; // one entry per pack: grows with packs, not blobs
  PAGABLE_TRY(s.for_each_blob(0, state->max_id, 0, [&](const store::IndexRow& row) -> Result<void> {
    ++f.blobs_total;
    const auto size = static_cast<std::uint64_t>(std::max<std::int64_t>(row.size, 0));
    if (state->marked.test(row.id)) {
      ++f.blobs_live;
      auto& u = usage[row.pack];
      u.live_bytes += size;
      ++u.live_blobs;
    } else {
      ++f.blobs_removed;
      f.bytes_logical_removed += size;
      f.bytes_freed += index_row_bytes(row.children.size());
    }
    return {};
  }));
  PAGABLE_TRY(s.for_each_pack([&](const store::PackInfo& p) -> Result<void> {
    if (p.is_delta_base) {
      return {}; // delta bases stay decodable while anything decodes from them
    }
    const auto it = usage.find(p.id);
    const Usage u = it == usage.end() ? Usage{} : it->second;
    const auto stored = static_cast<std::uint64_t>(std::max<std::int64_t>(p.stored_bytes, 0));
    if (u.live_blobs != 0 && p.codec != 0 && p.codec != 1) {
      return {}; // live packs of reserved codecs are not rewritten (removing needs no decoding)
    }
    if (u.live_blobs == 0) {
      ++f.packs_removed;
      f.bytes_freed += stored;
      state->pack_actions.push_back({p.id, stored, 0});
    } else if (p.raw_size > 0 &&
               static_cast<double>(u.live_bytes) <
                   options.rewrite_below_live_fraction * static_cast<double>(p.raw_size)) {
      const auto raw = static_cast<std::uint64_t>(p.raw_size);
      const std::uint64_t dead = raw > u.live_bytes ? raw - u.live_bytes : 0;
      const std::uint64_t gain = static_cast<std::uint64_t>(
          static_cast<double>(stored) * static_cast<double>(dead) / static_cast<double>(raw));
      ++f.packs_rewritten;
      f.bytes_freed += gain;
      state->pack_actions.push_back({p.id, gain, u.live_bytes});
    }
    return {};
  }));
  s.rollback(); // the end of the read snapshot
  result.m_state = std::move(state);
  return result;
}

Result<GcFigures> execute(const store::BlobStore&, GcPlan& plan, const GcOptions& options)
{
  if (!plan.m_state || plan.m_state->executed) {
    return make_error(Errc::invalid_argument, "gc: this plan has been executed already");
  }
  detail::PlanState& state = *plan.m_state;
  store::MaintenanceSession& s = *state.session;
  if (!s.writable()) {
    return make_error(Errc::invalid_argument,
                      "gc: the archive was opened read-only (a dry run cannot execute)");
  }
  state.executed = true;
  GcFigures done;
  done.roots = plan.figures.roots;
  done.blobs_total = plan.figures.blobs_total;

  // Sweep, in short transactions. Each one first marks what roots committed since the plan
  // reach: a root committed before this transaction is marked here; one committed after it
  // confirmed its blobs inside its own transaction, after ours.
  const std::size_t batch = std::max<std::size_t>(options.sweep_batch, 1);
  std::int64_t cursor = 0;
  while (cursor < state.max_id) {
    PAGABLE_TRY(s.begin_write());
    auto step = [&]() -> Result<bool> {
      PAGABLE_TRY(mark_roots(state));
      PAGABLE_TRY(mark_newer_rows(state));
      std::vector<std::pair<std::int64_t, std::uint64_t>> doomed; // id, index bytes
      std::int64_t last = cursor;
      PAGABLE_TRY(s.for_each_blob(
          cursor, state.max_id, batch, [&](const store::IndexRow& row) -> Result<void> {
            last = row.id;
            if (!state.marked.test(row.id)) {
              doomed.emplace_back(row.id, index_row_bytes(row.children.size()));
              done.bytes_logical_removed +=
                  static_cast<std::uint64_t>(std::max<std::int64_t>(row.size, 0));
            }
            return {};
          }));
      for (const auto& [id, bytes] : doomed) {
        PAGABLE_TRY_ASSIGN(const bool removed, s.delete_blob(id));
        if (removed) {
          ++done.blobs_removed;
          done.bytes_freed += bytes;
        }
      }
      const bool more = last != cursor;
      cursor = more ? last : state.max_id;
      return more;
    }();
    if (!step) {
      s.rollback();
      return std::move(step).error();
    }
    PAGABLE_TRY(s.commit());
    PAGABLE_TRY(s.checkpoint());
  }
  done.blobs_live = done.blobs_total - done.blobs_removed;

  // Packs: remove the unused first (which needs almost no space: their pages go on SQLite's
  // free list), then rewrite the mostly dead into the pages those freed. A few per
  // transaction, and at most k_rewrite_bytes of live content rewritten in one, each followed
  // by a WAL truncation: every step needs little free disk, so gc works on a full disk
  // (issue 20: one transaction of 64 rewrites grew the WAL past the free space).
  constexpr std::uint64_t k_rewrite_bytes = 4 * 1024 * 1024;
  std::stable_partition(state.pack_actions.begin(), state.pack_actions.end(),
                        [](const detail::PlanState::PackAction& a) { return a.live_bytes == 0; });
  const std::size_t per_txn = std::max<std::size_t>(options.packs_per_transaction, 1);
  for (std::size_t i = 0, end = 0; i < state.pack_actions.size(); i = end) {
    std::vector<std::int64_t> ids;
    std::uint64_t expected = 0;
    std::uint64_t rewritten = 0;
    for (end = i; end < state.pack_actions.size() && ids.size() < per_txn; ++end) {
      const auto& a = state.pack_actions[end];
      if (!ids.empty() && rewritten + a.live_bytes > k_rewrite_bytes) {
        break;
      }
      ids.push_back(a.id);
      expected += a.gain;
      rewritten += a.live_bytes;
    }
    PAGABLE_TRY(s.begin_write());
    auto r = s.rewrite_packs(ids);
    if (!r) {
      s.rollback();
      return std::move(r).error();
    }
    PAGABLE_TRY(s.commit());
    PAGABLE_TRY(s.checkpoint());
    done.packs_removed += r->packs_removed;
    done.packs_rewritten += r->packs_rewritten;
    // The plan's estimate, so that a dry run and a run report the same figures; packs left
    // alone (skipped) give nothing back.
    if (r->packs_skipped == 0) {
      done.bytes_freed += expected;
    } else if (r->stored_bytes_before > r->stored_bytes_after) {
      done.bytes_freed += r->stored_bytes_before - r->stored_bytes_after;
    }
  }
  if (options.compact) {
    PAGABLE_TRY(s.vacuum());
  }
  return done;
}

} // namespace pagable::gc
