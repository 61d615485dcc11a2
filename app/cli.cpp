#include "app/cli.hpp"

#include "app/command.hpp"
#include "geo/error.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <vector>

namespace sitmap::app {

namespace {

/// Runs the parsed command, turning errors into exit codes: 2 for bad input or a missing feature
/// (the message names the file, feature and field), 1 for anything else.
int run_command(const std::vector<Command>& commands) {
    try {
        for (const auto& command : commands) {
            if (command.command->parsed()) return command.run();
        }
    } catch (const input_error& e) {
        std::cerr << "sitmap: " << e.what() << "\n";
        return 2;
    } catch (const not_found_error& e) {
        std::cerr << "sitmap: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "sitmap: " << e.what() << "\n";
        return 1;
    }
    return 2;
}

} // namespace

int run_cli(int argc, char** argv) {
    CLI::App app{"sitmap: a situational-awareness map server (SpatiaLite, vector tiles, OGC API - Features)"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "sitmap 0.1.0");
    const std::vector<Command> commands{add_demo_command(app),  add_import_command(app), add_export_command(app),
                                        add_query_command(app), add_token_command(app),  add_serve_command(app)};
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help, --help-all, --version
        std::cerr << "sitmap: " << e.what() << " (see sitmap --help)\n";
        return 2;
    }
    return run_command(commands);
}

} // namespace sitmap::app
