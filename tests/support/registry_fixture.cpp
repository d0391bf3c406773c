// SPDX-License-Identifier: MIT OR Apache-2.0
#include "support/registry_fixture.hpp"

#include <algorithm>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

extern char** environ;

namespace test {

namespace {

std::string env_or(const char* name, const std::string& fallback)
{
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

int listen_on(int port, int& bound)
{
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 64) != 0) {
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  bound = ntohs(a.sin_port);
  return fd;
}

int connect_to(int port)
{
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Accepts with a timeout, so that a stopping server's thread ends.
int accept_or_stop(int listen_fd, const std::atomic<bool>& stop)
{
  while (!stop.load()) {
    pollfd p{listen_fd, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      return ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    }
  }
  return -1;
}

bool send_all(int fd, const std::string& data)
{
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

std::string lower(std::string s)
{
  for (auto& ch : s) {
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  return s;
}

// A message head with its Connection header replaced by "Connection: close".
std::string closing(const std::string& head)
{
  std::string out;
  std::istringstream lines(head);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (line.empty()) {
      break;
    }
    if (lower(line).rfind("connection:", 0) != 0) {
      out += line + "\r\n";
    }
  }
  return out + "Connection: close\r\n\r\n";
}

// One HTTP message read from `fd`: head (through the blank line) and body (Content-Length,
// or until the peer closes when `to_close`).
bool read_message(int fd, std::string& head, std::string& body, bool to_close, bool no_body = false)
{
  std::string buf;
  char tmp[65536];
  std::size_t end = std::string::npos;
  while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) {
      return false;
    }
    buf.append(tmp, static_cast<std::size_t>(n));
  }
  head = buf.substr(0, end + 4);
  body = buf.substr(end + 4);
  if (no_body) {
    body.clear();
    return true;
  }
  const std::string lowered = lower(head);
  const auto cl = lowered.find("\r\ncontent-length:");
  if (cl != std::string::npos) {
    const std::size_t want = std::stoull(lowered.substr(cl + 17));
    while (body.size() < want) {
      const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) {
        return false;
      }
      body.append(tmp, static_cast<std::size_t>(n));
    }
    body.resize(want);
    return true;
  }
  if (to_close) {
    for (;;) {
      const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) {
        break;
      }
      body.append(tmp, static_cast<std::size_t>(n));
    }
  }
  return true;
}

std::string b64url(const unsigned char* data, std::size_t n)
{
  static constexpr char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | data[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += k[(acc >> bits) & 63];
    }
  }
  if (bits > 0) {
    out += k[(acc << (6 - bits)) & 63];
  }
  return out;
}

