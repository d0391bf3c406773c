// SPDX-License-Identifier: MIT OR Apache-2.0
// gc REMOTE (pagable/remote.hpp): retention over a remote's versions, by the policy code
// forget uses (apply_policy), deleting manifests only past the grace period. Registries have
// no compare-and-swap: a runner may push a version, or read one, while gc runs. The grace
// period is what keeps a version it just pushed (dropped by retention because a newer one
// exists, say) from disappearing under it. Blobs are the registry's to collect.
#include "remote/mapping.hpp"

#include <pagable/remote.hpp>

#include <chrono>
#include <map>
#include <set>

namespace pagable::remote {

Result<RemoteGcReport> gc(RemoteCatalog& catalog, const RemoteGcOptions& options)
{
  if (options.policy.empty()) {
    return make_error(Errc::invalid_argument,
                      "gc REMOTE needs a retention policy (--keep-last, --keep-daily, ... as forget takes): "
                      "without one every version is kept");
  }
  const std::int64_t now = options.now_unix_ms != 0
                               ? options.now_unix_ms
                               : std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
  PAGABLE_TRY_ASSIGN(const auto all, catalog.select({}));
  std::map<std::string, std::vector<store::RootRecord>> by_name;
  for (const auto& r : all) {
    by_name[r.name].push_back(r);
  }
  for (const auto& n : options.names) {
    if (!by_name.contains(n)) {
      return make_error(Errc::not_found, catalog.registry().location().display() + " has no version of \"" + n + "\"");
    }
  }
  const std::set<std::string> wanted(options.names.begin(), options.names.end());
  RemoteGcReport report;
  for (const auto& [name, versions] : by_name) {
    if (!wanted.empty() && !wanted.contains(name)) {
      continue;
    }
    RemoteGcName out;
    out.name = name;
    out.decisions = apply_policy(versions, options.policy, now);
    for (const auto& d : out.decisions) {
      if (d.keep) {
        continue;
      }
      if (d.version.created_unix_ms > now - options.grace.count()) {
        out.in_grace.push_back(d.version);
      } else {
        out.deleted.push_back(d.version);
      }
    }
    report.names.push_back(std::move(out));
  }
  if (options.dry_run == DryRun::yes) {
    report.transfer = catalog.registry().counters();
    return report;
  }
  Registry& registry = catalog.registry();
  for (auto& n : report.names) {
    bool deleted_any = false;
    for (const auto& v : n.deleted) {
      const RemoteVersion* listed = catalog.version_of(v);
      PAGABLE_TRY_ASSIGN(const auto manifest, catalog.manifest(*listed));
      if (!manifest) {
        continue; // deleted since the listing (another gc)
      }
      PAGABLE_TRY_ASSIGN(const bool gone, in_context(registry.delete_manifest(manifest->digest), "version " + listed->tag));
      report.manifests_deleted += gone ? 1 : 0;
      deleted_any = true;
    }
    // Deleting by digest untags every tag naming the manifest, the plain name's hint among
    // them when it named a deleted version: it then names the newest version kept.
    if (!deleted_any) {
      continue;
    }
    const auto newest = std::find_if(n.decisions.begin(), n.decisions.end(), [&](const RetentionDecision& d) {
      return d.keep || std::any_of(n.in_grace.begin(), n.in_grace.end(),
                                   [&](const store::RootRecord& r) { return version_tag(r) == version_tag(d.version); });
    });
    PAGABLE_TRY_ASSIGN(const auto hint, registry.get_manifest(name_tag(n.name)));
    if (!hint && newest != n.decisions.end()) {
      PAGABLE_TRY_ASSIGN(const auto kept, catalog.manifest(*catalog.version_of(newest->version)));
      if (kept) {
        PAGABLE_TRY(registry.put_manifest(name_tag(n.name), k_manifest_type, kept->bytes));
      }
    }
  }
  report.transfer = registry.counters();
  return report;
}

} // namespace pagable::remote
