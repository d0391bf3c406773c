// SPDX-License-Identifier: MIT OR Apache-2.0
// libFuzzer target: any bytes through pack's JSON reader and packer (small node boundaries, so
// that chunking, index levels and routed objects occur on small inputs). Properties checked:
// no crash or sanitizer report; and when pack accepts the input, hydrate reproduces it
// canonically and packing that output again gives the same root key. Build and run:
// tests/fuzz/README.md.
#include <pagable/hydrate.hpp>
#include <pagable/pack.hpp>

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

using namespace pagable;

namespace {

pack::BoundarySettings small_boundaries()
{
  pack::BoundarySettings b;
  b.node_bytes = 64;
  b.chunk_above_bytes = 256;
  b.chunk_target_bytes = 64;
  b.chunk_max_bytes = 256;
  b.index_fanout = 4;
  b.route_members = 8;
  b.route_member_bytes = 0;
  b.route_wide_members = 16; // both fingerprint widths
  return b;
}

Result<Key> pack_text(store::BlobStore& s, const std::string& text)
{
  std::istringstream in(text);
  pack::PackOptions o;
  o.workers = 1;
  o.max_depth = 256;
  o.dangling_refs = pack::DanglingRefs::allow;
  auto r = pack::pack_stream(s, in, small_boundaries(), o);
  if (!r) {
    return std::move(r).error();
  }
  return r->key;
}

[[noreturn]] void fail(const char* what)
{
  std::fprintf(stderr, "pack_fuzz: %s\n", what);
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto s = store::make_memory_store();
  const auto key = pack_text(*s, text);
  if (!key) {
    if (key.error().code() != Errc::invalid_input) {
      fail(("rejected with an unexpected error: " + key.error().message()).c_str());
    }
    return 0;
  }
  hydrate::Document doc(*s, *key);
  std::ostringstream out;
  if (!doc.write_json(out, "")) {
    fail("hydrate failed on a document pack accepted");
  }
  auto again = pack_text(*s, out.str());
  if (!again || *again != *key) {
    fail("packing hydrate's output gave another key");
  }
  return 0;
}
