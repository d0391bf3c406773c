// A program outside the project that links the installed library and uses only the façade.
#include <pagable/archive.hpp>
#include <pagable/hydrate.hpp>

#include <cstdio>
#include <sstream>

int main(int argc, char** argv)
{
  if (argc < 2) {
    return 2;
  }
  pagable::ArchiveOptions options;
  options.mode = pagable::OpenMode::create;
  auto archive = pagable::Archive::open(argv[1], options);
  if (!archive) {
    std::fprintf(stderr, "%s\n", archive.error().message().c_str());
    return 1;
  }
  std::istringstream doc(R"({"targets":[{"name":"app","deps":["lib"]},{"name":"lib"}]})");
  pagable::PackRequest request;
  request.name = "graph";
  auto packed = (*archive)->pack(pagable::PackSource::stream(doc), request);
  if (!packed) {
    std::fprintf(stderr, "%s\n", packed.error().message().c_str());
    return 1;
  }
  auto root = (*archive)->find_root("graph");
  if (!root) {
    return 1;
  }
  pagable::hydrate::Document document((*archive)->store(), root->key);
  std::ostringstream out;
  if (!document.write_json(out, "/targets/0/deps/0") || out.str() != "\"lib\"") {
    return 1;
  }
  std::printf("round trip ok %s\n", root->key.short_hex().c_str());
  return 0;
}
