// SPDX-License-Identifier: MIT OR Apache-2.0
// The OCI distribution client (pagable/remote.hpp's Registry).
//
// Every operation is a batch of requests handed to HttpClient (parallel, retried). A 401
// is answered once per batch: its WWW-Authenticate challenge says Basic (the credentials go
// along from then on) or Bearer (a token for the challenge's scope is fetched and used until
// a later 401 asks for another scope, e.g. push after pull); the refused requests then run
// again. Credentials are looked up on the first challenge only, so anonymous registries
// never run a credential helper.
//
// Uploads are the spec's two-step monolithic form (POST for a session, PUT with the digest
// and the bytes) or its chunked form (POST, PATCH per chunk with Content-Range, PUT with the
// digest); Distribution ignores a digest on the POST. A failed upload is started over from
// its POST (the session may be gone), after a HEAD finds the blob still missing.
#include "remote/auth.hpp"
#include "remote/http.hpp"

#include <pagable/remote.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

namespace pagable::remote {

namespace {

constexpr const char* k_manifest_accept =
    "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

bool valid_repository(std::string_view repo)
{
  // Components of [a-z0-9]+ joined by runs of . _ -, separated by single slashes.
  if (repo.empty() || repo.size() > 255) {
    return false;
  }
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  char prev = '/';
  for (const char c : repo) {
    const bool sep = c == '.' || c == '_' || c == '-';
    if (!alnum(c) && !sep && c != '/') {
      return false;
    }
    if (prev == '/' && !alnum(c)) {
      return false; // a component starts with a letter or digit
    }
    if (c == '/' && !alnum(prev)) {
      return false; // and ends with one
    }
    prev = c;
  }
  return alnum(prev);
}

// The registry's own error code and message from an error body, if it sent one.
std::string registry_error(const HttpResponse& r)
{
  const auto doc = nlohmann::json::parse(r.body.begin(), r.body.end(), nullptr, false);
  if (doc.is_object() && doc.contains("errors") && doc["errors"].is_array() && !doc["errors"].empty() &&
      doc["errors"][0].is_object()) {
    const auto& e = doc["errors"][0];
    std::string text = e.value("code", std::string());
    if (e.contains("message") && e["message"].is_string()) {
      text += (text.empty() ? "" : ": ") + e["message"].get<std::string>();
    }
    return text;
  }
  return {};
}

std::string short_digest(const Key& digest)
{
  return "sha256:" + digest.to_hex().substr(0, 12);
}

class HttpRegistry final : public Registry {
public:
  HttpRegistry(Location where, const RemoteOptions& options)
      : m_where(std::move(where)), m_options(options),
        m_http(HttpSettings{m_where.plain_http, options.ca_cert, options.parallel, options.retries,
                            options.backoff, options.connect_timeout, options.stall_timeout})
  {
  }

  const Location& location() const noexcept override { return m_where; }

  TransferCounters counters() const override
  {
    TransferCounters c = m_counters;
    c.requests = m_http.counters().requests;
    c.retries = m_http.counters().retries;
    c.bytes_sent = m_http.counters().bytes_sent;
    c.bytes_received = m_http.counters().bytes_received;
    return c;
  }

  Result<std::vector<std::optional<std::uint64_t>>> blob_sizes(const std::vector<Key>& digests) override
  {
    std::vector<HttpRequest> reqs;
    for (const Key& d : digests) {
      reqs.push_back(request("HEAD", repo_url("/blobs/" + digest_text(d))));
    }
    PAGABLE_TRY_ASSIGN(auto responses, run(std::move(reqs)));
    std::vector<std::optional<std::uint64_t>> out;
    for (std::size_t i = 0; i < responses.size(); ++i) {
      const auto& r = responses[i];
      if (r.status == 404) {
        out.emplace_back();
      } else if (r.status == 200) {
        const std::string len = r.header("content-length");
        out.emplace_back(len.empty() ? 0 : std::stoull(len));
      } else {
        return failure(r, "looking for blob " + short_digest(digests[i]));
      }
    }
    return out;
  }

