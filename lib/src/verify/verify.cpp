// SPDX-License-Identifier: MIT OR Apache-2.0
// verify: one read-only maintenance session and one read snapshot for everything: SQLite's
// check and pagable's layout, then a walk of the index from the roots (connectivity), then
// every reached blob in row-id order, grouped by pack: this thread reads each pack row once
// and hands it with its blobs to -j workers that decompress and re-hash (a bounded number of
// packs in flight). Problems carry their kind and key; the roots that reach each one are
// found afterwards by walking each root again (only when there are problems). --deep walks
// each root's document into its stored schema's node validator, never holding it whole.
#include <pagable/hydrate.hpp>
#include "store/maintenance.hpp"
#include <pagable/stored_schema.hpp>
#include <pagable/verify.hpp>

#include "util/bounded_executor.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <cstdlib>
#include <unordered_map>
#include <unordered_set>

namespace pagable::verify {

std::string_view level_name(VerifyLevel level) noexcept
{
  switch (level) {
  case VerifyLevel::quick:
    return "quick";
  case VerifyLevel::connectivity:
    return "connectivity";
  case VerifyLevel::full:
    return "full";
  case VerifyLevel::deep:
    return "deep";
  }
  return "full";
}

std::string_view kind_name(ProblemKind kind) noexcept
{
  switch (kind) {
  case ProblemKind::sqlite_integrity:
    return "sqlite_integrity";
  case ProblemKind::bad_layout:
    return "bad_layout";
  case ProblemKind::bad_root:
    return "bad_root";
  case ProblemKind::missing_blob:
    return "missing_blob";
  case ProblemKind::bad_index_row:
    return "bad_index_row";
  case ProblemKind::undecodable_blob:
    return "undecodable_blob";
  case ProblemKind::hash_mismatch:
    return "hash_mismatch";
  case ProblemKind::schema_violation:
    return "schema_violation";
  case ProblemKind::duplicate_key:
    return "duplicate_key";
  }
  return "unknown";
}

std::string_view next_step_name(NextStep step) noexcept
{
  switch (step) {
  case NextStep::none:
    return "none";
  case NextStep::fix_documents:
    return "fix_documents";
  case NextStep::remove_duplicates:
    return "remove_duplicates";
  case NextStep::restore_file:
    return "restore_file";
  case NextStep::repack_or_remove:
    return "repack_or_remove";
  }
  return "none";
}

bool Subset::contains(const Key& key) const noexcept
{
  const std::uint64_t k = (std::uint64_t{key.digest()[0]} << 8) | key.digest()[1];
  return k * t / 65536 == n - 1;
}

Result<Subset> parse_subset(std::string_view text)
{
  const auto slash = text.find('/');
  Subset s;
  const auto bad = [&] {
    return make_error(Errc::invalid_argument,
                      "subset \"" + std::string(text) + "\" is not n/t with 1 <= n <= t <= 65536");
  };
  if (slash == std::string_view::npos) {
    return bad();
  }
  const auto num = [](std::string_view part, unsigned& out) {
    const auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), out);
    return ec == std::errc() && p == part.data() + part.size() && !part.empty();
  };
  if (!num(text.substr(0, slash), s.n) || !num(text.substr(slash + 1), s.t) || s.n < 1 ||
      s.n > s.t || s.t > 65536) {
    return bad();
  }
  return s;
}

namespace {

// Problems, deduplicated by (kind, key), safe to add from workers.
class ProblemSet {
public:
  explicit ProblemSet(std::size_t max) : m_max(max) {}

  void add(ProblemKind kind, std::optional<Key> key, std::string detail,
           std::optional<std::int64_t> row = std::nullopt)
  {
    std::lock_guard lock(m_mutex);
    if (key) {
      if (!m_seen.insert({static_cast<int>(kind), *key}).second) {
        return;
      }
    }
    if (m_problems.size() >= m_max) {
      m_truncated = true;
      return;
    }
    if (row) {
      m_by_row[*row].push_back(m_problems.size());
    }
    m_problems.push_back(Problem{kind, key, {}, std::move(detail), {}, {}});
  }

