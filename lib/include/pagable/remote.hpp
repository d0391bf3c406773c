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
