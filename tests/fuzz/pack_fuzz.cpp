// SPDX-License-Identifier: MIT OR Apache-2.0
// libFuzzer target: any bytes through pack's JSON reader and packer (small node boundaries, so
// that chunking, index levels and routed objects occur on small inputs). Properties checked:
// no crash or sanitizer report; and when pack accepts the input, hydrate reproduces it
// canonically, packing that output again gives the same root key, and looking values up by
// pointer (through routed objects' fingerprints and chunk trees' counts) finds exactly the
// values the whole walk wrote, and nothing where it wrote nothing. Build and run:
// tests/fuzz/README.md.
#include "fuzz_support.hpp"

#include <pagable/hydrate.hpp>

#include <cstdint>
#include <sstream>
#include <string>

using namespace pagable;
using fuzz::pack_text;



extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto s = store::make_memory_store();
  const std::size_t fingerprint = 1 + size % 2; // both chunking hashes, the input's choice
  const auto key = pack_text(*s, text, fingerprint);
  if (!key) {
    if (key.error().code() != Errc::invalid_input) {
      fuzz::fail("pack_fuzz", "rejected with an unexpected error: " + key.error().message());
    }
    return 0;
  }
  hydrate::Document doc(*s, *key);
  std::ostringstream out;
  if (!doc.write_json(out, "")) {
    fuzz::fail("pack_fuzz", "hydrate failed on a document pack accepted");
  }
  auto again = pack_text(*s, out.str(), fingerprint);
  if (!again || *again != *key) {
    fuzz::fail("pack_fuzz", "packing hydrate's output gave another key");
  }
  hydrate::Document fresh(*s, *key); // lookups from a cold cache read as hydrate --at does
  fuzz::check_lookups("pack_fuzz", fresh, out.str());
  return 0;
}
