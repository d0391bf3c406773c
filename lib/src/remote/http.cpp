// SPDX-License-Identifier: MIT OR Apache-2.0
// HTTP for the remote module: the one file that includes libcurl.
//
// A batch runs in one curl multi handle, whose connection cache keeps connections alive
// across batches. Each request gets an easy handle from a small pool (reset between uses);
// when it finishes with a transient failure it goes back into a waiting list with the time
// it may run again (backoff doubling from HttpSettings::backoff, or the server's Retry-After,
// whichever is longer, capped at 30 s). Bodies are sent from the caller's memory
// (CURLOPT_POSTFIELDS with an explicit size, for every method that has one) and received
// into a vector. Redirects are followed for GET and HEAD only (registries send blob
// downloads to their storage), and only to the protocols the remote allows: a redirect
// from HTTPS never lands on plain HTTP. curl never forwards Authorization to another host.
//
// libcurl is loaded with dlopen when the first remote is opened, not linked: every other
// command then starts without loading libcurl and the dozen libraries it needs, and
// libcurl's OpenSSL never meets the libcrypto linked statically into pagable (whose symbols
// the executable would otherwise export to it).
#include "remote/http.hpp"

#include <pagable/version.hpp>

#define CURL_DISABLE_TYPECHECK // calls go through the function pointers below
#include <curl/curl.h>

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>

namespace pagable::remote {

namespace {

constexpr std::chrono::milliseconds k_retry_cap{30000};

// The libcurl functions used, resolved from libcurl.so.4 once.
struct CurlApi {
#define PAGABLE_CURL_FUNCTIONS(X)                                                                  \
  X(global_init) X(easy_init) X(easy_cleanup) X(easy_reset) X(easy_setopt) X(easy_getinfo)         \
  X(easy_strerror) X(slist_append) X(slist_free_all) X(multi_init) X(multi_cleanup)               \
  X(multi_setopt) X(multi_add_handle) X(multi_remove_handle) X(multi_perform) X(multi_info_read)  \
  X(multi_poll)
#define PAGABLE_CURL_MEMBER(name) decltype(&::curl_##name) name = nullptr;
  PAGABLE_CURL_FUNCTIONS(PAGABLE_CURL_MEMBER)
#undef PAGABLE_CURL_MEMBER
  std::string error; // why it could not be loaded; empty when it was
};

const CurlApi& curl_api()
{
  static const CurlApi api = [] {
    CurlApi a;
    void* lib = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      a.error = std::string("cannot load libcurl (Debian: apt-get install libcurl4): ") + ::dlerror();
      return a;
    }
#define PAGABLE_CURL_RESOLVE(name)                                                                 \
  a.name = reinterpret_cast<decltype(&::curl_##name)>(::dlsym(lib, "curl_" #name));               \
  if (a.name == nullptr && a.error.empty()) {                                                      \
    a.error = "libcurl.so.4 lacks curl_" #name " (pagable needs libcurl 7.85 or later)";           \
  }
    PAGABLE_CURL_FUNCTIONS(PAGABLE_CURL_RESOLVE)
#undef PAGABLE_CURL_RESOLVE
    if (a.error.empty()) {
      a.global_init(CURL_GLOBAL_DEFAULT);
    }
    return a; // the library stays loaded for the process's life
  }();
  return api;
}

std::string lower(std::string s)
{
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(std::string s)
{
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) {
    ++i;
  }
  return s.substr(i);
}

// One request in flight or waiting.
struct Transfer {
  std::size_t index = 0; // into the batch
  HttpResponse response;
  curl_slist* headers = nullptr;
  std::chrono::steady_clock::time_point not_before{};
};

extern "C" size_t write_body(char* data, size_t size, size_t count, void* user)
{
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  t->response.body.insert(t->response.body.end(), reinterpret_cast<std::uint8_t*>(data),
                          reinterpret_cast<std::uint8_t*>(data) + n);
  return n;
}

extern "C" size_t write_header(char* data, size_t size, size_t count, void* user)
{
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  const std::string line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers.clear(); // a new response (after a redirect or 100 Continue)
    t->response.body.clear();
    return n;
  }
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    t->response.headers[lower(line.substr(0, colon))] = trim(line.substr(colon + 1));
  }
  return n;
}

