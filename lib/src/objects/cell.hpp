// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The pager's state (Pager::Core) and a handle's shared state (Cell): a value that is
// resident (in memory, pinned or in the LRU), or paged out (only its key), or being loaded,
// or unpageable (its page-out failed: resident for good). One mutex, the Core's, guards
// every cell's state; values are read, written and destroyed outside it (a value's
// destructor may release handles, whose cells lock it).
// Thread-safety: Core's members are guarded by its mutex where marked.

#include <pagable/archive.hpp>
#include <pagable/objects.hpp>
#include <pagable/pack.hpp>
#include <pagable/pageout.hpp>

#include "util/lru_map.hpp"
#include "util/thread_pool.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <typeindex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace pagable::objects {

namespace detail {

// (identity type, key): what makes two handles one object.
struct IdentityKey {
  std::type_index type;
  Key key;
  friend bool operator==(const IdentityKey&, const IdentityKey&) = default;
};
struct IdentityKeyHash {
  std::size_t operator()(const IdentityKey& k) const noexcept
  {
    // Keys are SHA-256 digests: the key alone spreads entries, and type_index::hash_code
    // would hash the type's name on every lookup (one per value stored).
    return std::hash<Key>{}(k.key);
  }
};

class Cell;

// Serializes values (objects/value_writer.cpp): an encoder and the buffers it has grown.
class ValueEncoder;
struct ValueEncoderDelete {
  void operator()(ValueEncoder* encoder) const noexcept;
};
using EncoderPtr = std::unique_ptr<ValueEncoder, ValueEncoderDelete>;

} // namespace detail

struct Pager::Core : std::enable_shared_from_this<Pager::Core> {
  Core(Archive& a, PagerOptions o, pack::BoundarySettings b);

  Archive& archive;
  store::BlobStore& store;
  const PagerOptions options;
  const pack::BoundarySettings boundaries;
  const unsigned workers;
  Registry registry;
  // workers - 1 threads beside the caller, owned by the Pager (not by the Core, which the
  // last cell may release on one of them); null once the Pager is gone.
  util::ThreadPool* pool = nullptr; // guarded by mutex

  mutable std::mutex mutex;
  std::condition_variable changed; // a cell finished loading, a page-out batch ended
  // guarded by mutex:
  detail::Cell* lru_head = nullptr; // most recently used unpinned resident values first
  detail::Cell* lru_tail = nullptr;
  std::unordered_map<detail::IdentityKey, std::weak_ptr<detail::Cell>, detail::IdentityKeyHash> identities;
  PagerStats stats;
  bool evicting = false;
  std::deque<Error> errors;
  util::LruMap<Key, std::uint64_t> fingerprints{k_fingerprint_cache_entries};
  // Encoders between two values, one per worker serializing at once: building one per value
  // (its open containers, their buffers) cost more than serializing a small value. Guarded
  // by mutex.
  std::vector<detail::EncoderPtr> idle_encoders;

  static constexpr std::size_t k_fingerprint_cache_entries = 65536;
  static constexpr std::size_t k_max_errors = 100;

  std::size_t batch_bytes() const
  {
    return options.batch_bytes != 0 ? options.batch_bytes : std::max<std::size_t>(options.budget_bytes / 8, 1);
  }
  // REQUIRES: mutex held.
  void lru_push_front(detail::Cell& c);
  void lru_remove(detail::Cell& c);
  void add_resident(std::size_t bytes);
  void record_error(Error e);
};

namespace detail {

class Cell final : public pageout::Node, public std::enable_shared_from_this<Cell> {
public:
  enum class State : std::uint8_t {
    resident,   // value set: pinned (pins > 0), in the LRU, or a page-out victim
    paged_out,  // value dropped; key set (`last` may still reach an allocation someone holds)
    loading,    // a thread is decoding it; others wait on Core::changed
    unpageable, // its page-out failed: resident for good, never in the LRU
  };

