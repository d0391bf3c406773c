// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// What the remote CLI tests share: documents whose members are ~2 KB of incompressible text
// (2 MiB of them make a pack), and a remote's versions as its tags tell them.

#include <pagable/remote.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace test {

// A document of `items` members of ~2 KB each, member i's text seeded by `seed` (members
// below `changed_from` use seed 0, so two documents share them).
inline std::string member_document(int items, int changed_from, int seed)
{
  std::string doc = "{";
  std::uint32_t x = 12345;
  for (int i = 0; i < items; ++i) {
    const int s = i < changed_from ? 0 : seed;
    x = static_cast<std::uint32_t>(i * 7919 + s * 104729 + 1);
    std::string text;
    for (int k = 0; k < 2000; ++k) {
      x = x * 1664525u + 1013904223u;
      text += static_cast<char>('a' + (x >> 27) % 26);
    }
    doc += std::string(i ? "," : "") + "\"m" + std::to_string(i) + "\":{\"text\":\"" + text +
           "\",\"i\":" + std::to_string(i) + "}";
  }
  return doc + "}";
}

// The versions the remote at `url` holds, from its tags.
inline std::vector<pagable::remote::RemoteVersion> remote_versions(const std::string& url)
{
  auto where = pagable::remote::parse_location(url);
  REQUIRE(where);
  auto registry = pagable::remote::Registry::open(*where);
  REQUIRE(registry);
  auto tags = (*registry)->list_tags();
  INFO((tags ? std::string() : tags.error().message()));
  REQUIRE(tags);
  return pagable::remote::versions_in(*tags);
}

} // namespace test
