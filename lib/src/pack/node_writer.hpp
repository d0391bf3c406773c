// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// NodeWriter: where the packer's nodes go. emit() checks a node against the pack's limits,
// fingerprints it at once (chunk boundaries depend on the fingerprint, and the parser cannot
// wait for a key), and returns a Pending whose key arrives once the node is stored. A node is
// stored only after its children: that waiting is done by PackOptions::workers - 1 threads
// (or, with one worker, by the caller), and the encoded nodes handed to them and not stored
// yet are bounded by PackOptions::in_flight_bytes, beyond which emit() waits.
// Errors: emit() returns Errc::cancelled once PackOptions::cancel is set and
// Errc::invalid_input for a node over PackOptions::max_node_bytes. A node that fails to be
// stored makes its Pending's key that error, and so the keys of every node above it.
// Thread-safety: emit() and wait_idle() are called by one thread (the parser's); the
// destructor waits until every node handed over is stored.

#include <pagable/blob.hpp>
#include <pagable/key.hpp>
#include <pagable/pack.hpp>
#include <pagable/result.hpp>
#include <pagable/store.hpp>

#include "util/bounded_executor.hpp"

#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace pagable::pack {

// A node (or child): its fingerprint, known at once, and its key, which arrives when a worker
// has stored the node -- or is known at once too (a node stored on the caller's thread, a
// child stored already), and then costs no shared state: the objects module places one per
// handle, hundreds of thousands per commit.
class Pending {
public:
  Pending() = default;
  Pending(std::shared_future<Result<Key>> key, std::uint64_t fingerprint)
      : fp(fingerprint), m_future(std::move(key))
  {
  }
  // A node whose key is known.
  static Pending ready(const Key& key, std::uint64_t fingerprint)
  {
    Pending p;
    p.fp = fingerprint;
    p.m_key = key;
    return p;
  }
  // The node's key once it is stored (waits for it), or the error that kept it from being
  // stored.
  Result<Key> key() const { return m_key ? Result<Key>(*m_key) : m_future.get(); }

  std::uint64_t fp = 0; // node_fingerprint of its content, known at once

private:
  std::shared_future<Result<Key>> m_future; // unset when m_key is set
  std::optional<Key> m_key;
};

// A node that is stored already, as a child of nodes being written: its key, and its
// fingerprint (node_fingerprint of its data and its children's fingerprints), which the
// chunking of the nodes above it depends on (FORMAT.md "Chunking"). The objects module places
// handles whose values are stored this way, so that they are neither serialized nor stored
// again (ValueBuilder::node).
Pending known_node(const Key& key, std::uint64_t fp);

// The fingerprint of a node's `bytes` and its `children` under BoundarySettings::fingerprint
// `version`: what places chunk and index boundaries (FORMAT.md "Chunking").
std::uint64_t node_fingerprint(std::size_t version, std::span<const std::uint8_t> bytes,
                               std::span<const Pending> children);

// How the store is to place a node (store::PutHints::index).
enum class NodeRole : std::uint8_t {
  content, // read for its own sake
  index,   // passed through by lookups: chunk tree index levels, routing, a root of references
};

class NodeWriter {
public:
  // REQUIRES: `store` and `options` outlive the NodeWriter.
  NodeWriter(store::BlobStore& store, const PackOptions& options, std::size_t fingerprint_version);
  ~NodeWriter();
  NodeWriter(const NodeWriter&) = delete;
  NodeWriter& operator=(const NodeWriter&) = delete;

  // Hands a node to be stored once its children are. `bases`: store::PutHints::delta_bases.
  Result<Pending> emit(Bytes data, std::vector<Pending> children, std::vector<Key> bases = {},
                       NodeRole role = NodeRole::content);
  // Returns once every node emitted so far is stored (or failed).
  void wait_idle();

  std::uint64_t nodes() const noexcept { return m_nodes; }   // nodes emitted
  std::uint64_t hinted() const noexcept { return m_hinted; } // of which given delta bases
  // Bytes of data emitted as NodeRole::content so far.
  std::uint64_t content_bytes() const noexcept { return m_content_bytes; }

private:
  Pending submit(Bytes data, std::vector<Pending> children, std::uint64_t fp,
                 std::vector<Key> bases, NodeRole role);
  Result<Key> store_node(Bytes data, const std::vector<Pending>& children, std::vector<Key>& bases,
                         NodeRole role);
  // pack --repair: whether the copy stored under `key` fails its checks (true) or is sound
  // or absent (false); an I/O error is an error.
  Result<bool> stored_copy_damaged(const Key& key) const;

  store::BlobStore& m_store;
  const PackOptions& m_options;
  const std::size_t m_fingerprint_version;
  std::uint64_t m_nodes = 0;
  std::uint64_t m_hinted = 0;
  std::uint64_t m_content_bytes = 0;
  // workers - 1 threads (none with one worker: the caller stores), bounded by in_flight_bytes.
  std::unique_ptr<util::BoundedExecutor> m_executor;
};

} // namespace pagable::pack
