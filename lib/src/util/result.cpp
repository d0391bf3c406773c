// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/result.hpp>

#include <cstdio>
#include <cstdlib>

namespace pagable {

std::string_view errc_name(Errc code) noexcept
{
  switch (code) {
  case Errc::not_found: return "not_found";
  case Errc::corrupt: return "corrupt";
  case Errc::invalid_input: return "invalid_input";
  case Errc::io: return "io";
  case Errc::locked: return "locked";
  case Errc::invalid_argument: return "invalid_argument";
  case Errc::unusable_archive: return "unusable_archive";
  case Errc::cancelled: return "cancelled";
  case Errc::internal: return "internal";
  case Errc::another_failed: return "another_failed";
  case Errc::network: return "network";
  case Errc::unsupported: return "unsupported";
  }
  return "unknown";
}

namespace detail {
void abort_on_error(const Error& error)
{
  std::fprintf(stderr, "pagable: value() called on an error result: %s (%s)\n",
               error.message().c_str(), std::string(errc_name(error.code())).c_str());
  std::abort();
}
} // namespace detail

} // namespace pagable
