// SPDX-License-Identifier: MIT OR Apache-2.0
// The pager: handles' cells, the budget, parallel page-out through the one walker
// (pageout::PageOutSession), commits.
#include <pagable/objects.hpp>
#include <pagable/schema.hpp>
#include <pagable/stored_schema.hpp>

#include "codec/navigate.hpp"
#include "objects/cell.hpp"
#include "objects/page_out_plan.hpp"

#include <atomic>
#include <chrono>
#include <utility>

namespace pagable::objects {

using detail::Cell;

namespace {

// Runs work() on the calling thread and on up to `helpers` threads of the pager's pool, and
// returns when every call has. work must not throw.
void run_on_pool(Pager::Core& core, std::size_t helpers, const std::function<void()>& work)
{
  util::ThreadPool* pool = nullptr;
  {
    std::lock_guard lock(core.mutex);
    pool = core.pool;
  }
  helpers = pool != nullptr ? std::min<std::size_t>(pool->size(), helpers) : 0;
  std::mutex m;
  std::condition_variable done;
  std::size_t running = helpers;
  for (std::size_t h = 0; h < helpers; ++h) {
    pool->submit([&] {
      work();
      std::lock_guard lock(m);
      if (--running == 0) {
        done.notify_all();
      }
    });
  }
  work();
  std::unique_lock lock(m);
  done.wait(lock, [&] { return running == 0; });
}

// Runs fn(0) .. fn(n - 1) on the calling thread and the pager's pool, and returns when every
// call has. fn must not throw.
void run_parallel(Pager::Core& core, std::size_t n, const std::function<void(std::size_t)>& fn)
{
  std::atomic<std::size_t> next{0};
  run_on_pool(core, n > 0 ? n - 1 : 0, [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < n;) {
      fn(i);
    }
  });
}

// A victim of a page-out batch is settled once the walker is done with it: stored and
// unpinned, its value is dropped (into `garbage`, destroyed by the caller outside the lock);
// stored and pinned, it stays until unpinned; not stored, it becomes unpageable.
// REQUIRES: core mutex held.
bool settle_victim(Pager::Core& core, Cell& c, std::vector<std::shared_ptr<const void>>& garbage)
{
  if (!c.victim) {
    return false;
  }
  c.victim = false;
  if (!c.stored_key) {
    if (c.state == Cell::State::resident) {
      c.state = Cell::State::unpageable;
      ++core.stats.unpageable;
    }
    return false;
  }
  if (c.state != Cell::State::resident) {
    return false;
  }
  if (c.pins > 0) {
    return false; // pinned meanwhile: into the LRU when unpinned
  }
  c.last = c.value;
  garbage.push_back(std::move(c.value));
  c.value.reset();
  c.state = Cell::State::paged_out;
  core.stats.resident_bytes -= c.resident_bytes;
  --core.stats.resident_values;
  ++core.stats.paged_out;
  return true;
}

struct BatchResult {
  std::uint64_t paged_out = 0;
  std::vector<std::optional<Result<Key>>> keys; // per item
  std::vector<std::shared_ptr<Cell>> items;
};

// Pages out everything `roots` reach that is not stored, in parallel, holding the archive's
// write lock; settles victims as soon as their own page-out ends, so a batch frees memory as
// it goes rather than at its end. Workers take values whose children are stored
// (PageOutPlan); what never gets there (a failure's ancestors, cycles) goes through the
// walker last, which reports why.
Result<BatchResult> page_out_graph(Pager::Core& core, const std::vector<std::shared_ptr<Cell>>& roots)
{
  BatchResult batch;
  auto written = core.archive.write_exclusively([&]() -> Result<void> {
    detail::PageOutPlan plan(roots);
    const auto& items = plan.items();
    batch.keys.resize(items.size());
    pageout::PageOutSession session;
    std::atomic<std::uint64_t> dropped{0};
    const auto page_out_item = [&](std::size_t i) {
      const auto& cell = items[i];
      batch.keys[i] = session.page_out(cell);
      std::vector<std::shared_ptr<const void>> garbage;
      std::optional<Error> failure;
      if (!*batch.keys[i]) {
        failure = Error(batch.keys[i]->error()).with_context(cell->describe());
      }
      {
        std::lock_guard lock(core.mutex);
        if (failure) {
          core.record_error(std::move(*failure));
        }
        if (settle_victim(core, *cell, garbage)) {
          dropped.fetch_add(1);
        }
      }
      // garbage (the values let go) is destroyed here, outside the lock
      return batch.keys[i]->has_value();
    };
    const auto left = plan.run(page_out_item, [&](const std::function<void()>& work) {
      run_on_pool(core, items.empty() ? 0 : items.size() - 1, work);
    });
    run_parallel(core, left.size(), [&](std::size_t j) { (void)page_out_item(left[j]); });
    batch.paged_out = dropped.load();
    {
      std::lock_guard lock(core.mutex);
      core.stats.page_out_waits += session.counters().waited;
    }
    batch.items = std::move(plan.items());
    return {};
  });
  PAGABLE_TRY(std::move(written));
  return batch;
}

// Settles victims that needed no page-out (stored already), and any the batch left.
std::uint64_t settle_all(Pager::Core& core, std::vector<std::shared_ptr<Cell>>& victims)
{
  std::uint64_t dropped = 0;
  std::vector<std::shared_ptr<const void>> garbage;
  {
    std::lock_guard lock(core.mutex);
    for (const auto& v : victims) {
      dropped += settle_victim(core, *v, garbage) ? 1 : 0;
    }
  }
  garbage.clear();
  victims.clear(); // outside the lock: a cell's destructor takes it
  return dropped;
}

// Chooses victims from the LRU's cold end until `target` bytes. REQUIRES: mutex held.
std::vector<std::shared_ptr<Cell>> choose_victims(Pager::Core& core, std::size_t target)
{
  std::vector<std::shared_ptr<Cell>> victims;
  std::size_t chosen = 0;
  for (Cell* c = core.lru_tail; c != nullptr && chosen < target;) {
    Cell* colder_next = c->lru_prev;
    if (auto alive = c->weak_from_this().lock()) { // not one being destroyed
      core.lru_remove(*c);
      c->victim = true;
      chosen += c->resident_bytes;
      victims.push_back(std::move(alive));
    }
    c = colder_next;
  }
  return victims;
}

} // namespace

