// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Parallel page-out with claim slots (the seed's page_out_item, made hang-free). Many worker
// threads page out items that share nodes; the first worker to claim a node serializes and
// stores it, the others wait for its key. A node is serialized at most once per session.
// When a worker fails it returns its own error; every other worker then returns
// Errc::another_failed, and no worker ever waits forever: a worker that unwinds marks every
// slot it claimed as failed, and all waits end when the session fails or its deadline passes.
// Thread-safety: PageOutSession::page_out may be called from many threads at once.

#include <pagable/blob.hpp>
#include <pagable/result.hpp>
#include <pagable/store.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace pagable::pageout {

class Node;

// One node's serialization: its bytes and its child nodes, in order.
struct Serialized {
  Bytes data;
  std::vector<std::shared_ptr<const Node>> children;
};

// A value that is stored as its own blob. Identity is the object's address; the session
// holds a shared_ptr to every node it has a slot for, so an address is never reused while
// the session lives.
class Node {
public:
  virtual ~Node() = default;
  // Serializes this node. May be called from any worker thread.
  virtual Result<Serialized> serialize() const = 0;
};

struct PageOutOptions {
  // A wait for another worker's node gives up (Errc::another_failed) after this long.
  // Guards against a worker that stops making progress; the default is generous.
  std::chrono::milliseconds wait_limit{std::chrono::minutes(10)};
};

struct PageOutCounters {
  std::uint64_t serialized = 0; // nodes serialized by this session
  std::uint64_t stored = 0;     // put() calls made by this session
  std::uint64_t waited = 0;     // times a worker waited for another worker's node
};

class PageOutSession {
public:
  explicit PageOutSession(store::BlobWriter& store, PageOutOptions options = {});
  ~PageOutSession();
  PageOutSession(const PageOutSession&) = delete;
  PageOutSession& operator=(const PageOutSession&) = delete;

  // Stores `item` (already serialized; its children are paged out first, iteratively) and
  // returns its key. The item itself has no slot: items are deduplicated by content only.
  // Errors: this worker's own failure (serialization or store), or Errc::another_failed.
  Result<Key> page_out(Serialized item);

  // Returns true iff some worker has failed.
  bool failed() const;
  PageOutCounters counters() const;

private:
  struct Slot;
  class ClaimGuard;
  std::shared_ptr<Slot> slot_for(const std::shared_ptr<const Node>& node, bool& claimed);
  Result<Key> wait_for(Slot& slot);
  Result<Key> store_with_children(Bytes data,
                                  const std::vector<std::shared_ptr<const Node>>& children);
  void fail_session();

  store::BlobWriter& m_store;
  PageOutOptions m_options;
  mutable std::mutex m_mutex;
  std::condition_variable m_changed;
  std::unordered_map<const Node*, std::shared_ptr<Slot>> m_slots; // guarded by m_mutex
  bool m_failed = false;                                          // guarded by m_mutex
  PageOutCounters m_counters;                                     // guarded by m_mutex
};

} // namespace pagable::pageout
