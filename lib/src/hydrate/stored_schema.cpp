// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/stored_schema.hpp>

#include <nlohmann/json.hpp>

namespace pagable::stored_schema {

Result<Key> put(store::BlobStore& store, const schema::Schema& schema)
{
  const std::string text = schema.bundle().dump();
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
