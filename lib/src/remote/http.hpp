// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// HTTP over libcurl's multi interface: a batch of requests runs with at most `parallel` in
// flight on kept-alive connections, each retried with exponential backoff on 429, a 5xx or a
// dropped connection (Retry-After honoured, capped). TLS is verified; a CA file may be added.
// No other file knows libcurl exists: callers see requests and responses. Thread-safety: one HttpClient per thread (it owns its multi handle).

#include <pagable/blob.hpp>
#include <pagable/result.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace pagable::remote {

struct HttpSettings {
  bool plain_http = false; // allow http:// (and only then)
  std::string ca_cert;
  unsigned parallel = 4;
  unsigned retries = 4;
  std::chrono::milliseconds backoff{200};
  std::chrono::milliseconds connect_timeout{15000};
  std::chrono::milliseconds stall_timeout{30000};
};

struct HttpRequest {
  std::string method = "GET"; // GET, HEAD, PUT, POST, PATCH, DELETE
  std::string url;
  std::vector<std::string> headers; // "Name: value"
  std::span<const std::uint8_t> body; // not owned: outlives perform()
};

struct HttpResponse {
  long status = 0;           // 0: no response (transport_error says why)
  std::string transport_error;
  std::map<std::string, std::string> headers; // names in lower case; of the last response
  Bytes body;
  unsigned attempts = 0;

  // The header's value, or "" when absent. `name` in lower case.
  std::string header(const std::string& name) const;
};

struct HttpCounters {
  std::uint64_t requests = 0;
  std::uint64_t retries = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
};

// Loads libcurl (once per process). Errc::network saying why when it cannot be loaded.
// REQUIRES: before the first HttpClient is made.
Result<void> load_curl();

class HttpClient {
public:
  explicit HttpClient(HttpSettings settings);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Runs every request (at most `parallel` at once) and returns their responses in the same
  // order. A response is final: a success, a client error, or the last of the retries.
  std::vector<HttpResponse> perform(const std::vector<HttpRequest>& requests);
  HttpResponse perform_one(const HttpRequest& request);

  const HttpCounters& counters() const noexcept { return m_counters; }

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  HttpCounters m_counters;
};

// Whether a response is worth another attempt (429, 5xx but 501, or no response for a
// reason other than TLS verification or a bad URL).
bool transient(const HttpResponse& response);

} // namespace pagable::remote
