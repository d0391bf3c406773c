// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Credentials and the registry's challenge flow (the distribution spec's "token
// authentication", RFC 7235 challenges). Credentials are looked up, in order: the
// PAGABLE_REGISTRY_USERNAME / PAGABLE_REGISTRY_PASSWORD environment variables, the remote
// URL's user-info, then the docker configuration ($DOCKER_CONFIG/config.json, else
// ~/.docker/config.json): credHelpers[host], credsStore, auths[host] -- as `docker login`
// and `oras login` leave them. Nothing here prints or returns a credential inside an error.
// Thread-safety: functions only.

#include <pagable/remote.hpp>

#include "remote/http.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace pagable::remote {

struct Credentials {
  std::string username;
  std::string password; // or an identity token with username "<token>"
};

// The credentials for `where` (see above); nullopt for anonymous access. Errc::invalid_input
// for an unreadable docker configuration or a credential helper that fails other than with
// "credentials not found".
Result<std::optional<Credentials>> find_credentials(const Location& where);

// One challenge of a WWW-Authenticate header: scheme in lower case ("basic", "bearer") and
// its parameters (realm, service, scope, error).
struct Challenge {
  std::string scheme;
  std::map<std::string, std::string> params;
};
std::optional<Challenge> parse_challenge(std::string_view header);

// "Basic base64(user:password)".
std::string basic_authorization(const Credentials& credentials);
// Asks the challenge's realm for a token (GET realm?service=…&scope=…, with the credentials
// as basic auth when there are any). Returns "Bearer <token>". Errc::network naming the realm's
// host (never its credentials) when it refuses.
Result<std::string> fetch_token(HttpClient& http, const Challenge& challenge,
                                const std::optional<Credentials>& credentials);

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);
// "host" of an URL ("https://user@host:5000/x" gives "host:5000"); user-info dropped.
std::string host_of(std::string_view url);

} // namespace pagable::remote
