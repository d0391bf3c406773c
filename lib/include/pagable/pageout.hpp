// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Parallel page-out with claim slots: the one walker (the seed's page_out_item, with what it
// taught fixed). Many worker threads page out items whose graphs share nodes; a node's
// children are stored before it (iteratively: no recursion, whatever the depth), and the first
// worker to claim a node stores it while the others wait for it, so each node is stored at
// most once per session. A node that is stored already (it knows its key) is not claimed.
//
// What the seed taught, and how this walker answers it:
// - One failing node fails only the items that reach it: its worker returns its error, every
//   other item that reaches it returns Errc::another_failed naming it, and the rest go on.
//   Every slot a worker claimed and did not finish is marked failed when it leaves page_out,
//   whatever the path, so nobody waits for it forever.
// - A cycle is refused at once (Errc::invalid_argument), not after a wait: a worker meeting a
//   node it is itself in the middle of storing, or about to wait for a worker that waits (in
//   a chain) for it, has found one.
// - What is stored is let go: a node's slot (and the session's reference to it) is dropped as
//   soon as the node is stored and knows its key; only failed nodes are kept, to fail fast.
// Thread-safety: PageOutSession::page_out may be called from many threads at once.

#include <pagable/key.hpp>
#include <pagable/result.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace pagable::pageout {

// A value stored as a node of its own. Identity is the object's address; the session holds a
// reference to every node it has a slot for, so an address is never reused while it is keyed.
class Node {
public:
  virtual ~Node() = default;
  // The node's key once it is stored (it is then not claimed); nullopt before.
  virtual std::optional<Key> key() const = 0;
  // The nodes this one's serialization refers to (duplicates allowed). Any worker thread.
  virtual Result<void> children(std::vector<std::shared_ptr<Node>>& out) const = 0;
  // Serializes and stores the node, once every child is stored, and returns its key; the node
  // records its key itself (key() returns it afterwards). Any worker thread.
  virtual Result<Key> store() = 0;
  // What the node is, for messages ("a build.Copy/1 value").
  virtual std::string describe() const = 0;
};

struct PageOutOptions {
  // A wait for another worker's node gives up (Errc::another_failed) after this long. Only
  // a worker that stops making progress (a node whose store() never returns) makes a wait
  // that long; cycles are found at once.
  std::chrono::milliseconds wait_limit{std::chrono::minutes(10)};
};

struct PageOutCounters {
  std::uint64_t stored = 0;  // nodes this session stored (store() calls that succeeded)
  std::uint64_t failed = 0;  // nodes whose store() or children() failed
  std::uint64_t waited = 0;  // times a worker waited for another worker's node
};

class PageOutSession {
public:
  explicit PageOutSession(PageOutOptions options = {});
  ~PageOutSession();
  PageOutSession(const PageOutSession&) = delete;
  PageOutSession& operator=(const PageOutSession&) = delete;

  // Stores `item` and everything it reaches that is not stored yet, children first, and
  // returns its key. Errors: this worker's own failure (a node's store() or children()), a
  // cycle (Errc::invalid_argument), or Errc::another_failed when a node it reaches failed in
  // another worker (the message names it and says why).
  Result<Key> page_out(const std::shared_ptr<Node>& item);

  PageOutCounters counters() const;

private:
  struct Slot;
  struct Worker;
  class ClaimGuard;
  // The slot of `node` (nullptr when it is stored already); `claimed` tells whether the
  // caller now owns it.
  std::shared_ptr<Slot> slot_for(const std::shared_ptr<Node>& node, Worker& me, bool& claimed);
  Result<void> wait_for(const std::shared_ptr<Slot>& slot, Worker& me);
  void finish(const std::shared_ptr<Slot>& slot, const Key& key);

  PageOutOptions m_options;
  mutable std::mutex m_mutex;
  std::condition_variable m_changed;
  std::unordered_map<const Node*, std::shared_ptr<Slot>> m_slots; // guarded by m_mutex
  PageOutCounters m_counters;                                     // guarded by m_mutex
};

} // namespace pagable::pageout