  // A problem with its roots already known (schema violations).
  void add(Problem p)
  {
    std::lock_guard lock(m_mutex);
    if (m_problems.size() >= m_max) {
      m_truncated = true;
      return;
    }
    m_problems.push_back(std::move(p));
  }

  std::vector<Problem>& problems() { return m_problems; }
  const std::unordered_map<std::int64_t, std::vector<std::size_t>>& by_row() const
  {
    return m_by_row;
  }
  bool truncated() const { return m_truncated; }

private:
  std::mutex m_mutex;
  std::size_t m_max;
  std::set<std::pair<int, Key>> m_seen;
  std::vector<Problem> m_problems;
  std::unordered_map<std::int64_t, std::vector<std::size_t>> m_by_row;
  bool m_truncated = false;
};

// One pack and the reached blobs that live in it, checked by one worker.
struct CheckJob {
  store::PackRow pack;
  bool pack_missing = false;
  std::string pack_error; // why the pack could not be read (a damaged delta base), or empty
  struct Entry {
    std::int64_t row = 0;
    Key key;
    std::int64_t offset = 0;
    std::int64_t size = 0;
    std::size_t children_at = 0; // byte offset into children_raw
    std::size_t children = 0;    // number of child keys
  };
  std::vector<Entry> entries;
  Bytes children_raw; // every entry's child keys, back to back (one allocation per job)
};

struct CheckTotals {
  std::uint64_t blobs = 0;
  std::uint64_t bytes = 0;
};

CheckTotals check_job(const CheckJob& job, std::uint64_t max_pack_bytes, ProblemSet& problems)
{
  CheckTotals totals;
  if (job.pack_missing) {
    for (const auto& e : job.entries) {
      problems.add(ProblemKind::undecodable_blob, e.key,
                   "its pack " + std::to_string(job.pack.id) + " is missing", e.row);
    }
    return totals;
  }
  if (!job.pack_error.empty()) {
    for (const auto& e : job.entries) {
      problems.add(ProblemKind::undecodable_blob, e.key, job.pack_error, e.row);
    }
    return totals;
  }
  auto content = store::decode_pack_row(job.pack, max_pack_bytes);
  if (!content) {
    for (const auto& e : job.entries) {
      problems.add(ProblemKind::undecodable_blob, e.key, content.error().message(), e.row);
    }
    return totals;
  }
  std::vector<Key> children; // reused for every entry
  for (const auto& e : job.entries) {
    if (e.offset < 0 || e.size < 0 ||
        static_cast<std::uint64_t>(e.offset) + static_cast<std::uint64_t>(e.size) >
            content->size()) {
      problems.add(ProblemKind::undecodable_blob, e.key,
                   "its bytes [" + std::to_string(e.offset) + ", +" + std::to_string(e.size) +
                       ") lie outside pack " + std::to_string(job.pack.id) + " (" +
                       std::to_string(content->size()) + " bytes)",
                   e.row);
      continue;
    }
    const std::span<const std::uint8_t> data(content->data() + e.offset,
                                             static_cast<std::size_t>(e.size));
    ++totals.blobs;
    totals.bytes += data.size();
    children.clear();
    for (std::size_t i = 0; i < e.children; ++i) {
      Key::Digest d;
      std::copy_n(job.children_raw.begin() +
                      static_cast<std::ptrdiff_t>(e.children_at + i * Key::k_size),
                  Key::k_size, d.begin());
      children.emplace_back(d);
    }
    const Key actual = compute_key(data, children);
    if (actual != e.key) {
      problems.add(ProblemKind::hash_mismatch, e.key,
                   "its data in pack " + std::to_string(job.pack.id) + " hashes to " +
                       actual.to_hex(),
                   e.row);
    }
  }
  return totals;
}

// Runs jobs on `jobs` workers with a bounded number in flight (memory stays flat).
class JobRunner {
public:
  JobRunner(unsigned jobs, std::uint64_t max_pack_bytes, ProblemSet& problems)
      : m_max_pack_bytes(max_pack_bytes), m_problems(problems),
        m_executor(jobs > 1 ? jobs : 0, 2 * std::max(1u, jobs))
  {
  }