  Result<std::vector<Bytes>> get_blobs(const std::vector<Key>& digests) override
  {
    std::vector<HttpRequest> reqs;
    for (const Key& d : digests) {
      reqs.push_back(request("GET", repo_url("/blobs/" + digest_text(d))));
    }
    PAGABLE_TRY_ASSIGN(auto responses, run(std::move(reqs)));
    std::vector<Bytes> out;
    for (std::size_t i = 0; i < responses.size(); ++i) {
      auto& r = responses[i];
      if (r.status == 404) {
        return make_error(Errc::not_found, m_where.display() + " has no blob " + digest_text(digests[i]));
      }
      if (r.status != 200) {
        return failure(r, "downloading blob " + short_digest(digests[i]));
      }
      if (sha256_of(r.body) != digests[i]) {
        return make_error(Errc::corrupt, m_where.display() + " served blob " + digest_text(digests[i]) +
                                             " with other bytes (SHA-256 " + sha256_of(r.body).to_hex() +
                                             "); nothing was stored");
      }
      ++m_counters.blobs_downloaded;
      out.push_back(std::move(r.body));
    }
    return out;
  }

  Result<std::vector<Key>> put_blobs(const std::vector<const Bytes*>& blobs, UploadMode mode) override
  {
    std::vector<Key> digests;
    for (const Bytes* b : blobs) {
      digests.push_back(sha256_of(*b));
    }
    std::vector<std::size_t> todo(blobs.size());
    for (std::size_t i = 0; i < todo.size(); ++i) {
      todo[i] = i;
    }
    for (unsigned attempt = 0;; ++attempt) {
      PAGABLE_TRY_ASSIGN(auto failed, upload(blobs, digests, todo, mode));
      if (failed.empty()) {
        break;
      }
      // A session lost on the way (a restarted registry, a dropped PUT that did arrive):
      // whatever is there now is done; the rest starts over.
      std::vector<Key> check;
      for (const auto& [i, why] : failed) {
        check.push_back(digests[i]);
      }
      PAGABLE_TRY_ASSIGN(const auto sizes, blob_sizes(check));
      todo.clear();
      for (std::size_t k = 0; k < failed.size(); ++k) {
        if (!sizes[k]) {
          if (attempt >= m_options.retries) {
            return std::move(failed[k].second);
          }
          todo.push_back(failed[k].first);
        }
      }
      if (todo.empty()) {
        break;
      }
    }
    return digests;
  }

  Result<bool> mount_blob(const Key& digest, std::string_view from_repository) override
  {
    if (!valid_repository(from_repository)) {
      return make_error(Errc::invalid_argument, "\"" + std::string(from_repository) + "\" is not a repository name");
    }
    auto req = request("POST", repo_url("/blobs/uploads/?mount=" + digest_text(digest) +
                                        "&from=" + std::string(from_repository)));
    PAGABLE_TRY_ASSIGN(auto responses, run({req}));
    const auto& r = responses.front();
    if (r.status == 201) {
      ++m_counters.blobs_mounted;
      return true;
    }
    if (r.status == 202) {
      // Not mounted: the registry opened an upload session instead, which is let go.
      if (const std::string at = r.header("location"); !at.empty()) {
        (void)run({request("DELETE", absolute(at))});
      }
      return false;
    }
    return failure(r, "mounting blob " + short_digest(digest) + " from " + std::string(from_repository));
  }

  Result<std::string> put_manifest(std::string_view reference, std::string_view media_type,
                                   const Bytes& manifest) override
  {
    if (manifest.size() > m_options.manifest_limit) {
      return make_error(Errc::invalid_argument,
                        "a manifest of " + std::to_string(manifest.size()) + " bytes exceeds the registry's " +
                            std::to_string(m_options.manifest_limit) + "-byte limit");
    }
    auto req = request("PUT", repo_url("/manifests/" + std::string(reference)));
    req.headers.push_back("Content-Type: " + std::string(media_type));
    req.body = manifest;
    PAGABLE_TRY_ASSIGN(auto responses, run({req}));
    const auto& r = responses.front();
    if (r.status == 201 || r.status == 200) {
      return digest_text(sha256_of(manifest));
    }
    if (r.status == 400 && registry_error(r).find("MANIFEST_BLOB_UNKNOWN") != std::string::npos) {
      return make_error(Errc::not_found, m_where.display() + " lacks a blob manifest " +
                                             std::string(reference) + " references (" + registry_error(r) + ")");
    }
    return failure(r, "storing manifest " + std::string(reference));
  }

  Result<std::optional<Manifest>> get_manifest(std::string_view reference) override
  {
    auto req = request("GET", repo_url("/manifests/" + std::string(reference)));
    req.headers.emplace_back(k_manifest_accept);
    PAGABLE_TRY_ASSIGN(auto responses, run({req}));
    auto& r = responses.front();
    if (r.status == 404) {
      return std::optional<Manifest>();
    }
    if (r.status != 200) {
      return failure(r, "reading manifest " + std::string(reference));
    }
    Manifest m;
    m.media_type = r.header("content-type");
    m.digest = digest_text(sha256_of(r.body));
    if (reference.rfind("sha256:", 0) == 0 && m.digest != reference) {
      return make_error(Errc::corrupt, m_where.display() + " served manifest " + std::string(reference) +
                                           " with other bytes (" + m.digest + ")");
    }
    m.bytes = std::move(r.body);
    return std::optional<Manifest>(std::move(m));
  }

