// SPDX-License-Identifier: MIT OR Apache-2.0
// push and pull (pagable/remote.hpp).
//
// push: for each selected version whose tag the remote lacks, the packs its root (and
// schema) reach are exported a batch at a time, in packs_reached order (delta bases first);
// the batch's pack and index blobs are looked up with HEADs in parallel and the missing ones
// uploaded in parallel; then the config blob; the manifest goes last, under the version's
// immutable tag, so that the registry (which refuses a manifest whose blobs are missing)
// shows a version only with everything it reaches. Finally the plain name tag is pointed at
// the newest version pushed (a hint: another pusher may move it).
//
// pull: each selected version the archive lacks (same name, key and time) has its manifest
// and config read; every index blob is downloaded (they are small), and a pack is fetched
// only when the archive lacks one of its blobs, or when a fetched delta pack decodes from
// it and the archive does not hold that very pack. Each pack is checked against its digest
// on arrival and each blob against its key by import_pack, before anything is stored; the
// root record is committed last (commit_root confirms everything it reaches is there).
#include "remote/fetch.hpp"
#include "remote/mapping.hpp"

#include <pagable/remote.hpp>
#include <pagable/selector.hpp>

#include <chrono>
#include <set>

namespace pagable::remote {

namespace {

constexpr std::size_t k_batch = 8; // packs held in memory at once

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start)
{
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool same_version(const store::RootRecord& a, const store::RootRecord& b)
{
  return a.name == b.name && a.key == b.key && a.created_unix_ms == b.created_unix_ms;
}

// Sends packs and their indexes that the registry lacks, remembering what it has sent or
// found, so that versions sharing packs export and look up each pack once per push.
class PackSender {
public:
  PackSender(const store::BlobStore& archive, Registry& registry, PushReport& report)
      : m_archive(archive), m_registry(registry), m_report(report)
  {
  }

  // The layers of a version reaching `packs`: each pack, then its index.
  Result<std::vector<Descriptor>> send(const std::vector<store::PackDigest>& packs, const std::string& name,
                                       const TransferEvents& events)
  {
    std::vector<store::PackDigest> todo;
    for (const auto& p : packs) {
      if (!m_sent.contains(p.sha256)) {
        todo.push_back(p);
      } else {
        ++m_report.packs_present;
      }
    }
    for (std::size_t b = 0; b < todo.size(); b += k_batch) {
      const std::vector<store::PackDigest> batch(todo.begin() + static_cast<std::ptrdiff_t>(b),
                                                 todo.begin() + static_cast<std::ptrdiff_t>(std::min(todo.size(), b + k_batch)));
      PAGABLE_TRY(send_batch(batch));
      if (events.progress) {
        events.progress("packs of " + name, b + batch.size(), todo.size());
      }
    }
    std::vector<Descriptor> layers;
    for (const auto& p : packs) {
      const auto& [pack, index] = m_sent.at(p.sha256);
      layers.push_back(pack);
      layers.push_back(index);
    }
    return layers;
  }

private:
  Result<void> send_batch(const std::vector<store::PackDigest>& batch)
  {
    std::vector<Bytes> datas;
    std::vector<Bytes> indexes;
    for (const auto& digest : batch) {
      PAGABLE_TRY_ASSIGN(auto image, m_archive.export_pack(digest));
      if (!image) {
        return make_error(Errc::internal, "pack " + digest.to_hex() + " vanished during push");
      }
      indexes.push_back(encode_index(*image));
      datas.push_back(std::move(image->data));
    }
    std::vector<Key> digests; // pack, index, pack, index, ...
    std::vector<const Bytes*> blobs;
    for (std::size_t k = 0; k < batch.size(); ++k) {
      digests.push_back(batch[k].sha256);
      blobs.push_back(&datas[k]);
      digests.push_back(sha256_of(indexes[k]));
      blobs.push_back(&indexes[k]);
    }
    PAGABLE_TRY_ASSIGN(const auto sizes, m_registry.blob_sizes(digests));
    std::vector<const Bytes*> upload;
    for (std::size_t k = 0; k < digests.size(); ++k) {
      const bool is_pack = k % 2 == 0;
      if (sizes[k]) {
        m_report.packs_present += is_pack ? 1 : 0;
        continue;
      }
      upload.push_back(blobs[k]);
      m_report.packs_uploaded += is_pack ? 1 : 0;
      m_report.bytes_uploaded += blobs[k]->size();
    }
    PAGABLE_TRY(m_registry.put_blobs(upload));
    for (std::size_t k = 0; k < batch.size(); ++k) {
      m_sent.emplace(batch[k].sha256,
                     std::make_pair(Descriptor{std::string(k_pack_type), batch[k].sha256, datas[k].size()},
                                    Descriptor{std::string(k_index_type), digests[2 * k + 1], indexes[k].size()}));
    }
    return {};
  }

  const store::BlobStore& m_archive;
  Registry& m_registry;
  PushReport& m_report;
  std::map<Key, std::pair<Descriptor, Descriptor>> m_sent; // pack digest: its layers
};

} // namespace

Result<PushReport> push(const store::BlobStore& archive, Registry& registry, const Selection& selection,
                        const TransferEvents& events)
{
  const auto start = Clock::now();
  PushReport report;
  PAGABLE_TRY_ASSIGN(const auto roots, archive.list_roots());
  PAGABLE_TRY_ASSIGN(const auto chosen, select_versions(roots, selection.selectors));
  PAGABLE_TRY_ASSIGN(const auto tags, registry.list_tags());
  const std::set<std::string> have(tags.begin(), tags.end());
  PackSender sender(archive, registry, report);
  std::map<std::string, std::pair<store::RootRecord, Bytes>> newest; // per name, for its tag
  std::map<std::string, Key> previous;                             // parent per name
  std::uint64_t step = 0;
  for (const auto& root : chosen) {
    ++step;
    const std::optional<Key> parent =
        previous.contains(root.name) ? std::optional<Key>(previous[root.name]) : std::nullopt;
    previous[root.name] = root.key;
    const std::string tag = version_tag(root);
    if (have.contains(tag)) {
      report.present.push_back(root);
      continue;
    }
    std::vector<Key> tops{root.key};
    if (root.schema_key) {
      tops.push_back(*root.schema_key);
    }
    PAGABLE_TRY_ASSIGN(const auto packs, archive.packs_reached(tops));
    const std::size_t limit = RemoteOptions{}.manifest_limit;
    const auto too_many = [&] {
      return make_error(Errc::invalid_argument,
                        "version \"" + root.name + "\" reaches " + std::to_string(packs.size()) +
                            " packs, more than one manifest of at most " + std::to_string(limit) +
                            " bytes can list (about " + std::to_string(packs_per_manifest(limit)) +
                            "); it was not pushed (docs/FORMAT.md \"Remote stores\")");
    };
    if (packs.size() > packs_per_manifest(limit)) {
      return too_many();
    }
    PAGABLE_TRY_ASSIGN(auto layers, sender.send(packs, root.name, events));
    const Bytes config = encode_root(root);
    const Key config_digest = sha256_of(config);
    PAGABLE_TRY_ASSIGN(const auto sizes, registry.blob_sizes({config_digest}));
    if (!sizes.front()) {
      PAGABLE_TRY(registry.put_blobs({&config}));
      report.bytes_uploaded += config.size();
    }
    const auto manifest = encode_manifest(
        version_manifest(root, Descriptor{std::string(k_root_type), config_digest, config.size()},
                         std::move(layers), parent));
    if (manifest.size() > limit) {
      return too_many(); // its blobs may be there; no version is visible
    }
    PAGABLE_TRY(in_context(registry.put_manifest(tag, k_manifest_type, manifest), "version " + tag));
    report.bytes_uploaded += manifest.size();
    report.pushed.push_back(root);
    newest[root.name] = {root, manifest};
    if (events.progress) {
      events.progress("versions", step, chosen.size());
    }
  }
  for (const auto& [name, version] : newest) {
    PAGABLE_TRY(registry.put_manifest(name_tag(name), k_manifest_type, version.second));
  }
  report.transfer = registry.counters();
  report.seconds = since(start);
  return report;
}

Result<PullReport> pull(Registry& registry, store::BlobStore& archive, const Selection& selection,
                        const TransferEvents& events)
{
  const auto start = Clock::now();
  PullReport report;
  PAGABLE_TRY_ASSIGN(auto catalog, RemoteCatalog::read(registry));
  PAGABLE_TRY_ASSIGN(const auto chosen, catalog.select(selection.selectors));
  PAGABLE_TRY_ASSIGN(const auto local, archive.list_roots());
  std::uint64_t step = 0;
  for (const auto& listed : chosen) {
    ++step;
    const RemoteVersion& v = *catalog.version_of(listed);
    PAGABLE_TRY_ASSIGN(const auto got, catalog.manifest(v));
    PAGABLE_TRY_ASSIGN(const auto record, catalog.record_blob(v));
    PAGABLE_TRY_ASSIGN(auto manifest, in_context(decode_manifest(got->bytes), "version " + v.tag));
    store::RootRecord root = listed;
    root.version = 0; // numbered here by commit_root
    // Already here: reported as this archive holds it (with its number here).
    if (const auto here = std::find_if(local.begin(), local.end(),
                                       [&](const auto& r) { return same_version(r, root); });
        here != local.end()) {
      report.present.push_back(*here);
      continue;
    }
    PAGABLE_TRY_ASSIGN(const auto fetched, fetch_version_packs(registry, manifest, v.tag));
    const auto& pack_digests = fetched.pack_digests;
    const auto& indexes = fetched.indexes;
    const auto& by_pack = fetched.by_pack;
    // Which packs to fetch: those holding a blob the archive lacks, then (last to first,
    // so that a base's own bases follow) every base a fetched pack decodes from that the
    // archive does not hold as that very pack.
    std::vector<bool> need(indexes.size(), false);
    for (std::size_t i = 0; i < indexes.size(); ++i) {
      for (const auto& e : indexes[i].entries) {
        PAGABLE_TRY_ASSIGN(const bool there, archive.contains(e.key));
        if (!there) {
          need[i] = true;
          break;
        }
      }
    }
    for (std::size_t i = indexes.size(); i > 0; --i) {
      if (!need[i - 1]) {
        continue;
      }
      for (const auto& base : indexes[i - 1].bases) {
        const auto it = by_pack.find(base.pack.sha256);
        if (it == by_pack.end() || need[it->second]) {
          continue; // not in this version (import_pack names it if missing), or fetched anyway
        }
        PAGABLE_TRY_ASSIGN(const auto held, archive.export_pack(base.pack));
        need[it->second] = !held.has_value();
      }
    }
    std::vector<std::size_t> fetch;
    for (std::size_t i = 0; i < need.size(); ++i) {
      if (need[i]) {
        fetch.push_back(i);
      } else {
        ++report.packs_present;
      }
    }
    for (std::size_t b = 0; b < fetch.size(); b += k_batch) {
      std::vector<Key> ask;
      for (std::size_t k = b; k < std::min(fetch.size(), b + k_batch); ++k) {
        ask.push_back(pack_digests[fetch[k]]);
      }
      PAGABLE_TRY_ASSIGN(auto datas, in_context(registry.get_blobs(ask), "version " + v.tag));
      for (std::size_t k = 0; k < datas.size(); ++k) {
        report.bytes_downloaded += datas[k].size();
        PAGABLE_TRY(in_context(import_fetched(archive, indexes[fetch[b + k]], std::move(datas[k])), v.tag));
        ++report.packs_downloaded;
      }
      if (events.progress) {
        events.progress("packs of " + root.name, std::min(fetch.size(), b + k_batch), fetch.size());
      }
    }
    report.bytes_downloaded += fetched.index_bytes + record.size() + got->bytes.size();
    PAGABLE_TRY_ASSIGN(auto committed, archive.commit_root(root));
    report.pulled.push_back(std::move(committed));
    if (events.progress) {
      events.progress("versions", step, chosen.size());
    }
  }
  report.transfer = registry.counters();
  report.seconds = since(start);
  return report;
}

} // namespace pagable::remote
