#pragma once
#include <CLI/CLI.hpp>
namespace pte::cli { void add_export_command(CLI::App& app); void add_run_command(CLI::App& app); void add_inspect_command(CLI::App& app); void add_verify_command(CLI::App& app); }
