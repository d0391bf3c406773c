// SPDX-License-Identifier: MIT OR Apache-2.0
#include "remote/fetch.hpp"

namespace pagable::remote {

Result<VersionPacks> fetch_version_packs(Registry& registry, const VersionManifest& manifest, std::string_view tag)
{
  const std::string where = "version " + std::string(tag);
  VersionPacks out;
  for (std::size_t i = 0; i + 1 < manifest.layers.size(); i += 2) {
    if (manifest.layers[i].media_type != k_pack_type || manifest.layers[i + 1].media_type != k_index_type) {
      return make_error(Errc::corrupt, where + ": layer " + std::to_string(i) + " is not a pack followed by its index");
    }
    out.pack_digests.push_back(manifest.layers[i].digest);
    out.index_digests.push_back(manifest.layers[i + 1].digest);
  }
  PAGABLE_TRY_ASSIGN(const auto blobs, in_context(registry.get_blobs(out.index_digests), where));
  for (std::size_t i = 0; i < blobs.size(); ++i) {
    out.index_bytes += blobs[i].size();
    PAGABLE_TRY_ASSIGN(auto ix, in_context(decode_index(blobs[i]), where));
    if (ix.pack.sha256 != out.pack_digests[i]) {
      return make_error(Errc::corrupt, where + ": index " + digest_text(out.index_digests[i]) +
                                           " describes another pack than the one beside it");
    }
    out.by_pack[ix.pack.sha256] = i;
    out.indexes.push_back(std::move(ix));
  }
  return out;
}

Result<store::ImportFigures> import_fetched(store::PackTransfer& store, const PackIndex& index, Bytes data)
{
  store::PackImage image;
  image.digest = index.pack;
  image.codec = index.codec;
  image.raw_size = index.raw_size;
  image.bases = index.bases;
  image.entries = index.entries;
  image.data = std::move(data);
  return in_context(store.import_pack(image), "pack " + digest_text(index.pack.sha256));
}

} // namespace pagable::remote
