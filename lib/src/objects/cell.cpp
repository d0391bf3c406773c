// SPDX-License-Identifier: MIT OR Apache-2.0
#include "objects/cell.hpp"

#include <utility>
#include <vector>

namespace pagable::objects {

Pager::Core::Core(Archive& a, PagerOptions o, pack::BoundarySettings b)
    : archive(a), store(a.store()), options(o), boundaries(b),
      workers(o.workers == 0 ? util::hardware_threads() : o.workers)
{
}

void Pager::Core::lru_push_front(detail::Cell& c)
{
  c.lru_prev = nullptr;
  c.lru_next = lru_head;
  if (lru_head != nullptr) {
    lru_head->lru_prev = &c;
  }
  lru_head = &c;
  if (lru_tail == nullptr) {
    lru_tail = &c;
  }
  c.in_lru = true;
}

void Pager::Core::lru_remove(detail::Cell& c)
{
  if (!c.in_lru) {
    return;
  }
  (c.lru_prev != nullptr ? c.lru_prev->lru_next : lru_head) = c.lru_next;
  (c.lru_next != nullptr ? c.lru_next->lru_prev : lru_tail) = c.lru_prev;
  c.lru_prev = c.lru_next = nullptr;
  c.in_lru = false;
}

void Pager::Core::add_resident(std::size_t bytes)
{
  stats.resident_bytes += bytes;
  ++stats.resident_values;
  stats.peak_resident_bytes = std::max(stats.peak_resident_bytes, stats.resident_bytes);
}

void Pager::Core::record_error(Error e)
{
  if (errors.size() >= k_max_errors) {
    errors.pop_front();
  }
  errors.push_back(std::move(e));
}

namespace detail {

Cell::~Cell()
{
  std::lock_guard lock(m_core->mutex);
  m_core->lru_remove(*this);
  if (value) {
    m_core->stats.resident_bytes -= resident_bytes;
    --m_core->stats.resident_values;
  }
  --m_core->stats.values;
  if (registered) {
    const auto it = m_core->identities.find(IdentityKey{m_ops.identity, *stored_key});
    // Another cell may have taken the entry since (this one's weak_ptr expired first).
    if (it != m_core->identities.end() && it->second.expired()) {
      m_core->identities.erase(it);
    }
  }
  // `value` is destroyed after the lock is released (members outlive the body).
}

std::optional<Key> Cell::key() const
{
  if (m_key_published.load(std::memory_order_acquire)) {
    return stored_key; // set once, before the flag: no lock needed
  }
  std::lock_guard lock(m_core->mutex);
  return stored_key;
}

namespace {

class ChildCollector final : public HandleSink {
public:
  ChildCollector(const Registry& registry, std::vector<std::shared_ptr<pageout::Node>>& out)
      : m_registry(registry), m_out(out)
  {
  }
  void handle(const std::shared_ptr<Cell>& cell) override { m_out.push_back(cell); }
  void fail(Error error) override
  {
    if (!m_error) {
      m_error = std::move(error);
    }
  }
  const Registry& registry() const override { return m_registry; }
  std::optional<Error> m_error;

private:
  const Registry& m_registry;
  std::vector<std::shared_ptr<pageout::Node>>& m_out;
};

} // namespace

Result<void> Cell::children(std::vector<std::shared_ptr<pageout::Node>>& out) const
{
  std::shared_ptr<const void> v;
  {
    std::lock_guard lock(m_core->mutex);
    v = value;
  }
  if (!v) {
    return make_error(Errc::internal, describe() + " has neither a value nor a key");
  }
  ChildCollector sink(m_core->registry, out);
  m_ops.handles(v.get(), sink);
  if (sink.m_error) {
    return std::move(*sink.m_error);
  }
  return {};
}

Result<Key> Cell::store()
{
  std::shared_ptr<const void> v;
  {
    std::lock_guard lock(m_core->mutex);
    if (stored_key) {
      return *stored_key;
    }
    v = value;
  }
  if (!v) {
    return make_error(Errc::internal, describe() + " has neither a value nor a key");
  }
  PAGABLE_TRY_ASSIGN(const auto stored, encode_value(*m_core, m_ops, v.get()));
  std::lock_guard lock(m_core->mutex);
  ++m_core->stats.serialized;
  note_stored(*this, stored.first, stored.second);
  return stored.first;
}

std::string Cell::describe() const
{
  std::shared_ptr<const void> v;
  {
    std::lock_guard lock(m_core->mutex);
    v = value ? value : last.lock();
  }
  if (v) {
    // The most-derived type's stable name, when it has one.
    if (const TypeEntry* e = m_core->registry.find(m_ops.dynamic_type(v.get()))) {
      return "a " + e->name + " value";
    }
  }
  return "a " + std::string(m_ops.cpp_name) + " value";
}

Result<std::pair<Key, std::uint64_t>> Cell::stored_node()
{
  {
    std::lock_guard lock(m_core->mutex);
    if (!stored_key) {
      return make_error(Errc::internal, describe() + " is written before it was stored");
    }
    if (fingerprint_known) {
      return std::make_pair(*stored_key, fingerprint);
    }
  }
  const Key k = *key();
  PAGABLE_TRY_ASSIGN(const std::uint64_t fp, stored_fingerprint(*m_core, k));
  std::lock_guard lock(m_core->mutex);
  fingerprint = fp;
  fingerprint_known = true;
  return std::make_pair(k, fp);
}

void note_stored(Cell& cell, const Key& key, std::uint64_t fp)
{
  Pager::Core& core = cell.core();
  if (!cell.stored_key) {
    cell.publish_key(key);
  }
  cell.fingerprint = fp;
  cell.fingerprint_known = true;
  if (cell.state == Cell::State::unpageable) {
    cell.state = Cell::State::resident; // stored at last (a later page-out succeeded)
    if (cell.pins == 0 && !cell.victim && !cell.in_lru) {
      core.lru_push_front(cell);
    }
  }
  if (!cell.registered) {
    auto& slot = core.identities[IdentityKey{cell.ops().identity, key}];
    if (slot.expired()) {
      slot = cell.weak_from_this();
      cell.registered = true;
    }
  }
}

Result<std::shared_ptr<const void>> pin_locked(Cell& cell, std::unique_lock<std::mutex>& held)
{
  Pager::Core& core = cell.core();
  for (;;) {
    switch (cell.state) {
    case Cell::State::resident:
    case Cell::State::unpageable:
      if (cell.pins++ == 0) {
        core.lru_remove(cell);
      }
      return cell.value;
    case Cell::State::loading:
      core.changed.wait(held);
      continue;
    case Cell::State::paged_out:
      break;
    }
    ++core.stats.paged_in;
    if (auto alive = cell.last.lock()) {
      // Someone still holds the allocation it was paged out of: that is the object.
      ++core.stats.reused;
      cell.value = alive;
      cell.state = Cell::State::resident;
      cell.pins = 1;
      core.add_resident(cell.resident_bytes);
      return alive;
    }
    cell.state = Cell::State::loading;
    const Key key = *cell.stored_key;
    held.unlock();
    std::size_t resident = 0;
    auto decoded = decode_value(core, cell.ops(), key, resident);
    held.lock();
    if (!decoded) {
      cell.state = Cell::State::paged_out; // a later pin tries again
      core.changed.notify_all();
      return std::move(decoded).error();
    }
    ++core.stats.decodes;
    cell.value = *decoded;
    cell.last = cell.value;
    cell.resident_bytes = resident;
    cell.state = Cell::State::resident;
    cell.pins = 1;
    core.add_resident(resident);
    core.changed.notify_all();
    return std::move(decoded).value();
  }
}

Result<std::shared_ptr<const void>> pin_cell(const std::shared_ptr<Cell>& cell)
{
  if (!cell) {
    return make_error(Errc::invalid_argument, "pinning an empty handle");
  }
  Pager::Core& core = cell->core();
  std::shared_ptr<const void> v;
  bool grew = false;
  {
    std::unique_lock held(core.mutex);
    const bool was_out = cell->state == Cell::State::paged_out;
    PAGABLE_TRY_ASSIGN(v, pin_locked(*cell, held));
    grew = was_out && core.stats.resident_bytes > core.options.budget_bytes;
  }
  if (grew) {
    // The pin holds this value; others make room. A failed batch leaves values resident
    // (recorded in page_out_errors()), which is no reason to fail this pin.
    (void)enforce_budget(core);
  }
  return v;
}

std::shared_ptr<Cell> cell_for_key(Pager::Core& core, const ValueOps& ops, const Key& key)
{
  std::shared_ptr<Cell> cell;
  std::lock_guard lock(core.mutex);
  auto& slot = core.identities[IdentityKey{ops.identity, key}];
  cell = slot.lock();
  if (cell) {
    return cell;
  }
  cell = std::make_shared<Cell>(core.shared_from_this(), ops);
  cell->state = Cell::State::paged_out;
  cell->publish_key(key);
  cell->registered = true;
  slot = cell;
  ++core.stats.values;
  return cell;
}

std::shared_ptr<Cell> resident_cell(Pager::Core& core, const ValueOps& ops,
                                    std::shared_ptr<const void> value, std::size_t resident_bytes,
                                    bool& over_budget)
{
  auto cell = std::make_shared<Cell>(core.shared_from_this(), ops);
  std::lock_guard lock(core.mutex);
  cell->value = std::move(value);
  cell->resident_bytes = resident_bytes;
  ++core.stats.values;
  core.add_resident(resident_bytes);
  core.lru_push_front(*cell);
  over_budget = core.stats.resident_bytes > core.options.budget_bytes;
  return cell;
}

void repin_cell(Cell& cell) noexcept
{
  std::lock_guard lock(cell.core().mutex);
  ++cell.pins;
}

void unpin_cell(Cell& cell) noexcept
{
  Pager::Core& core = cell.core();
  std::lock_guard lock(core.mutex);
  if (--cell.pins == 0 && cell.state == Cell::State::resident && !cell.victim) {
    core.lru_push_front(cell);
  }
}

std::optional<Key> cell_key(const Cell& cell)
{
  return cell.key();
}

std::string describe_cell(const Cell& cell)
{
  return cell.describe();
}

void release_cell(std::shared_ptr<Cell>&& cell) noexcept
{
  // Handles released while this thread is already releasing one wait in `pending` and are
  // dropped by the outermost call's loop: a value's destructor releasing the handles it holds
  // adds to the list instead of recursing.
  thread_local std::vector<std::shared_ptr<Cell>>* pending = nullptr;
  if (pending != nullptr) {
    pending->push_back(std::move(cell));
    return;
  }
  std::vector<std::shared_ptr<Cell>> queue;
  pending = &queue;
  cell.reset();
  while (!queue.empty()) {
    std::shared_ptr<Cell> next = std::move(queue.back());
    queue.pop_back();
    next.reset();
  }
  pending = nullptr;
}

} // namespace detail
} // namespace pagable::objects
