// SPDX-License-Identifier: MIT OR Apache-2.0
// A stream buffer that also hands out its blocks in place, so that pack's JsonSource reads
// them without copying each into a buffer of its own (open_input's files and stdin).
#pragma once

#include <span>
#include <streambuf>

namespace pagable::pack {

class BlockInput : public std::streambuf {
public:
  // The next unread bytes, consumed: valid until the next call or read. Empty at the end.
  // Throws what underflow() throws.
  virtual std::span<const char> next_block() = 0;
};

} // namespace pagable::pack
