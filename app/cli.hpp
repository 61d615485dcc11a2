#pragma once
/// The `sitmap` command line: demo, import, export, query, token, serve (one file each in app/).

namespace sitmap::app {

/// Runs the command line. Returns the process exit code: 0 success, 1 failure, 2 bad usage or bad input
/// (with a one-line message on stderr naming the file, feature and field where there is one).
int run_cli(int argc, char** argv);

} // namespace sitmap::app
