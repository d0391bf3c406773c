// SPDX-License-Identifier: MIT OR Apache-2.0
// A command line that names a command builds that command alone (cli/app.hpp build_app): the
// same options as in the whole program, and the whole program wherever it is described.
#include "app.hpp"

#include "support/run_pagable.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

using test::run_pagable;

namespace {

std::set<std::string> option_names(const CLI::App& app)
{
  std::set<std::string> out;
  for (const CLI::Option* opt : app.get_options()) {
    out.insert(opt->get_name());
  }
  return out;
}

std::vector<std::string> command_names(const CLI::App& app)
{
  std::vector<std::string> out;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    out.push_back(sub->get_name());
  }
  return out;
}

std::string named(std::vector<const char*> argv)
{
  return std::string(pagable::cli::command_named(static_cast<int>(argv.size()), argv.data()));
}

} // namespace

TEST_CASE("cli: a named command is built alone, with the options the whole program gives it",
          "[cli]")
{
  pagable::cli::Context all_ctx;
  const auto all = pagable::cli::build_app(all_ctx);
  const auto names = command_names(*all);
  REQUIRE(names.size() >= 15);
  for (const std::string& name : names) {
    INFO("command " << name);
    pagable::cli::Context ctx;
    const auto one = pagable::cli::build_app(ctx, name);
    REQUIRE(command_names(*one) == std::vector<std::string>{name});
    CHECK(option_names(*one) == option_names(*all));
    CHECK(option_names(*one->get_subcommand(name)) == option_names(*all->get_subcommand(name)));
    const std::string argv_name = name;
    CHECK(named({"pagable", "--json", "-q", "--lock-wait", "5", argv_name.c_str(), "x"}) == name);
  }
  pagable::cli::Context ctx;
  CHECK(command_names(*pagable::cli::build_app(ctx, "nosuch")) == names);
}

TEST_CASE("cli: the command a command line names", "[cli]")
{
  CHECK(named({"pagable", "hydrate", "a.pagable", "doc"}) == "hydrate");
  CHECK(named({"pagable", "--lock-wait=3", "ls"}) == "ls");
  CHECK(named({"pagable", "--lock-wait", "ls", "stat"}) == "stat"); // "ls" is the wait's value
  CHECK(named({"pagable", "ls", "--help"}) == "ls");
  // The whole program describes itself, and reports what is not a command.
  CHECK(named({"pagable", "--help", "ls"}).empty());
  CHECK(named({"pagable", "-V"}).empty());
  CHECK(named({"pagable", "a.pagable", "ls"}).empty());
  CHECK(named({"pagable", "--json"}).empty());
  CHECK(named({"pagable"}).empty());
}

TEST_CASE("cli: help lists every command, and a command's help and a typo behave as before",
          "[cli]")
{
  const auto help = run_pagable({"--help"});
  CHECK(help.exit_code == 0);
  for (const char* name : {"ls", "hydrate", "diff", "pull"}) {
    CHECK(help.out.find(std::string("  ") + name) != std::string::npos);
  }
  const auto ls_help = run_pagable({"ls", "--help"});
  CHECK(ls_help.exit_code == 0);
  CHECK(ls_help.out.find("Usage: pagable ls") != std::string::npos);
  const auto typo = run_pagable({"hydrat", "a.pagable"});
  CHECK(typo.exit_code == 2);
  const auto version = run_pagable({"ls", "--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.rfind("pagable ", 0) == 0);
}
