// SPDX-License-Identifier: MIT OR Apache-2.0
// read_json_document: pack's JsonReader feeding a value builder, so that validate and pack
// refuse the same inputs (issue 20: validate used nlohmann's parser, which accepted what
// follows a NUL byte and repeated member names, and threw on 1e400).
#include <pagable/json_document.hpp>

#include <pagable/pack.hpp>

#include "pack/json_reader.hpp"

#include <optional>
#include <vector>

namespace pagable::pack {
namespace {

using json = nlohmann::json;

// JsonReader's events into one nlohmann value. A repeated member name is refused where it is
// read, as pack's NameSet refuses it.
class ValueBuilder {
public:
  explicit ValueBuilder(JsonSource& in) : m_in(in) {}

  bool null() { return put(json(nullptr)); }
  bool boolean(bool v) { return put(json(v)); }
  bool number_integer(std::int64_t v) { return put(json(v)); }
  bool number_unsigned(std::uint64_t v) { return put(json(v)); }
  bool number_float(double v, const std::string&) { return put(json(v)); }
  bool string(std::string& s) { return put(json(std::move(s))); }
  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool key(std::string& name)
  {
    json& object = *m_open.back();
    if (object.contains(name)) {
      const auto [line, col] = m_in.position();
      m_error = make_error(Errc::invalid_input, "duplicate member name \"" + name + "\" at line " +
                                                    std::to_string(line) + ", column " +
                                                    std::to_string(col));
      return false;
    }
    m_key = std::move(name);
    return true;
  }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool syntax_error(const std::string& what)
  {
    m_error = make_error(Errc::invalid_input, what);
    return false;
  }

  std::optional<Error> take_error() { return std::move(m_error); }
  json take_value() { return std::move(m_top); }

private:
  // The slot a new value goes to: the top level, the open array's end or the named member.
  json& slot()
  {
    if (m_open.empty()) {
      return m_top;
    }
    json& container = *m_open.back();
    if (container.is_array()) {
      container.push_back(nullptr);
      return container.back();
    }
    return container[m_key];
  }
  bool put(json v)
  {
    slot() = std::move(v);
    return true;
  }
  bool open(json empty)
  {
    json& s = slot();
    s = std::move(empty);
    m_open.push_back(&s); // stable: a value's address does not move while it is open
    return true;
  }
  bool close()
  {
    m_open.pop_back();
    return true;
  }

  JsonSource& m_in;
  json m_top;
  std::vector<json*> m_open;
  std::string m_key;
  std::optional<Error> m_error;
};

} // namespace

Result<nlohmann::json> read_json_document(std::istream& input)
{
  JsonSource source(input.rdbuf());
  ValueBuilder builder(source);
  bool parsed = false;
  try {
    parsed = JsonReader<ValueBuilder>(source, builder).parse();
  } catch (const std::exception& e) {
    // Thrown by the input (a decompression or read error).
    return make_error(Errc::invalid_input, std::string("reading the input: ") + e.what());
  }
  if (auto error = builder.take_error()) {
    if (source.read() == 0) {
      return make_error(Errc::invalid_input, "the input is empty: no JSON document at line 1, column 1");
    }
    return std::move(*error);
  }
  if (!parsed) {
    return make_error(Errc::invalid_input, "the input is not a JSON document");
  }
  return builder.take_value();
}

Result<nlohmann::json> read_json_document(const std::string& path)
{
  PAGABLE_TRY_ASSIGN(auto input, open_input(path));
  return read_json_document(*input);
}

} // namespace pagable::pack
