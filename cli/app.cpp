// SPDX-License-Identifier: MIT OR Apache-2.0
#include "app.hpp"

#include "exit_codes.hpp"
#include "interrupt.hpp"

#include <pagable/remote.hpp>
#include <pagable/version.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

namespace pagable::cli {

namespace {

// Every command, in the order --help lists them.
struct CommandEntry {
  std::string_view name;
  void (*add)(CLI::App&, Context&);
};
constexpr CommandEntry k_commands[] = {
    {"ls", add_ls_command},         {"stat", add_stat_command},
    {"verify", add_verify_command}, {"gc", add_gc_command},
    {"rm", add_rm_command},         {"validate", add_validate_command},
    {"pack", add_pack_command},     {"hydrate", add_hydrate_command},
    {"unpack", add_unpack_command}, {"log", add_log_command},
    {"diff", add_diff_command},     {"forget", add_forget_command},
    {"repair", add_repair_command}, {"push", add_push_command},
    {"pull", add_pull_command},
};

} // namespace

std::unique_ptr<CLI::App> build_app(Context& ctx, std::string_view only)
{
  auto app = std::make_unique<CLI::App>(
      "pagable: a content-addressed archive for typed JSON graphs.\n"
      "Splits JSON documents into nodes, stores each distinct node once (zstd-compressed) in\n"
      "one SQLite file, and loads documents back whole or part by part.\n\n"
      "Exit status: 0 ok, 1 bad input, 2 usage, 3 verify found problems, 4 archive busy,\n"
      "5 archive unusable, 6 I/O error, 7 network (remote unreachable or refused), 70 internal\n"
      "error, 130 interrupted (128 + n for signal n). See pagable(1).",
      "pagable");
  app->set_version_flag("-V,--version", std::string("pagable ") + k_version +
                                            " (archive format " +
                                            std::to_string(k_format_version) + "; reads " +
                                            std::to_string(k_oldest_format_read) + " to " +
                                            std::to_string(k_format_version) + ")");
  app->require_subcommand(1);
  app->fallthrough();
  app->add_flag("--json", ctx.output.json,
                "Print one machine-readable JSON report on stdout (schemas/ describes each)");
  app->add_flag("-q,--quiet", ctx.output.quiet, "Print nothing but errors");
  app->add_flag("--progress", ctx.output.progress,
                "Show progress on stderr even when it is not a terminal");
  app->add_option("--lock-wait", ctx.lock_wait_seconds,
                  "Seconds to wait for the archive's write lock before giving up (exit 4)")
      ->check(CLI::Validator(
          [](const std::string& text) {
            // CLI::NonNegativeNumber's message printed the 309-digit largest double.
            char* end = nullptr;
            const double v = std::strtod(text.c_str(), &end);
            return *end == '\0' && std::isfinite(v) && v >= 0 ? std::string()
                                                               : "a number of seconds, 0 or more";
          },
          "SECONDS"))
      ->capture_default_str();
  const auto named = std::find_if(std::begin(k_commands), std::end(k_commands),
                                  [&](const CommandEntry& c) { return c.name == only; });
  if (named != std::end(k_commands)) {
    named->add(*app, ctx);
    return app;
  }
  for (const CommandEntry& c : k_commands) {
    c.add(*app, ctx);
  }
  return app;
}

std::string_view command_named(int argc, const char* const* argv)
{
  for (int i = 1; i < argc; ++i) {
    const std::string_view t = argv[i];
    if (t == "-h" || t == "--help" || t == "-V" || t == "--version" || t == "--") {
      return {};
    }
    if (t == "--lock-wait") {
      ++i; // its value
    } else if (t.size() < 2 || t[0] != '-') {
      const bool known = std::any_of(std::begin(k_commands), std::end(k_commands),
                                     [&](const CommandEntry& c) { return c.name == t; });
      return known ? t : std::string_view();
    }
  }
  return {};
}

CLI::Option* add_archive_option(CLI::App& cmd, std::string& archive)
{
  return cmd.add_option("archive", archive, "The archive file (default: $PAGABLE_ARCHIVE)")
      ->envname("PAGABLE_ARCHIVE")
      ->required();
}

Result<std::unique_ptr<Archive>> open_archive(const std::string& path, OpenMode mode,
                                              const Context& ctx, ArchiveOptions options)
{
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return make_error(Errc::unusable_archive, path + " is a directory, not a pagable archive");
  }
  options.mode = mode;
  options.lock_wait = std::chrono::milliseconds(
      static_cast<std::int64_t>(std::llround(ctx.lock_wait_seconds * 1000.0)));
  return Archive::open(path, options);
}

