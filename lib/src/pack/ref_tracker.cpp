// SPDX-License-Identifier: MIT OR Apache-2.0
#include "pack/ref_tracker.hpp"

#include "codec/node_codec.hpp"

#include <algorithm>
#include <utility>

namespace pagable::pack {
namespace {

constexpr std::uint64_t k_root_path = codec::k_fnv_basis; // the document's path hash

std::uint64_t path_step(std::uint64_t parent, std::string_view token)
{
  return codec::mix64(parent ^ codec::fnv1a64({reinterpret_cast<const std::uint8_t*>(token.data()),
                                               token.size()}));
}

} // namespace

void RefTracker::opened()
{
  if (m_track_paths) {
    m_frames.back().path = child_path(m_frames.size() - 1);
  }
}

void RefTracker::member_read(const std::string& name)
{
  Frame& f = m_frames.back();
  if (f.awaited.empty()) {
    return;
  }
  if (const auto it = f.awaited.find(name); it != f.awaited.end()) {
    m_refs.erase(it->second); // a forward $ref's target: found
    f.awaited.erase(it);
  }
}

void RefTracker::string_read(const std::string& value)
{
  if (m_frames.empty()) {
    return;
  }
  Frame& f = m_frames.back();
  if (f.is_object() && f.body.items == 0 && f.name == "$ref" && value.starts_with("#/")) {
    f.ref = value;
  }
}

void RefTracker::closing()
{
  Frame& f = m_frames.back();
  if (f.is_object() && f.body.items == 1 && !f.ref.empty()) {
    check_ref(f.ref);
    ++m_count;
  }
  for (auto& [name, target] : f.awaited) { // forward $refs to members that never came
    m_refs.at(target).found = Found::no;
  }
  f.awaited.clear();
  if (!m_waiting.empty()) {
    resolve_targets_in(f);
  }
}

// The hash of the pointer to the value open at `depth` (0 = the document).
std::uint64_t RefTracker::child_path(std::size_t depth) const
{
  if (depth == 0) {
    return k_root_path;
  }
  const Frame& parent = m_frames[depth - 1];
  if (parent.is_object()) {
    return path_step(parent.path, parent.name);
  }
  return path_step(parent.path, std::to_string(parent.index));
}

// A $ref just read, in the object now closing. Its target is settled at once when its parent
// is open and holds it already (a backward ref: nothing is kept), or when that parent reads
// the member or closes (a forward ref to a member: kept until then); otherwise when its parent
// closes later, or, for a parent closed already, in the stored document.
void RefTracker::check_ref(const std::string& text)
{
  if (text.find_first_of("%~") == std::string::npos && found_at_once(text)) {
    return;
  }
  // A fragment that does not decode is its own target (it starts with '#', a pointer with
  // '/'), one that resolves nowhere.
  auto pointer = codec::fragment_to_pointer(text);
  std::string target = pointer ? std::move(*pointer) : text;
  if (m_refs.contains(target)) { // the first place that names a target is kept
    return;
  }
  auto tokens = codec::parse_pointer(target);
  if (tokens && !tokens->empty() && parent_is_open(*tokens)) {
    Frame& parent = m_frames.at(tokens->size() - 1);
    const std::string& last = tokens->back();
    if (parent.is_object()) {
      if (parent.names.contains(last)) {
        return;
      }
      parent.awaited.emplace(last, target);
      m_refs.emplace(std::move(target), RefTarget{text, m_frames.pointer(m_frames.size() - 1)});
      return;
    }
    const auto index = codec::parse_index(last);
    if (index && *index <= parent.index) { // an item before the open one, or that one
      return;
    }
  }
  add_ref_target(std::move(target), text);
}

// The common case without allocating: a "#/a/b" with nothing to decode whose target's parent
// is open and holds it already.
bool RefTracker::found_at_once(std::string_view text)
{
  std::vector<std::string_view>& tokens = m_tokens;
  tokens.clear();
  for (std::size_t begin = 2;;) { // after "#/"
    const std::size_t end = std::min(text.find('/', begin), text.size());
    tokens.push_back(text.substr(begin, end - begin));
    if (end == text.size()) {
      break;
    }
    begin = end + 1;
  }
  if (!parent_is_open(tokens)) {
    return false;
  }
  const Frame& parent = m_frames[tokens.size() - 1];
  if (parent.is_object()) {
    return parent.names.contains(tokens.back());
  }
  const auto index = codec::parse_index(tokens.back());
  return index && *index <= parent.index;
}

// Whether the container holding the target of `tokens` is open now.
template <typename Token>
bool RefTracker::parent_is_open(const std::vector<Token>& tokens) const
{
  const std::size_t depth = tokens.size() - 1;
  if (depth >= m_frames.size()) {
    return false;
  }
  for (std::size_t i = 0; i < depth; ++i) {
    const Frame& a = m_frames[i];
    if (a.is_object() ? a.name != tokens[i] : codec::parse_index(tokens[i]) != a.index) {
      return false;
    }
  }
  return true;
}

void RefTracker::add_ref_target(std::string pointer, const std::string& text)
{
  RefTarget target{text, m_frames.pointer(m_frames.size() - 1)};
  const auto it = m_refs.emplace(std::move(pointer), std::move(target)).first;
  auto tokens = codec::parse_pointer(it->first);
  if (!tokens) { // not a JSON pointer (a bad ~ escape, an undecodable fragment): dangling
    it->second.found = Found::no;
    return;
  }
  if (tokens->empty()) {
    return; // the document itself: dangling() finds it
  }
  if (!m_track_paths) { // from now on every container's path is hashed
    m_track_paths = true;
    for (std::size_t d = 0; d < m_frames.size(); ++d) {
      m_frames.at(d).path = child_path(d);
    }
  }
  std::uint64_t parent = k_root_path;
  for (std::size_t i = 0; i + 1 < tokens->size(); ++i) {
    parent = path_step(parent, (*tokens)[i]);
  }
  m_waiting[parent].push_back(Waiting{&it->second, std::move(*tokens)});
}

// `f` closes: the targets whose parent it is are found, or known to be missing.
void RefTracker::resolve_targets_in(const Frame& f)
{
  const auto it = m_waiting.find(f.path);
  if (it == m_waiting.end()) {
    return;
  }
  const std::size_t depth = m_frames.size() - 1; // f's
  auto& list = it->second;
  std::erase_if(list, [&](Waiting& w) {
    if (w.tokens.size() != depth + 1) {
      return false; // another path with the same hash
    }
    for (std::size_t i = 0; i < depth; ++i) {
      const Frame& a = m_frames[i];
      if (a.is_object() ? a.name != w.tokens[i] : std::to_string(a.index) != w.tokens[i]) {
        return false;
      }
    }
    const std::string& last = w.tokens.back();
    if (f.is_object()) {
      w.target->found = f.names.contains(last) ? Found::yes : Found::no;
    } else {
      const auto index = codec::parse_index(last);
      w.target->found = index && *index < f.index ? Found::yes : Found::no;
    }
    return true;
  });
  if (list.empty()) {
    m_waiting.erase(it);
  }
}

Result<std::vector<std::string>> RefTracker::dangling(const codec::BlobLoader& load,
                                                     const Key& root)
{
  std::vector<std::string> pointers;
  std::vector<RefTarget*> asked;
  for (auto& [pointer, target] : m_refs) {
    if (target.found == Found::unknown) {
      pointers.push_back(pointer);
      asked.push_back(&target);
    }
  }
  if (!pointers.empty()) {
    PAGABLE_TRY_ASSIGN(const auto found, codec::has_values(load, root, pointers));
    for (std::size_t i = 0; i < asked.size(); ++i) {
      asked[i]->found = found[i] ? Found::yes : Found::no;
    }
  }
  std::vector<std::string> dangling;
  for (const auto& [pointer, target] : m_refs) {
    if (target.found == Found::no) {
      const std::string& origin = target.origin.empty() ? "/" : target.origin;
      dangling.push_back("\"" + target.text + "\" at " + origin);
    }
  }
  std::sort(dangling.begin(), dangling.end()); // m_refs has no order
  return dangling;
}

} // namespace pagable::pack
