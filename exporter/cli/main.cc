// pte: export Llama checkpoints to .pte files, run them, inspect them.
#include <csignal>
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "common/error.h"
#include "exporter/cli/commands.h"
#include "exporter/version.h"

int main(int argc, char** argv) {
  // Past `ulimit -f`, a write then fails with EFBIG and the export stops with an error (removing
  // its temporary file) instead of the process being killed by SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"pte: ahead-of-time exporter and verifier for on-device Llama models"};
  app.set_version_flag("--version", PTE_VERSION_STRING);
  app.require_subcommand(1);
  pte::cli::add_export_command(app);
  pte::cli::add_run_command(app);
  pte::cli::add_inspect_command(app);
  pte::cli::add_verify_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const pte::Error& e) {
    std::fprintf(stderr, "pte: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pte: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