std::chrono::milliseconds retry_after(const HttpResponse& r)
{
  const std::string v = r.header("retry-after");
  if (v.empty() || !std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return std::chrono::milliseconds(0);
  }
  return std::min<std::chrono::milliseconds>(std::chrono::seconds(std::stoll(v.substr(0, 6))), k_retry_cap);
}

} // namespace

std::string HttpResponse::header(const std::string& name) const
{
  const auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

bool transient(const HttpResponse& r)
{
  if (r.status == 0) {
    return r.transport_error.rfind("TLS:", 0) != 0 && r.transport_error.rfind("URL:", 0) != 0;
  }
  return r.status == 429 || (r.status >= 500 && r.status != 501 && r.status != 505);
}

struct HttpClient::Impl {
  const CurlApi& curl = curl_api();
  HttpSettings settings;
  CURLM* multi = nullptr;
  std::vector<CURL*> idle;

  CURL* take()
  {
    if (!idle.empty()) {
      CURL* h = idle.back();
      idle.pop_back();
      curl.easy_reset(h);
      return h;
    }
    return curl.easy_init();
  }

  void configure(CURL* h, const HttpRequest& req, Transfer& t)
  {
    curl.easy_setopt(h, CURLOPT_URL, req.url.c_str());
    curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(h, CURLOPT_PRIVATE, static_cast<void*>(&t));
    curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
    curl.easy_setopt(h, CURLOPT_WRITEDATA, static_cast<void*>(&t));
    curl.easy_setopt(h, CURLOPT_HEADERFUNCTION, write_header);
    curl.easy_setopt(h, CURLOPT_HEADERDATA, static_cast<void*>(&t));
    curl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, settings.plain_http ? "http,https" : "https");
    curl.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, settings.plain_http ? "http,https" : "https");
    curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(settings.connect_timeout.count()));
    // A stall, not a slow transfer, is what fails: less than 1 byte/s for stall_timeout.
    curl.easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl.easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                     std::max(1L, static_cast<long>(settings.stall_timeout.count() / 1000)));
    curl.easy_setopt(h, CURLOPT_USERAGENT, (std::string("pagable/") + k_version).c_str());
    if (!settings.ca_cert.empty()) {
      curl.easy_setopt(h, CURLOPT_CAINFO, settings.ca_cert.c_str());
    }
    t.headers = curl.slist_append(nullptr, "Expect:"); // no 100-continue round trip
    for (const auto& line : req.headers) {
      t.headers = curl.slist_append(t.headers, line.c_str());
    }
    if (req.method == "HEAD") {
      curl.easy_setopt(h, CURLOPT_NOBODY, 1L);
      curl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    } else if (req.method == "GET") {
      curl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    } else {
      curl.easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
      if (req.method != "DELETE") {
        curl.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
        curl.easy_setopt(h, CURLOPT_POSTFIELDS, req.body.empty() ? "" : reinterpret_cast<const char*>(req.body.data()));
        bool typed = false;
        for (const auto& line : req.headers) {
          typed = typed || lower(line).rfind("content-type:", 0) == 0;
        }
        if (!typed) {
          t.headers = curl.slist_append(t.headers, "Content-Type: application/octet-stream");
        }
      }
    }
    curl.easy_setopt(h, CURLOPT_HTTPHEADER, t.headers);
  }
};

Result<void> load_curl()
{
  if (const std::string& why = curl_api().error; !why.empty()) {
    return make_error(Errc::network, why);
  }
  return {};
}

HttpClient::HttpClient(HttpSettings settings) : m_impl(std::make_unique<Impl>())
{
  m_impl->settings = std::move(settings);
  m_impl->settings.parallel = std::max(1u, m_impl->settings.parallel);
  m_impl->multi = m_impl->curl.multi_init();
  m_impl->curl.multi_setopt(m_impl->multi, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(m_impl->settings.parallel));
}

HttpClient::~HttpClient()
{
  for (CURL* h : m_impl->idle) {
    m_impl->curl.easy_cleanup(h);
  }
  m_impl->curl.multi_cleanup(m_impl->multi);
}

HttpResponse HttpClient::perform_one(const HttpRequest& request)
{
  return std::move(perform(std::vector<HttpRequest>{request}).front());
}