  Result<bool> delete_manifest(std::string_view digest) override
  {
    PAGABLE_TRY_ASSIGN(auto responses, run({request("DELETE", repo_url("/manifests/" + std::string(digest)))}));
    const auto& r = responses.front();
    if (r.status == 202 || r.status == 200 || r.status == 204) {
      return true;
    }
    if (r.status == 404 && registry_error(r).find("UNSUPPORTED") == std::string::npos) {
      return false;
    }
    if (r.status == 405 || registry_error(r).find("UNSUPPORTED") != std::string::npos) {
      return make_error(Errc::unsupported,
                        m_where.host + " does not allow deleting manifests (HTTP " + std::to_string(r.status) +
                            (registry_error(r).empty() ? "" : ", " + registry_error(r)) +
                            "): nothing was deleted by this request; on Distribution set storage.delete.enabled, "
                            "GHCR and Docker Hub delete through their own web API");
    }
    return failure(r, "deleting manifest " + std::string(digest));
  }

  Result<std::vector<std::string>> list_tags() override
  {
    std::vector<std::string> tags;
    std::string url = repo_url("/tags/list?n=1000");
    while (!url.empty()) {
      PAGABLE_TRY_ASSIGN(auto responses, run({request("GET", url)}));
      const auto& r = responses.front();
      if (r.status == 404) {
        return tags; // no such repository yet
      }
      if (r.status != 200) {
        return failure(r, "listing tags");
      }
      const auto doc = nlohmann::json::parse(r.body.begin(), r.body.end(), nullptr, false);
      if (!doc.is_object()) {
        return make_error(Errc::network, m_where.host + " sent a tag list that is not JSON");
      }
      if (doc.contains("tags") && doc["tags"].is_array()) {
        for (const auto& t : doc["tags"]) {
          if (t.is_string()) {
            tags.push_back(t.get<std::string>());
          }
        }
      }
      url.clear();
      // Link: </v2/repo/tags/list?last=x&n=1000>; rel="next"
      if (const std::string link = r.header("link"); link.find("rel=\"next\"") != std::string::npos) {
        const auto open = link.find('<');
        const auto close = link.find('>');
        if (open != std::string::npos && close != std::string::npos && close > open) {
          url = absolute(link.substr(open + 1, close - open - 1));
        }
      }
    }
    return tags;
  }

private:
  HttpRequest request(std::string method, std::string url) const
  {
    HttpRequest r;
    r.method = std::move(method);
    r.url = std::move(url);
    return r;
  }

  std::string repo_url(const std::string& tail) const
  {
    return m_where.base_url() + "/v2/" + m_where.repository + tail;
  }

  std::string absolute(const std::string& location) const
  {
    if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) {
      return location;
    }
    return m_where.base_url() + (location.empty() || location[0] != '/' ? "/" : "") + location;
  }

  Error failure(const HttpResponse& r, const std::string& what) const
  {
    std::string text = m_where.host + ": ";
    if (r.status == 0) {
      text += r.transport_error;
    } else {
      text += "HTTP " + std::to_string(r.status);
      if (const std::string e = registry_error(r); !e.empty()) {
        text += " (" + e + ")";
      }
    }
    text += " while " + what;
    if (r.attempts > 1) {
      text += " (" + std::to_string(r.attempts) + " attempts)";
    }
    if (r.status == 401 || r.status == 403) {
      text += "; check the credentials (PAGABLE_REGISTRY_USERNAME and PAGABLE_REGISTRY_PASSWORD, or "
              "docker login)";
    }
    return make_error(Errc::network, text);
  }

