// SPDX-License-Identifier: MIT OR Apache-2.0
#include "pack/member_names.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <utility>

namespace pagable::pack {

void NameSet::set_limits(std::size_t exact_limit, unsigned hash_bits)
{
  m_exact_limit = std::max(exact_limit, k_linear);
  m_mask = hash_bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << hash_bits) - 1;
}

NameSet::Added NameSet::insert(const std::string& name)
{
  if (m_count < k_linear) {
    for (std::size_t i = 0; i < m_count; ++i) {
      if (m_small[i] == name) {
        return Added::duplicate;
      }
    }
    if (m_count < m_small.size()) {
      m_small[m_count].assign(name);
    } else {
      m_small.push_back(name);
    }
    if (++m_count == k_linear) {
      m_big.insert(m_small.begin(), m_small.end());
    }
    return Added::yes;
  }
  if (m_hashes.empty()) {
    if (!m_big.insert(name).second) {
      return Added::duplicate;
    }
    if (++m_count >= m_exact_limit) {
      to_hashes();
    }
    return Added::yes;
  }
  if (!m_hashes.insert(hash(name))) {
    return Added::maybe_duplicate;
  }
  ++m_count;
  return Added::yes;
}

bool NameSet::contains(std::string_view name) const
{
  if (!m_hashes.empty()) {
    return m_hashes.contains(hash(name));
  }
  if (m_count >= k_linear) {
    return m_big.contains(std::string(name));
  }
  return std::find(m_small.begin(), m_small.begin() + static_cast<std::ptrdiff_t>(m_count), name) !=
         m_small.begin() + static_cast<std::ptrdiff_t>(m_count);
}

void NameSet::clear()
{
  if (m_count >= k_linear) {
    std::unordered_set<std::string>().swap(m_big); // a large object's table is not kept
    m_hashes.clear();
  }
  m_count = 0;
}

// Never 0, which HashSet64 does not hold.
std::uint64_t NameSet::hash(std::string_view name) const
{
  const std::uint64_t h = codec::member_name_hash(name) & m_mask;
  return h == 0 ? 1 : h;
}

// Replaces the exact names by their hashes. Two distinct names with one hash are both in the
// set all the same (the second insert finds the first).
void NameSet::to_hashes()
{
  std::unordered_set<std::string> names;
  names.swap(m_big);
  for (const std::string& n : names) {
    m_hashes.insert(hash(n));
  }
}

void DuplicateSuspects::add(std::string object, std::string name, Error error)
{
  m_suspects.push_back(Suspect{std::move(object), std::move(name), std::move(error)});
}

Result<void> DuplicateSuspects::check(const codec::BlobLoader& load, const Key& root) const
{
  if (m_suspects.empty()) {
    return {};
  }
  std::unordered_map<std::string_view, std::vector<std::size_t>> by_object;
  std::vector<std::string_view> objects; // in order of their first suspect
  for (std::size_t i = 0; i < m_suspects.size(); ++i) {
    auto& list = by_object[m_suspects[i].object];
    if (list.empty()) {
      objects.push_back(m_suspects[i].object);
    }
    list.push_back(i);
  }
  std::optional<std::size_t> first;
  for (const std::string_view object : objects) {
    const std::vector<std::size_t>& list = by_object.at(object);
    // Per name: members of the stored object so named, and suspects so named. Every
    // occurrence after a name's first is a suspect (its hash was there), so the suspects are
    // its last occurrences: the j-th of s is occurrence c - s + j, a duplicate unless first.
    struct Count {
      std::uint64_t members = 0;
      std::uint64_t suspects = 0;
      std::uint64_t seen = 0; // suspects passed below
    };
    std::unordered_map<std::string_view, Count> counts;
    std::vector<std::string_view> names;
    for (const std::size_t i : list) {
      if (counts[m_suspects[i].name].suspects++ == 0) {
        names.push_back(m_suspects[i].name);
      }
    }
    PAGABLE_TRY_ASSIGN(const auto members, codec::count_members(load, root, object, names));
    for (std::size_t n = 0; n < names.size(); ++n) {
      counts.at(names[n]).members = members[n];
    }
    for (const std::size_t i : list) {
      Count& c = counts.at(m_suspects[i].name);
      if (c.members + c.seen >= c.suspects + 1) { // c - s + j >= 1
        first = std::min(first.value_or(i), i);
        break;
      }
      ++c.seen;
    }
  }
  if (first) {
    return m_suspects[*first].error;
  }
  return {};
}

} // namespace pagable::pack