std::string b64url(const std::string& s)
{
  return b64url(reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

std::string b64std(const unsigned char* data, std::size_t n)
{
  std::string out = b64url(data, n);
  for (auto& c : out) {
    c = c == '-' ? '+' : (c == '_' ? '/' : c);
  }
  while (out.size() % 4 != 0) {
    out += '=';
  }
  return out;
}

} // namespace

std::string registry_binary()
{
  const std::string candidates[] = {env_or("PAGABLE_REGISTRY_BINARY", ""), PAGABLE_REGISTRY_BINARY_DEFAULT,
                                    "/usr/bin/docker-registry"};
  for (const auto& c : candidates) {
    if (!c.empty() && ::access(c.c_str(), X_OK) == 0) {
      return c;
    }
  }
  return {};
}

int free_port()
{
  int port = 0;
  const int fd = listen_on(0, port);
  ::close(fd);
  return port;
}

int run_quietly(const std::vector<std::string>& argv, std::string* out)
{
  int pipe_fd[2];
  if (::pipe2(pipe_fd, O_CLOEXEC) != 0) {
    return -1;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fd[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fd[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(pipe_fd[0], buf, sizeof buf)) > 0;) {
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(pipe_fd[0]);
  if (rc != 0) {
    return -1;
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (out != nullptr) {
    *out = text;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool port_answers(int port)
{
  const int fd = connect_to(port);
  if (fd < 0) {
    return false;
  }
  ::close(fd);
  return true;
}

bool have_program(const std::string& name)
{
  return run_quietly({"sh", "-c", "command -v " + name}) == 0;
}

// ---------------------------------------------------------------------------------------------

std::unique_ptr<TestRegistry> TestRegistry::start(const std::string& dir, const RegistryConfig& config,
                                                  std::string& why)
{
  if (registry_binary().empty()) {
    why = "docker-registry not found (scripts/setup unpacks it; or set PAGABLE_REGISTRY_BINARY)";
    return nullptr;
  }
  std::unique_ptr<TestRegistry> r(new TestRegistry());
  r->m_dir = dir;
  r->m_storage = dir + "/registry-storage";
  r->m_config = config;
  r->m_port = config.port != 0 ? config.port : free_port();
  std::ostringstream yml;
  yml << "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
      << "storage:\n  filesystem:\n    rootdirectory: " << r->m_storage << "\n  delete:\n    enabled: " << (config.refuse_delete ? "false" : "true") << "\n"
      << "  maintenance:\n    uploadpurging:\n      enabled: false\n"
      << "http:\n  addr: 127.0.0.1:" << r->m_port << "\n";
  if (!config.tls_cert.empty()) {
    yml << "  tls:\n    certificate: " << config.tls_cert << "\n    key: " << config.tls_key << "\n";
  }
  if (!config.htpasswd_file.empty()) {
    yml << "auth:\n  htpasswd:\n    realm: pagable-test\n    path: " << config.htpasswd_file << "\n";
  } else if (!config.token_realm.empty()) {
    yml << "auth:\n  token:\n    realm: " << config.token_realm << "\n    service: pagable-test\n"
        << "    issuer: pagable-test-issuer\n    rootcertbundle: " << config.token_cert << "\n";
  }
  r->m_config_file = dir + "/registry.yml";
  write_file(r->m_config_file, yml.str());
  if (!r->launch(why)) {
    return nullptr;
  }
  return r;
}

bool TestRegistry::launch(std::string& why)
{
  const std::string log = m_dir + "/registry.log";
  const std::string bin = registry_binary();
  std::vector<std::string> argv{bin, "serve", m_config_file};
  std::vector<char*> args;
  for (auto& a : argv) {
    args.push_back(a.data());
  }
  args.push_back(nullptr);
  // fork and exec rather than posix_spawn: the child asks the kernel for SIGKILL when this
  // thread ends (PR_SET_PDEATHSIG), so a test that crashes or is killed leaves no registry
  // running. Only async-signal-safe calls between fork and exec; everything is built above.
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    why = "cannot fork to run " + bin;
    return false;
  }
  if (pid == 0) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) {
      ::_exit(127); // the parent is gone already
    }
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) {
      ::_exit(127);
    }
    ::execv(bin.c_str(), args.data());
    ::_exit(127);
  }
  m_pid = pid;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      why = "docker-registry exited at start: " + read_file(log).substr(0, 2000);
      return false;
    }
    if (const int fd = connect_to(m_port); fd >= 0) {
      ::close(fd);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop();
  why = "docker-registry did not listen within 20 s";
  return false;
}

std::string TestRegistry::url(const std::string& repo) const
{
  return std::string(m_config.tls_cert.empty() ? "oci+http://" : "oci://") + host() + "/" + repo;
}

void TestRegistry::kill_now()
{
  if (m_pid > 0) {
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
    m_pid = -1;
  }
}

void TestRegistry::stop()
{
  if (m_pid > 0) {
    ::kill(m_pid, SIGTERM);
    ::waitpid(m_pid, nullptr, 0);
    m_pid = -1;
  }
}

bool TestRegistry::restart(std::string& why)
{
  stop();
  return launch(why);
}

TestRegistry::~TestRegistry()
{
  stop();
}

bool make_tls_material(const std::string& dir)
{
  write_file(dir + "/san.ext", "subjectAltName=IP:127.0.0.1\n");
  const std::vector<std::vector<std::string>> steps = {
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
       "-keyout", dir + "/ca.key", "-out", dir + "/ca.crt", "-days", "2", "-subj", "/CN=pagable test CA"},
      {"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
       dir + "/server.key", "-out", dir + "/server.csr", "-subj", "/CN=127.0.0.1"},
      {"openssl", "x509", "-req", "-in", dir + "/server.csr", "-CA", dir + "/ca.crt", "-CAkey", dir + "/ca.key",
       "-CAcreateserial", "-out", dir + "/server.crt", "-days", "2", "-extfile", dir + "/san.ext"},
  };
  for (const auto& s : steps) {
    if (run_quietly(s) != 0) {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------

std::unique_ptr<TokenServer> TokenServer::start(const std::string& dir, std::string username, std::string password,
                                                std::string& why)
{
  std::unique_ptr<TokenServer> t(new TokenServer());
  t->m_username = std::move(username);
  t->m_password = std::move(password);
  t->m_cert_file = dir + "/token.crt";
  t->m_key_file = dir + "/token.key";
  if (run_quietly({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", t->m_key_file, "-out",
                   t->m_cert_file, "-days", "2", "-subj", "/CN=pagable test token issuer"}) != 0) {
    why = "openssl could not make the token issuer's key";
    return nullptr;
  }
  FILE* f = std::fopen(t->m_cert_file.c_str(), "r");
  X509* cert = f != nullptr ? PEM_read_X509(f, nullptr, nullptr, nullptr) : nullptr;
  if (f != nullptr) {
    std::fclose(f);
  }
  if (cert == nullptr) {
    why = "cannot read the token issuer's certificate";
    return nullptr;
  }
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  t->m_cert_der_b64 = b64std(der, static_cast<std::size_t>(len));
  OPENSSL_free(der);
  X509_free(cert);
  t->m_listen = listen_on(0, t->m_port);
  if (t->m_listen < 0) {
    why = "cannot listen for the token server";
    return nullptr;
  }
  t->m_thread = std::thread([p = t.get()] { p->serve(); });
  return t;
}

TokenServer::~TokenServer()
{
  m_stop = true;
  if (m_thread.joinable()) {
    m_thread.join();
  }
  ::close(m_listen);
}

void TokenServer::serve()
{
  while (!m_stop.load()) {
    const int c = accept_or_stop(m_listen, m_stop);
    if (c < 0) {
      continue;
    }
    std::string head;
    std::string body;
    if (!read_message(c, head, body, false)) {
      ::close(c);
      continue;
    }
    const auto reply = [&](const std::string& status, const std::string& text) {
      send_all(c, "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nConnection: close\r\n"
                  "Content-Length: " + std::to_string(text.size()) + "\r\n\r\n" + text);
    };
    if (!m_username.empty()) {
      const std::string userpass = m_username + ":" + m_password;
      const std::string expected =
          "authorization: basic " + b64std(reinterpret_cast<const unsigned char*>(userpass.data()), userpass.size());
      if (lower(head).find(lower(expected) + "\r\n") == std::string::npos) {
        ++m_refused;
        reply("401 Unauthorized", "{\"details\":\"bad credentials\"}");
        ::close(c);
        continue;
      }
    }
    // Scopes asked: repository:NAME:ACTIONS, each granted as asked.
    const std::string target = head.substr(head.find(' ') + 1, head.find(' ', head.find(' ') + 1) - head.find(' ') - 1);
    std::string access = "[";
    for (std::size_t at = target.find("scope="); at != std::string::npos; at = target.find("scope=", at + 1)) {
      std::string scope = target.substr(at + 6, target.find('&', at) == std::string::npos ? std::string::npos
                                                                                           : target.find('&', at) - at - 6);
      std::string decoded;
      for (std::size_t i = 0; i < scope.size(); ++i) {
        if (scope[i] == '%' && i + 2 < scope.size()) {
          decoded += static_cast<char>(std::stoi(scope.substr(i + 1, 2), nullptr, 16));
          i += 2;
        } else {
          decoded += scope[i];
        }
      }
      const auto c1 = decoded.find(':');
      const auto c2 = decoded.rfind(':');
      if (c1 == std::string::npos || c2 == c1) {
        continue;
      }
      std::string actions = "[";
      std::stringstream words(decoded.substr(c2 + 1));
      for (std::string a; std::getline(words, a, ',');) {
        actions += (actions.size() > 1 ? ",\"" : "\"") + a + "\"";
      }
      actions += "]";
      access += std::string(access.size() > 1 ? "," : "") + "{\"type\":\"" + decoded.substr(0, c1) +
                "\",\"name\":\"" + decoded.substr(c1 + 1, c2 - c1 - 1) + "\",\"actions\":" + actions + "}";
    }
    access += "]";
    const long now = static_cast<long>(std::time(nullptr));
    const std::string header = "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"x5c\":[\"" + m_cert_der_b64 + "\"]}";
    const std::string claims = "{\"iss\":\"pagable-test-issuer\",\"sub\":\"" + m_username +
                               "\",\"aud\":\"pagable-test\",\"exp\":" + std::to_string(now + 600) +
                               ",\"nbf\":" + std::to_string(now - 60) + ",\"iat\":" + std::to_string(now) +
                               ",\"jti\":\"" + std::to_string(m_issued.load()) + "-" + std::to_string(now) +
                               "\",\"access\":" + access + "}";
    const std::string signing_input = b64url(header) + "." + b64url(claims);
    FILE* kf = std::fopen(m_key_file.c_str(), "r");
    EVP_PKEY* key = kf != nullptr ? PEM_read_PrivateKey(kf, nullptr, nullptr, nullptr) : nullptr;
    if (kf != nullptr) {
      std::fclose(kf);
    }
    std::string sig(512, '\0');
    std::size_t sig_len = sig.size();
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    const bool ok = key != nullptr && EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                    EVP_DigestSign(md, reinterpret_cast<unsigned char*>(sig.data()), &sig_len,
                                   reinterpret_cast<const unsigned char*>(signing_input.data()),
                                   signing_input.size()) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    if (!ok) {
      reply("500 Internal Server Error", "{}");
    } else {
      sig.resize(sig_len);
      ++m_issued;
      reply("200 OK", "{\"token\":\"" + signing_input + "." + b64url(sig) + "\",\"expires_in\":600}");
    }
    ::close(c);
  }
}

// ---------------------------------------------------------------------------------------------

std::unique_ptr<CountingProxy> CountingProxy::start(int upstream_port, std::string& why)
{
  std::unique_ptr<CountingProxy> p(new CountingProxy());
  p->m_upstream = upstream_port;
  p->m_listen = listen_on(0, p->m_port);
  if (p->m_listen < 0) {
    why = "cannot listen for the proxy";
    return nullptr;
  }
  p->m_thread = std::thread([q = p.get()] { q->serve(); });
  return p;
}

CountingProxy::~CountingProxy()
{
  m_stop = true;
  if (m_thread.joinable()) {
    m_thread.join();
  }
  ::close(m_listen);
}

CountingProxy::Figures CountingProxy::figures() const
{
  std::lock_guard lock(m_mutex);
  return m_figures;
}

void CountingProxy::on_request(std::function<void(const std::string&, const std::string&)> hook)
{
  std::lock_guard lock(m_mutex);
  m_hook = std::move(hook);
}

void CountingProxy::reset()
{
  std::lock_guard lock(m_mutex);
  m_figures = {};
}

void CountingProxy::serve()
{
  std::vector<std::thread> workers;
  while (!m_stop.load()) {
    const int c = accept_or_stop(m_listen, m_stop);
    if (c >= 0) {
      workers.emplace_back([this, c] { handle(c); });
    }
  }
  for (auto& w : workers) {
    w.join();
  }
}

void CountingProxy::handle(int client)
{
  std::string head;
  std::string body;
  if (!read_message(client, head, body, false)) {
    ::close(client);
    return;
  }
  if (int left = m_fail.load(); left > 0 && m_fail.compare_exchange_strong(left, left - 1)) {
    {
      std::lock_guard lock(m_mutex);
      ++m_figures.requests;
    }
    send_all(client, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    ::close(client);
    return;
  }
  const std::string method = head.substr(0, head.find(' '));
  const std::string path = head.substr(method.size() + 1, head.find(' ', method.size() + 1) - method.size() - 1);
  std::function<void(const std::string&, const std::string&)> hook;
  {
    std::lock_guard lock(m_mutex);
    hook = m_hook;
  }
  if (hook) {
    hook(method, path);
  }
  // Upstream: the same request, closing after it.
  const std::string up_head = closing(head);
  const int up = connect_to(m_upstream);
  if (up < 0) {
    send_all(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    ::close(client);
    return;
  }
  send_all(up, up_head + body);
  std::string rhead;
  std::string rbody;
  const bool got = read_message(up, rhead, rbody, true, method == "HEAD");
  ::close(up);
  if (!got) {
    ::close(client);
    return;
  }
  const bool blob_get = method == "GET" && path.find("/blobs/sha256:") != std::string::npos;
  bool chosen = true;
  {
    std::lock_guard lock(m_mutex);
    if (!m_flip_only.empty()) {
      chosen = std::any_of(m_flip_only.begin(), m_flip_only.end(),
                           [&](const std::string& d) { return path.find(d) != std::string::npos; });
    }
  }
  if (blob_get && m_flip.load() && chosen && !rbody.empty() && rhead.rfind("HTTP/1.1 200", 0) == 0) {
    rbody.back() = static_cast<char>(rbody.back() ^ 0x01);
  }
  {
    std::lock_guard lock(m_mutex);
    ++m_figures.requests;
    m_figures.bytes_up += body.size();
    m_figures.bytes_down += method == "HEAD" ? 0 : rbody.size();
    if ((method == "PUT" || method == "PATCH") && path.find("/blobs/uploads/") != std::string::npos &&
        !body.empty()) {
      ++m_figures.uploads;
    }
    m_figures.blob_gets += blob_get ? 1 : 0;
    m_figures.manifest_puts += method == "PUT" && path.find("/manifests/") != std::string::npos ? 1 : 0;
  }
  // The response with Connection: close (the upstream's own header replaced).
  const std::string out_head = closing(rhead);
  send_all(client, out_head + (method == "HEAD" ? std::string() : rbody));
  ::close(client);
}

} // namespace test
