// A program outside the project that links the installed library and uses only the façade:
// pack, find, hydrate at a pointer, walk the values, verify, gc.
#include <pagable/archive.hpp>

#include <cstdio>
#include <sstream>
#include <string>

namespace {

// Counts the strings of a document as a walk meets them.
class StringCounter final : public pagable::hydrate::ValueVisitor {
public:
  int strings = 0;
  pagable::Result<void> null_value() override { return {}; }
  pagable::Result<void> boolean(bool) override { return {}; }
  pagable::Result<void> integer(std::int64_t) override { return {}; }
  pagable::Result<void> big_integer(std::string_view) override { return {}; }
  pagable::Result<void> number(double) override { return {}; }
  pagable::Result<void> string(std::string_view) override
  {
    ++strings;
    return {};
  }
  pagable::Result<void> begin_object() override { return {}; }
  pagable::Result<void> member(std::string_view) override { return {}; }
  pagable::Result<void> end_object() override { return {}; }
  pagable::Result<void> begin_array() override { return {}; }
  pagable::Result<void> end_array() override { return {}; }
};

int fail(const char* what, const pagable::Error& e)
{
  std::fprintf(stderr, "%s: %s\n", what, e.message().c_str());
  return 1;
}

} // namespace

int main(int argc, char** argv)
{
  if (argc < 2) {
    return 2;
  }
  pagable::ArchiveOptions options;
  options.mode = pagable::OpenMode::create;
  auto archive = pagable::Archive::open(argv[1], options);
  if (!archive) {
    return fail("open", archive.error());
  }
  std::istringstream doc(R"({"targets":[{"name":"app","deps":["lib"]},{"name":"lib"}]})");
  pagable::PackRequest request;
  request.name = "graph";
  if (auto packed = (*archive)->pack(pagable::PackSource::stream(doc), request); !packed) {
    return fail("pack", packed.error());
  }
  auto root = (*archive)->find_root("graph");
  if (!root) {
    return fail("find", root.error());
  }
  const auto document = (*archive)->document(root->key);
  std::ostringstream at;
  if (auto w = document->write_json(at, "/targets/0/deps/0"); !w || at.str() != "\"lib\"") {
    return 1;
  }
  StringCounter counter;
  if (auto walked = document->walk("", counter); !walked || counter.strings != 3) {
    return 1;
  }
  auto report = (*archive)->verify();
  if (!report || !report->ok()) {
    return 1;
  }
  auto plan = (*archive)->plan_gc();
  if (!plan || !(*archive)->collect_garbage(*plan)) {
    return 1;
  }
  std::printf("round trip ok %s\n", root->key.short_hex().c_str());
  return 0;
}
