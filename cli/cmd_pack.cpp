// SPDX-License-Identifier: MIT OR Apache-2.0
// pagable pack ARCHIVE FILE...: store JSON documents as roots.
#include "app.hpp"
#include "reports.hpp"

#include "exit_codes.hpp"
#include "interrupt.hpp"

#include <pagable/archive.hpp>
#include <pagable/schema.hpp>
#include <pagable/selector.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>

namespace pagable::cli {
namespace {

struct PackArgs {
  std::string archive;
  std::vector<std::string> files;
  std::string name;
  std::vector<std::string> labels;
  std::vector<std::string> settings; // --setting NAME=VALUE
  unsigned jobs = 0;
  std::size_t max_depth = pack::PackOptions{}.max_depth;
  std::size_t max_string_bytes = pack::PackOptions{}.max_string_bytes;
  std::size_t max_node_bytes = pack::PackOptions{}.max_node_bytes;
  bool allow_dangling_refs = false;
  std::string schema;
  std::vector<std::string> schema_paths;
  bool validate_formats = false;
  std::string update_of; // a selector
  std::string time;      // --time: when the version was made (ISO-8601)
  bool repair = false;   // --repair: read back what would be reused, replace what is damaged
};

Result<std::map<std::string, std::string>> parse_labels(const std::vector<std::string>& labels)
{
  std::map<std::string, std::string> out;
  for (const auto& l : labels) {
    const auto eq = l.find('=');
    if (eq == std::string::npos || eq == 0) {
      return make_error(Errc::invalid_argument, "--label wants KEY=VALUE, got \"" + l + "\"");
    }
    out[l.substr(0, eq)] = l.substr(eq + 1);
  }
  return out;
}

// The boundary settings' names without "pack.": "node_bytes, chunk_above_bytes, ...".
std::string setting_names()
{
  std::string names;
  for (const auto& [name, _] : pack::BoundarySettings{}.to_settings()) {
    names += (names.empty() ? "" : ", ") + name.substr(5);
  }
  return names;
}

// --setting NAME=VALUE: boundary settings ("pack." optional) for an archive that does not have
// them yet, checked (names and ranges) before anything is opened. Returns "pack.NAME" -> value.
Result<std::map<std::string, std::string>> parse_settings(const std::vector<std::string>& given)
{
  const auto known = pack::BoundarySettings{}.to_settings();
  std::map<std::string, std::string> out;
  for (const auto& g : given) {
    const auto eq = g.find('=');
    if (eq == std::string::npos || eq == 0) {
      return make_error(Errc::invalid_argument, "--setting wants NAME=VALUE, got \"" + g + "\"");
    }
    std::string name = g.substr(0, eq);
    if (!name.starts_with("pack.")) {
      name = "pack." + name;
    }
    if (known.count(name) == 0) {
      return make_error(Errc::invalid_argument,
                        "--setting: no boundary setting is named \"" + g.substr(0, eq) +
                            "\" (there are " + setting_names() + ")");
    }
    const std::string value = g.substr(eq + 1);
    if (const auto [it, added] = out.emplace(name, value); !added && it->second != value) {
      return make_error(Errc::invalid_argument, "--setting gives " + name + " twice: " +
                                                    it->second + " and " + value);
    }
  }
  if (auto checked = pack::BoundarySettings::from_settings(out); !checked) {
    return make_error(Errc::invalid_argument, "--setting: " + checked.error().message());
  }
  return out;
}

// "pack api.json: 12.3 / 20.6 MB (59%), 1234 nodes, 45.6 MB/s"
std::string progress_text(const std::string& file, const pack::PackProgress& p,
                          std::optional<std::uint64_t> total, double seconds)
{
  char buf[256];
  const double mb = static_cast<double>(p.bytes_in) / 1e6;
  const double rate = seconds > 0 ? mb / seconds : 0.0;
  if (total && *total > 0) {
    std::snprintf(buf, sizeof buf, "%.1f / %.1f MB (%d%%), %llu nodes, %.1f MB/s", mb,
                  static_cast<double>(*total) / 1e6,
                  static_cast<int>(std::min<std::uint64_t>(100, p.bytes_in * 100 / *total)),
                  static_cast<unsigned long long>(p.nodes), rate);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MB, %llu nodes, %.1f MB/s", mb,
                  static_cast<unsigned long long>(p.nodes), rate);
  }
  return "pack " + file + ": " + buf;
}

int run_pack(const PackArgs& args, const Context& ctx, const Output& out)
{
  if (std::count(args.files.begin(), args.files.end(), "-") > 1) {
    return out.error(
        make_error(Errc::invalid_argument, "standard input ('-') can be read once; it was given twice"));
  }
  if (args.files.size() > 1 && !args.name.empty()) {
    return out.error(make_error(Errc::invalid_argument, "--name names one file; several were given"));
  }
  if (args.repair && !args.update_of.empty()) {
    return out.error(make_error(Errc::invalid_argument,
                                "--repair stores fresh copies without deltas; --update-of does not apply"));
  }
  if (args.files.size() > 1 && !args.update_of.empty()) {
    return out.error(
        make_error(Errc::invalid_argument, "--update-of names one file's older version; several were given"));
  }
  // Names are checked before anything is opened: a name selectors or unpack could not take
  // is refused with nothing written.
  if (!args.name.empty()) {
    if (auto ok = check_root_name(args.name); !ok) {
      return out.error(std::move(ok).error().with_context("--name"));
    }
  }
  std::int64_t created_ms = 0;
  if (!args.time.empty()) {
    auto t = parse_time(args.time, TimeBound::start);
    if (!t) {
      return out.error(std::move(t).error().with_context("--time"));
    }
    created_ms = *t;
  }
  auto labels = parse_labels(args.labels);
  if (!labels) {
    return out.error(labels.error());
  }
  auto settings = parse_settings(args.settings);
  if (!settings) {
    return out.error(settings.error());
  }
  auto archive = open_archive(args.archive, OpenMode::create, ctx);
  if (!archive) {
    return out.error(archive.error());
  }
  PackRequest request;
  if (!args.schema.empty()) {
    schema::SchemaOptions schema_options;
    schema_options.search_paths = args.schema_paths;
    schema_options.validate_formats = args.validate_formats;
    auto compiled = schema::load_schema_file(args.schema, schema_options);
    if (!compiled) {
      return out.error(std::move(compiled).error().with_context(args.schema));
    }
    request.schema = std::move(*compiled);
  }
  // Before any file: a --setting the archive refuses packs nothing.
  if (auto boundaries = (*archive)->boundaries(*settings); !boundaries) {
    return out.error(std::move(boundaries).error().with_context("--setting"));
  }
  request.settings = *settings;
  request.labels = *labels;
  request.created_unix_ms = created_ms;
  request.options.workers = args.jobs;
  request.options.max_depth = args.max_depth;
  request.options.max_string_bytes = args.max_string_bytes;
  request.options.max_node_bytes = args.max_node_bytes;
  request.options.dangling_refs =
      args.allow_dangling_refs ? pack::DanglingRefs::allow : pack::DanglingRefs::error;
  request.options.reuse = args.repair ? pack::Reuse::after_reading : pack::Reuse::by_index;
  if (!args.update_of.empty()) {
    auto old = (*archive)->find_root(args.update_of);
    if (!old) {
      return out.error(std::move(old).error().with_context("--update-of"));
    }
    request.update_of = old->key;
  }
  catch_interrupts();

  nlohmann::json documents = nlohmann::json::array();
  int exit_code = k_exit_ok;
  std::optional<Error> only_error;
  nlohmann::json totals = {{"nodes", 0}, {"new_nodes", 0}, {"bytes_in", 0}, {"bytes_added", 0},
                           {"delta_nodes", 0}};
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& file : args.files) {
    request.name = args.name.empty() ? default_root_name(file) : args.name;
    request.source = file;
    PackEvents events;
    events.retrying = [&out, &file](const Error& why) {
      out.warn(file + ": " + why.message() +
               " (a gc or failed pack running at the same time removed it); packing the file again");
    };
    if (out.show_progress() && !out.json()) {
      const auto total = pack::plain_input_size(file);
      const auto started = std::chrono::steady_clock::now();
      events.progress = [&out, &file, total, started](const pack::PackProgress& p) {
        const double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        if (p.done) {
          out.progress_done(progress_text(file, p, total, secs));
        } else {
          out.progress(progress_text(file, p, total, secs));
        }
      };
    }
    auto packed = (*archive)->pack(PackSource::file(file), request, interrupt_token(), events);
    if (!packed) {
      Error e = std::move(packed).error().with_context(file);
      if (exit_code == k_exit_ok || exit_code_for(e.code()) == k_exit_interrupted) {
        exit_code = exit_code_for(e.code());
      }
      documents.push_back({{"root", request.name},
                           {"file", file},
                           {"error", {{"code", std::string(errc_name(e.code()))}, {"message", e.message()}}}});
      if (args.files.size() == 1) {
        only_error = std::move(e);
      } else {
        out.error_line(e);
      }
      if (e.code() == Errc::cancelled || e.code() == Errc::io || e.code() == Errc::locked) {
        break;
      }
      continue;
    }
    const PackReport& p = *packed;
    const auto add = [&totals](const char* field, std::uint64_t v) {
      totals[field] = totals[field].get<std::uint64_t>() + v;
    };
    add("nodes", p.result.nodes);
    add("bytes_in", p.result.bytes_in);
    add("new_nodes", p.new_nodes);
    add("bytes_added", p.bytes_added);
    add("delta_nodes", p.delta_nodes);
    documents.push_back(to_json(p, file));
    for (const auto& d : p.result.dangling) {
      out.warn(file + ": dangling reference " + d);
    }
    if (!p.result.alignment_error.empty()) {
      out.warn(file + ": stored without deltas past this point: " + p.result.alignment_error);
    }
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.2f", p.seconds);
    if (args.repair) {
      const std::string replaced = std::to_string(p.blobs_replaced) + " damaged " +
                                   (p.blobs_replaced == 1 ? "node" : "nodes") + " replaced, " +
                                   std::to_string(p.new_nodes) + " missing or new stored";
      if (p.version_added == VersionAdded::no) {
        out.line("repaired " + file + " in " + args.archive + ": " + replaced + "; " +
                 printable(p.root.name) + "#" + std::to_string(p.root.version) +
                 " holds this document, no version added; " + secs + " s");
        continue;
      }
      out.line("repaired " + file + " in " + args.archive + ": " + replaced + "; no version held it:");
    }
    // Nothing is replaced: a name packed again gets a new version.
    out.line("packed " + file + " into " + args.archive + ": " + printable(p.root.name) +
             ": version " + std::to_string(p.root.version) + ", " + std::to_string(p.new_nodes) +
             " nodes new (" + std::to_string(p.delta_nodes) + " as deltas) of " +
             std::to_string(p.result.nodes) + ", " + human_bytes(p.bytes_added) + " added; " +
             p.result.key.short_hex() + ", " + std::to_string(p.result.bytes_in) + " bytes in, " +
             secs + " s");
  }
  if (only_error) {
    return out.error(*only_error);
  }
  nlohmann::json report = {{"archive", args.archive}, {"documents", documents}};
  const bool single = documents.size() == 1 && !documents[0].contains("error");
  report["root"] = single ? documents[0]["root"] : nlohmann::json(nullptr);
  report["key"] = single ? documents[0]["key"] : nlohmann::json(nullptr);
  for (const auto& [k, v] : totals.items()) {
    report[k] = v;
  }
  report["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report["ok"] = exit_code == k_exit_ok;
  out.report(report);
  return exit_code;
}

} // namespace

