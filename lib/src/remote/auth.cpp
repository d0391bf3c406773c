// SPDX-License-Identifier: MIT OR Apache-2.0
// Credentials and challenges (remote/auth.hpp). A credential helper is run as docker runs
// it: `docker-credential-NAME get`, the server on standard input, JSON
// {"Username","Secret"} on standard output; "credentials not found" (any exit status with
// that text) means none. The helper's stderr is not passed on: it may echo secrets.
#include "remote/auth.hpp"
#include "util/pointer_text.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

extern char** environ;

namespace pagable::remote {

namespace {

constexpr std::string_view k_b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string env(const char* name)
{
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

// Runs `program get` with `input` on stdin; its stdout and exit status.
Result<std::pair<int, std::string>> run_helper(const std::string& program, const std::string& input)
{
  std::array<int, 2> in{-1, -1};
  std::array<int, 2> out{-1, -1};
  if (::pipe2(in.data(), O_CLOEXEC) != 0 || ::pipe2(out.data(), O_CLOEXEC) != 0) {
    return make_error(Errc::io, "cannot create a pipe for " + program);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::string arg0 = program;
  std::string arg1 = "get";
  std::array<char*, 3> argv{arg0.data(), arg1.data(), nullptr};
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    return make_error(Errc::invalid_input, "cannot run the credential helper " + program +
                                               " named by the docker configuration");
  }
  std::size_t written = 0;
  while (written < input.size()) {
    const ssize_t n = ::write(in[1], input.data() + written, input.size() - written);
    if (n <= 0) {
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  ::close(in[1]);
  std::string text;
  std::array<char, 4096> buf{};
  for (;;) {
    const ssize_t n = ::read(out[0], buf.data(), buf.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    text.append(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : 128, std::move(text));
}

Result<std::optional<Credentials>> from_helper(const std::string& helper, const std::string& host)
{
  const std::string program = "docker-credential-" + helper;
  PAGABLE_TRY_ASSIGN(const auto ran, run_helper(program, host));
  if (ran.second.find("credentials not found") != std::string::npos) {
    return std::optional<Credentials>();
  }
  if (ran.first != 0) {
    return make_error(Errc::invalid_input, program + " failed (exit " + std::to_string(ran.first) +
                                               ") for " + host);
  }
  const auto doc = nlohmann::json::parse(ran.second, nullptr, false);
  if (!doc.is_object() || !doc.contains("Secret") || !doc["Secret"].is_string()) {
    return make_error(Errc::invalid_input, program + " gave no credentials for " + host);
  }
  return std::optional<Credentials>(
      Credentials{doc.value("Username", std::string()), doc["Secret"].get<std::string>()});
}

// The docker configuration's entry for `host`: keys may carry a scheme or a path.
const nlohmann::json* entry_for(const nlohmann::json& map, const std::string& host)
{
  if (!map.is_object()) {
    return nullptr;
  }
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (host_of(it.key()) == host) {
      return &it.value();
    }
  }
  return nullptr;
}

} // namespace

std::string base64_encode(std::string_view bytes)
{
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char ch : bytes) {
    acc = (acc << 8) | static_cast<unsigned char>(ch);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += k_b64[(acc >> bits) & 63];
    }
  }
  if (bits > 0) {
    out += k_b64[(acc << (6 - bits)) & 63];
  }
  while (out.size() % 4 != 0) {
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text)
{
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char ch : text) {
    if (ch == '=' || ch == '\n' || ch == '\r') {
      continue;
    }
    const auto pos = k_b64.find(ch);
    if (pos == std::string_view::npos) {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string host_of(std::string_view url)
{
  if (const auto scheme = url.find("://"); scheme != std::string_view::npos) {
    url.remove_prefix(scheme + 3);
  }
  url = url.substr(0, url.find('/'));
  if (const auto at = url.rfind('@'); at != std::string_view::npos) {
    url.remove_prefix(at + 1);
  }
  return std::string(url);
}

Result<std::optional<Credentials>> find_credentials(const Location& where)
{
  if (const std::string user = env("PAGABLE_REGISTRY_USERNAME"), pass = env("PAGABLE_REGISTRY_PASSWORD");
      !user.empty() || !pass.empty()) {
    return std::optional<Credentials>(Credentials{user, pass});
  }
  if (!where.username.empty() || !where.password.empty()) {
    return std::optional<Credentials>(Credentials{where.username, where.password});
  }
  std::string dir = env("DOCKER_CONFIG");
  if (dir.empty()) {
    const std::string home = env("HOME");
    if (home.empty()) {
      return std::optional<Credentials>();
    }
    dir = home + "/.docker";
  }
  const std::string path = dir + "/config.json";
  std::ifstream in(path);
  if (!in) {
    return std::optional<Credentials>(); // no configuration: anonymous
  }
  std::stringstream text;
  text << in.rdbuf();
  const auto config = nlohmann::json::parse(text.str(), nullptr, false);
  if (!config.is_object()) {
    return make_error(Errc::invalid_input, path + " is not a JSON object");
  }
  const nlohmann::json none = nlohmann::json::object();
  const auto section = [&](const char* name) -> const nlohmann::json& {
    return config.contains(name) ? config[name] : none; // a reference into `config`, not a copy
  };
  if (const auto* helper = entry_for(section("credHelpers"), where.host);
      helper != nullptr && helper->is_string()) {
    return from_helper(helper->get<std::string>(), where.host);
  }
  if (config.contains("credsStore") && config["credsStore"].is_string()) {
    PAGABLE_TRY_ASSIGN(auto stored, from_helper(config["credsStore"].get<std::string>(), where.host));
    if (stored) {
      return stored;
    }
  }
  if (const auto* entry = entry_for(section("auths"), where.host);
      entry != nullptr && entry->is_object()) {
    if (entry->contains("identitytoken") && (*entry)["identitytoken"].is_string()) {
      return std::optional<Credentials>(Credentials{"<token>", (*entry)["identitytoken"].get<std::string>()});
    }
    if (entry->contains("auth") && (*entry)["auth"].is_string()) {
      const auto decoded = base64_decode((*entry)["auth"].get<std::string>());
      const auto colon = decoded ? decoded->find(':') : std::string::npos;
      if (colon == std::string::npos) {
        return make_error(Errc::invalid_input, path + ": the \"auth\" entry for " + where.host +
                                                   " is not base64 of user:password");
      }
      return std::optional<Credentials>(Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)});
    }
    if (entry->contains("username")) {
      return std::optional<Credentials>(
          Credentials{entry->value("username", std::string()), entry->value("password", std::string())});
    }
  }
  return std::optional<Credentials>();
}

std::optional<Challenge> parse_challenge(std::string_view header)
{
  std::size_t i = 0;
  while (i < header.size() && header[i] == ' ') {
    ++i;
  }
  const std::size_t scheme_end = header.find(' ', i);
  Challenge c;
  c.scheme = std::string(header.substr(i, scheme_end == std::string_view::npos ? std::string_view::npos
                                                                                : scheme_end - i));
  for (auto& ch : c.scheme) {
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  if (c.scheme.empty()) {
    return std::nullopt;
  }
  i = scheme_end == std::string_view::npos ? header.size() : scheme_end + 1;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ',')) {
      ++i;
    }
    const std::size_t eq = header.find('=', i);
    if (eq == std::string_view::npos) {
      break;
    }
    std::string name(header.substr(i, eq - i));
    for (auto& ch : name) {
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    i = eq + 1;
    std::string value;
    if (i < header.size() && header[i] == '"') {
      ++i;
      while (i < header.size() && header[i] != '"') {
        if (header[i] == '\\' && i + 1 < header.size()) {
          ++i;
        }
        value += header[i++];
      }
      ++i;
    } else {
      while (i < header.size() && header[i] != ',') {
        value += header[i++];
      }
    }
    c.params[name] = value;
  }
  return c;
}

std::string basic_authorization(const Credentials& credentials)
{
  return "Basic " + base64_encode(credentials.username + ":" + credentials.password);
}

Result<std::string> fetch_token(HttpClient& http, const Challenge& challenge,
                                const std::optional<Credentials>& credentials)
{
  const auto realm = challenge.params.find("realm");
  if (realm == challenge.params.end() || realm->second.empty()) {
    return make_error(Errc::network, "the registry's bearer challenge names no realm");
  }
  std::string url = realm->second;
  char sep = url.find('?') == std::string::npos ? '?' : '&';
  for (const char* name : {"service", "scope"}) {
    if (const auto it = challenge.params.find(name); it != challenge.params.end()) {
      // A challenge may ask for several scopes, space-separated: one parameter each.
      std::istringstream words(it->second);
      for (std::string word; words >> word;) {
        url += sep + std::string(name) + "=" + util::percent_encode(word);
        sep = '&';
      }
    }
  }
  HttpRequest req;
  req.url = url;
  if (credentials && credentials->username != "<token>") {
    req.headers.push_back("Authorization: " + basic_authorization(*credentials));
  }
  // An identity token (`docker login` with OAuth) is a refresh token: exchanged by POST.
  std::string form;
  if (credentials && credentials->username == "<token>") {
    req.method = "POST";
    form = "grant_type=refresh_token&client_id=pagable&refresh_token=" + util::percent_encode(credentials->password);
    for (const char* name : {"service", "scope"}) {
      if (const auto it = challenge.params.find(name); it != challenge.params.end()) {
        form += "&" + std::string(name) + "=" + util::percent_encode(it->second);
      }
    }
    req.url = realm->second;
    req.headers.emplace_back("Content-Type: application/x-www-form-urlencoded");
    req.body = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(form.data()), form.size());
  }
  const HttpResponse r = http.perform_one(req);
  if (r.status != 200) {
    return make_error(Errc::network,
                      "the token service at " + host_of(realm->second) + " refused a token (" +
                          (r.status == 0 ? r.transport_error : "HTTP " + std::to_string(r.status)) +
                          ")");
  }
  const auto doc = nlohmann::json::parse(r.body.begin(), r.body.end(), nullptr, false);
  for (const char* field : {"token", "access_token"}) {
    if (doc.is_object() && doc.contains(field) && doc[field].is_string() &&
        !doc[field].get<std::string>().empty()) {
      return "Bearer " + doc[field].get<std::string>();
    }
  }
  return make_error(Errc::network, "the token service at " + host_of(realm->second) + " sent no token");
}

} // namespace pagable::remote
