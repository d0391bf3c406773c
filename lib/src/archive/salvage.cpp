// SPDX-License-Identifier: MIT OR Apache-2.0
// Archive::salvage_into (pagable repair ARCHIVE OUT): every version that still reads whole,
// copied blob by blob into a new archive. Blobs are copied as they are stored, not re-packed
// from JSON: the keys stay, nothing is parsed, and BlobReader::get re-hashes each one on the
// way. A version is copied in one go and committed with its own number (import_root); one
// whose walk meets a damaged or missing blob has its writes taken back and is listed as lost.
#include <pagable/archive.hpp>

#include "archive/archive_impl.hpp"

#include <algorithm>
#include <map>
#include <unordered_set>
#include <utility>

namespace pagable {
namespace {

// Copies what versions reach from one store into another, each distinct blob once.
class Copier {
public:
  Copier(const store::BlobStore& from, store::BlobStore& to, std::stop_token stop)
      : m_from(from), m_to(to), m_stop(std::move(stop))
  {
  }

  // Copies everything `top` reaches that has not been copied. `like`: the blob at the same
  // place in the name's previous version, whose children pair with `top`'s by position; each
  // copy is hinted with its pair as a delta base, so that the new archive keeps the old one's
  // compression of updates. Errc::corrupt names the first blob that is damaged or missing.
  Result<void> copy(const Key& top, std::optional<Key> like)
  {
    std::vector<std::pair<Key, std::optional<Key>>> todo{{top, like}};
    while (!todo.empty()) {
      if (m_stop.stop_requested()) {
        return make_error(Errc::cancelled, "interrupted");
      }
      auto [key, base] = std::move(todo.back());
      todo.pop_back();
      if (m_copied.count(key) != 0) {
        continue;
      }
      PAGABLE_TRY_ASSIGN(auto blob, m_from.get(key)); // checks the data against the key
      if (!blob) {
        return make_error(Errc::corrupt, "blob " + key.to_hex() + " is missing");
      }
      if (base == key) {
        base.reset();
      }
      std::vector<Key> base_children;
      if (base) {
        // From the index alone; a base that cannot be read only loses its hint.
        if (auto c = m_from.children_of(*base); c && *c) {
          base_children = std::move(**c);
        }
      }
      for (std::size_t i = 0; i < blob->children.size(); ++i) {
        todo.emplace_back(blob->children[i],
                          i < base_children.size() ? std::optional<Key>(base_children[i]) : std::nullopt);
      }
      store::PutHints hints;
      if (base && m_copied.count(*base) != 0) {
        hints.delta_bases.push_back(*base);
      }
      m_bytes += blob->data.size();
      PAGABLE_TRY(m_to.put(std::move(*blob), hints));
      m_copied.insert(key);
      m_fresh.push_back(key);
    }
    return {};
  }

  // The blobs copied since the last settle() are the version's: kept, or forgotten when the
  // version is lost (its writes are taken back).
  void keep(SalvageReport& report)
  {
    report.blobs_copied += m_fresh.size();
    report.bytes_copied += m_bytes;
    settle();
  }
  void forget()
  {
    for (const Key& k : m_fresh) {
      m_copied.erase(k);
    }
    settle();
  }

private:
  void settle()
  {
    m_fresh.clear();
    m_bytes = 0;
  }

  const store::BlobStore& m_from;
  store::BlobStore& m_to;
  std::stop_token m_stop;
  std::unordered_set<Key> m_copied; // in m_to
  std::vector<Key> m_fresh;         // copied for the version under way
  std::uint64_t m_bytes = 0;        // their data bytes
};

} // namespace

Result<SalvageReport> Archive::salvage_into(Archive& out, std::stop_token stop,
                                            const SalvageEvents& events) const
{
  const store::BlobStore& from = *m_impl->store;
  store::BlobStore& to = *out.m_impl->store;
  std::lock_guard lock(out.m_impl->pack_mutex); // take-back below undoes only our writes
  PAGABLE_TRY_ASSIGN(const auto existing, to.list_roots());
  if (!existing.empty()) {
    return make_error(Errc::invalid_argument,
                      out.location() + " has versions already; salvage copies into a new archive");
  }
  // The boundary settings are part of every key: later packs into the copy must cut nodes
  // as this archive did.
  PAGABLE_TRY_ASSIGN(const auto settings, from.settings());
  PAGABLE_TRY(to.init_settings(settings, store::SettingsWrite::replace_while_rootless));
  PAGABLE_TRY_ASSIGN(auto versions, from.list_roots());
  // By name and number: import_root takes a name's numbers in increasing order.
  std::stable_sort(versions.begin(), versions.end(), [](const auto& a, const auto& b) {
    return std::tie(a.name, a.version) < std::tie(b.name, b.version);
  });
  SalvageReport report;
  Copier copier(from, to, stop);
  std::map<std::string, Key, std::less<>> previous; // each name's last version copied
  std::size_t done = 0;
  for (const auto& v : versions) {
    PAGABLE_TRY_ASSIGN(const auto mark, to.mark_writes());
    const auto before = to.counters();
    const auto prev = previous.find(v.name);
    auto copied = copier.copy(v.key, prev == previous.end() ? std::nullopt : std::optional<Key>(prev->second));
    if (copied && v.schema_key) {
      copied = copier.copy(*v.schema_key, std::nullopt);
    }
    if (copied) {
      PAGABLE_TRY(to.flush());
      store::RootRecord record = v;
      record.bytes_added = to.counters().bytes_taken - before.bytes_taken;
      PAGABLE_TRY_ASSIGN(auto committed, to.import_root(std::move(record)));
      report.copied.push_back(std::move(committed));
      previous[v.name] = v.key;
      copier.keep(report);
    } else if (copied.error().code() == Errc::corrupt) {
      copier.forget();
      PAGABLE_TRY(to.discard_writes_since(mark));
      report.lost.push_back({v, std::move(copied).error()});
    } else {
      return std::move(copied).error();
    }
    if (events.progress) {
      events.progress(v, ++done, versions.size());
    }
  }
  return report;
}

} // namespace pagable
