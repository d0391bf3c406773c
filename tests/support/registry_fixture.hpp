// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The real OCI registry for the remote tests: Distribution (Debian's docker-registry,
// unpacked by scripts/setup, never installed as a service) started on 127.0.0.1 with a free
// port, a temporary storage root and a configuration the test writes, stopped by its PID.
// Plus what the tests put around it: a token server (bearer-token flow), self-signed TLS
// material made with openssl, an htpasswd file, and an HTTP proxy that counts what passes
// and can flip a byte of the blobs it serves.
//
// A registry is killed when the thread that started it ends (PR_SET_PDEATHSIG), so a test
// that crashes leaves none running: start and restart it from the test's own thread.
//
// Without the binary a test says skipped (PAGABLE_REQUIRE_REGISTRY); with CI=true it fails.

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace test {

// The docker-registry binary: $PAGABLE_REGISTRY_BINARY, else what the build found; "" if none.
std::string registry_binary();
// A free TCP port on 127.0.0.1 (bound and released).
int free_port();
// Runs a program to completion; its exit status (stdout to `out` when given).
int run_quietly(const std::vector<std::string>& argv, std::string* out = nullptr);
// Whether something accepts TCP connections on 127.0.0.1:port.
bool port_answers(int port);
// Whether a program is on PATH.
bool have_program(const std::string& name);

struct RegistryConfig {
  std::string htpasswd_file; // basic auth
  std::string tls_cert;      // serve HTTPS with this certificate and key
  std::string tls_key;
  std::string token_realm;   // bearer tokens from this realm, signed by token_cert's key
  std::string token_cert;
  int port = 0;              // 0: a free one
  bool refuse_delete = false; // storage.delete.enabled: false (DELETE answers 405 UNSUPPORTED)
};

class TestRegistry {
public:
  // Starts a registry whose storage lives in `dir`; std::nullopt (with `why`) when it cannot.
  static std::unique_ptr<TestRegistry> start(const std::string& dir, const RegistryConfig& config, std::string& why);
  ~TestRegistry();

  std::string host() const { return "127.0.0.1:" + std::to_string(m_port); }
  int port() const { return m_port; }
  // "oci+http://127.0.0.1:PORT/REPO" (or oci:// when it serves TLS).
  std::string url(const std::string& repo) const;
  const std::string& storage() const { return m_storage; }
  // Kills the registry at once (SIGKILL), as a crash would.
  void kill_now();
  void stop();
  // Starts it again on the same port and storage.
  bool restart(std::string& why);

private:
  TestRegistry() = default;
  bool launch(std::string& why);
  std::string m_dir;
  std::string m_storage;
  std::string m_config_file;
  RegistryConfig m_config;
  int m_port = 0;
  int m_pid = -1;
};

// A self-signed CA and a certificate for 127.0.0.1 signed by it (EC P-256), in `dir`:
// ca.crt, server.crt, server.key. Returns false when openssl fails.
bool make_tls_material(const std::string& dir);

// A minimal token service for the distribution token flow: GET /token?service=&scope=
// answers {"token": JWT} signed RS256 with its own key (its self-signed certificate goes in
// the x5c header and is the registry's rootcertbundle). With a username set, requests must
// carry that basic auth (else 401).
class TokenServer {
public:
  static std::unique_ptr<TokenServer> start(const std::string& dir, std::string username, std::string password,
                                            std::string& why);
  ~TokenServer();
  std::string realm() const { return "http://127.0.0.1:" + std::to_string(m_port) + "/token"; }
  const std::string& cert_file() const { return m_cert_file; }
  int tokens_issued() const { return m_issued.load(); }
  int refused() const { return m_refused.load(); }

private:
  TokenServer() = default;
  void serve();
  std::string m_username;
  std::string m_password;
  std::string m_cert_file;
  std::string m_key_file;
  std::string m_cert_der_b64;
  int m_listen = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_issued{0};
  std::atomic<int> m_refused{0};
  std::thread m_thread;
};

// An HTTP/1.1 proxy in front of a registry (one request per connection: it answers with
// Connection: close). Counts requests and body bytes by method; can flip the last byte of
// every blob body it serves (GET .../blobs/sha256:...).
class CountingProxy {
public:
  static std::unique_ptr<CountingProxy> start(int upstream_port, std::string& why);
  ~CountingProxy();
  std::string host() const { return "127.0.0.1:" + std::to_string(m_port); }
  std::string url(const std::string& repo) const { return "oci+http://" + host() + "/" + repo; }
  void flip_blob_bytes(bool on) { m_flip = on; }
  // Flips only the blobs whose digest ("sha256:…") is one of these (none: every blob).
  void flip_only(std::vector<std::string> digests)
  {
    std::lock_guard lock(m_mutex);
    m_flip_only = std::move(digests);
  }
  // Answers the next `n` requests with 503 itself (the registry never sees them).
  void fail_next(int n) { m_fail = n; }
  // Called (on the proxy's thread) with each request's method and path before it is passed on.
  void on_request(std::function<void(const std::string&, const std::string&)> hook);

  struct Figures {
    std::uint64_t requests = 0;
    std::uint64_t uploads = 0;        // PUT/PATCH requests with a body to .../blobs/uploads/
    std::uint64_t bytes_up = 0;       // request bodies
    std::uint64_t bytes_down = 0;     // response bodies
    std::uint64_t blob_gets = 0;      // GET .../blobs/...
    std::uint64_t manifest_puts = 0;
  };
  Figures figures() const;
  void reset();

private:
  CountingProxy() = default;
  void serve();
  void handle(int client);
  int m_upstream = 0;
  int m_listen = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  std::atomic<bool> m_flip{false};
  std::atomic<int> m_fail{0};
  mutable std::mutex m_mutex;
  Figures m_figures;
  std::vector<std::string> m_flip_only; // guarded by m_mutex
  std::function<void(const std::string&, const std::string&)> m_hook;
  std::thread m_thread;
};

} // namespace test

// Starts `var` (a std::unique_ptr<test::TestRegistry>) in `dir` with `config`, or ends the test
// as skipped (failed with CI=true) when the registry cannot run here.
#define PAGABLE_REQUIRE_REGISTRY(var, dir, config)                                                 \
  std::string var##_why;                                                                           \
  auto var = test::TestRegistry::start(dir, config, var##_why);                                    \
  if (!var) {                                                                                      \
    if (const char* ci = std::getenv("CI"); ci != nullptr && std::string(ci) == "true") {          \
      FAIL("the registry did not start, and CI=true: " << var##_why);                              \
    }                                                                                              \
    PAGABLE_SKIP("no registry: " << var##_why);                                                    \
  }
