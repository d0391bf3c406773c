// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// Feeds a document to a pagable::schema::NodeValidator as pack does: SAX events from parsing
// its text, so member order is the text's and no value is built.
#include <pagable/schema.hpp>

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <utility>

namespace test {

class StreamFeed {
public:
  explicit StreamFeed(pagable::schema::NodeValidator& v) : m_v(v) {}
  bool null() { return scalar(nullptr); }
  bool boolean(bool b) { return scalar(b); }
  bool number_integer(std::int64_t n) { return scalar(n); }
  bool number_unsigned(std::uint64_t n) { return scalar(n); }
  bool number_float(double d, const std::string&) { return scalar(d); }
  bool string(std::string& s) { return scalar(s); }
  bool binary(nlohmann::json::binary_t&) { return false; }
  bool start_object(std::size_t)
  {
    m_v.begin_object();
    return true;
  }
  bool start_array(std::size_t)
  {
    m_v.begin_array();
    return true;
  }
  bool key(std::string& k)
  {
    m_v.key(k);
    return true;
  }
  bool end_object()
  {
    m_v.end_container();
    return !m_v.stopped();
  }
  bool end_array() { return end_object(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

private:
  bool scalar(const nlohmann::json& value)
  {
    m_v.scalar(value);
    return !m_v.stopped();
  }
  pagable::schema::NodeValidator& m_v;
};

// Validates `doc` node by node; `stats` receives the validator's counters.
inline pagable::schema::ValidationReport stream_validate(const pagable::schema::Schema& schema,
                                                         const nlohmann::json& doc,
                                                         pagable::schema::StreamStats* stats = nullptr,
                                                         const pagable::schema::StreamOptions& options = {})
{
  auto validator = schema.node_validator(options);
  StreamFeed feed(*validator);
  nlohmann::json::sax_parse(doc.dump(), &feed);
  if (stats != nullptr) {
    *stats = validator->stats();
  }
  return validator->report();
}

// (instance location, schema location) of every error, for comparing two reports whose
// order may differ.
inline std::set<std::pair<std::string, std::string>> error_locations(const pagable::schema::ValidationReport& r)
{
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& e : r.errors) {
    out.emplace(e.instance_location, e.schema_location);
  }
  return out;
}

} // namespace test
