// SPDX-License-Identifier: MIT OR Apache-2.0
#include "schema/uri.hpp"

#include "util/hex.hpp"

#include <cctype>
#include <filesystem>
#include <optional>

namespace pagable::schema {
namespace {

struct UriParts {
  std::optional<std::string> scheme;
  std::optional<std::string> authority;
  std::string path;
  std::optional<std::string> query;
  std::optional<std::string> fragment;
};

UriParts parse(std::string_view s)
{
  UriParts p;
  if (auto hash = s.find('#'); hash != std::string_view::npos) {
    p.fragment = std::string(s.substr(hash + 1));
    s = s.substr(0, hash);
  }
  if (auto q = s.find('?'); q != std::string_view::npos) {
    p.query = std::string(s.substr(q + 1));
    s = s.substr(0, q);
  }
  // A scheme is ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) followed by ':' before any '/'.
  const auto colon = s.find(':');
  if (colon != std::string_view::npos && colon > 0) {
    bool ok = std::isalpha(static_cast<unsigned char>(s[0])) != 0;
    for (std::size_t i = 1; ok && i < colon; ++i) {
      const char c = s[i];
      ok = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '.';
    }
    if (ok) {
      p.scheme = std::string(s.substr(0, colon));
      s = s.substr(colon + 1);
    }
  }
  if (s.substr(0, 2) == "//") {
    s = s.substr(2);
    const auto slash = s.find('/');
    p.authority = std::string(s.substr(0, slash));
    s = slash == std::string_view::npos ? std::string_view() : s.substr(slash);
  }
  p.path = std::string(s);
  return p;
}

std::string remove_dot_segments(std::string_view in)
{
  std::string out;
  while (!in.empty()) {
    if (in.substr(0, 3) == "../") {
      in.remove_prefix(3);
    } else if (in.substr(0, 2) == "./") {
      in.remove_prefix(2);
    } else if (in.substr(0, 3) == "/./") {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.substr(0, 4) == "/../" || in == "/..") {
      in = in.size() == 3 ? std::string_view("/") : in.substr(3);
      const auto last = out.rfind('/');
      out.erase(last == std::string::npos ? 0 : last);
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      const auto next = in.find('/', in[0] == '/' ? 1 : 0);
      out.append(in.substr(0, next));
      in = next == std::string_view::npos ? std::string_view() : in.substr(next);
    }
  }
  return out;
}

std::string compose(const UriParts& p)
{
  std::string out;
  if (p.scheme) {
    out += *p.scheme + ":";
  }
  if (p.authority) {
    out += "//" + *p.authority;
  }
  out += p.path;
  if (p.query) {
    out += "?" + *p.query;
  }
  if (p.fragment) {
    out += "#" + *p.fragment;
  }
  return out;
}

} // namespace

std::string resolve_uri(std::string_view base, std::string_view ref)
{
  const UriParts r = parse(ref);
  const UriParts b = parse(base);
  UriParts t;
  if (r.scheme) {
    t = r;
    t.path = remove_dot_segments(r.path);
  } else {
    if (r.authority) {
      t.authority = r.authority;
      t.path = remove_dot_segments(r.path);
      t.query = r.query;
    } else {
      if (r.path.empty()) {
        t.path = b.path;
        t.query = r.query ? r.query : b.query;
      } else {
        if (r.path[0] == '/') {
          t.path = remove_dot_segments(r.path);
        } else {
          std::string merged;
          if (b.authority && b.path.empty()) {
            merged = "/" + r.path;
          } else {
            const auto slash = b.path.rfind('/');
            merged = (slash == std::string::npos ? std::string() : b.path.substr(0, slash + 1)) + r.path;
          }
          t.path = remove_dot_segments(merged);
        }
        t.query = r.query;
      }
      t.authority = b.authority;
    }
    t.scheme = b.scheme;
    t.fragment = r.fragment;
  }
  return compose(t);
}

std::pair<std::string, std::string> split_fragment(std::string_view uri)
{
  const auto hash = uri.find('#');
  if (hash == std::string_view::npos) {
    return {std::string(uri), std::string()};
  }
  return {std::string(uri.substr(0, hash)), std::string(uri.substr(hash + 1))};
}

std::string uri_path(std::string_view uri)
{
  const UriParts p = parse(uri);
  if (!p.authority && p.scheme && p.scheme != "file") {
    return {}; // urn:..., tag:..., no path to look up
  }
  return p.path;
}

std::string file_uri(const std::string& path)
{
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  std::string text = ec ? path : abs.lexically_normal().generic_string();
  std::string out = "file://";
  for (const char c : text) {
    if (c == ' ' || c == '#' || c == '%' || c == '?') {
      static const char* const hex = "0123456789ABCDEF";
      out += '%';
      out += hex[(static_cast<unsigned char>(c) >> 4) & 0xF];
      out += hex[static_cast<unsigned char>(c) & 0xF];
    } else {
      out += c;
    }
  }
  return out;
}

bool split_pointer(std::string_view pointer, std::vector<std::string>& tokens)
{
  auto parsed = util::parse_pointer(pointer, util::PointerEscapes::lenient);
  if (!parsed) {
    tokens.clear();
    return false;
  }
  tokens = std::move(parsed).value();
  return true;
}

} // namespace pagable::schema
