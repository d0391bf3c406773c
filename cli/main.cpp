// SPDX-License-Identifier: MIT OR Apache-2.0
// The pagable command. Everything it does lives in lib/; cli/ parses, calls, and prints.
#include "app.hpp"

int main(int argc, char** argv)
{
  return pagable::cli::run_cli(argc, argv);
}
