// SPDX-License-Identifier: MIT OR Apache-2.0
// Reading a remote version through a local cache (pagable/remote.hpp CachedReader).
//
// Opening reads the version's manifest (the catalog has it) and all its index blobs in one
// parallel round: the index rows say which pack holds each key, so a read that misses the
// cache fetches exactly the pack holding the blob (with the delta bases it decodes from
// that the cache lacks, in the same parallel round) and nothing else. Packs enter the cache
// through the code pull uses (fetch.hpp import_fetched: digest and keys checked before
// anything is stored).
//
// Least-recently-used: each cached pack has a file named by its digest beside the archive
// (its stored size, then its delta bases, one a line), touched when a read uses the pack.
// The files are hints shared by every process: eviction trusts them for sizes and ages and
// drops packs through PackTransfer::drop_pack, which takes a delta pack with its base; a pack
// whose file is missing is fetched again at worst (import is idempotent).
#include "remote/fetch.hpp"
#include "remote/mapping.hpp"

#include <pagable/archive.hpp>
#include <pagable/remote.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_map>

#include <unistd.h>

namespace pagable::remote {

namespace fs = std::filesystem;

namespace {

// A cached pack as its use file tells it.
struct UseFile {
  Key digest;
  std::uint64_t size = 0;
  std::vector<Key> bases;
  fs::file_time_type used;
};

std::vector<UseFile> read_use_files(const fs::path& dir)
{
  std::vector<UseFile> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    auto digest = Key::parse(entry.path().filename().string());
    if (!digest) {
      continue; // not ours (a temporary file, say)
    }
    UseFile f;
    f.digest = *digest;
    std::ifstream in(entry.path());
    std::string line;
    if (!std::getline(in, line)) {
      continue; // being written by another process
    }
    f.size = std::strtoull(line.c_str(), nullptr, 10);
    while (std::getline(in, line)) {
      if (auto base = Key::parse(line)) {
        f.bases.push_back(*base);
      }
    }
    f.used = entry.last_write_time(ec);
    if (!ec) {
      out.push_back(std::move(f));
    }
  }
  return out;
}

// Writes the use file of a pack (through a temporary file and a rename, so that another
// process never reads half of one), or touches it when it is there.
void mark_used(const fs::path& dir, const PackIndex& index)
{
  const fs::path file = dir / index.pack.to_hex();
  std::error_code ec;
  if (fs::exists(file, ec)) {
    fs::last_write_time(file, fs::file_time_type::clock::now(), ec);
    return;
  }
  std::ostringstream text;
  text << index.stored_size << '\n';
  for (const auto& b : index.bases) {
    text << b.pack.to_hex() << '\n';
  }
  const fs::path tmp = dir / (".tmp-" + index.pack.to_hex().substr(0, 16) + "-" +
                              std::to_string(std::hash<std::string>{}(dir.string() + text.str()) ^
                                             static_cast<std::size_t>(::getpid())));
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text.str();
  }
  fs::rename(tmp, file, ec);
  if (ec) {
    fs::remove(tmp, ec);
  }
}

std::string path_component(std::string_view host)
{
  std::string out(host);
  std::replace(out.begin(), out.end(), ':', '_');
  return out;
}

} // namespace

std::string cache_archive_path(const std::string& dir, const Location& where)
{
  return (fs::path(dir) / path_component(where.host) / (where.repository + ".pagable")).string();
}

struct CachedReader::Impl {
  Registry* registry = nullptr;
  std::string tag;
  CacheOptions options;
  std::unique_ptr<Archive> cache;
  fs::path use_dir;
  VersionPacks packs;
  // Key: its pack's position and its entry's there.
  std::unordered_map<Key, std::pair<std::size_t, std::size_t>> where;

  mutable std::mutex mutex;              // fetches, and what follows, one at a time
  mutable std::vector<bool> used;        // packs the reads used (guarded)
  mutable std::vector<bool> fetched;     // packs this reader imported (guarded)
  mutable CacheFigures figures;          // guarded
  mutable std::optional<Error> error;    // the first fetch error (guarded)

  // Downloads the packs at `positions` in one parallel round; a 404 reads the manifest again
  // and retries once.
  Result<std::vector<Bytes>> download(const std::vector<std::size_t>& positions) const
  {
    std::vector<Key> digests;
    for (const std::size_t p : positions) {
      digests.push_back(packs.pack_digests[p]);
    }
    ++figures.fetch_rounds;
    auto got = registry->get_blobs(digests);
    if (got || got.error().code() != Errc::not_found) {
      return got;
    }
    PAGABLE_TRY_ASSIGN(const auto again, registry->get_manifest(tag));
    if (!again) {
      return make_error(Errc::not_found, "version " + tag + " was deleted from " + registry->location().display() +
                                             " while it was read (a gc REMOTE?): run the command again");
    }
    ++figures.fetch_rounds;
    return registry->get_blobs(digests);
  }

