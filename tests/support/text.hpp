// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// cat("m", 3, ":", text): a string built by appending each part in turn. Tests build
// documents with it instead of `"text" + std::string&&`, which inserts at the front of the
// temporary and makes g++ 12 -O3 report -Wrestrict inside libstdc++ (GCC bug 105329).

#include <concepts>
#include <string>
#include <string_view>

namespace test {

inline void append_part(std::string& out, std::string_view part) { out += part; }
inline void append_part(std::string& out, char part) { out += part; }
inline void append_part(std::string& out, double part) { out += std::to_string(part); }
template <std::integral I>
  requires(!std::same_as<I, char> && !std::same_as<I, bool>)
void append_part(std::string& out, I part)
{
  out += std::to_string(part);
}

template <class... Parts>
std::string cat(const Parts&... parts)
{
  std::string out;
  (append_part(out, parts), ...);
  return out;
}

} // namespace test
