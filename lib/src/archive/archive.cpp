// SPDX-License-Identifier: MIT OR Apache-2.0
#include <pagable/archive.hpp>

#include <pagable/retention.hpp>
#include <pagable/schema.hpp>
#include <pagable/selector.hpp>
#include <pagable/stored_schema.hpp>

#include "archive/archive_impl.hpp"
#include "store/sqlite_store.hpp"
#include "util/utf8.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include <unistd.h>

namespace pagable {
namespace {

// A writer on a file or directory it may not write failed late, inside SQLite ("attempt to
// write a readonly database", naming no file) and left a -wal and -shm behind (the newcomer
// trial's item 14). Said up front instead, before SQLite opens anything.
Result<void> check_writable(const std::string& location)
{
  if (::access(location.c_str(), F_OK) != 0) {
    return {}; // created by SQLite, whose error names the directory's problem
  }
  if (::access(location.c_str(), W_OK) != 0) {
    return make_error(Errc::io, location + " is read-only (" + std::strerror(errno) +
                                    "): ls, verify, hydrate and unpack read it; writing needs write access");
  }
  auto dir = std::filesystem::path(location).parent_path();
  if (dir.empty()) {
    dir = ".";
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    return make_error(Errc::io, location + ": its directory " + dir.string() + " is read-only (" +
                                    std::strerror(errno) +
                                    "), and a writer keeps its journal (-wal, -shm) there");
  }
  return {};
}

} // namespace

Archive::Archive(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Archive::~Archive() = default;

Result<std::unique_ptr<Archive>> Archive::open(const std::string& location,
                                               const ArchiveOptions& options)
{
  if (options.mode != OpenMode::read_only) {
    PAGABLE_TRY(check_writable(location));
  }
  store::SqliteOptions o;
  o.mode = options.mode;
  o.lock_wait = options.lock_wait;
  o.compression_level = options.compression_level;
  o.pack_target_bytes = options.pack_target_bytes;
  o.write_queue_bytes = options.write_queue_bytes;
  o.read_mmap_bytes = options.read_mmap_bytes;
  PAGABLE_TRY_ASSIGN(auto opened, store::open_sqlite_store(location, o));
  auto impl = std::make_unique<Impl>();
  impl->location = location;
  impl->store = std::move(opened);
  return std::unique_ptr<Archive>(new Archive(std::move(impl)));
}

std::unique_ptr<Archive> Archive::open_in_memory()
{
  auto impl = std::make_unique<Impl>();
  impl->store = store::make_memory_store();
  return std::unique_ptr<Archive>(new Archive(std::move(impl)));
}

const std::string& Archive::location() const noexcept
{
  return m_impl->location;
}

store::BlobStore& Archive::store() noexcept
{
  return *m_impl->store;
}

const store::BlobStore& Archive::store() const noexcept
{
  return *m_impl->store;
}

Result<pack::BoundarySettings> Archive::boundaries(const std::map<std::string, std::string>& asked)
{
  std::map<std::string, std::string> given;
  for (const auto& [name, value] : asked) {
    given[name.starts_with("pack.") ? name : "pack." + name] = value;
  }
  const auto known = pack::BoundarySettings{}.to_settings();
  for (const auto& [name, _] : given) {
    if (known.count(name) == 0) {
      return make_error(Errc::invalid_argument, "no boundary setting is named \"" + name + "\"");
    }
  }
  auto wanted = pack::BoundarySettings::from_settings(given);
  if (!wanted) {
    return make_error(Errc::invalid_argument, wanted.error().message());
  }
  // A first pack that failed may have recorded other settings: nothing was committed with
  // them, so settings asked for replace them while the archive has no root.
  PAGABLE_TRY_ASSIGN(const auto in_force,
                     pack::init_boundaries(*m_impl->store, *wanted,
                                           given.empty() ? store::SettingsWrite::keep_set
                                                         : store::SettingsWrite::replace_while_rootless));
  const auto want = wanted->to_settings();
  const auto have = in_force.to_settings();
  for (const auto& [name, _] : given) {
    if (want.at(name) != have.at(name)) {
      return make_error(Errc::invalid_argument,
                        m_impl->location + " has " + name + " = " + have.at(name) +
                            ", fixed with its first root (boundary settings are part of every "
                            "key); " + want.at(name) + " was asked for: pack into a new archive "
                            "to use it");
    }
  }
  return in_force;
}

namespace {

std::int64_t now_unix_ms()
{
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What a version's own writes added, between two readings of the store's counters.
struct WriteFigures {
  std::uint64_t new_nodes = 0;
  std::uint64_t delta_nodes = 0;
  std::uint64_t bytes_taken = 0;
};

WriteFigures figures_between(const store::StoreCounters& before, const store::StoreCounters& after)
{
  return {after.blobs_written - before.blobs_written, after.blobs_delta - before.blobs_delta,
          after.bytes_taken - before.bytes_taken};
}

// The root record of a packed document; `written`: what its blobs took (commit_root adds the
// root's own transaction).
store::RootRecord root_for(const PackRequest& request, const pack::PackResult& result,
                           const std::optional<Key>& schema_key, const WriteFigures& written)
{
  store::RootRecord root;
  root.name = request.name;
  root.key = result.key;
  root.labels = request.labels;
  root.schema_key = schema_key;
  root.created_unix_ms = request.created_unix_ms;
  root.bytes_added = written.bytes_taken;
  root.stats_json = nlohmann::json{{"nodes", result.nodes},
                                   {"bytes_in", result.bytes_in},
                                   {"refs", result.refs},
                                   {"source", request.source},
                                   {"new_nodes", written.new_nodes},
                                   {"delta_nodes", written.delta_nodes}}
                        // The source is a file name, whose bytes need not be UTF-8 (U+FFFD then).
                        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return root;
}

// The newest version of any name whose document is `key`, if there is one.
Result<std::optional<store::RootRecord>> version_with_key(const store::BlobStore& store, const Key& key)
{
  PAGABLE_TRY_ASSIGN(auto roots, store.list_roots());
  std::optional<store::RootRecord> found;
  for (auto& r : roots) {
    if (r.key == key && (!found || r.created_unix_ms >= found->created_unix_ms)) {
      found = std::move(r);
    }
  }
  return found;
}

// Reads and packs the document, then commits its root; reads it again when the commit finds
// a blob it reused removed by a concurrent gc (or a failed pack taking its writes back).
Result<PackReport> pack_attempts(store::BlobStore& store, const pack::BoundarySettings& boundaries,
                                 const PackSource& source, const PackRequest& request,
                                 const pack::PackOptions& options, const PackEvents& events,
                                 const store::StoreCounters& before)
{
  constexpr unsigned k_attempts = 3;
  PackReport report;
  report.update_of = options.update_of;
  for (unsigned attempt = 1;; ++attempt) {
    report.attempts = attempt;
    std::unique_ptr<std::istream> opened;
    std::istream* in = source.stream();
    if (in == nullptr) {
      PAGABLE_TRY_ASSIGN(opened, pack::open_input(source.path()));
      in = opened.get();
    }
    PAGABLE_TRY_ASSIGN(report.result, pack::pack_stream(store, *in, boundaries, options));
    if (options.cancel != nullptr && options.cancel->load()) {
      return make_error(Errc::cancelled, "interrupted");
    }
    if (request.schema && (!report.schema_key || attempt > 1)) {
      // Stored with the document, so taken back with it; after a retry it may be gone too.
      PAGABLE_TRY_ASSIGN(report.schema_key,
                         stored_schema::put(store, *request.schema,
                                            options.reuse == pack::Reuse::after_reading
                                                ? stored_schema::Reuse::after_reading
                                                : stored_schema::Reuse::by_index));
    }
    // Everything the version wrote is committed before its root's transaction, so that the
    // counters tell what its blobs took (other writers of this store would blur it).
    PAGABLE_TRY(store.flush());
    if (options.reuse == pack::Reuse::after_reading) {
      // A repair mends what is stored; it adds no history when a version holds the document.
      PAGABLE_TRY_ASSIGN(auto existing, version_with_key(store, report.result.key));
      if (existing) {
        report.root = std::move(*existing);
        report.version_added = VersionAdded::no;
        return report;
      }
    }
    const WriteFigures written = figures_between(before, store.counters());
    auto committed = store.commit_root(root_for(request, report.result, report.schema_key, written));
    if (committed) {
      report.root = std::move(committed).value();
      return report;
    }
    if (committed.error().code() != Errc::not_found) {
      return std::move(committed).error();
    }
    if (!source.rereadable() || attempt == k_attempts) {
      // Not the caller's mistake but the archive's traffic: busy, like a held lock.
      return make_error(Errc::locked,
                        committed.error().message() + ": a gc or failed pack running at the same time " +
                            "removed it after this pack reused it, " +
                            (!source.rereadable() ? std::string(source.stream() != nullptr
                                                                  ? "and a stream cannot be read twice"
                                                                  : "and standard input cannot be read twice")
                                                  : "on " + std::to_string(attempt) + " attempts") +
                            "; nothing of it was committed, pack it again");
    }
    if (events.retrying) {
      events.retrying(committed.error());
    }
  }
}

} // namespace

Result<PackReport> Archive::pack(const PackSource& source, const PackRequest& request,
                                 std::stop_token stop, const PackEvents& events)
{
  PAGABLE_TRY(check_root_name(request.name));
  for (const auto& [k, v] : request.labels) {
    // Stored as a JSON object of strings: a byte that is not UTF-8 aborted the commit.
    if (!util::is_utf8(k) || !util::is_utf8(v)) {
      return make_error(Errc::invalid_argument, "label \"" + util::utf8_repaired(k, '?', 80) +
                                                    "\": a label's key and value are UTF-8 text");
    }
  }
  std::lock_guard lock(m_impl->pack_mutex);
  store::BlobStore& store = *m_impl->store;
  const auto t0 = std::chrono::steady_clock::now();
  PAGABLE_TRY_ASSIGN(const auto bounds, boundaries(request.settings));
  // The packer polls a flag; a stop request sets it from whichever thread asks.
  std::atomic<bool> cancel{false};
  const std::stop_callback on_stop(stop, [&cancel] { cancel.store(true); });
  pack::PackOptions options = request.options;
  options.cancel = &cancel;
  options.schema = request.schema; // validation and x-pagable-arc boundaries (DESIGN §3)
  if (events.progress) {
    options.progress = events.progress;
  }
  options.update_of = request.update_of;
  // A repair aligns with nothing: the older version may be what is damaged.
  if (!options.update_of && options.reuse == pack::Reuse::by_index) {
    PAGABLE_TRY_ASSIGN(const auto existing, store.get_root(request.name));
    if (existing) {
      options.update_of = existing->key;
    }
  }
  const auto before = store.counters();
  PAGABLE_TRY_ASSIGN(const auto mark, store.mark_writes());
  auto packed = pack_attempts(store, bounds, source, request, options, events, before);
  if (!packed) {
    // Nothing of a document that fails stays (DESIGN §5).
    if (auto discarded = store.discard_writes_since(mark); !discarded) {
      const Error& e = packed.error();
      return make_error(e.code(), e.message() + " (what it stored stays in the archive until gc: " +
                                      discarded.error().message() + ")");
    }
    return packed;
  }
  const WriteFigures written = figures_between(before, store.counters());
  packed->new_nodes = written.new_nodes;
  packed->delta_nodes = written.delta_nodes;
  packed->blobs_replaced = store.counters().blobs_replaced - before.blobs_replaced;
  packed->bytes_added = packed->root.bytes_added.value_or(written.bytes_taken);
  packed->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return packed;
}

Result<void> Archive::write_exclusively(const std::function<Result<void>()>& write)
{
  std::lock_guard lock(m_impl->pack_mutex);
  return write();
}

Result<store::RootRecord> Archive::find_root(std::string_view selector) const
{
  // A plain name is the common case: one indexed query instead of every version.
  if (selector.find_first_of("#~@") == std::string_view::npos) {
    PAGABLE_TRY_ASSIGN(auto root, m_impl->store->get_root(selector));
    if (root) {
      return std::move(*root);
    }
  }
  PAGABLE_TRY_ASSIGN(const auto roots, m_impl->store->list_roots());
  return resolve_selector(roots, selector);
}

Result<std::vector<store::RootRecord>> Archive::list_roots() const
{
  return m_impl->store->list_roots();
}

Result<std::vector<store::RootRecord>> Archive::list_versions(std::string_view name) const
{
  return m_impl->store->list_versions(name);
}

Result<ForgetReport> Archive::forget(std::span<const std::string> names, const KeepPolicy& policy,
                                     DryRun dry_run)
{
  if (policy.empty()) {
    return make_error(Errc::invalid_argument, "no policy given: forget would keep every version "
                                              "(give --keep-last, --keep-daily, ..., "
                                              "--keep-within or --keep-label)");
  }
  store::BlobStore& store = *m_impl->store;
  std::set<std::string> chosen(names.begin(), names.end());
  if (chosen.empty()) {
    PAGABLE_TRY_ASSIGN(const auto roots, store.list_roots());
    for (const auto& r : roots) {
      chosen.insert(r.name);
    }
  }
  ForgetReport report;
  for (const auto& name : chosen) {
    PAGABLE_TRY_ASSIGN(auto versions, store.list_versions(name));
    if (versions.empty()) {
      return make_error(Errc::not_found, "no root named \"" + name + "\"");
    }
    report.names.push_back({name, apply_policy(versions, policy, now_unix_ms()), 0});
  }
  if (dry_run == DryRun::yes) {
    return report;
  }
  for (auto& n : report.names) {
    std::vector<std::uint64_t> doomed;
    for (const auto& d : n.decisions) {
      if (!d.keep) {
        doomed.push_back(d.version.version);
      }
    }
    if (!doomed.empty()) {
      PAGABLE_TRY_ASSIGN(n.removed, store.remove_versions(n.name, doomed));
    }
  }
  return report;
}

} // namespace pagable