  // Fetches pack `p` and the delta bases it decodes from that the cache lacks (`all_bases`:
  // every base, whatever the use files say), bases first, and imports them.
  Result<void> fetch(std::size_t p, bool all_bases) const
  {
    std::vector<std::size_t> order;
    std::set<std::size_t> seen;
    std::function<void(std::size_t)> visit = [&](std::size_t i) {
      if (!seen.insert(i).second) {
        return;
      }
      for (const auto& b : packs.indexes[i].bases) {
        const auto it = packs.by_pack.find(b.pack.sha256);
        if (it == packs.by_pack.end()) {
          continue; // not in this version: import_pack names it if the cache lacks it
        }
        const bool cached = !all_bases && (fetched[it->second] || fs::exists(use_dir / b.pack.to_hex()));
        if (!cached) {
          visit(it->second);
        }
      }
      order.push_back(i);
    };
    visit(p);
    PAGABLE_TRY_ASSIGN(auto datas, download(order));
    for (std::size_t k = 0; k < order.size(); ++k) {
      const PackIndex& ix = packs.indexes[order[k]];
      figures.pack_bytes += datas[k].size();
      ++figures.packs_fetched;
      auto imported = import_fetched(cache->store(), ix, std::move(datas[k]));
      if (!imported && imported.error().code() == Errc::not_found && !all_bases) {
        return fetch(p, true); // a base another process evicted meanwhile
      }
      PAGABLE_TRY(in_context(std::move(imported), "version " + tag));
      fetched[order[k]] = true;
      mark_used(use_dir, ix);
    }
    return {};
  }

  Result<std::optional<Blob>> read(const Key& key) const
  {
    const auto it = where.find(key);
    if (it == where.end()) {
      return std::optional<Blob>(); // not in this version
    }
    const std::size_t p = it->second.first;
    PAGABLE_TRY_ASSIGN(auto blob, cache->store().get(key));
    std::lock_guard lock(mutex);
    used[p] = true;
    // Twice at most: another process may evict the pack between its import and this read.
    for (int attempt = 0; !blob && attempt < 2; ++attempt) {
      auto fetched_now = fetch(p, attempt > 0);
      if (!fetched_now) {
        if (!error) {
          error = fetched_now.error();
        }
        return std::move(fetched_now).error();
      }
      PAGABLE_TRY_ASSIGN(blob, cache->store().get(key));
    }
    if (!blob) {
      return make_error(Errc::corrupt, "blob " + key.to_hex() + " is not in pack " + digest_text(packs.pack_digests[p]) +
                                           " although its index lists it (version " + tag + ")");
    }
    return blob;
  }
};

