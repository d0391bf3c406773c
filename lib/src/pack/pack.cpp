// SPDX-License-Identifier: MIT OR Apache-2.0
// Pack: the SAX handler that turns one JSON document into nodes (DESIGN §3).
//
// How it works. JsonReader (json_reader.hpp: nlohmann's SAX events, number typing and grammar
// with much less work per byte; a test compares the two) reads blocks straight from the input
// (BlockInput: plain input is read(2) into the blocks it walks). Each event lands in the open
// frames (frame_stack); the Chunker (chunk_tree) turns ended items and closed containers into
// nodes -- inline, a node of their own, or content-defined chunks under index levels -- and
// routing adds member fingerprints to big objects; member_names rejects repeated names (above
// PackOptions::exact_member_names members, 60-bit hashes of them, a repeat verified against
// the stored object after the parse); ref_tracker settles `$ref`s, most while the parse
// passes their target's parent, the rest against the stored document through codec's
// navigation; the schema's NodeValidator and, for an update, the Aligner (which names each
// new node's old counterpart at the same JSON path as its delta base) see every value open
// and close. node_writer hashes and stores nodes: workers - 1 threads serve a FIFO of "wait
// for the children's keys, then put" tasks (with 1, the parser puts each node itself), since
// a streamed document's nodes are complete before their parent exists; the parser and the
// store's writer are each about a core's work on the seed graph, so a worker per core was a
// thread too many on 2 cores (1.80 s against 1.42 s for 500,000 nodes). It does not use
// pageout::PageOutSession, which serves in-memory graphs of shared objects.
#include <pagable/pack.hpp>

#include <pagable/arc_cache.hpp>
#include <pagable/schema.hpp>

#include "codec/navigate.hpp"
#include "pack/aligner.hpp"
#include "pack/frame_stack.hpp"
#include "pack/json_reader.hpp"
#include "pack/member_names.hpp"
#include "pack/node_writer.hpp"
#include "pack/ref_tracker.hpp"
#include "pack/value_builder.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace pagable::pack {
namespace {

using codec::Tag;

// Reads back what the pack stored, for the checks that need the stored document. They stream
// through the objects they name, so a small cache is enough.
codec::BlobLoader stored_blobs(const store::BlobStore& store)
{
  constexpr std::size_t k_cache_bytes = 8 * 1024 * 1024;
  auto cache = std::make_shared<ArcCache>(k_cache_bytes);
  return [&store, cache](const Key& key) {
    using Decoded = std::pair<std::shared_ptr<const Blob>, std::size_t>;
    return cache->get<Blob>(key, [&]() -> Result<Decoded> {
      PAGABLE_TRY_ASSIGN(auto stored, store.get(key));
      PAGABLE_TRY_ASSIGN(auto blob, codec::checked_blob(key, std::move(stored)));
      const std::size_t cost = blob->data.size() + blob->children.size() * Key::k_size + 64;
      return Decoded{std::move(blob), cost};
    });
  };
}

// The SAX handler: JsonReader's events become encoded values through the ValueBuilder (which
// the objects module shares: its Chunker turns ended items and closed containers into nodes);
// the RefTracker follows $refs, and the schema validator and the Aligner (for an update) see
// every value open and close.
class Packer {
public:
  using json = nlohmann::json;

  Packer(store::BlobStore& store, const BoundarySettings& boundaries, const PackOptions& options,
         JsonSource& in)
      : m_options(options), m_in(in),
        m_align(options.update_of ? std::make_unique<Aligner>(store, *options.update_of) : nullptr),
        m_writer(store, options, boundaries.fingerprint),
        m_builder(boundaries, m_writer, m_align.get()), m_frames(m_builder.frames())
  {
    if (options.schema) {
      schema::StreamOptions so;
      so.max_buffer_bytes = options.schema_buffer_bytes;
      m_validator = options.schema->node_validator(so);
    }
    m_frames.set_name_limits(options.exact_member_names, options.member_name_hash_bits);
  }

