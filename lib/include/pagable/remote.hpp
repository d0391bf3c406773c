// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// A remote store on an OCI registry (the distribution API, as Distribution, GHCR, ECR, GAR,
// ACR, Harbor and Artifactory speak it), and pushing and pulling archive versions to and
// from one. docs/FORMAT.md "Remote stores" is the mapping: a pack is one blob, its index
// rows a blob beside it, a version one manifest under an immutable tag.
//
// Network: TLS is verified (RemoteOptions::ca_cert adds a private CA); `oci+http://` is
// plain HTTP and is never chosen silently. libcurl honours HTTPS_PROXY/https_proxy,
// http_proxy and NO_PROXY. Requests that meet 429, a 5xx or a dropped connection are
// retried with exponential backoff (Retry-After honoured); a transfer that moves nothing
// for RemoteOptions::stall_timeout fails. Credentials (docs: pagable(1) ENVIRONMENT) come
// from PAGABLE_REGISTRY_USERNAME/PAGABLE_REGISTRY_PASSWORD, else from the URL's user-info,
// else from $DOCKER_CONFIG/config.json (~/.docker/config.json): `auths`, `credHelpers`,
// `credsStore` through docker-credential-* helpers. Basic and bearer-token challenges are
// answered. No error message or report ever holds a credential or a URL's user-info.
//
// Errors: Errc::network for what the network or the registry refused (the message names the
// host, the HTTP status and what was being done); Errc::corrupt for bytes that do not match
// their digest or key (never stored); Errc::not_found for a missing manifest or name.
// Thread-safety: a Registry may be used from one thread at a time; it runs its own
// transfers in parallel (RemoteOptions::parallel).

#include <pagable/archive.hpp>
#include <pagable/blob.hpp>
#include <pagable/key.hpp>
#include <pagable/result.hpp>
#include <pagable/retention.hpp>
#include <pagable/store.hpp>
#include <pagable/verify.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pagable::remote {

// `oci://HOST[:PORT]/REPO` (HTTPS) or `oci+http://HOST[:PORT]/REPO` (plain HTTP).
struct Location {
  bool plain_http = false;
  std::string host;       // host[:port], as the URL gives it
  std::string repository; // path inside the registry, e.g. "team/archive"
  std::string username;   // from the URL's user-info, if any (never printed)
  std::string password;

  // "oci://host/repo": the URL without user-info, for messages.
  std::string display() const;
  std::string base_url() const; // "https://host"
};

// Returns true iff `text` starts with "oci://" or "oci+http://".
bool is_remote_url(std::string_view text) noexcept;
// Errc::invalid_argument for anything that is not a remote URL with a host and a repository
// (lower-case path components of [a-z0-9._-/], as the distribution spec allows).
Result<Location> parse_location(std::string_view url);

enum class UploadMode : std::uint8_t {
  automatic,  // monolithic up to RemoteOptions::chunk_bytes, chunked above
  monolithic, // POST then one PUT with the whole blob
  chunked,    // POST, PATCH per chunk_bytes, PUT
};

struct RemoteOptions {
  std::string ca_cert;                        // a PEM file of CAs trusted besides the system's
  unsigned parallel = 4;                      // transfers in flight at once
  unsigned retries = 4;                       // further attempts after 429, 5xx, a dropped connection
  std::chrono::milliseconds backoff{200};     // first retry's wait; doubles each time
  std::chrono::milliseconds connect_timeout{15000};
  std::chrono::milliseconds stall_timeout{30000}; // no byte moved for this long: give up
  std::uint64_t chunk_bytes = 16 * 1024 * 1024;
  UploadMode upload = UploadMode::automatic;
  std::size_t manifest_limit = 4 * 1024 * 1024; // Distribution's cap on a manifest's size
};

// What a Registry sent and received so far.
struct TransferCounters {
  std::uint64_t requests = 0;       // HTTP requests answered (retries and auth included)
  std::uint64_t retries = 0;
  std::uint64_t bytes_sent = 0;     // request bodies
  std::uint64_t bytes_received = 0; // response bodies
  std::uint64_t blobs_uploaded = 0;
  std::uint64_t blobs_mounted = 0;
  std::uint64_t blobs_downloaded = 0;
};

// A blob's address: "sha256:<hex>".
std::string digest_text(const Key& sha256);
Result<Key> parse_digest(std::string_view text);

struct Manifest {
  std::string media_type;
  std::string digest; // "sha256:…" of `bytes`
  Bytes bytes;
};

class Registry {
public:
  // Checks nothing yet: the first request finds out whether the registry answers.
  static Result<std::unique_ptr<Registry>> open(const Location& where, const RemoteOptions& options = {});
  virtual ~Registry() = default;