  // Runs a batch, answering the registry's challenge once.
  Result<std::vector<HttpResponse>> run(std::vector<HttpRequest> reqs)
  {
    for (auto& r : reqs) {
      if (!m_authorization.empty()) {
        r.headers.push_back("Authorization: " + m_authorization);
      }
    }
    auto responses = m_http.perform(reqs);
    std::vector<std::size_t> refused;
    for (std::size_t i = 0; i < responses.size(); ++i) {
      if (responses[i].status == 401) {
        refused.push_back(i);
      }
    }
    if (refused.empty()) {
      return responses;
    }
    const auto challenge = parse_challenge(responses[refused.front()].header("www-authenticate"));
    if (!challenge) {
      return responses;
    }
    if (!m_credentials_looked_up) {
      PAGABLE_TRY_ASSIGN(m_credentials, find_credentials(m_where));
      m_credentials_looked_up = true;
    }
    std::string authorization;
    if (challenge->scheme == "basic") {
      if (!m_credentials) {
        return responses;
      }
      authorization = basic_authorization(*m_credentials);
    } else if (challenge->scheme == "bearer") {
      PAGABLE_TRY_ASSIGN(authorization, fetch_token(m_http, *challenge, m_credentials));
    } else {
      return responses;
    }
    if (authorization == m_authorization) {
      return responses; // the same answer was refused already
    }
    m_authorization = authorization;
    std::vector<HttpRequest> again;
    for (const std::size_t i : refused) {
      HttpRequest r = reqs[i];
      std::erase_if(r.headers, [](const std::string& h) { return h.rfind("Authorization:", 0) == 0; });
      r.headers.push_back("Authorization: " + m_authorization);
      again.push_back(std::move(r));
    }
    auto second = m_http.perform(again);
    for (std::size_t k = 0; k < refused.size(); ++k) {
      responses[refused[k]] = std::move(second[k]);
    }
    return responses;
  }

  // One pass of uploads for the blobs `todo` names; returns those that failed, with why.
  Result<std::vector<std::pair<std::size_t, Error>>> upload(const std::vector<const Bytes*>& blobs,
                                                            const std::vector<Key>& digests,
                                                            const std::vector<std::size_t>& todo, UploadMode mode)
  {
    std::vector<std::pair<std::size_t, Error>> failed;
    std::vector<HttpRequest> posts;
    for (std::size_t k = 0; k < todo.size(); ++k) {
      posts.push_back(request("POST", repo_url("/blobs/uploads/")));
    }
    PAGABLE_TRY_ASSIGN(auto started, run(std::move(posts)));
    // Each blob's session URL and how far it got.
    struct Session {
      std::size_t blob;
      std::string url;
      std::uint64_t sent = 0;
      bool chunked = false;
    };
    std::vector<Session> sessions;
    for (std::size_t k = 0; k < todo.size(); ++k) {
      const auto& r = started[k];
      if (r.status != 202 || r.header("location").empty()) {
        return failure(r, "starting the upload of blob " + short_digest(digests[todo[k]]));
      }
      const std::uint64_t size = blobs[todo[k]]->size();
      const bool chunked = mode == UploadMode::chunked ||
                           (mode == UploadMode::automatic && size > m_options.chunk_bytes);
      sessions.push_back(Session{todo[k], absolute(r.header("location")), 0, chunked});
    }
    // Chunks: one round per chunk, every chunked blob's next chunk in parallel.
    for (;;) {
      std::vector<HttpRequest> round;
      std::vector<std::size_t> in_round;
      std::vector<std::uint64_t> lengths;
      for (std::size_t s = 0; s < sessions.size(); ++s) {
        Session& se = sessions[s];
        const Bytes& data = *blobs[se.blob];
        if (!se.chunked || se.sent >= data.size()) {
          continue;
        }
        const std::uint64_t n = std::min<std::uint64_t>(std::max<std::uint64_t>(m_options.chunk_bytes, 1),
                                                        data.size() - se.sent);
        auto req = request("PATCH", se.url);
        req.headers.push_back("Content-Range: " + std::to_string(se.sent) + "-" + std::to_string(se.sent + n - 1));
        req.body = std::span<const std::uint8_t>(data).subspan(se.sent, n);
        round.push_back(std::move(req));
        in_round.push_back(s);
        lengths.push_back(n);
      }
      if (round.empty()) {
        break;
      }
      PAGABLE_TRY_ASSIGN(auto done, run(std::move(round)));
      for (std::size_t k = 0; k < done.size(); ++k) {
        Session& se = sessions[in_round[k]];
        if (done[k].status != 202 || done[k].header("location").empty()) {
          failed.emplace_back(se.blob, failure(done[k], "uploading blob " + short_digest(digests[se.blob])));
          se.chunked = false;
          se.url.clear();
          continue;
        }
        se.sent += lengths[k];
        se.url = absolute(done[k].header("location"));
      }
    }
    std::vector<HttpRequest> puts;
    std::vector<std::size_t> putting;
    for (std::size_t s = 0; s < sessions.size(); ++s) {
      const Session& se = sessions[s];
      if (se.url.empty()) {
        continue;
      }
      auto req = request("PUT", se.url + (se.url.find('?') == std::string::npos ? "?" : "&") +
                                    "digest=" + digest_text(digests[se.blob]));
      if (!se.chunked) {
        req.body = *blobs[se.blob];
      }
      puts.push_back(std::move(req));
      putting.push_back(s);
    }
    PAGABLE_TRY_ASSIGN(auto finished, run(std::move(puts)));
    for (std::size_t k = 0; k < finished.size(); ++k) {
      const std::size_t blob = sessions[putting[k]].blob;
      if (finished[k].status == 201) {
        ++m_counters.blobs_uploaded;
        continue;
      }
      if (finished[k].status == 400 && registry_error(finished[k]).find("DIGEST_INVALID") != std::string::npos) {
        return make_error(Errc::corrupt, m_where.host + " found blob " + digest_text(digests[blob]) +
                                             " arrived with other bytes (" + registry_error(finished[k]) + ")");
      }
      failed.emplace_back(blob, failure(finished[k], "uploading blob " + short_digest(digests[blob])));
    }
    return failed;
  }