  void submit(CheckJob job)
  {
    auto shared = std::make_shared<CheckJob>(std::move(job));
    m_executor.submit(1, [this, shared] {
      const CheckTotals t = check_job(*shared, m_max_pack_bytes, m_problems);
      std::lock_guard lock(m_mutex);
      m_totals.blobs += t.blobs;
      m_totals.bytes += t.bytes;
    });
  }

  CheckTotals finish()
  {
    m_executor.wait_idle();
    std::lock_guard lock(m_mutex);
    return m_totals;
  }

private:
  std::uint64_t m_max_pack_bytes;
  ProblemSet& m_problems;
  std::mutex m_mutex;
  CheckTotals m_totals;               // guarded by m_mutex
  util::BoundedExecutor m_executor;   // last: waits for the jobs before the rest goes
};

// Feeds a walked document to a schema's node validator, the way pack feeds it while parsing.
class SchemaFeed final : public hydrate::ValueVisitor {
public:
  explicit SchemaFeed(schema::NodeValidator& v) : m_v(v) {}
  Result<void> null_value() override { return scalar(nullptr); }
  Result<void> boolean(bool b) override { return scalar(b); }
  Result<void> integer(std::int64_t i) override { return scalar(i); }
  // As pack's parser reports an integer beyond 64 bits: a number (validation keywords compare
  // numbers as binary64).
  Result<void> big_integer(std::string_view digits) override
  {
    return scalar(std::strtod(std::string(digits).c_str(), nullptr));
  }
  Result<void> number(double d) override { return scalar(d); }
  Result<void> string(std::string_view s) override { return scalar(std::string(s)); }
  Result<void> begin_object() override
  {
    m_v.begin_object();
    return go_on();
  }
  Result<void> member(std::string_view name) override
  {
    m_v.key(std::string(name));
    return go_on();
  }
  Result<void> end_object() override { return end(); }
  Result<void> begin_array() override
  {
    m_v.begin_array();
    return go_on();
  }
  Result<void> end_array() override { return end(); }

private:
  Result<void> scalar(const nlohmann::json& value)
  {
    (void)m_v.scalar(value);
    return go_on();
  }
  Result<void> end()
  {
    (void)m_v.end_container();
    return go_on();
  }
  // An error that ends validation (too deep, a value over the buffer limit) is in the report.
  Result<void> go_on() const
  {
    if (m_v.stopped()) {
      return make_error(Errc::invalid_input, "schema validation stopped");
    }
    return {};
  }
  schema::NodeValidator& m_v;
};

// "api#3": a version as problems name it.
std::string version_label(const store::StoredRoot& r)
{
  return r.name + "#" + std::to_string(r.version);
}

// deep: validates each root that has a stored schema against it.
Result<void> check_schemas(const store::BlobStore& store, const std::vector<store::StoredRoot>& roots,
                           ProblemSet& problems, VerifyReport& report)
{
  std::map<Key, Result<std::shared_ptr<const schema::Schema>>> schemas;
  for (const auto& root : roots) {
    if (!root.key || !root.problem.empty()) {
      continue;
    }
    if (!root.schema_key) {
      ++report.roots_without_schema;
      continue;
    }
    auto it = schemas.find(*root.schema_key);
    if (it == schemas.end()) {
      it = schemas.emplace(*root.schema_key, stored_schema::get(store, *root.schema_key)).first;
    }
    if (!it->second) {
      problems.add(Problem{ProblemKind::schema_violation, root.schema_key, {version_label(root)},
                           "root \"" + version_label(root) + "\": its stored schema cannot be used: " +
                               it->second.error().message(),
                           {}, {}});
      continue;
    }
    // A root that cannot be read is not schema-checked, and says so: the full level names
    // damaged blobs, but not every reason (I/O, --subset leaving its damage out of view).
    const auto unchecked = [&](const std::string& why) {
      problems.add(Problem{ProblemKind::schema_violation, std::nullopt, {version_label(root)},
                           "root \"" + version_label(root) + "\": not checked against its schema: " + why,
                           {}, {}});
    };
    // The document is validated as it is walked, node by node, never held whole (but for the
    // values a construct needs whole: schema::StreamOptions).
    auto validator = (*it->second)->node_validator();
    SchemaFeed feed(*validator);
    hydrate::Document doc(store, *root.key);
    if (auto walked = doc.walk("", feed); !walked && !validator->stopped()) {
      unchecked("its document cannot be read: " + walked.error().message());
      continue;
    }
    ++report.roots_schema_checked;
    const schema::ValidationReport& result = validator->report();
    for (const auto& e : result.errors) {
      problems.add(Problem{ProblemKind::schema_violation, std::nullopt, {version_label(root)},
                           "root \"" + version_label(root) + "\": " + e.to_string(), e.instance_location,
                           e.schema_location});
    }
    if (result.truncated) {
      problems.add(Problem{ProblemKind::schema_violation, std::nullopt, {version_label(root)},
                           "root \"" + version_label(root) + "\": more schema errors than listed", {}, {}});
    }
  }
  return {};
}

NextStep next_step_for(const std::vector<Problem>& problems)
{
  if (problems.empty()) {
    return NextStep::none;
  }
  std::set<ProblemKind> kinds;
  for (const auto& p : problems) {
    kinds.insert(p.kind);
  }
  if (kinds.size() == 1 && kinds.count(ProblemKind::schema_violation)) {
    return NextStep::fix_documents;
  }
  if (kinds.size() == 1 && kinds.count(ProblemKind::duplicate_key)) {
    return NextStep::remove_duplicates;
  }
  if (kinds.count(ProblemKind::sqlite_integrity) || kinds.count(ProblemKind::bad_layout)) {
    return NextStep::restore_file;
  }
  return NextStep::repack_or_remove;
}

} // namespace