  virtual const Location& location() const noexcept = 0;
  virtual TransferCounters counters() const = 0;

  // The sizes of the blobs that are there (nullopt for absent ones), one HEAD each, in parallel.
  virtual Result<std::vector<std::optional<std::uint64_t>>> blob_sizes(const std::vector<Key>& digests) = 0;
  // The blobs' bytes, downloaded in parallel, each checked against its digest (Errc::corrupt
  // otherwise); Errc::not_found naming the first absent one.
  virtual Result<std::vector<Bytes>> get_blobs(const std::vector<Key>& digests) = 0;
  // Uploads each blob under the SHA-256 of its bytes, in parallel; returns their digests.
  virtual Result<std::vector<Key>> put_blobs(const std::vector<const Bytes*>& blobs,
                                             UploadMode mode = UploadMode::automatic) = 0;
  // Asks the registry to mount `digest` from `from_repository` (same host). Returns true
  // when it did; false when it would not (the blob must then be uploaded).
  virtual Result<bool> mount_blob(const Key& digest, std::string_view from_repository) = 0;

  // PUTs `manifest` under `reference` (a tag or its digest). Errc::not_found when the
  // registry lacks a blob it references (MANIFEST_BLOB_UNKNOWN).
  virtual Result<std::string> put_manifest(std::string_view reference, std::string_view media_type,
                                           const Bytes& manifest) = 0;
  // The manifest under a tag or digest (a digest is checked); nullopt when there is none.
  virtual Result<std::optional<Manifest>> get_manifest(std::string_view reference) = 0;
  // Every tag of the repository (all pages), in the registry's order; none for a
  // repository that does not exist yet.
  virtual Result<std::vector<std::string>> list_tags() = 0;
  // Deletes the manifest with that digest ("sha256:…"), and with it every tag naming it (the
  // distribution spec's DELETE; its blobs stay until the registry's own garbage collection).
  // Returns false when there was none. Errc::unsupported when the registry refuses deletes
  // (405, UNSUPPORTED: Distribution without storage.delete.enabled, GHCR, Docker Hub).
  virtual Result<bool> delete_manifest(std::string_view digest) = 0;
};

// ---------------------------------------------------------------------------------------------
// Versions on a remote (docs/FORMAT.md "Remote stores").

// The immutable tag of one version: escaped name, time, key prefix.
std::string version_tag(const store::RootRecord& root);
// The tag naming the newest pushed version of `name` (a hint only).
std::string name_tag(std::string_view name);

// One version a remote holds, as its tag tells it (the manifest says the rest).
struct RemoteVersion {
  std::string tag;
  std::string name;          // decoded from the tag; "" when the tag holds a shortened name
  std::int64_t created_unix_ms = 0;
  std::string key_prefix;    // 16 hex digits
  std::uint64_t version = 0; // 1, 2, … within the name, by (time, key)
};

// The versions among `tags`, ordered by (name, time, key) with their numbers set. Tags
// that are not version tags are skipped.
std::vector<RemoteVersion> versions_in(const std::vector<std::string>& tags);

// ---------------------------------------------------------------------------------------------
// A remote's versions as the local commands see an archive's: ls, log and selectors (NAME,
// NAME#N, NAME~K, NAME@TIME, a key prefix: pagable/selector.hpp, resolved by the same code,
// over the remote's numbering by (time, key)).

// The versions of a remote, from one listing of its tags; a version's root record (its
// manifest and config: two requests) is read only when needed, once.
class RemoteCatalog {
public:
  // Lists the tags. Network errors as Registry's.
  static Result<RemoteCatalog> read(Registry& registry);

  Registry& registry() const noexcept { return *m_registry; }
  // Every version tag, by (name, time, key), numbered (versions_in).
  const std::vector<RemoteVersion>& versions() const noexcept { return m_versions; }

  // The root record `v` holds, numbered as the remote numbers it; nullopt when the version
  // was deleted since the listing. Errc::corrupt when its manifest or record is malformed
  // or names another version than its tag.
  Result<std::optional<store::RootRecord>> root(const RemoteVersion& v);
  // The manifest read for `v` by root() (reads it when not yet).
  Result<std::optional<Manifest>> manifest(const RemoteVersion& v);
  // The config blob read for `v` by root().
  Result<Bytes> record_blob(const RemoteVersion& v);

