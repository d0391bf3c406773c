// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/pageout.hpp>

#include <exception>

namespace pagable::pageout {

struct PageOutSession::Slot {
  enum class State { claimed, done, failed };
  std::shared_ptr<const Node> pin; // keeps the address from being reused while keyed by it
  State state = State::claimed;
  Key key;
};

// Marks every slot its worker claimed and did not finish as failed when the worker leaves
// page_out, whatever the path -- the seed dropped such slots and let waiters hang.
class PageOutSession::ClaimGuard {
public:
  explicit ClaimGuard(PageOutSession& session) : m_session(session) {}
  ~ClaimGuard()
  {
    bool any = false;
    {
      std::lock_guard lock(m_session.m_mutex);
      for (const auto& slot : m_claimed) {
        if (slot->state == Slot::State::claimed) {
          slot->state = Slot::State::failed;
          any = true;
        }
      }
      if (any) {
        m_session.m_failed = true;
      }
    }
    if (any) {
      m_session.m_changed.notify_all();
    }
  }
  void add(std::shared_ptr<Slot> slot) { m_claimed.push_back(std::move(slot)); }

private:
  PageOutSession& m_session;
  std::vector<std::shared_ptr<Slot>> m_claimed;
};

PageOutSession::PageOutSession(store::BlobWriter& store, PageOutOptions options)
    : m_store(store), m_options(options)
{
}

PageOutSession::~PageOutSession() = default;

bool PageOutSession::failed() const
{
  std::lock_guard lock(m_mutex);
  return m_failed;
}

PageOutCounters PageOutSession::counters() const
{
  std::lock_guard lock(m_mutex);
  return m_counters;
}

void PageOutSession::fail_session()
{
  {
    std::lock_guard lock(m_mutex);
    m_failed = true;
  }
  m_changed.notify_all();
}

std::shared_ptr<PageOutSession::Slot>
PageOutSession::slot_for(const std::shared_ptr<const Node>& node, bool& claimed)
{
  std::lock_guard lock(m_mutex);
  auto [it, inserted] = m_slots.try_emplace(node.get());
  if (inserted) {
    it->second = std::make_shared<Slot>();
    it->second->pin = node;
  }
  claimed = inserted;
  return it->second;
}

Result<Key> PageOutSession::wait_for(Slot& slot)
{
  std::unique_lock lock(m_mutex);
  if (slot.state == Slot::State::claimed) {
    ++m_counters.waited;
  }
  const bool settled = m_changed.wait_for(lock, m_options.wait_limit, [&] {
    return slot.state != Slot::State::claimed || m_failed;
  });
  if (slot.state == Slot::State::done) {
    return slot.key;
  }
  if (!settled) {
    // Nobody finished this node in time: fail the session so that nobody else waits either.
    m_failed = true;
    lock.unlock();
    m_changed.notify_all();
    return make_error(Errc::another_failed,
                      "gave up waiting for another worker's node after " +
                          std::to_string(m_options.wait_limit.count()) + " ms");
  }
  return make_error(Errc::another_failed, "another worker already failed");
}

Result<Key> PageOutSession::store_with_children(
    Bytes data, const std::vector<std::shared_ptr<const Node>>& children)
{
  Blob blob;
  blob.data = std::move(data);
  blob.children.reserve(children.size());
  for (const auto& child : children) {
    bool claimed = false;
    auto slot = slot_for(child, claimed);
    if (claimed) {
      // Every child was claimed (by someone) before its parent finishes; reaching here means
      // the caller broke that order. Fail loudly rather than wait for nobody.
      std::lock_guard lock(m_mutex);
      slot->state = Slot::State::failed;
      m_failed = true;
      m_changed.notify_all();
      return make_error(Errc::internal, "a child node was stored before it was claimed");
    }
    PAGABLE_TRY_ASSIGN(const Key key, wait_for(*slot));
    blob.children.push_back(key);
  }
  {
    std::lock_guard lock(m_mutex);
    ++m_counters.stored;
  }
  return m_store.put(std::move(blob));
}

Result<Key> PageOutSession::page_out(Serialized item)
{
  struct Finish {
    std::shared_ptr<Slot> slot;
    Serialized serialized;
  };
  struct Task {
    std::shared_ptr<const Node> start; // set for a Start task
    std::optional<Finish> finish;      // set for a Finish task
  };

  ClaimGuard guard(*this);
  const auto own_failure = [&](Error e) -> Result<Key> {
    fail_session(); // the guard marks our claimed slots failed on the way out
    return e;
  };

  std::vector<Task> tasks;
  for (const auto& child : item.children) {
    tasks.push_back(Task{child, std::nullopt});
  }
  while (!tasks.empty()) {
    Task task = std::move(tasks.back());
    tasks.pop_back();
    if (failed()) {
      return make_error(Errc::another_failed, "another worker already failed");
    }
    if (task.start) {
      bool claimed = false;
      auto slot = slot_for(task.start, claimed);
      if (!claimed) {
        PAGABLE_TRY(wait_for(*slot)); // another worker owns it; we only need it finished
        continue;
      }
      guard.add(slot);
      Result<Serialized> ser = [&]() -> Result<Serialized> {
        try {
          return task.start->serialize();
        } catch (const std::exception& e) {
          return make_error(Errc::internal, std::string("serialization threw: ") + e.what());
        } catch (...) {
          return make_error(Errc::internal, "serialization threw a non-standard exception");
        }
      }();
      if (!ser) {
        return own_failure(std::move(ser).error());
      }
      {
        std::lock_guard lock(m_mutex);
        ++m_counters.serialized;
      }
      std::vector<std::shared_ptr<const Node>> children = ser->children;
      tasks.push_back(Task{nullptr, Finish{slot, std::move(ser).value()}});
      for (auto& child : children) {
        tasks.push_back(Task{std::move(child), std::nullopt});
      }
      continue;
    }
    Finish& f = *task.finish;
    auto key = store_with_children(std::move(f.serialized.data), f.serialized.children);
    if (!key) {
      if (key.error().code() == Errc::another_failed) {
        return std::move(key).error();
      }
      return own_failure(std::move(key).error());
    }
    {
      std::lock_guard lock(m_mutex);
      f.slot->state = Slot::State::done;
      f.slot->key = *key;
    }
    m_changed.notify_all();
  }
  auto key = store_with_children(std::move(item.data), item.children);
  if (!key && key.error().code() != Errc::another_failed) {
    return own_failure(std::move(key).error());
  }
  return key;
}

} // namespace pagable::pageout
