// SPDX-License-Identifier: MIT OR Apache-2.0
// Writing a C++ value: its codec's events go to pack's ValueBuilder, the encoder JSON
// documents go through, with the archive's boundary settings; a handle is placed as the node
// its value was stored as (ValueBuilder::node), never serialized again.
#include "codec/node_codec.hpp"
#include "objects/cell.hpp"
#include "pack/value_builder.hpp"
#include "util/utf8.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>

namespace pagable::objects {

namespace {

constexpr char k_base64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Deeper inline nesting is an error: codecs recurse on the C++ stack.
constexpr std::size_t k_max_depth = 1000;

class NodeValueWriter final : public Writer {
public:
  NodeValueWriter(Pager::Core& core, const pack::PackOptions& options)
      : m_core(core), m_nodes(core.store, options, core.boundaries.fingerprint),
        m_builder(core.boundaries, m_nodes, nullptr)
  {
  }

  void null() override
  {
    scalar([](Bytes& b) { codec::put_tag(b, codec::Tag::null); });
  }
  void boolean(bool v) override
  {
    scalar([v](Bytes& b) { codec::put_tag(b, v ? codec::Tag::true_ : codec::Tag::false_); });
  }
  void integer(std::int64_t v) override
  {
    scalar([v](Bytes& b) { codec::put_integer(b, v); });
  }
  void unsigned_integer(std::uint64_t v) override
  {
    scalar([v](Bytes& b) { codec::put_unsigned(b, v); });
  }
  void number(double v) override
  {
    if (!std::isfinite(v)) {
      fail(here(std::string(std::isnan(v) ? "NaN" : "an infinity") +
                " cannot be written (JSON numbers are finite)"));
      return;
    }
    scalar([v](Bytes& b) { codec::put_binary64(b, v); });
  }
  void string(std::string_view v) override
  {
    if (!util::is_utf8(v)) {
      fail(here("a string that is not UTF-8 cannot be written (hold bytes in a ByteString)"));
      return;
    }
    scalar([v](Bytes& b) { codec::put_string(b, v); });
  }
  void begin_object() override { open(true); }
  void name(std::string_view member) override
  {
    if (!m_error) {
      m_builder.member(member);
    }
  }
  void end_object() override { close(); }
  void begin_array() override { open(false); }
  void end_array() override { close(); }
  void handle(const std::shared_ptr<detail::Cell>& cell) override
  {
    if (m_error) {
      return;
    }
    auto node = cell->stored_node();
    if (!node) {
      fail(std::move(node).error());
      return;
    }
    check(m_builder.node(pack::known_node(node->first, node->second)));
  }
  void fail(Error error) override
  {
    if (!m_error) {
      m_error = std::move(error);
    }
  }
  bool failed() const override { return m_error.has_value(); }
  const Registry& registry() const override { return m_core.registry; }

  // The value's node: its key and fingerprint.
  Result<std::pair<Key, std::uint64_t>> finish()
  {
    if (m_error) {
      return std::move(*m_error);
    }
    if (!m_builder.frames().empty()) {
      return make_error(Errc::internal, "a value's codec left a container open");
    }
    PAGABLE_TRY_ASSIGN(const pack::Pending top, m_builder.finish());
    // One worker: the builder stored every node synchronously.
    const Result<Key> key = top.key();
    if (!key) {
      return key.error();
    }
    return std::make_pair(*key, top.fp);
  }

private:
  template <typename F>
  void scalar(F&& encode)
  {
    if (m_error) {
      return;
    }
    m_builder.begin_value();
    encode(m_builder.target());
    check(m_builder.end_value());
  }
  void open(bool object)
  {
    if (m_error) {
      return;
    }
    if (m_builder.frames().size() >= k_max_depth) {
      fail(here("a value nested deeper than " + std::to_string(k_max_depth) + " levels"));
      return;
    }
    m_builder.begin_value();
    m_builder.open(object);
  }
  void close()
  {
    if (m_error) {
      return;
    }
    auto value = m_builder.close(std::nullopt);
    if (!value) {
      fail(std::move(value).error());
      return;
    }
    check(m_builder.attach(std::move(value).value()));
  }
  void check(Result<void> r)
  {
    if (!r) {
      fail(std::move(r).error());
    }
  }
  Error here(const std::string& what) const
  {
    const auto& frames = m_builder.frames();
    const std::string at = frames.pointer(frames.size());
    return make_error(Errc::invalid_argument, what + " (at \"" + at + "\")");
  }

