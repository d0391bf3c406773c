// SPDX-License-Identifier: MIT OR Apache-2.0
// libFuzzer target: arbitrary blobs, as a damaged or hostile archive would hold them, read the
// way hydrate reads an archive. Every blob's key is right (the store checks keys, so only
// content whose hash matches is ever read): the bytes and the child lists are what is crafted,
// including routed objects whose fingerprints lie, chunk trees whose counts disagree and
// children that are not stored. Property checked: no crash, hang or sanitizer report, and
// every refusal is Errc::corrupt, Errc::not_found or Errc::invalid_argument, never another
// error. Output goes to a stream that refuses more than 1 MiB (Errc::io then): nodes that
// share children two by two expand to 2^n values. With PAGABLE_FUZZ_STRICT set (the default
// test run replays the seeds so), the input must be an intact archive: it hydrates, and every
// lookup finds what the whole walk wrote. Input form: parse_fuzz_archive in fuzz_support.hpp;
// the seed corpus comes from fuzz_seeds (real packs in that form). Build and run:
// tests/fuzz/README.md.
#include "fuzz_support.hpp"

#include <pagable/hydrate.hpp>

#include "codec/navigate.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

using namespace pagable;

namespace {

// Keeps at most `limit` bytes, then refuses more.
class BoundedBuf : public std::streambuf {
public:
  explicit BoundedBuf(std::size_t limit) : m_limit(limit) {}
  const std::string& str() const { return m_text; }

protected:
  int_type overflow(int_type c) override
  {
    if (c == traits_type::eof()) {
      return traits_type::not_eof(c);
    }
    if (m_text.size() >= m_limit) {
      return traits_type::eof();
    }
    m_text.push_back(static_cast<char>(c));
    return c;
  }
  std::streamsize xsputn(const char* p, std::streamsize n) override
  {
    const auto room = static_cast<std::streamsize>(m_limit - m_text.size());
    const auto took = std::min(n, room);
    m_text.append(p, static_cast<std::size_t>(took));
    return took;
  }

private:
  std::size_t m_limit;
  std::string m_text;
};

constexpr std::size_t k_output_limit = 1 << 20;

template <typename T>
void expect_clean(const Result<T>& r, const char* what)
{
  if (r) {
    return;
  }
  switch (r.error().code()) {
  case Errc::corrupt:
  case Errc::not_found:
  case Errc::invalid_argument:
  case Errc::io: // the bounded output, full
    return;
  default:
    fuzz::fail("archive_fuzz", std::string(what) + ": unexpected error: " + r.error().message());
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const fuzz::FuzzArchive archive = fuzz::parse_fuzz_archive(data, size);
  if (archive.blobs.empty()) {
    return 0;
  }
  auto s = store::make_memory_store();
  for (const Blob& b : archive.blobs) {
    if (!s->put(b)) {
      fuzz::fail("archive_fuzz", "the memory store refused a blob");
    }
  }
  // A small cache, so that walks evict and decode again.
  hydrate::Document doc(*s, archive.root, 4096);
  BoundedBuf whole_buf(k_output_limit);
  std::ostream whole(&whole_buf);
  const auto walked = doc.write_json(whole, "");
  expect_clean(walked, "write_json");
  static const bool strict = std::getenv("PAGABLE_FUZZ_STRICT") != nullptr;
  if (strict) {
    if (!walked) {
      fuzz::fail("archive_fuzz", "an intact archive did not hydrate: " + walked.error().message());
    }
    hydrate::Document fresh(*s, archive.root);
    fuzz::check_lookups("archive_fuzz", fresh, whole_buf.str());
    return 0;
  }

  std::vector<std::string> pointers = {"/0", "/a", "/0/0", "/-", "/~2", "/a/b/c"};
  std::vector<std::string> objects = {""};
  if (walked) {
    // Duplicate names and such may make it unparseable: nlohmann then throws, and the fixed
    // pointers are all there is to ask.
    const auto value = nlohmann::ordered_json::parse(whole_buf.str(), nullptr, false);
    if (!value.is_discarded()) {
      fuzz::collect_pointers(value, "", pointers, objects);
    }
  }
  for (const std::string& p : pointers) {
    BoundedBuf buf(k_output_limit);
    std::ostream out(&buf);
    expect_clean(doc.write_json(out, p), "write_json at a pointer");
    expect_clean(doc.has_value(p), "has_value");
  }
  // The questions pack asks of a document it stored, through a loader like its own.
  const codec::BlobLoader load = [&](const Key& key) -> Result<std::shared_ptr<const Blob>> {
    PAGABLE_TRY_ASSIGN(auto blob, s->get(key));
    return codec::checked_blob(key, std::move(blob));
  };
  expect_clean(codec::has_values(load, archive.root, pointers), "has_values");
  const std::vector<std::string_view> names = {"a", "b", "absent~name", ""};
  for (const std::string& p : objects) {
    expect_clean(codec::count_members(load, archive.root, p, names), "count_members");
  }
  hydrate::WriteOptions expand;
  expand.expand_refs = hydrate::ExpandRefs::yes;
  BoundedBuf expanded_buf(k_output_limit);
  std::ostream expanded(&expanded_buf);
  expect_clean(doc.write_json(expanded, "", expand), "write_json expanding refs");
  return 0;
}
