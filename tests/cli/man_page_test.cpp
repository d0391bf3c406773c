// SPDX-License-Identifier: MIT OR Apache-2.0
// Every option and command the CLI registers must be documented in man/pagable.1.
#include "app.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

namespace {

std::string roff_escape(const std::string& s)
{
  std::string out;
  for (char c : s) {
    if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  return out;
}

void check_options(const CLI::App& app, const std::string& man, const std::string& where)
{
  for (const CLI::Option* opt : app.get_options()) {
    for (const std::string& name : opt->get_lnames()) {
      const std::string flag = "--" + name;
      INFO(where << " option " << flag);
      CHECK((man.find(roff_escape(flag)) != std::string::npos ||
             man.find(flag) != std::string::npos));
    }
  }
}

} // namespace

TEST_CASE("man page documents every registered command and option", "[cli][man]")
{
  const std::string man = test::read_file(PAGABLE_SOURCE_DIR "/man/pagable.1");
  REQUIRE_FALSE(man.empty());
  pagable::cli::Context ctx;
  auto app = pagable::cli::build_app(ctx);
  check_options(*app, man, "global");
  const auto subs = app->get_subcommands([](const CLI::App*) { return true; });
  REQUIRE_FALSE(subs.empty());
  for (const CLI::App* sub : subs) {
    INFO("command " << sub->get_name());
    CHECK(man.find(".SS pagable " + sub->get_name()) != std::string::npos);
    check_options(*sub, man, sub->get_name());
  }
}
