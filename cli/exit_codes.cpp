// SPDX-License-Identifier: MIT OR Apache-2.0
#include "exit_codes.hpp"

namespace pagable::cli {

int exit_code_for(Errc code) noexcept
{
  switch (code) {
  case Errc::invalid_input: return k_exit_bad_input;
  case Errc::invalid_argument:
  case Errc::not_found: return k_exit_usage;
  case Errc::locked: return k_exit_busy;
  case Errc::corrupt:
  case Errc::unusable_archive: return k_exit_unusable;
  case Errc::io: return k_exit_io;
  case Errc::network: return k_exit_network;
  case Errc::unsupported: return k_exit_unsupported;
  case Errc::cancelled: return k_exit_interrupted;
  case Errc::another_failed:
  case Errc::internal: return k_exit_internal;
  }
  return k_exit_internal;
}

} // namespace pagable::cli