  // --- events from JsonReader (those of nlohmann::json::sax_parse) ---
  bool null()
  {
    return scalar(schema_scalar(nullptr), [](Bytes& b) {
      codec::put_tag(b, Tag::null);
      return Result<void>{};
    });
  }
  bool boolean(bool v)
  {
    return scalar(schema_scalar(v), [v](Bytes& b) {
      codec::put_tag(b, v ? Tag::true_ : Tag::false_);
      return Result<void>{};
    });
  }
  bool number_integer(std::int64_t v)
  {
    return scalar(schema_scalar(v), [v](Bytes& b) {
      codec::put_integer(b, v);
      return Result<void>{};
    });
  }
  bool number_unsigned(std::uint64_t v)
  {
    return scalar(schema_scalar(v), [v](Bytes& b) {
      codec::put_unsigned(b, v);
      return Result<void>{};
    });
  }
  bool number_float(double v, const std::string& literal)
  {
    return scalar(schema_scalar(v),
                  [&](Bytes& b) { return codec::put_number_literal(b, literal, v); });
  }
  bool string(std::string& s)
  {
    if (s.size() > m_options.max_string_bytes) {
      return fail("a string of " + std::to_string(s.size()) + " bytes exceeds the limit of " +
                  std::to_string(m_options.max_string_bytes));
    }
    m_refs.string_read(s);
    return scalar(schema_scalar(s), [&s](Bytes& b) {
      codec::put_string(b, s);
      return Result<void>{};
    });
  }
  bool start_object(std::size_t) { return open(true); }
  bool start_array(std::size_t) { return open(false); }
  bool key(std::string& name)
  {
    Frame& f = m_frames.back();
    if (name.size() > m_options.max_string_bytes) {
      return fail("a member name of " + std::to_string(name.size()) + " bytes exceeds the limit");
    }
    const NameSet::Added added = f.names.insert(name);
    f.name = name;
    if (added == NameSet::Added::duplicate) {
      return fail("duplicate member name \"" + name + "\"");
    }
    if (added == NameSet::Added::maybe_duplicate) {
      if (m_suspects.full()) {
        return fail("duplicate member name \"" + name + "\" (one of more than " +
                    std::to_string(DuplicateSuspects::k_max) + " repeated member-name hashes)");
      }
      m_suspects.add(m_frames.pointer(m_frames.size() - 1), name,
                     failure("duplicate member name \"" + name + "\""));
    }
    m_refs.member_read(name);
    m_builder.member(name);
    if (m_validator) {
      m_validator->key(name);
    }
    if (m_align) {
      m_align->member(name);
    }
    return true;
  }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  // The reader's message already says where: this adds the JSON pointer.
  bool syntax_error(const std::string& what)
  {
    m_error = make_error(Errc::invalid_input, what + located());
    return false;
  }

  // --- after the parse ---
  std::optional<Error> take_error() { return std::move(m_error); }
  // With a schema: the document's violations as one error, when it has any.
  std::optional<Error> schema_error() const;
  Result<PackResult> finish(store::BlobStore& store);
  std::uint64_t nodes() const noexcept { return m_writer.nodes(); }

private:
  // A scalar whose schema check said `arc` (nullopt: it stopped validation) is encoded in
  // place, or as a node of its own when the schema says x-pagable-arc: true (DESIGN §3; the
  // top-level value is a node anyway).
  template <typename F>
  bool scalar(std::optional<std::optional<bool>> arc, F&& encode)
  {
    if (!arc) {
      return false;
    }
    if (*arc == true && !m_frames.empty()) {
      Bytes bytes;
      if (auto r = encode(bytes); !r) {
        return fail(std::move(r).error().message());
      }
      // (In an object, key() has written the member's name already.)
      auto placed = m_builder.scalar_node(std::move(bytes));
      return placed ? true : fail(std::move(placed).error());
    }
    m_builder.begin_value();
    if (auto r = encode(m_builder.target()); !r) {
      return fail(std::move(r).error().message());
    }
    return end_value();
  }