namespace detail {

Result<void> enforce_budget(Pager::Core& core)
{
  std::vector<std::shared_ptr<Cell>> victims;
  std::unique_lock lock(core.mutex);
  for (;;) {
    if (core.stats.resident_bytes <= core.options.budget_bytes) {
      return {};
    }
    if (core.evicting) {
      core.changed.wait(lock);
      continue;
    }
    const std::size_t low = core.options.budget_bytes - std::min(core.batch_bytes(), core.options.budget_bytes);
    victims = choose_victims(core, core.stats.resident_bytes - low);
    if (victims.empty()) {
      return {}; // everything resident is pinned (or unpageable)
    }
    core.evicting = true;
    ++core.stats.page_out_batches;
    lock.unlock();
    auto batch = page_out_graph(core, victims);
    const std::uint64_t dropped = settle_all(core, victims) + (batch ? batch->paged_out : 0);
    if (batch) {
      batch->items.clear(); // outside the lock
    }
    lock.lock();
    core.evicting = false;
    core.changed.notify_all();
    if (!batch) {
      return std::move(batch).error();
    }
    if (dropped == 0) {
      return {}; // nothing could go (pinned meanwhile, or failed): do not spin
    }
  }
}

} // namespace detail

Pager::Pager(std::shared_ptr<Core> core) : m_core(std::move(core))
{
  if (m_core->workers > 1) {
    m_pool = std::make_unique<util::ThreadPool>(m_core->workers - 1);
    m_core->pool = m_pool.get();
  }
}

Pager::~Pager()
{
  std::unique_lock lock(m_core->mutex);
  m_core->changed.wait(lock, [&] { return !m_core->evicting; });
  m_core->pool = nullptr;
  lock.unlock();
  m_pool.reset(); // handles that outlive the pager page out on their own thread
}

