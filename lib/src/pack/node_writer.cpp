// SPDX-License-Identifier: MIT OR Apache-2.0
#include "pack/node_writer.hpp"

#include "codec/node_codec.hpp"

#include <exception>
#include <string>
#include <utility>

namespace pagable::pack {

std::uint64_t node_fingerprint(std::size_t version, std::span<const std::uint8_t> bytes,
                               std::span<const Pending> children)
{
  std::uint64_t h = codec::content_hash(version, bytes);
  for (const Pending& c : children) {
    h = codec::mix64(h ^ c.fp);
  }
  return h;
}

Pending known_node(const Key& key, std::uint64_t fp)
{
  return Pending::ready(key, fp);
}

NodeWriter::NodeWriter(store::BlobStore& store, const PackOptions& options,
                       std::size_t fingerprint_version)
    : m_store(store), m_options(options), m_fingerprint_version(fingerprint_version)
{
  // `workers` counts the parsing thread: with one, it stores nodes itself.
  const unsigned threads = options.workers == 0 ? util::hardware_threads() : options.workers;
  m_executor = std::make_unique<util::BoundedExecutor>(threads - 1, options.in_flight_bytes);
}

NodeWriter::~NodeWriter() = default; // the executor waits for every node handed over

Result<Pending> NodeWriter::emit(Bytes data, std::vector<Pending> children, std::vector<Key> bases,
                                 NodeRole role)
{
  if (m_options.cancel != nullptr && m_options.cancel->load()) {
    return make_error(Errc::cancelled, "interrupted");
  }
  if (data.size() > m_options.max_node_bytes) {
    return make_error(Errc::invalid_input, "a node of " + std::to_string(data.size()) +
                                               " bytes exceeds the limit of " +
                                               std::to_string(m_options.max_node_bytes));
  }
  ++m_nodes;
  m_hinted += bases.empty() ? 0 : 1;
  m_content_bytes += role == NodeRole::content ? data.size() : 0;
  const std::uint64_t fp = node_fingerprint(m_fingerprint_version, data, children);
  return submit(std::move(data), std::move(children), fp, std::move(bases), role);
}

Pending NodeWriter::submit(Bytes data, std::vector<Pending> children, std::uint64_t fp,
                           std::vector<Key> bases, NodeRole role)
{
  if (m_executor->threads() == 0) {
    // One worker: the caller stores the node now (its children are stored already), and its
    // key needs no shared state.
    auto key = store_node(std::move(data), children, bases, role);
    if (key) {
      return Pending::ready(*key, fp);
    }
    std::promise<Result<Key>> failed;
    failed.set_value(std::move(key));
    return Pending(failed.get_future().share(), fp);
  }
  auto promise = std::make_shared<std::promise<Result<Key>>>();
  Pending p(promise->get_future().share(), fp);
  const std::size_t cost = data.size() + children.size() * Key::k_size + 64;
  // Children were submitted before their parent and the executor runs tasks in order, so
  // every key a task waits for belongs to a task that has already started: no deadlock.
  m_executor->submit(cost, [this, promise, data = std::move(data), children = std::move(children),
                            bases = std::move(bases), role]() mutable {
    promise->set_value(store_node(std::move(data), children, bases, role));
  });
  return p;
}

void NodeWriter::wait_idle()
{
  m_executor->wait_idle();
}

Result<bool> NodeWriter::stored_copy_damaged(const Key& key) const
{
  auto stored = m_store.get(key); // checks the data against the key
  if (stored) {
    return false; // sound, or not stored at all
  }
  if (stored.error().code() == Errc::corrupt) {
    return true; // its bytes, its child keys, its pack or a delta base of its pack
  }
  return std::move(stored).error();
}

Result<Key> NodeWriter::store_node(Bytes data, const std::vector<Pending>& children,
                                   std::vector<Key>& bases, NodeRole role)
{
  try {
    std::vector<Key> keys;
    keys.reserve(children.size());
    for (const Pending& c : children) {
      Result<Key> k = c.key();
      if (!k) {
        return std::move(k).error();
      }
      keys.push_back(*k);
    }
    Blob blob{std::move(data), std::move(keys)};
    store::PutHints hints{std::move(bases), role == NodeRole::index};
    if (m_options.reuse == Reuse::after_reading) {
      auto damaged = stored_copy_damaged(blob.key());
      if (!damaged) {
        return std::move(damaged).error();
      }
      hints.replace = *damaged;
      hints.delta_bases.clear();
    }
    return m_store.put(std::move(blob), hints);
  } catch (const std::exception& e) {
    return make_error(Errc::internal, std::string("storing a node: ") + e.what());
  }
}

} // namespace pagable::pack
