// A program outside the project that links the installed library.
#include <pagable/store.hpp>

#include <cstdio>

int main(int argc, char** argv)
{
  if (argc < 2) {
    return 2;
  }
  pagable::store::SqliteOptions o;
  o.mode = pagable::store::OpenMode::create;
  auto store = pagable::store::open_sqlite_store(argv[1], o);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().message().c_str());
    return 1;
  }
  const pagable::Blob blob{{'h', 'i'}, {}};
  auto key = (*store)->put(blob);
  if (!key || !(*store)->flush()) {
    return 1;
  }
  auto back = (*store)->get(*key);
  if (!back || !back->has_value() || (*back)->data != blob.data) {
    return 1;
  }
  std::printf("round trip ok %s\n", key->short_hex().c_str());
  return 0;
}