Result<std::unique_ptr<Pager>> Pager::open(Archive& archive, PagerOptions options)
{
  if (options.budget_bytes == 0) {
    return make_error(Errc::invalid_argument, "a pager needs a budget of at least one byte");
  }
  // The archive's boundary settings: every key depends on them (DESIGN §3). An archive that
  // lacks some records them as a pack would; one opened read-only (to page values in) is read.
  pack::BoundarySettings bounds;
  auto recorded = archive.write_exclusively([&]() -> Result<void> {
    PAGABLE_TRY_ASSIGN(bounds, archive.boundaries());
    return {};
  });
  if (!recorded) {
    PAGABLE_TRY_ASSIGN(auto settings, archive.store().settings());
    if (settings.count("pack.node_bytes") == 0) {
      return std::move(recorded).error();
    }
    PAGABLE_TRY_ASSIGN(bounds, pack::BoundarySettings::from_archive(std::move(settings)));
  }
  return std::unique_ptr<Pager>(new Pager(std::make_shared<Core>(archive, options, bounds)));
}

Registry& Pager::types() noexcept
{
  return m_core->registry;
}

std::shared_ptr<Cell> Pager::make_cell(const detail::ValueOps& ops, std::shared_ptr<const void> value,
                                       std::size_t resident_bytes)
{
  bool over = false;
  auto cell = detail::resident_cell(*m_core, ops, std::move(value), resident_bytes, over);
  if (over) {
    (void)detail::enforce_budget(*m_core); // failures stay resident, in page_out_errors()
  }
  return cell;
}

std::shared_ptr<Cell> Pager::cell_for_key(const detail::ValueOps& ops, const Key& key)
{
  return detail::cell_for_key(*m_core, ops, key);
}

Result<Key> Pager::root_key(std::string_view name_or_key) const
{
  PAGABLE_TRY_ASSIGN(const auto root, m_core->archive.find_root(name_or_key));
  return root.key;
}

Result<Key> Pager::store_cell(const std::shared_ptr<Cell>& cell)
{
  if (!cell) {
    return make_error(Errc::invalid_argument, "storing an empty handle");
  }
  if (auto key = cell->key()) {
    return *key;
  }
  PAGABLE_TRY_ASSIGN(auto batch, page_out_graph(*m_core, {cell}));
  for (std::size_t i = 0; i < batch.items.size(); ++i) {
    if (batch.items[i] == cell && batch.keys[i]) {
      auto r = std::move(*batch.keys[i]);
      batch.items.clear();
      return r;
    }
  }
  if (auto key = cell->key()) {
    return *key;
  }
  return make_error(Errc::internal, "the value was not paged out");
}

Result<nlohmann::json> Pager::schema_for(const detail::ValueOps& ops)
{
  SchemaContext ctx(m_core->registry);
  nlohmann::json root = ops.schema(ctx);
  if (ctx.error()) {
    return std::move(*ctx.error());
  }
  nlohmann::json doc = {{"$schema", "https://json-schema.org/draft/2020-12/schema"}};
  for (auto& [k, v] : root.items()) {
    doc[k] = v;
  }
  doc["$defs"] = std::move(ctx.defs());
  return doc;
}

