// SPDX-License-Identifier: MIT OR Apache-2.0
// verify on a remote (pagable/remote.hpp remote::verify): what a registry can lose or spoil
// under a version, found with HEADs (a blob deleted by hand or by a registry's garbage
// collector run on the wrong repository) and, at the full level, by downloading and
// re-hashing every blob once, however many versions list it.
#include "remote/mapping.hpp"

#include <pagable/remote.hpp>

#include <chrono>
#include <map>
#include <set>

namespace pagable::remote {

namespace {

constexpr std::size_t k_batch = 8; // blobs downloaded (and held) at once

struct Layer {
  Descriptor blob;
  std::optional<Key> pack; // for an index: the pack beside it
  std::set<std::string> roots;
};

std::string version_name(const store::RootRecord& root)
{
  return root.name + "#" + std::to_string(root.version);
}

verify::Problem problem(verify::ProblemKind kind, const std::optional<Key>& key, std::set<std::string> roots,
                        std::string detail)
{
  verify::Problem p;
  p.kind = kind;
  p.key = key;
  p.roots.assign(roots.begin(), roots.end());
  p.detail = std::move(detail);
  return p;
}

// The blobs of `batch` as downloaded, each alone when the batch fails, so that a problem
// names its blob: nullopt for a blob that could not be read whole (its problem recorded).
Result<std::vector<std::optional<Bytes>>> download(Registry& registry, const std::vector<const Layer*>& batch,
                                                   verify::VerifyReport& report)
{
  std::vector<Key> digests;
  for (const Layer* l : batch) {
    digests.push_back(l->blob.digest);
  }
  auto all = registry.get_blobs(digests);
  std::vector<std::optional<Bytes>> out;
  if (all) {
    for (auto& b : *all) {
      out.emplace_back(std::move(b));
    }
    return out;
  }
  if (all.error().code() != Errc::corrupt && all.error().code() != Errc::not_found) {
    return std::move(all).error();
  }
  for (const Layer* l : batch) {
    auto one = registry.get_blobs({l->blob.digest});
    if (one) {
      out.emplace_back(std::move(one->front()));
      continue;
    }
    if (one.error().code() == Errc::corrupt) {
      report.problems.push_back(problem(verify::ProblemKind::hash_mismatch, l->blob.digest, l->roots,
                                        one.error().message()));
    } else if (one.error().code() == Errc::not_found) {
      report.problems.push_back(problem(verify::ProblemKind::missing_blob, l->blob.digest, l->roots,
                                        one.error().message()));
    } else {
      return std::move(one).error();
    }
    out.emplace_back(std::nullopt);
  }
  return out;
}

} // namespace

Result<verify::VerifyReport> verify(RemoteCatalog& catalog, std::span<const std::string> selectors,
                                    verify::VerifyLevel level)
{
  const auto start = std::chrono::steady_clock::now();
  verify::VerifyReport report;
  report.level = level == verify::VerifyLevel::quick ? verify::VerifyLevel::connectivity : level;
  Registry& registry = catalog.registry();
  // The versions to check: what the selectors name, or every tag (a version whose record
  // cannot be read is then a problem, not a failure).
  std::vector<const RemoteVersion*> versions;
  if (selectors.empty()) {
    for (const auto& v : catalog.versions()) {
      versions.push_back(&v);
    }
  } else {
    PAGABLE_TRY_ASSIGN(const auto chosen, catalog.select(selectors));
    for (const auto& r : chosen) {
      versions.push_back(catalog.version_of(r));
    }
  }
  std::map<Key, Layer> layers; // every blob once, with the versions listing it
  for (const RemoteVersion* v : versions) {
    const std::string name = (v->name.empty() ? v->tag : v->name) + "#" + std::to_string(v->version);
    auto root = catalog.root(*v);
    if (!root) {
      if (root.error().code() == Errc::network) {
        return std::move(root).error();
      }
      report.problems.push_back(problem(verify::ProblemKind::bad_root, std::nullopt, {name}, root.error().message()));
      continue;
    }
    if (!*root) {
      continue; // deleted since the listing
    }
    ++report.roots_checked;
    PAGABLE_TRY_ASSIGN(const std::optional<Manifest> got, catalog.manifest(*v));
    if (!got.has_value()) {
      continue; // deleted since the listing
    }
    PAGABLE_TRY_ASSIGN(const auto manifest, decode_manifest(got.value().bytes)); // read() decoded it once
    const std::string named = version_name(**root);
    for (std::size_t i = 0; i < manifest.layers.size(); ++i) {
      const auto& d = manifest.layers[i];
      auto& layer = layers[d.digest];
      layer.blob = d;
      layer.roots.insert(named);
      if (d.media_type == k_index_type && i > 0) {
        layer.pack = manifest.layers[i - 1].digest;
      }
    }
  }
  std::vector<Key> digests;
  for (const auto& [digest, _] : layers) {
    digests.push_back(digest);
  }
  report.blobs_reached = digests.size();
  PAGABLE_TRY_ASSIGN(const auto sizes, registry.blob_sizes(digests));
  std::vector<const Layer*> present;
  for (std::size_t i = 0; i < digests.size(); ++i) {
    const Layer& l = layers.at(digests[i]);
    if (!sizes[i]) {
      report.problems.push_back(problem(verify::ProblemKind::missing_blob, digests[i], l.roots,
                                        registry.location().display() + " has no blob " + digest_text(digests[i]) +
                                            " (" + l.blob.media_type + "), which the manifest lists"));
    } else if (*sizes[i] != l.blob.size) {
      report.problems.push_back(problem(verify::ProblemKind::hash_mismatch, digests[i], l.roots,
                                        "blob " + digest_text(digests[i]) + " is " + std::to_string(*sizes[i]) +
                                            " bytes at the registry, " + std::to_string(l.blob.size) +
                                            " in the manifest"));
    } else {
      present.push_back(&l);
    }
  }
  if (report.level == verify::VerifyLevel::full || report.level == verify::VerifyLevel::deep) {
    for (std::size_t b = 0; b < present.size(); b += k_batch) {
      const std::vector<const Layer*> batch(present.begin() + static_cast<std::ptrdiff_t>(b),
                                            present.begin() + static_cast<std::ptrdiff_t>(std::min(present.size(), b + k_batch)));
      PAGABLE_TRY_ASSIGN(const auto blobs, download(registry, batch, report));
      for (std::size_t k = 0; k < batch.size(); ++k) {
        if (!blobs[k]) {
          continue;
        }
        ++report.blobs_checked;
        report.bytes_checked += blobs[k]->size();
        if (!batch[k]->pack) {
          continue;
        }
        auto index = decode_index(*blobs[k]);
        if (!index || index->pack.sha256 != *batch[k]->pack) {
          report.problems.push_back(problem(
              verify::ProblemKind::undecodable_blob, batch[k]->blob.digest, batch[k]->roots,
              "index " + digest_text(batch[k]->blob.digest) + ": " +
                  (index ? "describes another pack than " + digest_text(*batch[k]->pack) : index.error().message())));
        }
      }
    }
  }
  if (!report.ok()) {
    report.next_step = verify::NextStep::repack_or_remove;
  }
  report.walk_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

} // namespace pagable::remote
