#pragma once
/// One subcommand of the `sitmap` command line: its CLI11 node and what runs it once parsed.
/// Each command lives in its own file (app/<name>_command.cpp) and registers itself through an
/// add_<name>_command(CLI::App&) that keeps its options alive in the returned `run`.

#include <CLI/CLI.hpp>

#include <functional>

namespace sitmap::app {

struct Command {
    CLI::App* command = nullptr;
    /// Runs the parsed command; returns the exit status. Throws sitmap::error for bad input.
    std::function<int()> run;
};

Command add_demo_command(CLI::App& app);
Command add_import_command(CLI::App& app);
Command add_export_command(CLI::App& app);
Command add_query_command(CLI::App& app);
Command add_token_command(CLI::App& app);
Command add_serve_command(CLI::App& app);

} // namespace sitmap::app
