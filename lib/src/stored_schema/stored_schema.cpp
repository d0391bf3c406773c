// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/stored_schema.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string_view>
#include <vector>

namespace pagable::stored_schema {

namespace {

// The bundle with its file: URIs made relative to the deepest directory holding them all
// ("file:///abs/dir/x.json" and "file:///abs/common/y.json" become "file:///dir/x.json" and
// "file:///common/y.json"): where the schema happened to be on the packing machine neither
// leaks into the archive nor changes the bundle's key, and references between the files
// resolve as before, since they all move together.
nlohmann::json relocated(nlohmann::json bundle)
{
  std::vector<nlohmann::json*> uris;
  if (auto it = bundle.find("uri"); it != bundle.end() && it->is_string()) {
    uris.push_back(&*it);
  }
  if (auto it = bundle.find("files"); it != bundle.end() && it->is_array()) {
    for (auto& file : *it) {
      if (file.is_object() && file.contains("uri") && file["uri"].is_string()) {
        uris.push_back(&file["uri"]);
      }
    }
  }
  constexpr std::string_view k_scheme = "file://";
  std::optional<std::string> common;
  for (const auto* uri : uris) {
    const auto& s = uri->get_ref<const std::string&>();
    if (!s.starts_with(k_scheme)) {
      continue;
    }
    const std::string dir = s.substr(0, s.rfind('/') + 1);
    if (!common) {
      common = dir;
      continue;
    }
    std::size_t n = 0;
    while (n < common->size() && n < dir.size() && (*common)[n] == dir[n]) {
      ++n;
    }
    common->resize(common->rfind('/', n == 0 ? 0 : n - 1) + 1);
  }
  if (!common || common->size() <= k_scheme.size()) {
    return bundle;
  }
  for (auto* uri : uris) {
    const auto& s = uri->get_ref<const std::string&>();
    if (s.starts_with(*common)) {
      *uri = "file:///" + s.substr(common->size());
    }
  }
  return bundle;
}

} // namespace

Result<Key> put(store::BlobStore& store, const schema::Schema& schema, Reuse reuse)
{
  const std::string text = relocated(schema.bundle()).dump();
  Blob blob{Bytes(text.begin(), text.end()), {}};
  store::PutHints hints;
  if (reuse == Reuse::after_reading) {
    // As pack --repair does for each node (pack::NodeWriter): get re-hashes the stored copy.
    auto stored = store.get(blob.key());
    if (!stored && stored.error().code() != Errc::corrupt) {
      return std::move(stored).error();
    }
    hints.replace = !stored;
  }
  PAGABLE_TRY_ASSIGN(const Key key, store.put(std::move(blob), hints));
  PAGABLE_TRY(store.flush());
  return key;
}

Result<std::shared_ptr<const schema::Schema>> get(const store::BlobStore& store, const Key& key,
                                                  const schema::SchemaOptions& options)
{
  PAGABLE_TRY_ASSIGN(const auto blob, store.get(key));
  if (!blob) {
    return make_error(Errc::not_found, "schema blob " + key.to_hex() + " is not in the archive");
  }
  const auto bundle = nlohmann::json::parse(blob->data.begin(), blob->data.end(), nullptr, false);
  if (bundle.is_discarded()) {
    return make_error(Errc::corrupt, "schema blob " + key.to_hex() + " is not JSON");
  }
  auto schema = schema::load_schema_bundle(bundle, options);
  if (!schema) {
    return make_error(Errc::corrupt, "schema blob " + key.to_hex() + ": " + schema.error().message());
  }
  return std::move(*schema);
}

} // namespace pagable::stored_schema
