// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/pageout.hpp>

#include <exception>
#include <utility>

namespace pagable::pageout {

// One worker's page_out call: what it waits for, so that a wait closing a cycle is seen.
struct PageOutSession::Worker {
  const Slot* waiting_on = nullptr; // guarded by the session's mutex
  // Why the node it waited for failed, once one did: its own claimed nodes reach that node.
  std::shared_ptr<const std::string> reached;
};

struct PageOutSession::Slot {
  enum class State : std::uint8_t { claimed, done, failed };
  std::shared_ptr<Node> pin; // keeps the address from being reused while it is keyed
  Worker* owner = nullptr;
  State state = State::claimed;
  Key key;
  std::shared_ptr<const std::string> why; // failed: "a build.Copy/1 value: what went wrong"
};

// Marks every slot its worker claimed and did not finish as failed when the worker leaves
// page_out, whatever the path -- the seed dropped such slots and let waiters hang. Those slots
// are the ancestors of where the worker stopped: they reach the failure, so they fail with it.
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
          slot->why = m_why ? m_why : std::make_shared<const std::string>("its worker stopped");
          ++m_session.m_counters.failed;
          any = true;
        }
      }
    }
    if (any) {
      m_session.m_changed.notify_all();
    }
  }
  void add(std::shared_ptr<Slot> slot) { m_claimed.push_back(std::move(slot)); }
  // The failure the claimed slots fail with.
  void failing(std::string why) { m_why = std::make_shared<const std::string>(std::move(why)); }
  void failing(std::shared_ptr<const std::string> why) { m_why = std::move(why); }

private:
  PageOutSession& m_session;
  std::vector<std::shared_ptr<Slot>> m_claimed;
  std::shared_ptr<const std::string> m_why;
};

PageOutSession::PageOutSession(PageOutOptions options) : m_options(options) {}

PageOutSession::~PageOutSession() = default;

PageOutCounters PageOutSession::counters() const
{
  std::lock_guard lock(m_mutex);
  return m_counters;
}

std::shared_ptr<PageOutSession::Slot>
PageOutSession::slot_for(const std::shared_ptr<Node>& node, Worker& me, bool& claimed)
{
  std::lock_guard lock(m_mutex);
  claimed = false;
  const auto it = m_slots.find(node.get());
  if (it != m_slots.end()) {
    return it->second;
  }
  // A stored node's slot is erased once its key is recorded in it, so a node with no slot
  // either is stored or was never claimed.
  if (node->key()) {
    return nullptr;
  }
  auto slot = std::make_shared<Slot>();
  slot->pin = node;
  slot->owner = &me;
  m_slots.emplace(node.get(), slot);
  claimed = true;
  return slot;
}

Result<void> PageOutSession::wait_for(const std::shared_ptr<Slot>& slot, Worker& me)
{
  std::unique_lock lock(m_mutex);
  if (slot->state == Slot::State::claimed) {
    // Waiting for a worker that waits (in a chain) for this one would never end: the graph
    // has a cycle. Children are stored before parents, so a chain of waits that comes back
    // can only close around one.
    for (Worker* w = slot->owner; w != nullptr;) {
      if (w == &me) {
        return make_error(Errc::invalid_argument,
                          "refusing to page out a cycle: " + slot->pin->describe() +
                              " reaches itself through handles");
      }
      const Slot* next = w->waiting_on;
      if (next == nullptr || next->state != Slot::State::claimed) {
        break;
      }
      w = next->owner;
    }
    ++m_counters.waited;
    me.waiting_on = slot.get();
    m_changed.wait_for(lock, m_options.wait_limit,
                       [&] { return slot->state != Slot::State::claimed; });
    me.waiting_on = nullptr;
  }
  switch (slot->state) {
  case Slot::State::done:
    return {};
  case Slot::State::failed:
    me.reached = slot->why;
    return make_error(Errc::another_failed, "it reaches " + *slot->why);
  case Slot::State::claimed:
    break;
  }
  return make_error(Errc::another_failed,
                    "gave up waiting for another worker to store " + slot->pin->describe() +
                        " after " + std::to_string(m_options.wait_limit.count()) + " ms");
}

void PageOutSession::finish(const std::shared_ptr<Slot>& slot, const Key& key)
{
  {
    std::lock_guard lock(m_mutex);
    slot->state = Slot::State::done;
    slot->key = key;
    ++m_counters.stored;
    // The node knows its key now: nobody needs the slot to find it, so let it go.
    m_slots.erase(slot->pin.get());
    slot->pin.reset();
  }
  m_changed.notify_all();
}

Result<Key> PageOutSession::page_out(const std::shared_ptr<Node>& item)
{
  struct Task {
    std::shared_ptr<Node> node;
    std::shared_ptr<Slot> finish; // set for a Finish task: the node's children are stored
  };

  Worker me;
  ClaimGuard guard(*this);
  const auto own_failure = [&](const Node& node, Error e) -> Result<Key> {
    guard.failing(node.describe() + ": " + e.message());
    return e;
  };
  const auto guarded = [](auto&& fn) -> decltype(fn()) {
    try {
      return fn();
    } catch (const std::exception& e) {
      return make_error(Errc::internal, std::string("page-out threw: ") + e.what());
    } catch (...) {
      return make_error(Errc::internal, "page-out threw a non-standard exception");
    }
  };

  std::vector<Task> tasks{Task{item, nullptr}};
  std::vector<std::shared_ptr<Node>> children;
  while (!tasks.empty()) {
    Task task = std::move(tasks.back());
    tasks.pop_back();
    if (task.finish) {
      auto key = guarded([&] { return task.node->store(); });
      if (!key) {
        return own_failure(*task.node, std::move(key).error());
      }
      finish(task.finish, *key);
      continue;
    }
    bool claimed = false;
    const auto slot = slot_for(task.node, me, claimed);
    if (!slot) {
      continue; // stored already
    }
    if (!claimed) {
      if (slot->owner == &me && slot->state == Slot::State::claimed) {
        // Its own ancestor: this worker is in the middle of storing it.
        auto e = make_error(Errc::invalid_argument, "refusing to page out a cycle: " +
                                                        task.node->describe() +
                                                        " reaches itself through handles");
        return own_failure(*task.node, std::move(e));
      }
      if (auto waited = wait_for(slot, me); !waited) {
        Error e = std::move(waited).error();
        if (e.code() == Errc::another_failed) {
          guard.failing(me.reached);
          return e;
        }
        return own_failure(*task.node, std::move(e));
      }
      continue;
    }
    guard.add(slot);
    children.clear();
    if (auto listed = guarded([&] { return task.node->children(children); }); !listed) {
      return own_failure(*task.node, std::move(listed).error());
    }
    tasks.push_back(Task{task.node, slot});
    for (auto& child : children) {
      tasks.push_back(Task{std::move(child), nullptr});
    }
  }
  const auto key = item->key();
  if (!key) {
    return make_error(Errc::internal, item->describe() + " was stored but does not know its key");
  }
  return *key;
}

} // namespace pagable::pageout