void add_pack_command(CLI::App& app, Context& ctx)
{
  auto args = std::make_shared<PackArgs>();
  auto* cmd = app.add_subcommand(
      "pack", "Store JSON documents (plain, zstd or gzip; - = stdin) as new versions of their "
              "names, creating the archive if missing; nothing is replaced");
  add_archive_option(*cmd, args->archive);
  cmd->add_option("files", args->files, "JSON files to pack; each becomes its own root")->required();
  cmd->add_option("--name", args->name,
                  "The name the document becomes a new version of (default: the file name without "
                  ".json, '#', '~' and '@' made '_'); no '#', '~', '@', control characters, "
                  "\"..\" or empty components, at most 255 bytes")
      ->check(CLI::Validator(
          [](const std::string& name) { return name.empty() ? std::string("a root name cannot be empty") : ""; },
          "NAME"));
  cmd->add_option("--label", args->labels, "Attach KEY=VALUE to the root (repeatable)");
  cmd->add_option("--setting", args->settings,
                  "A boundary setting NAME=VALUE for a new archive, fixed with its first root "
                  "(repeatable; " + setting_names() + ": see pagable(1)); an error if the "
                  "archive already has another value");
  cmd->add_option("-j,--jobs", args->jobs,
                  "Page-out threads: the one that parses and encodes, and N-1 that hash and store "
                  "(default: the number of cores)")
      ->check(CLI::Range(1u, 1024u));
  cmd->add_option("--max-depth", args->max_depth, "Deepest nesting accepted")->capture_default_str();
  cmd->add_option("--max-string-bytes", args->max_string_bytes, "Longest string accepted")
      ->capture_default_str();
  cmd->add_option("--max-node-bytes", args->max_node_bytes, "Largest single node accepted")
      ->capture_default_str();
  cmd->add_flag("--allow-dangling-refs", args->allow_dangling_refs,
                "Keep going when a {\"$ref\": \"#/...\"} does not resolve (warn only)");
  cmd->add_option("--schema", args->schema,
                  "Validate each document node by node against this JSON Schema while packing "
                  "(an invalid document gets no root); the schema is stored with the root");
  cmd->add_option("--schema-path", args->schema_paths,
                  "A directory searched for files the schema references (repeatable)");
  cmd->add_flag("--validate-formats", args->validate_formats,
                "With --schema: assert \"format\" (date-time, email, uri, ...)");
  cmd->add_option("--update-of", args->update_of,
                  "The version (a selector: NAME, NAME#N, NAME~K, NAME@TIME, key prefix) this file "
                  "changes: new nodes are stored as deltas against its nodes at the same JSON "
                  "paths (default: the newest version of the name, if any)");
  cmd->add_flag("--repair", args->repair,
                "Read back every stored node this file would reuse and store a fresh copy of each "
                "one that is damaged or missing (what verify advises; slower than a plain pack, and "
                "without deltas). No version is added when one already holds the document");
  cmd->add_option("--time", args->time,
                  "When the version was made (ISO-8601, UTC unless an offset is given; default: "
                  "now), for importing a history: NAME@TIME and forget go by it");
  cmd->callback([args, &ctx] {
    ctx.run = [args, &ctx](const Output& out) { return run_pack(*args, ctx, out); };
  });
}

} // namespace pagable::cli