  bool end_value()
  {
    auto ended = m_builder.end_value();
    return ended ? true : fail(std::move(ended).error());
  }

  bool open(bool object)
  {
    if (m_frames.size() >= m_options.max_depth) {
      return fail("nesting deeper than the maximum depth of " +
                  std::to_string(m_options.max_depth));
    }
    m_builder.begin_value();
    if (m_align) {
      align_open();
    }
    m_builder.open(object);
    m_refs.opened();
    if (m_validator) {
      object ? m_validator->begin_object() : m_validator->begin_array();
    }
    return true;
  }

  // Schema hooks: the validator sees every value as it completes (docs/SCHEMA.md).
  // A template, so that without a schema no json value (a copy of each string) is made.
  // Returns the scalar's x-pagable-arc, or nullopt once validation has stopped the pack.
  template <typename T>
  std::optional<std::optional<bool>> schema_scalar(const T& v)
  {
    if (m_validator) {
      const schema::NodeVerdict verdict = m_validator->scalar(json(v));
      if (!schema_go_on()) {
        return std::nullopt;
      }
      return verdict.arc;
    }
    return std::optional<bool>{};
  }

  bool schema_go_on()
  {
    if (m_validator->stopped()) {
      return fail(*schema_error());
    }
    return true;
  }

  bool close()
  {
    m_refs.closing();
    Frame& f = m_frames.back();
    if (m_validator) {
      f.arc = m_validator->end_container().arc;
      if (!schema_go_on()) {
        return false;
      }
    }
    auto value = m_builder.close(f.arc);
    if (m_align) {
      m_align->close();
    }
    if (!value) {
      return fail(std::move(value).error());
    }
    auto attached = m_builder.attach(std::move(*value));
    return attached ? true : fail(std::move(attached).error());
  }

  // Tells the aligner where the container opening now sits in its parent.
  void align_open()
  {
    if (m_frames.empty()) {
      m_align->open_root();
    } else if (m_frames.back().is_object()) {
      m_align->open_member(m_frames.back().name);
    } else {
      m_align->open_item(m_frames.back().index);
    }
  }

  // " (at POINTER)" for a message. A pointer of many levels shows its first and last ones:
  // at --max-depth, the whole of it was 20 kB of "/0".
  std::string located() const
  {
    constexpr std::size_t k_shown = 16; // levels shown at each end
    const std::size_t depth = m_frames.size();
    if (depth == 0) {
      return " (at the top level)";
    }
    if (depth <= 3 * k_shown) {
      return " (at \"" + m_frames.pointer(depth) + "\")";
    }
    return " (at \"" + m_frames.pointer_tokens(0, k_shown) + "/.../" +
           m_frames.pointer_tokens(depth - k_shown, depth).substr(1) + "\", " +
           std::to_string(depth) + " levels deep; " + std::to_string(depth - 2 * k_shown) +
           " levels not shown)";
  }

  bool fail(Error e)
  {
    if (!m_error) {
      m_error = std::move(e);
    }
    return false;
  }

  // `what` at the current place in the input.
  Error failure(const std::string& what) const
  {
    const auto [line, col] = m_in.position();
    return make_error(Errc::invalid_input, what + " at line " + std::to_string(line) +
                                               ", column " + std::to_string(col) + located());
  }

  bool fail(const std::string& what) { return fail(failure(what)); }

