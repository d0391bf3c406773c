// SPDX-License-Identifier: MIT OR Apache-2.0
#pragma once
// The CLI11 application every command plugs into. Each cmd_*.cpp adds one subcommand with
// add_<name>_command(app, ctx): its options, help text, and a run function that calls the
// library and renders the report through Output.

#include "output.hpp"

#include <pagable/archive.hpp>

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace pagable::cli {

struct Context {
  OutputOptions output;
  double lock_wait_seconds = 10.0;
  std::function<int(const Output&)> run; // set by the chosen subcommand's callback
};

// Builds the application: the global options and every command, or only the command named
// `only` when it is one (run_cli, for a command line that names it: building all fifteen
// was 7% of a `hydrate --at` of one leaf). The test that checks every option appears in
// man/pagable.1 builds them all.
std::unique_ptr<CLI::App> build_app(Context& ctx, std::string_view only = {});

// The command a command line names: its first argument that is not an option (or an option's
// value), when that is a command; empty when there is none, or when --help or --version
// comes first (they describe the whole program).
std::string_view command_named(int argc, const char* const* argv);

// Parses argv, runs the chosen command and returns the process exit code.
int run_cli(int argc, const char* const* argv);

// Opens the archive named on the command line with the CLI's global settings (the lock
// wait) over `options`.
Result<std::unique_ptr<Archive>> open_archive(const std::string& path, OpenMode mode,
                                              const Context& ctx, ArchiveOptions options = {});

// Adds the archive positional (falls back to $PAGABLE_ARCHIVE).
CLI::Option* add_archive_option(CLI::App& cmd, std::string& archive);

void add_ls_command(CLI::App& app, Context& ctx);
void add_pack_command(CLI::App& app, Context& ctx);
void add_hydrate_command(CLI::App& app, Context& ctx);
void add_unpack_command(CLI::App& app, Context& ctx);
void add_stat_command(CLI::App& app, Context& ctx);
void add_verify_command(CLI::App& app, Context& ctx);
void add_gc_command(CLI::App& app, Context& ctx);
void add_rm_command(CLI::App& app, Context& ctx);
void add_validate_command(CLI::App& app, Context& ctx);
void add_log_command(CLI::App& app, Context& ctx);
void add_diff_command(CLI::App& app, Context& ctx);
void add_forget_command(CLI::App& app, Context& ctx);
void add_repair_command(CLI::App& app, Context& ctx);
void add_push_command(CLI::App& app, Context& ctx);
void add_pull_command(CLI::App& app, Context& ctx);

} // namespace pagable::cli