  Location m_where;
  RemoteOptions m_options;
  HttpClient m_http;
  TransferCounters m_counters;
  bool m_credentials_looked_up = false;
  std::optional<Credentials> m_credentials;
  std::string m_authorization; // "Basic …" or "Bearer …"; never in a message
};

} // namespace

bool is_remote_url(std::string_view text) noexcept
{
  return text.rfind("oci://", 0) == 0 || text.rfind("oci+http://", 0) == 0;
}

Result<Location> parse_location(std::string_view url)
{
  Location loc;
  std::string_view rest;
  if (url.rfind("oci://", 0) == 0) {
    rest = url.substr(6);
  } else if (url.rfind("oci+http://", 0) == 0) {
    loc.plain_http = true;
    rest = url.substr(11);
  } else {
    return make_error(Errc::invalid_argument, "a remote is oci://HOST[:PORT]/REPOSITORY or "
                                              "oci+http://HOST[:PORT]/REPOSITORY");
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view info = authority.substr(0, at);
    const auto colon = info.find(':');
    loc.username = std::string(info.substr(0, colon));
    loc.password = colon == std::string_view::npos ? std::string() : std::string(info.substr(colon + 1));
    authority.remove_prefix(at + 1);
  }
  loc.host = std::string(authority);
  const std::string shown = std::string(loc.plain_http ? "oci+http://" : "oci://") + loc.host;
  if (loc.host.empty() || slash == std::string_view::npos) {
    return make_error(Errc::invalid_argument, "the remote " + shown + " names no repository (oci://HOST/REPOSITORY)");
  }
  for (const char c : loc.host) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '.' && c != '-' && c != ':' && c != '[' &&
        c != ']') {
      return make_error(Errc::invalid_argument, "the remote " + shown + " has a malformed host");
    }
  }
  loc.repository = std::string(rest.substr(slash + 1));
  while (!loc.repository.empty() && loc.repository.back() == '/') {
    loc.repository.pop_back();
  }
  if (!valid_repository(loc.repository)) {
    return make_error(Errc::invalid_argument,
                      "\"" + loc.repository + "\" is not a repository name: lower-case letters, digits and . _ - "
                                              "between them, / between components");
  }
  return loc;
}

std::string Location::display() const
{
  return std::string(plain_http ? "oci+http://" : "oci://") + host + "/" + repository;
}

std::string Location::base_url() const
{
  return std::string(plain_http ? "http://" : "https://") + host;
}

std::string digest_text(const Key& sha256)
{
  return "sha256:" + sha256.to_hex();
}

Result<Key> parse_digest(std::string_view text)
{
  if (text.rfind("sha256:", 0) != 0) {
    return make_error(Errc::corrupt, "\"" + std::string(text.substr(0, 80)) + "\" is not a sha256 digest");
  }
  auto key = Key::parse(text.substr(7));
  if (!key || text.size() != 7 + 64) {
    return make_error(Errc::corrupt, "\"" + std::string(text.substr(0, 80)) + "\" is not a sha256 digest");
  }
  return key;
}

Result<std::unique_ptr<Registry>> Registry::open(const Location& where, const RemoteOptions& options)
{
  PAGABLE_TRY(load_curl());
  if (!options.ca_cert.empty()) {
    if (FILE* f = std::fopen(options.ca_cert.c_str(), "r"); f != nullptr) {
      std::fclose(f);
    } else {
      return make_error(Errc::not_found, "cannot read the CA file " + options.ca_cert);
    }
  }
  return std::unique_ptr<Registry>(std::make_unique<HttpRegistry>(where, options));
}

} // namespace pagable::remote
