// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/stored_schema.hpp>

#include <nlohmann/json.hpp>

namespace pagable::stored_schema {

namespace {

// The bundle with every file: URI under the root schema's directory rewritten as relative to
// it ("file:///abs/dir/x.json" -> "file:///x.json"): where the schema happened to be on the
// packing machine neither leaks into the archive nor changes the bundle's key. References
// between those files resolve as before, since they all move together.
nlohmann::json relocated(nlohmann::json bundle)
{
  const auto* root = bundle.contains("uri") ? bundle["uri"].get_ptr<const std::string*>() : nullptr;
  if (root == nullptr || !root->starts_with("file://")) {
    return bundle;
  }
  const std::string dir = root->substr(0, root->rfind('/') + 1);
  const auto relocate = [&dir](nlohmann::json& uri) {
    if (const auto* s = uri.get_ptr<const std::string*>(); s != nullptr && s->starts_with(dir)) {
      uri = "file:///" + s->substr(dir.size());
    }
  };
  relocate(bundle["uri"]);
  if (auto it = bundle.find("files"); it != bundle.end() && it->is_array()) {
    for (auto& file : *it) {
      if (file.is_object() && file.contains("uri")) {
        relocate(file["uri"]);
      }
    }
  }
  return bundle;
}

} // namespace

Result<Key> put(store::BlobStore& store, const schema::Schema& schema)
{
  const std::string text = relocated(schema.bundle()).dump();
  Blob blob{Bytes(text.begin(), text.end()), {}};
  PAGABLE_TRY_ASSIGN(const Key key, store.put(std::move(blob)));
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