  Pager::Core& m_core;
  pack::NodeWriter m_nodes;
  pack::ValueBuilder m_builder;
  std::optional<Error> m_error;
};

} // namespace

std::string encode_base64(std::span<const std::byte> bytes)
{
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  const auto at = [&](std::size_t k) { return static_cast<unsigned>(bytes[k]); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    out += k_base64[v >> 18];
    out += k_base64[(v >> 12) & 63];
    out += k_base64[(v >> 6) & 63];
    out += k_base64[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = at(i) << 16;
    out += k_base64[v >> 18];
    out += k_base64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const unsigned v = at(i) << 16 | at(i + 1) << 8;
    out += k_base64[v >> 18];
    out += k_base64[(v >> 12) & 63];
    out += k_base64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<ByteString> decode_base64(std::string_view text)
{
  const auto bad = [] { return make_error(Errc::invalid_input, "not base64 text (RFC 4648, padded)"); };
  if (text.size() % 4 != 0) {
    return bad();
  }
  const auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') {
      return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
      return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
      return c - '0' + 52;
    }
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  ByteString out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::size_t pad = last ? (text[i + 3] == '=' ? (text[i + 2] == '=' ? 2 : 1) : 0) : 0;
    unsigned v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const int d = k >= 4 - pad ? 0 : value(text[i + k]);
      if (d < 0) {
        return bad();
      }
      v = v << 6 | static_cast<unsigned>(d);
    }
    out.push_back(static_cast<std::byte>(v >> 16));
    if (pad < 2) {
      out.push_back(static_cast<std::byte>((v >> 8) & 0xFF));
    }
    if (pad < 1) {
      out.push_back(static_cast<std::byte>(v & 0xFF));
    }
    // Canonical padding: the bits the padding drops are zero.
    if ((pad == 1 && (v & 0xFF) != 0) || (pad == 2 && (v & 0xFFFF) != 0)) {
      return bad();
    }
  }
  return out;
}

namespace detail {

class ValueEncoder {
public:
  explicit ValueEncoder(Pager::Core& core) : m_options(one_worker()), m_writer(core, m_options) {}
  NodeValueWriter& writer() noexcept { return m_writer; }

private:
  static pack::PackOptions one_worker()
  {
    pack::PackOptions options;
    options.workers = 1; // this thread stores each node as it completes: keys at once
    return options;
  }
  const pack::PackOptions m_options; // the node writer keeps a reference: declared first
  NodeValueWriter m_writer;
};

void ValueEncoderDelete::operator()(ValueEncoder* encoder) const noexcept
{
  delete encoder;
}

Result<std::pair<Key, std::uint64_t>> encode_value(Pager::Core& core, const ValueOps& ops,
                                                   const void* value)
{
  EncoderPtr encoder;
  {
    std::lock_guard lock(core.mutex);
    if (!core.idle_encoders.empty()) {
      encoder = std::move(core.idle_encoders.back());
      core.idle_encoders.pop_back();
    }
  }
  if (!encoder) {
    encoder.reset(new ValueEncoder(core));
  }
  ops.write(encoder->writer(), value);
  auto node = encoder->writer().finish();
  if (node) {
    // Only an encoder that finished cleanly is reused: a failed value may have left
    // containers open in it.
    std::lock_guard lock(core.mutex);
    core.idle_encoders.push_back(std::move(encoder));
  }
  return node;
}

} // namespace detail
} // namespace pagable::objects