Result<VerifyReport> run(const store::BlobStore& store, const VerifyOptions& options)
{
  PAGABLE_TRY_ASSIGN(auto session, store::open_maintenance(store, store::SessionAccess::read));
  // The walk does one random index lookup per edge: through a memory map it costs no
  // system call (verify has no memory bound to keep; gc does and reads through its cache).
  PAGABLE_TRY(session->use_memory_map());
  PAGABLE_TRY(session->begin_read());

  VerifyReport report;
  report.level = options.level;
  report.subset = options.subset;
  ProblemSet problems(options.max_problems);

  // --- quick: SQLite's own check, pagable's layout ---
  // Damage that stops reading (SQLite says the file is malformed) becomes a problem and ends
  // the checks that need what could not be read; other errors mean verify could not run.
  bool readable = true;
  const auto absorb = [&](Result<void> r) -> Result<void> {
    if (!r) {
      const Errc code = r.error().code();
      if (code != Errc::corrupt && code != Errc::unusable_archive) {
        return std::move(r).error();
      }
      problems.add(ProblemKind::sqlite_integrity, std::nullopt,
                   "reading the archive failed: " + r.error().message());
      readable = false;
    }
    return {};
  };
  PAGABLE_TRY(absorb([&]() -> Result<void> {
    PAGABLE_TRY_ASSIGN(const auto integrity, session->integrity_check(store::IntegrityCheck::quick, 100));
    for (const std::string& msg : integrity) {
      problems.add(ProblemKind::sqlite_integrity, std::nullopt, msg);
    }
    return {};
  }()));
  auto layout = session->check_layout();
  if (!layout) {
    problems.add(ProblemKind::bad_layout, std::nullopt, layout.error().message());
  } else {
    for (const std::string& msg : *layout) {
      problems.add(ProblemKind::bad_layout, std::nullopt, msg);
    }
  }
  const bool layout_sound = readable && layout && layout->empty();

  // --- connectivity: walk the index from the roots ---
  std::vector<store::StoredRoot> roots;
  store::IdBitmap reached;
  const auto seconds_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  auto phase_start = std::chrono::steady_clock::now();
  PAGABLE_TRY(absorb([&]() -> Result<void> {
    if (options.level >= VerifyLevel::connectivity && layout_sound) {
      PAGABLE_TRY_ASSIGN(roots, session->roots());
      if (!options.roots.empty()) {
        // A name is every version of it; NAME#N the one version.
        std::vector<store::StoredRoot> chosen;
        for (const std::string& name : options.roots) {
          bool found = false;
          for (const auto& r : roots) {
            if (r.name == name || version_label(r) == name) {
              found = true;
              if (std::none_of(chosen.begin(), chosen.end(), [&](const store::StoredRoot& c) {
                    return c.name == r.name && c.version == r.version;
                  })) {
                chosen.push_back(r);
              }
            }
          }
          if (!found) {
            return make_error(Errc::not_found, "no root named \"" + name + "\"");
          }
        }
        roots = std::move(chosen);
      }
      report.roots_checked = roots.size();
      for (const auto& root : roots) {
        if (!root.problem.empty()) {
          problems.add(ProblemKind::bad_root, root.key,
                       "root \"" + version_label(root) + "\": " + root.problem);
        }
        const auto walk_from = [&](const Key& start, const std::string& what) -> Result<void> {
          store::WalkCallbacks cb;
          cb.on_blob = [&](std::int64_t, const Key&) { ++report.blobs_reached; };
          cb.on_missing = [&](const Key& missing, const std::optional<Key>& parent) {
            if (!options.subset.contains(missing)) {
              return;
            }
            problems.add(ProblemKind::missing_blob, missing,
                         parent ? "a child of blob " + parent->to_hex() + " is not stored"
                                : what + " is not stored");
          };
          cb.on_bad_row = [&](std::int64_t id, const Error& e) {
            problems.add(ProblemKind::bad_index_row, std::nullopt, e.message(), id);
          };
          // One row per key: from format 4 the writer keeps to that, no UNIQUE constraint does.
          cb.on_repeated = [&](std::int64_t id, std::int64_t other, const Key& key) {
            if (options.subset.contains(key)) {
              problems.add(ProblemKind::duplicate_key, key,
                           "blob rows " + std::to_string(id) + " and " + std::to_string(other) +
                               " hold the same key (an archive has one row per key)",
                           id);
            }
          };
          return store::mark_reachable(*session, start, reached, cb);
        };
        if (root.key) {
          PAGABLE_TRY(walk_from(*root.key, "the top-level blob of root \"" + version_label(root) + "\""));
        }
        if (root.schema_key) {
          PAGABLE_TRY(walk_from(*root.schema_key, "the schema blob of root \"" + version_label(root) + "\""));
        }
      }
    }

    return {};
  }()));

  report.walk_seconds = seconds_since(phase_start);
  phase_start = std::chrono::steady_clock::now();

  // --- full: decode and re-hash every reached blob, grouped by pack, on workers ---
  PAGABLE_TRY(absorb([&]() -> Result<void> {
    if (options.level >= VerifyLevel::full && readable && layout_sound) {
      const unsigned jobs = options.jobs != 0 ? options.jobs : util::hardware_threads();
      JobRunner runner(jobs, session->max_pack_bytes(), problems);
      PAGABLE_TRY_ASSIGN(const std::int64_t max_id, session->max_blob_id());
      CheckJob job;
      job.pack.id = -1;
      const auto flush_job = [&]() -> Result<void> {
        if (job.entries.empty()) {
          return {};
        }
        auto pack = session->pack(job.pack.id);
        if (!pack && pack.error().code() != Errc::corrupt) {
          return std::move(pack).error();
        }
        if (!pack) {
          // A delta pack whose base does not decode: each of its keys is a problem that names
          // the base pack (not a verify that stops there).
          job.pack_error = pack.error().message();
        } else if (*pack) {
          job.pack = std::move(**pack);
        } else {
          job.pack_missing = true;
        }
        runner.submit(std::move(job));
        job = CheckJob();
        job.pack.id = -1;
        return {};
      };
      PAGABLE_TRY(
          session->for_each_blob(0, max_id, 0, [&](const store::IndexRow& row) -> Result<void> {
            if (!reached.test(row.id)) {
              return {}; // unreachable blobs are not problems
            }
            auto key = Key::from_bytes(row.key);
            if (!key) {
              problems.add(ProblemKind::bad_index_row, std::nullopt,
                           "blob row " + std::to_string(row.id) + ": its key is not 32 bytes",
                           row.id);
              return {};
            }
            if (!options.subset.contains(*key)) {
              return {};
            }
            std::span<const std::uint8_t> children = row.children;
            Bytes resolved; // a list of row ids, as the keys it names (format 6)
            if (store::holds_row_ids(children)) {
              auto keys = session->child_keys_of(children, row.id);
              if (!keys) {
                return {}; // reported by the walk as bad_index_row
              }
              resolved = std::move(keys).value();
              children = resolved;
            }
            if (children.size() % Key::k_size != 0) {
              return {}; // reported by the walk as bad_index_row
            }
            CheckJob::Entry e;
            e.row = row.id;
            e.key = *key;
            e.offset = row.offset;
            e.size = row.size;
            if (row.pack != job.pack.id) {
              PAGABLE_TRY(flush_job());
              job.pack.id = row.pack;
            }
            e.children_at = job.children_raw.size();
            e.children = children.size() / Key::k_size;
            job.children_raw.insert(job.children_raw.end(), children.begin(), children.end());
            job.entries.push_back(std::move(e));
            return {};
          }));
      PAGABLE_TRY(flush_job());
      const CheckTotals totals = runner.finish();
      report.blobs_checked = totals.blobs;
      report.bytes_checked = totals.bytes;
    }

    return {};
  }()));

  report.rehash_seconds = seconds_since(phase_start);
  phase_start = std::chrono::steady_clock::now();

  // --- deep: each root against its stored schema ---
  if (options.level >= VerifyLevel::deep && readable && layout_sound) {
    PAGABLE_TRY(check_schemas(store, roots, problems, report));
  }
  report.schema_seconds = seconds_since(phase_start);

  // --- which roots reach each problem ---
  auto& found = problems.problems();
  std::unordered_map<Key, std::vector<std::size_t>> by_key;
  for (std::size_t i = 0; i < found.size(); ++i) {
    if (found[i].key) {
      by_key[*found[i].key].push_back(i);
    }
  }
  if (!by_key.empty() || !problems.by_row().empty()) {
    for (const auto& root : roots) {
      std::set<std::size_t> hit;
      const auto note_key = [&](const Key& k) {
        if (const auto it = by_key.find(k); it != by_key.end()) {
          hit.insert(it->second.begin(), it->second.end());
        }
      };
      store::WalkCallbacks cb;
      cb.on_blob = [&](std::int64_t id, const Key& k) {
        note_key(k);
        if (const auto it = problems.by_row().find(id); it != problems.by_row().end()) {
          hit.insert(it->second.begin(), it->second.end());
        }
      };
      cb.on_missing = [&](const Key& k, const std::optional<Key>&) { note_key(k); };
      cb.on_bad_row = [&](std::int64_t id, const Error&) {
        if (const auto it = problems.by_row().find(id); it != problems.by_row().end()) {
          hit.insert(it->second.begin(), it->second.end());
        }
      };
      store::IdBitmap seen;
      // A walk that cannot finish (the file is malformed) still names the roots it saw.
      if (root.key) {
        (void)store::mark_reachable(*session, *root.key, seen, cb);
      }
      if (root.schema_key) {
        (void)store::mark_reachable(*session, *root.schema_key, seen, cb);
      }
      for (const std::size_t i : hit) {
        found[i].roots.push_back(version_label(root));
      }
    }
    for (auto& p : found) {
      if (p.kind == ProblemKind::bad_root) {
        // The root's own row: it affects that root.
        const auto name_end = p.detail.find("\":");
        if (p.detail.rfind("root \"", 0) == 0 && name_end != std::string::npos) {
          p.roots.push_back(p.detail.substr(6, name_end - 6));
        }
      }
      std::sort(p.roots.begin(), p.roots.end());
      p.roots.erase(std::unique(p.roots.begin(), p.roots.end()), p.roots.end());
    }
  }
  session->rollback();
  report.problems = std::move(found);
  report.truncated = problems.truncated();
  report.next_step = next_step_for(report.problems);
  return report;
}

} // namespace pagable::verify