std::vector<HttpResponse> HttpClient::perform(const std::vector<HttpRequest>& requests)
{
  Impl& im = *m_impl;
  std::vector<HttpResponse> out(requests.size());
  // Transfers live in a deque: their addresses are curl's private pointers.
  std::deque<Transfer> transfers;
  std::deque<Transfer*> waiting; // a deque: gcc 12 -O3 misreads vector::insert at the front (-Wnull-dereference)
  for (std::size_t i = 0; i < requests.size(); ++i) {
    transfers.emplace_back().index = i;
    waiting.push_back(&transfers.back());
  }
  std::reverse(waiting.begin(), waiting.end()); // taken from the back: first come, first run
  std::size_t running = 0;

  const auto start = [&](Transfer& t) {
    t.response.headers.clear();
    t.response.body.clear();
    t.response.status = 0;
    t.response.transport_error.clear();
    ++t.response.attempts;
    CURL* h = im.take();
    im.configure(h, requests[t.index], t);
    im.curl.multi_add_handle(im.multi, h);
    ++running;
  };

  while (!waiting.empty() || running > 0) {
    const auto now = std::chrono::steady_clock::now();
    // Start what may start, in order, up to the bound.
    for (std::size_t i = waiting.size(); i > 0 && running < im.settings.parallel; --i) {
      Transfer* t = waiting[i - 1];
      if (t->not_before <= now) {
        waiting.erase(waiting.begin() + static_cast<std::ptrdiff_t>(i - 1));
        start(*t);
      }
    }
    if (running == 0) {
      // Everything left waits for its backoff.
      auto next = waiting.front()->not_before;
      for (const Transfer* t : waiting) {
        next = std::min(next, t->not_before);
      }
      std::this_thread::sleep_until(next);
      continue;
    }
    int still = 0;
    im.curl.multi_perform(im.multi, &still);
    int queued = 0;
    while (CURLMsg* msg = im.curl.multi_info_read(im.multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) {
        continue;
      }
      CURL* h = msg->easy_handle;
      const CURLcode result = msg->data.result;
      void* priv = nullptr;
      im.curl.easy_getinfo(h, CURLINFO_PRIVATE, &priv);
      auto* t = static_cast<Transfer*>(priv);
      long status = 0;
      im.curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
      curl_off_t up = 0;
      im.curl.easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &up);
      im.curl.multi_remove_handle(im.multi, h);
      im.idle.push_back(h);
      im.curl.slist_free_all(t->headers);
      t->headers = nullptr;
      --running;
      ++m_counters.requests;
      m_counters.bytes_sent += static_cast<std::uint64_t>(up);
      m_counters.bytes_received += t->response.body.size();
      if (result != CURLE_OK) {
        const bool tls = result == CURLE_PEER_FAILED_VERIFICATION || result == CURLE_SSL_CACERT_BADFILE ||
                         result == CURLE_SSL_CERTPROBLEM;
        const bool url = result == CURLE_UNSUPPORTED_PROTOCOL || result == CURLE_URL_MALFORMAT;
        t->response.status = 0;
        t->response.transport_error =
            std::string(tls ? "TLS: " : (url ? "URL: " : "")) + im.curl.easy_strerror(result);
      } else {
        t->response.status = status;
      }
      if (transient(t->response) && t->response.attempts <= im.settings.retries) {
        ++m_counters.retries;
        const std::chrono::milliseconds doubled =
            im.settings.backoff * (std::int64_t{1} << std::min(t->response.attempts - 1, 10u));
        const std::chrono::milliseconds wait = std::max(doubled, retry_after(t->response));
        t->not_before = std::chrono::steady_clock::now() + std::min<std::chrono::milliseconds>(wait, k_retry_cap);
        waiting.push_front(t);
      } else {
        out[t->index] = std::move(t->response);
      }
    }
    if (running > 0) {
      // Wake for a socket event, or in time for the earliest retry.
      int timeout_ms = 1000;
      for (const Transfer* t : waiting) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t->not_before - now).count();
        timeout_ms = static_cast<int>(std::clamp<long long>(ms, 0, timeout_ms));
      }
      im.curl.multi_poll(im.multi, nullptr, 0, timeout_ms, nullptr);
    }
  }
  return out;
}

} // namespace pagable::remote