  // As Archive::list: each name's newest version (every version with AllVersions::yes) with
  // its name's count, oldest first, filtered by name prefix and labels.
  Result<std::vector<Listed>> list(const ListRequest& request);
  // As Archive::history: a name's versions newest first (up to the selected one for another
  // selector); "" every version.
  Result<std::vector<store::RootRecord>> history(std::string_view selector);
  // As Archive::find_root.
  Result<store::RootRecord> find(std::string_view selector);
  // select_versions over the remote: a name every version of it, another selector one
  // version; no selectors: every version, oldest first across names (by time, then key).
  Result<std::vector<store::RootRecord>> select(std::span<const std::string> selectors);
  // The listed version holding `root` (same tag); nullptr when none.
  const RemoteVersion* version_of(const store::RootRecord& root) const;

private:
  struct Read {
    std::optional<Manifest> manifest;
    Bytes record;
    std::optional<store::RootRecord> root;
  };
  RemoteCatalog(Registry& registry, std::vector<RemoteVersion> versions)
      : m_registry(&registry), m_versions(std::move(versions))
  {
  }
  Result<const Read*> read_version(const RemoteVersion& v);
  // The records of the versions `selector` may name: its name's (whole, or before #~@) and,
  // for hex digits, those whose tag's key prefix agrees.
  Result<std::vector<store::RootRecord>> candidates(std::string_view selector);
  Result<std::vector<store::RootRecord>> roots_of(const std::vector<const RemoteVersion*>& versions);

  Registry* m_registry;
  std::vector<RemoteVersion> m_versions;
  std::map<std::string, Read> m_read; // by tag
};

// Which versions push and pull move, as selectors (pagable/selector.hpp): a name every
// version of it, another selector one version; none: every version.
struct Selection {
  std::vector<std::string> selectors;
};

struct PushReport {
  std::vector<store::RootRecord> pushed;   // versions new to the remote
  std::vector<store::RootRecord> present;  // versions it had already
  std::uint64_t packs_uploaded = 0;
  std::uint64_t packs_present = 0;
  std::uint64_t bytes_uploaded = 0;        // blob bytes (packs, indexes, configs, manifests)
  TransferCounters transfer;
  double seconds = 0;
};

struct PullReport {
  std::vector<store::RootRecord> pulled;   // versions new to the archive
  std::vector<store::RootRecord> present;  // versions it had already
  std::uint64_t packs_downloaded = 0;
  std::uint64_t packs_present = 0;
  std::uint64_t bytes_downloaded = 0;
  TransferCounters transfer;
  double seconds = 0;
};

// What push and pull tell as they go (the library never prints).
struct TransferEvents {
  std::function<void(std::string_view what, std::uint64_t done, std::uint64_t total)> progress;
};

// Uploads the selected versions of `archive` and what they reach that the registry lacks:
// packs and indexes first, the manifest under its version tag last, so that a version is
// visible only once everything it reaches is there. A selector that selects nothing fails as
// resolve_selector does, before anything moves.
Result<PushReport> push(const store::BlobStore& archive, Registry& registry, const Selection& selection,
                        const TransferEvents& events = {});
// Downloads the selected versions and what they reach that `archive` lacks, checking every
// digest and key before storing anything, then commits each version's root record.
Result<PullReport> pull(Registry& registry, store::BlobStore& archive, const Selection& selection,
                        const TransferEvents& events = {});

// ---------------------------------------------------------------------------------------------
// Reading a remote version lazily through a local cache (pagable hydrate REMOTE).
//
// The cache is a directory holding one pagable archive per registry repository
// (cache_archive_path), whose packs are the remote's, stored verbatim: a pack is fetched
// when a read misses a blob it holds, checked (its digest on arrival, every blob against
// its key by import_pack, before anything is stored), imported, then read. A cached pack is
// never fetched again. Beside each archive, a directory of one small file per cached pack
// (its stored size and delta bases) whose modification time is its last use: finish()
// evicts whole packs, least recently used first, until the cached packs take at most
// CacheOptions::max_bytes (a delta pack goes with its base). Processes may share a cache:
// the archive is SQLite's (one writer at a time, waiting for the lock; readers never
// block), a pack another process evicts while this one reads is fetched again, and the use
// files are only hints (a lost one costs a fetch, never a wrong answer).

struct CacheOptions {
  std::string dir; // the cache directory (pagable(1): --cache, else $XDG_CACHE_HOME/pagable)
  // The stored bytes of packs kept (least recently used evicted beyond): 1 GiB.
  std::uint64_t max_bytes = std::uint64_t{1} << 30;
};

// What a CachedReader did.
struct CacheFigures {
  std::uint64_t version_packs = 0;   // packs the version's manifest lists
  std::uint64_t version_bytes = 0;   // their stored bytes (what pulling it whole would move)
  std::uint64_t indexes_fetched = 0; // index blobs downloaded (all of the version's, one round)
  std::uint64_t index_bytes = 0;
  std::uint64_t packs_fetched = 0;   // packs downloaded (delta bases included)
  std::uint64_t pack_bytes = 0;
  std::uint64_t fetch_rounds = 0;    // parallel downloads after the manifest: indexes, then each miss
  std::uint64_t packs_read = 0;      // distinct packs the reads used (cached or fetched)
  std::uint64_t packs_evicted = 0;
  std::uint64_t bytes_evicted = 0;
  std::uint64_t cached_bytes = 0;    // the cache's packs after finish()
};