  const PackOptions& m_options;
  JsonSource& m_in;
  std::unique_ptr<Aligner> m_align; // with update_of only
  NodeWriter m_writer;
  ValueBuilder m_builder;
  FrameStack& m_frames; // the builder's
  std::unique_ptr<schema::NodeValidator> m_validator;
  RefTracker m_refs{m_frames};
  DuplicateSuspects m_suspects;
  std::optional<Error> m_error;
};

std::optional<Error> Packer::schema_error() const
{
  if (!m_validator || m_validator->report().valid) {
    return std::nullopt;
  }
  const auto& report = m_validator->report();
  std::string msg = "the document does not match the schema";
  constexpr std::size_t k_shown = 20;
  for (std::size_t i = 0; i < report.errors.size() && i < k_shown; ++i) {
    msg += "\n  " + report.errors[i].to_string();
  }
  if (report.errors.size() > k_shown || report.truncated) {
    msg += "\n  (more errors not shown)";
  }
  return make_error(Errc::invalid_input, msg);
}

Result<PackResult> Packer::finish(store::BlobStore& store)
{
  if (auto e = schema_error()) {
    return std::move(*e); // before the root node is stored
  }
  PAGABLE_TRY_ASSIGN(const Pending root,
                     m_builder.finish(m_align ? m_align->root_bases() : std::vector<Key>{}));
  m_writer.wait_idle();
  const Result<Key> key = root.key();
  if (!key) {
    return key.error();
  }
  PAGABLE_TRY(store.flush());
  const codec::BlobLoader load = stored_blobs(store);
  PAGABLE_TRY(m_suspects.check(load, *key));
  PackResult result;
  result.key = *key;
  result.nodes = m_writer.nodes();
  result.refs = m_refs.count();
  result.schema_buffered = m_validator ? m_validator->stats().buffered_values : 0;
  result.hinted = m_writer.hinted();
  if (m_align && m_align->error()) {
    result.alignment_error = m_align->error()->message();
  }
  PAGABLE_TRY_ASSIGN(result.dangling, m_refs.dangling(load, *key));
  if (!result.dangling.empty() && m_options.dangling_refs == DanglingRefs::error) {
    std::string msg = "dangling reference " + result.dangling.front();
    if (result.dangling.size() > 1) {
      msg += " (and " + std::to_string(result.dangling.size() - 1) + " more)";
    }
    return make_error(Errc::invalid_input, msg + " does not resolve in the document");
  }
  return result;
}

} // namespace

Result<PackResult> pack_stream(store::BlobStore& store, std::istream& input,
                               const BoundarySettings& boundaries, const PackOptions& options)
{
  PAGABLE_TRY(boundaries.check());
  JsonSource counted(input.rdbuf());
  std::optional<Error> error;
  std::uint64_t bytes_in = 0;
  Result<PackResult> result = make_error(Errc::internal, "pack did not run");
  {
    Packer packer(store, boundaries, options, counted);
    auto last_report = std::chrono::steady_clock::now();
    if (options.progress) {
      counted.on_refill = [&] {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_report >= options.progress_interval) {
          last_report = now;
          options.progress(PackProgress{counted.consumed(), packer.nodes(), false});
        }
      };
    }
    bool parsed = false;
    try {
      parsed = JsonReader<Packer>(counted, packer).parse();
    } catch (const std::exception& e) {
      // Thrown by the input (a decompression or read error).
      error = make_error(Errc::invalid_input, std::string("reading the input: ") + e.what());
    }
    if (!error) {
      error = packer.take_error();
    }
    if (!error && !parsed) {
      error = make_error(Errc::invalid_input, "the input is not a JSON document");
    }
    bytes_in = counted.consumed();
    counted.on_refill = nullptr;
    if (options.progress && !error) {
      options.progress(PackProgress{bytes_in, packer.nodes(), true});
    }
    // Decided by what was read, not consumed: `hello` fails on its first byte, yet is not empty.
    if (error && counted.read() == 0 && error->code() == Errc::invalid_input) {
      error = make_error(Errc::invalid_input, "the input is empty: no JSON document at line 1, column 1");
    }
    if (!error) {
      result = packer.finish(store);
    }
    // The packer's destructor waits for its workers before `store` may be used further.
  }
  if (error) {
    return std::move(*error);
  }
  if (result) {
    result->bytes_in = bytes_in;
  }
  return result;
}

} // namespace pagable::pack