Result<CommitReport> Pager::commit_cell(const std::shared_ptr<Cell>& cell, const CommitRequest& request,
                                        const nlohmann::json& schema_doc)
{
  if (!cell) {
    return make_error(Errc::invalid_argument, "committing an empty handle");
  }
  if (request.name.empty()) {
    return make_error(Errc::invalid_argument, "a root needs a name");
  }
  const auto t0 = std::chrono::steady_clock::now();
  PAGABLE_TRY_ASSIGN(const auto compiled, schema::compile_schema(schema_doc, {}, "urn:pagable:objects"));
  const std::uint64_t before = stats().serialized;
  PAGABLE_TRY_ASSIGN(const Key key, store_cell(cell));
  CommitReport report;
  PAGABLE_TRY(m_core->archive.write_exclusively([&]() -> Result<void> {
    PAGABLE_TRY_ASSIGN(report.schema_key, stored_schema::put(m_core->store, *compiled));
    store::RootRecord root;
    root.name = request.name;
    root.key = key;
    root.schema_key = report.schema_key;
    root.labels = request.labels;
    root.stats_json = nlohmann::json{{"source", "objects"}, {"type", std::string(cell->ops().cpp_name)}}.dump();
    PAGABLE_TRY_ASSIGN(report.root, m_core->store.commit_root(std::move(root)));
    return {};
  }));
  report.serialized = stats().serialized - before;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

Result<std::uint64_t> Pager::page_out_unpinned()
{
  std::vector<std::shared_ptr<Cell>> victims;
  {
    std::unique_lock lock(m_core->mutex);
    m_core->changed.wait(lock, [&] { return !m_core->evicting; });
    victims = choose_victims(*m_core, SIZE_MAX);
    if (victims.empty()) {
      return std::uint64_t{0};
    }
    m_core->evicting = true;
  }
  auto batch = page_out_graph(*m_core, victims);
  const std::uint64_t dropped = settle_all(*m_core, victims) + (batch ? batch->paged_out : 0);
  if (batch) {
    batch->items.clear();
  }
  {
    std::lock_guard lock(m_core->mutex);
    m_core->evicting = false;
  }
  m_core->changed.notify_all();
  if (!batch) {
    return std::move(batch).error();
  }
  return dropped;
}

Result<void> Pager::trim()
{
  return detail::enforce_budget(*m_core);
}

std::vector<Error> Pager::page_out_errors() const
{
  std::lock_guard lock(m_core->mutex);
  return {m_core->errors.begin(), m_core->errors.end()};
}

PagerStats Pager::stats() const
{
  std::lock_guard lock(m_core->mutex);
  return m_core->stats;
}

namespace detail {

Result<std::uint64_t> stored_fingerprint(Pager::Core& core, const Key& root)
{
  {
    std::lock_guard lock(core.mutex);
    if (const std::uint64_t* fp = core.fingerprints.find(root)) {
      return *fp;
    }
  }
  // Post-order over the stored sub-graph, iteratively: a node's fingerprint needs its
  // children's. Each frame keeps only its children's keys, not its data.
  struct Frame {
    Key key;
    std::vector<Key> children;
    std::size_t next = 0;
    std::uint64_t h = 0;
  };
  std::unordered_map<Key, std::uint64_t> memo;
  std::vector<Frame> stack;
  const auto enter = [&](const Key& key) -> Result<void> {
    PAGABLE_TRY_ASSIGN(auto stored, core.store.get(key));
    PAGABLE_TRY_ASSIGN(auto blob, codec::checked_blob(key, std::move(stored)));
    {
      std::lock_guard lock(core.mutex);
      ++core.stats.fingerprints_read;
    }
    stack.push_back(Frame{key, blob->children, 0, codec::content_hash(core.boundaries.fingerprint, blob->data)});
    return {};
  };
  const auto known = [&](const Key& key) -> std::optional<std::uint64_t> {
    if (const auto it = memo.find(key); it != memo.end()) {
      return it->second;
    }
    std::lock_guard lock(core.mutex);
    if (const std::uint64_t* fp = core.fingerprints.find(key)) {
      return *fp;
    }
    return std::nullopt;
  };
  PAGABLE_TRY(enter(root));
  for (;;) {
    Frame& top = stack.back();
    if (top.next < top.children.size()) {
      const Key child = top.children[top.next];
      if (const auto fp = known(child)) {
        top.h = codec::mix64(top.h ^ *fp);
        ++top.next;
        continue;
      }
      PAGABLE_TRY(enter(child));
      continue;
    }
    const std::uint64_t h = top.h;
    memo[top.key] = h;
    {
      std::lock_guard lock(core.mutex);
      core.fingerprints.insert(top.key, h, 1);
    }
    stack.pop_back();
    if (stack.empty()) {
      return h;
    }
    Frame& parent = stack.back();
    parent.h = codec::mix64(parent.h ^ h);
    ++parent.next;
  }
}

} // namespace detail
} // namespace pagable::objects