namespace {

// Whether `token`, an option of `cmd` (or of the whole program), takes the next argument as
// its value.
bool takes_value(const CLI::App& cmd, const CLI::App& top, const std::string& token)
{
  if (token.rfind("--", 0) == 0 && token.find('=') != std::string::npos) {
    return false; // --name=value
  }
  if (token.size() > 2 && token[1] != '-') {
    return false; // -Cdir, or a group of short flags
  }
  const CLI::Option* opt = cmd.get_option_no_throw(token);
  if (opt == nullptr) {
    opt = top.get_option_no_throw(token);
  }
  return opt != nullptr && opt->get_expected_max() > 0; // flags expect 0
}

// The arguments with $PAGABLE_ARCHIVE put in where a command's ARCHIVE was omitted. CLI11
// gives the first positional argument to ARCHIVE whatever follows (`hydrate ROOT` read ROOT as
// the archive), so the omission is decided here: with PAGABLE_ARCHIVE set, a command's first
// positional argument is its archive when it names a pagable archive file or ends in
// ".pagable" (a new archive: `pack new.pagable doc.json` once packed doc.json into the
// environment's archive); otherwise the environment's archive goes in front of it.
std::vector<std::string> with_default_archive(const CLI::App& app, std::vector<std::string> args)
{
  const char* env = std::getenv("PAGABLE_ARCHIVE");
  if (env == nullptr || *env == '\0') {
    return args;
  }
  const CLI::App* cmd = nullptr;
  std::size_t i = 1;
  for (; i < args.size() && cmd == nullptr; ++i) {
    const std::string& t = args[i];
    if (t.size() > 1 && t[0] == '-') {
      i += takes_value(app, app, t) ? 1 : 0;
    } else if (const auto subs = app.get_subcommands(
                   [&](const CLI::App* a) { return a->check_name(t); });
               !subs.empty()) {
      cmd = subs.front();
    } else {
      return args; // not a command: CLI11 says so
    }
  }
  if (cmd == nullptr || cmd->get_name() == "validate") {
    return args;
  }
  for (; i < args.size(); ++i) {
    const std::string& t = args[i];
    if (t == "--") {
      ++i;
      break;
    }
    if (t.size() > 1 && t[0] == '-') {
      i += takes_value(*cmd, app, t) ? 1 : 0;
      continue;
    }
    break;
  }
  // A remote URL is never an archive: push and pull take the environment's archive before
  // it; other commands do not take one in its place.
  if (i < args.size() && remote::is_remote_url(args[i])) {
    if (cmd->get_name() == "push" || cmd->get_name() == "pull") {
      args.insert(args.begin() + static_cast<std::ptrdiff_t>(i), env);
    }
    return args;
  }
  if ((cmd->get_name() == "push" || cmd->get_name() == "pull") && i + 1 < args.size() &&
      remote::is_remote_url(args[i + 1])) {
    return args; // ARCHIVE REMOTE given (the archive pull creates need not exist yet)
  }
  if (i < args.size() && !store::is_archive_file(args[i]) && !args[i].ends_with(".pagable")) {
    args.insert(args.begin() + static_cast<std::ptrdiff_t>(i), env);
  }
  return args;
}

} // namespace

int run_cli(int argc, const char* const* argv)
{
  Context ctx;
  auto app = build_app(ctx, command_named(argc, argv));
  const std::vector<std::string> args =
      with_default_archive(*app, std::vector<std::string>(argv, argv + argc));
  std::vector<const char*> argp;
  for (const auto& a : args) {
    argp.push_back(a.c_str());
  }
  try {
    app->parse(static_cast<int>(argp.size()), argp.data());
  } catch (const CLI::Success& e) {
    return app->exit(e); // --help, --version
  } catch (const CLI::ParseError& e) {
    app->exit(e);
    return k_exit_usage; // CLI11's own codes (100+) all mean "usage error" here
  }
  const Output out(ctx.output);
  if (!ctx.run) {
    return out.error(make_error(Errc::internal, "no command to run"));
  }
  int code = k_exit_ok;
  try {
    code = ctx.run(out);
  } catch (const std::exception& e) {
    code = out.error(make_error(Errc::internal, std::string("unexpected exception: ") + e.what()));
  }
  // What fit in stdio's buffer reaches the OS only now: a full disk or a failing device shows
  // here, and a command whose output was lost has not succeeded.
  if (auto flushed = out.finish(); !flushed && code == k_exit_ok) {
    if (stdout_reader_gone()) {
      code = k_exit_broken_pipe; // quietly, as Output::error says why
    } else {
      out.error_line(flushed.error());
      code = exit_code_for(flushed.error().code());
    }
  }
  // A signal while output was being written: a write it interrupted failed with EINTR, which
  // is the interruption, not an output error. The exit code says which signal (128 + n).
  if (interrupted() && (code == k_exit_ok || code == exit_code_for(Errc::io) ||
                        code == k_exit_interrupted)) {
    code = 128 + interrupt_signal();
  }
  return code;
}

} // namespace pagable::cli
