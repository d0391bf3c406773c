// SPDX-License-Identifier: MIT OR Apache-2.0
// The archive's versions as commands ask for them: ls's listing, log's history, diff between
// two selectors, and rm's plan (what the CLI used to decide itself).
#include <pagable/archive.hpp>
#include <pagable/selector.hpp>

#include "archive/archive_impl.hpp"

#include <algorithm>
#include <iterator>
#include <map>
#include <set>

namespace pagable {

Result<std::vector<Listed>> Archive::list(const ListRequest& request) const
{
  PAGABLE_TRY_ASSIGN(const auto roots, m_impl->store->list_roots()); // oldest first
  // Each name's newest version (the highest number) and count.
  std::map<std::string, std::pair<const store::RootRecord*, std::size_t>> names;
  for (const auto& r : roots) {
    auto& [newest, count] = names[r.name];
    ++count;
    if (newest == nullptr || r.version > newest->version) {
      newest = &r;
    }
  }
  const auto shown = [&](const store::RootRecord& r) {
    if (!r.name.starts_with(request.prefix)) {
      return false;
    }
    return std::all_of(request.labels.begin(), request.labels.end(), [&](const auto& want) {
      const auto it = r.labels.find(want.first);
      return it != r.labels.end() && it->second == want.second;
    });
  };
  std::vector<Listed> out;
  for (const auto& r : roots) {
    const auto& [newest, count] = names[r.name];
    if ((request.all == AllVersions::yes || newest == &r) && shown(r)) {
      out.push_back({r, count});
    }
  }
  return out;
}

Result<std::vector<store::RootRecord>> Archive::select(std::span<const std::string> selectors,
                                                       AllVersions all) const
{
  std::vector<store::RootRecord> out;
  if (selectors.empty()) {
    ListRequest request;
    request.all = all;
    PAGABLE_TRY_ASSIGN(const auto listed, list(request));
    for (const auto& l : listed) {
      out.push_back(l.root);
    }
    return out;
  }
  for (const auto& sel : selectors) {
    if (all == AllVersions::yes) {
      PAGABLE_TRY_ASSIGN(auto versions, m_impl->store->list_versions(sel));
      if (!versions.empty()) {
        out.insert(out.end(), std::make_move_iterator(versions.begin()),
                   std::make_move_iterator(versions.end()));
        continue;
      }
    }
    PAGABLE_TRY_ASSIGN(auto one, find_root(sel));
    out.push_back(std::move(one));
  }
  return out;
}

Result<std::vector<store::RootRecord>> Archive::history(std::string_view selector) const
{
  std::vector<store::RootRecord> versions;
  if (selector.empty()) {
    PAGABLE_TRY_ASSIGN(versions, m_impl->store->list_roots());
  } else {
    PAGABLE_TRY_ASSIGN(const auto picked, find_root(selector));
    PAGABLE_TRY_ASSIGN(auto all, m_impl->store->list_versions(picked.name));
    const bool whole_name = selector == picked.name;
    for (auto& v : all) {
      if (whole_name || v.version <= picked.version) {
        versions.push_back(std::move(v));
      }
    }
  }
  std::stable_sort(versions.begin(), versions.end(), [](const auto& a, const auto& b) {
    return a.created_unix_ms != b.created_unix_ms ? a.created_unix_ms > b.created_unix_ms
                                                  : a.version > b.version;
  });
  return versions;
}

Result<DiffReport> Archive::diff(std::string_view a, std::string_view b,
                                 const diff::DiffOptions& options) const
{
  DiffReport report;
  auto ra = find_root(a);
  if (!ra) {
    return std::move(ra).error().with_context("A");
  }
  auto rb = find_root(b);
  if (!rb) {
    return std::move(rb).error().with_context("B");
  }
  report.a = std::move(ra).value();
  report.b = std::move(rb).value();
  PAGABLE_TRY_ASSIGN(report.result, diff::diff(*m_impl->store, report.a.key, report.b.key, options));
  return report;
}

Result<RemovePlan> Archive::plan_remove(const RemoveRequest& request) const
{
  PAGABLE_TRY_ASSIGN(const auto roots, m_impl->store->list_roots()); // oldest first
  RemovePlan plan;
  if (request.keep_last) {
    // Across names, as before versions: the N names whose newest version is newest stay,
    // with all their versions (forget --keep-last keeps N versions per name instead).
    std::map<std::string, std::int64_t> newest;
    for (const auto& r : roots) {
      if (r.name.starts_with(request.prefix)) {
        const auto it = newest.try_emplace(r.name, r.created_unix_ms).first;
        it->second = std::max(it->second, r.created_unix_ms);
      }
    }
    std::vector<std::pair<std::int64_t, std::string>> by_age;
    for (const auto& [name, ms] : newest) {
      by_age.emplace_back(ms, name);
    }
    std::sort(by_age.begin(), by_age.end());
    for (std::size_t i = 0; i + *request.keep_last < by_age.size(); ++i) {
      plan.names.push_back(by_age[i].second);
    }
    return plan;
  }
  // Every selector must resolve before anything is removed.
  std::set<std::string> names;
  for (const auto& r : roots) {
    names.insert(r.name);
  }
  std::map<std::string, std::set<std::uint64_t>> single;
  for (const auto& s : request.names) {
    if (names.count(s) != 0) {
      if (std::find(plan.names.begin(), plan.names.end(), s) == plan.names.end()) {
        plan.names.push_back(s);
      }
      continue;
    }
    PAGABLE_TRY_ASSIGN(const auto v, find_root(s));
    single[v.name].insert(v.version);
  }
  for (auto& [name, numbers] : single) {
    if (std::find(plan.names.begin(), plan.names.end(), name) == plan.names.end()) {
      plan.versions[name].assign(numbers.begin(), numbers.end());
    }
  }
  return plan;
}

Result<RemoveReport> Archive::remove(const RemovePlan& plan)
{
  RemoveReport report;
  for (const auto& name : plan.names) {
    PAGABLE_TRY_ASSIGN(const std::size_t n, m_impl->store->remove_root(name));
    if (n != 0) {
      report.removed.push_back(name);
      report.versions_removed += n;
    }
  }
  for (const auto& [name, numbers] : plan.versions) {
    PAGABLE_TRY_ASSIGN(const std::size_t n, m_impl->store->remove_versions(name, numbers));
    report.versions_removed += n;
    for (const auto v : numbers) {
      report.removed.push_back(name + "#" + std::to_string(v));
    }
  }
  return report;
}

} // namespace pagable