// The archive of `where`'s repository in the cache directory `dir`:
// DIR/HOST[_PORT]/REPOSITORY.pagable.
std::string cache_archive_path(const std::string& dir, const Location& where);

// The blobs of one remote version, read through the cache (a store::BlobReader, so that a
// hydrate::Document reads a remote version as it reads an archive's). Keys the version does
// not reach read as absent. A read that had to fetch and failed returns the error (network,
// corrupt: nothing of a wrong pack is cached); a pack the registry answers 404 for makes it
// read the version's manifest again and retry once (a concurrent gc REMOTE, or a registry
// whose storage lags).
// Thread-safety: reads may come from many threads; fetches run one at a time.
class CachedReader final : public store::BlobReader {
public:
  // Opens (creating) the cache archive for `catalog`'s registry, reads the manifest of the
  // version holding `root` and downloads its index blobs in one parallel round.
  // REQUIRES: the catalog's registry outlives the reader.
  static Result<std::unique_ptr<CachedReader>> open(RemoteCatalog& catalog, const store::RootRecord& root,
                                                    const CacheOptions& options);
  ~CachedReader() override;
  CachedReader(const CachedReader&) = delete;
  CachedReader& operator=(const CachedReader&) = delete;

  Result<std::optional<Blob>> get(const Key& key) const override;
  Result<bool> contains(const Key& key) const override;
  Result<std::optional<std::vector<Key>>> children_of(const Key& key) const override;
  Result<std::vector<Key>> find_keys_with_prefix(std::string_view hex_prefix, std::size_t limit) const override;
  Result<void> for_each_key(const std::function<Result<void>(const Key&)>& fn) const override;

  // The first fetch error a read met, if any (a Document may report it as its own).
  std::optional<Error> fetch_error() const;
  // Marks the packs read as just used, then evicts least recently used packs beyond
  // CacheOptions::max_bytes. Call once reading is done.
  Result<void> finish();
  CacheFigures figures() const;

private:
  struct Impl;
  explicit CachedReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// ---------------------------------------------------------------------------------------------
// gc REMOTE: retention applied to a remote's versions (pagable/retention.hpp, the policy
// forget applies), deleting the manifests of the versions it does not keep once they are
// older than a grace period. Blobs are never deleted: the registry's own garbage collector
// reclaims those no manifest references (Distribution: `registry garbage-collect`).

struct RemoteGcOptions {
  KeepPolicy policy;                         // must not be empty (Errc::invalid_argument)
  std::vector<std::string> names;            // names to apply it to; empty: every name
  // A version retention drops is deleted only when created more than this long before now
  // (git's gc.pruneExpire): a runner that just pushed it, or reads it, keeps it meanwhile.
  std::chrono::milliseconds grace{24LL * 3600 * 1000};
  DryRun dry_run = DryRun::no;
  std::int64_t now_unix_ms = 0;              // 0: the clock's
};

struct RemoteGcName {
  std::string name;
  std::vector<RetentionDecision> decisions;  // newest first; keep says whether it stays
  std::vector<store::RootRecord> in_grace;   // dropped by retention, kept for the grace period
  std::vector<store::RootRecord> deleted;    // manifests deleted (or that would be, dry run)
};

struct RemoteGcReport {
  std::vector<RemoteGcName> names;
  std::uint64_t manifests_deleted = 0;
  TransferCounters transfer;
};

Result<RemoteGcReport> gc(RemoteCatalog& catalog, const RemoteGcOptions& options);

// Checks the versions `selectors` name on the remote (every version without selectors), as
// verify checks an archive: each version's manifest and root record read and match its tag
// (else ProblemKind::bad_root); every blob its manifest lists is there with its size, one
// HEAD each (missing_blob, a blob deleted at the registry; hash_mismatch for another size);
// at VerifyLevel::full and deep every blob is also downloaded and re-hashed (hash_mismatch),
// and each index must decode and describe the pack beside it (undecodable_blob). quick is
// connectivity. Problems name the versions as "NAME#N" (the remote's numbers) and the blob
// by its digest. Damage is data; the Result fails for the network, and for a selector that
// names nothing.
Result<verify::VerifyReport> verify(RemoteCatalog& catalog, std::span<const std::string> selectors,
                                    verify::VerifyLevel level);

} // namespace pagable::remote