CachedReader::CachedReader(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
CachedReader::~CachedReader() = default;

Result<std::unique_ptr<CachedReader>> CachedReader::open(RemoteCatalog& catalog, const store::RootRecord& root,
                                                         const CacheOptions& options)
{
  const RemoteVersion* v = catalog.version_of(root);
  if (v == nullptr) {
    return make_error(Errc::not_found, "version " + version_tag(root) + " is not on " +
                                           catalog.registry().location().display());
  }
  auto impl = std::make_unique<Impl>();
  impl->registry = &catalog.registry();
  impl->tag = v->tag;
  impl->options = options;
  const std::string path = cache_archive_path(options.dir, catalog.registry().location());
  impl->use_dir = fs::path(path).replace_extension(".packs");
  std::error_code ec;
  fs::create_directories(impl->use_dir, ec);
  if (ec) {
    return make_error(Errc::io, impl->use_dir.string() + ": cannot be created (" + ec.message() + ")");
  }
  ArchiveOptions archive_options;
  archive_options.mode = OpenMode::create;
  PAGABLE_TRY_ASSIGN(impl->cache, in_context(Archive::open(path, archive_options), "the cache"));
  PAGABLE_TRY_ASSIGN(const auto got, catalog.manifest(*v));
  if (!got) {
    return make_error(Errc::not_found, "version " + v->tag + " was deleted from " +
                                           catalog.registry().location().display() + " since it was listed");
  }
  PAGABLE_TRY_ASSIGN(const auto manifest, in_context(decode_manifest(got->bytes), "version " + v->tag));
  PAGABLE_TRY_ASSIGN(impl->packs, fetch_version_packs(catalog.registry(), manifest, v->tag));
  CacheFigures& f = impl->figures;
  f.version_packs = impl->packs.indexes.size();
  f.indexes_fetched = impl->packs.index_digests.size();
  f.index_bytes = impl->packs.index_bytes;
  f.fetch_rounds = f.indexes_fetched > 0 ? 1 : 0;
  for (std::size_t i = 0; i < impl->packs.indexes.size(); ++i) {
    const auto& ix = impl->packs.indexes[i];
    f.version_bytes += ix.stored_size;
    for (std::size_t e = 0; e < ix.entries.size(); ++e) {
      impl->where.emplace(ix.entries[e].key, std::make_pair(i, e)); // the first pack holding it
    }
  }
  impl->used.assign(impl->packs.indexes.size(), false);
  impl->fetched.assign(impl->packs.indexes.size(), false);
  return std::unique_ptr<CachedReader>(new CachedReader(std::move(impl)));
}

Result<std::optional<Blob>> CachedReader::get(const Key& key) const
{
  return m_impl->read(key);
}

Result<bool> CachedReader::contains(const Key& key) const
{
  return m_impl->where.contains(key);
}

Result<std::optional<std::vector<Key>>> CachedReader::children_of(const Key& key) const
{
  const auto it = m_impl->where.find(key);
  if (it == m_impl->where.end()) {
    return std::optional<std::vector<Key>>();
  }
  return std::optional<std::vector<Key>>(m_impl->packs.indexes[it->second.first].entries[it->second.second].children);
}

Result<std::vector<Key>> CachedReader::find_keys_with_prefix(std::string_view hex_prefix, std::size_t limit) const
{
  if (hex_prefix.empty() || hex_prefix.size() > 64 ||
      !std::all_of(hex_prefix.begin(), hex_prefix.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; })) {
    std::string message(1, '"'); // appended: g++ 12 -O3 misreads "lit" + std::string (-Wrestrict)
    message += hex_prefix;
    message += "\" is not a hex key prefix";
    return make_error(Errc::invalid_argument, message);
  }
  std::string prefix(hex_prefix);
  std::transform(prefix.begin(), prefix.end(), prefix.begin(), [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  std::vector<Key> out;
  for (const auto& [key, _] : m_impl->where) {
    if (key.to_hex().starts_with(prefix)) {
      out.push_back(key);
    }
  }
  std::sort(out.begin(), out.end());
  out.resize(std::min(out.size(), limit));
  return out;
}

Result<void> CachedReader::for_each_key(const std::function<Result<void>(const Key&)>& fn) const
{
  for (const auto& [key, _] : m_impl->where) {
    PAGABLE_TRY(fn(key));
  }
  return {};
}

std::optional<Error> CachedReader::fetch_error() const
{
  std::lock_guard lock(m_impl->mutex);
  return m_impl->error;
}

CacheFigures CachedReader::figures() const
{
  std::lock_guard lock(m_impl->mutex);
  return m_impl->figures;
}

Result<void> CachedReader::finish()
{
  Impl& impl = *m_impl;
  std::lock_guard lock(impl.mutex);
  CacheFigures& f = impl.figures;
  f.packs_read = 0;
  for (std::size_t i = 0; i < impl.used.size(); ++i) {
    if (impl.used[i]) {
      ++f.packs_read;
      mark_used(impl.use_dir, impl.packs.indexes[i]);
    }
  }
  auto files = read_use_files(impl.use_dir);
  std::uint64_t total = 0;
  for (const auto& u : files) {
    total += u.size;
  }
  std::sort(files.begin(), files.end(), [](const UseFile& a, const UseFile& b) { return a.used < b.used; });
  std::set<Key> gone;
  for (const auto& oldest : files) {
    if (total <= impl.options.max_bytes) {
      break;
    }
    if (gone.contains(oldest.digest)) {
      continue;
    }
    PAGABLE_TRY_ASSIGN(const std::uint64_t freed,
                       in_context(impl.cache->store().drop_pack(store::PackDigest{oldest.digest}), "evicting from the cache"));
    // The store dropped the packs decoding from it too: their files go with it.
    std::set<Key> doomed{oldest.digest};
    for (bool grew = true; grew;) {
      grew = false;
      for (const auto& u : files) {
        const bool based = std::any_of(u.bases.begin(), u.bases.end(), [&](const Key& b) { return doomed.contains(b); });
        grew = (based && doomed.insert(u.digest).second) || grew;
      }
    }
    for (const auto& u : files) {
      if (doomed.contains(u.digest) && gone.insert(u.digest).second) {
        std::error_code ec;
        fs::remove(impl.use_dir / u.digest.to_hex(), ec);
        total -= std::min(total, u.size);
        ++f.packs_evicted;
      }
    }
    f.bytes_evicted += freed;
  }
  f.cached_bytes = total;
  return {};
}

} // namespace pagable::remote