  Cell(std::shared_ptr<Pager::Core> core, const ValueOps& ops) : m_core(std::move(core)), m_ops(ops) {}
  ~Cell() override;
  Cell(const Cell&) = delete;
  Cell& operator=(const Cell&) = delete;

  // pageout::Node
  std::optional<Key> key() const override;
  Result<void> children(std::vector<std::shared_ptr<pageout::Node>>& out) const override;
  Result<Key> store() override;
  std::string describe() const override;

  Pager::Core& core() const noexcept { return *m_core; }
  const ValueOps& ops() const noexcept { return m_ops; }
  // The key and fingerprint of a stored cell, as a child of a node being written (learning
  // the fingerprint from the store when it is not known). Errc::internal when not stored.
  Result<std::pair<Key, std::uint64_t>> stored_node();

  // All guarded by core().mutex, except that stored_key, once set (publish_key()), never
  // changes again and is read by key() without it: the page-out walker asks every node it
  // meets for its key, several times a value.
  State state = State::resident;
  std::shared_ptr<const void> value;
  std::weak_ptr<const void> last;
  std::optional<Key> stored_key;
  std::uint64_t fingerprint = 0;
  bool fingerprint_known = false;
  bool victim = false;     // chosen by a running page-out batch
  bool registered = false; // in core().identities under (ops().identity, *stored_key)
  std::uint32_t pins = 0;
  std::size_t resident_bytes = 0;
  Cell* lru_prev = nullptr;
  Cell* lru_next = nullptr;
  bool in_lru = false;

  // Sets stored_key, once. REQUIRES: core mutex held; stored_key not set yet.
  void publish_key(const Key& key)
  {
    stored_key = key;
    m_key_published.store(true, std::memory_order_release);
  }

private:
  std::shared_ptr<Pager::Core> m_core;
  const ValueOps& m_ops;
  std::atomic<bool> m_key_published{false};
};

// Records that `cell` is stored under `key` with fingerprint `fp`, and makes it the object of
// (identity, key) unless a live one is. REQUIRES: core mutex held.
void note_stored(Cell& cell, const Key& key, std::uint64_t fp);

// The chunking fingerprint of the stored node `key` (FORMAT.md "Chunking"), read from the
// store (the whole sub-graph below it, once; remembered per key). For children placed by key.
Result<std::uint64_t> stored_fingerprint(Pager::Core& core, const Key& key);

// The cell of the stored value (identity, key): the live one, or a new paged-out one.
std::shared_ptr<Cell> cell_for_key(Pager::Core& core, const ValueOps& ops, const Key& key);
// A new resident cell holding `value` (counted against the budget; enforcing it is the
// caller's: `over_budget` says whether the resident bytes now exceed it).
std::shared_ptr<Cell> resident_cell(Pager::Core& core, const ValueOps& ops,
                                    std::shared_ptr<const void> value, std::size_t resident_bytes,
                                    bool& over_budget);

// Decodes the value stored under `key` as `ops`' type; `resident` gets its size.
Result<std::shared_ptr<const void>> decode_value(Pager::Core& core, const ValueOps& ops,
                                                 const Key& key, std::size_t& resident);

// Serializes `value` (of `ops`' type) through pack's node writer and stores it; every handle
// it holds must be stored already. Returns the node's key and fingerprint.
Result<std::pair<Key, std::uint64_t>> encode_value(Pager::Core& core, const ValueOps& ops,
                                                   const void* value);

// Pages in (or reuses) a paged-out cell's value: the body of pin_cell. REQUIRES: the lock
// `held` on core.mutex; may release and retake it.
Result<std::shared_ptr<const void>> pin_locked(Cell& cell, std::unique_lock<std::mutex>& held);

// Pages values out until the resident bytes are within the budget (or nothing unpinned is
// left), in batches; other threads that cross the budget meanwhile wait for the running batch.
Result<void> enforce_budget(Pager::Core& core);

} // namespace detail
} // namespace pagable::objects
