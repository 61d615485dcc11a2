#pragma once
/// `sitmap query ...`: the situational queries on the command line.
///   sitmap query near-base --db F --base gao --radius-km 25 [--from --to --type --target] [--ids] [--repeat N]
///   sitmap query along-route --db F --route ROUTE-01 [--buffer-km 5] [...]
///   sitmap query stats --db F --group-by cercle,type [...]        (CSV)
/// GeoJSON goes to stdout; --ids writes one incident id a line instead; --repeat N runs the query
/// N times and reports the median time on stderr (for benchmarks).

#include <CLI/CLI.hpp>

#include <functional>

namespace sitmap::server {

struct QueryCommand {
    CLI::App* command = nullptr;
    /// Runs the parsed subcommand; returns the exit status. Throws sitmap::error like the others.
    std::function<int()> run;
};

/// Adds `query` and its subcommands to `app`.
QueryCommand add_query_command(CLI::App& app);

} // namespace sitmap::server
