// `sitmap query ...`: the situational queries on the command line.
//   sitmap query near-base --db F --base gao --radius-km 25 [--from --to --type --target] [--ids] [--repeat N]
//   sitmap query along-route --db F --route ROUTE-01 [--buffer-km 5] [...]
//   sitmap query stats --db F --group-by cercle,type [...]        (CSV)
// GeoJSON goes to stdout; --ids writes one incident id a line instead; --repeat N runs the query
// N times and reports the median time on stderr (for benchmarks).
#include "app/command.hpp"

#include "geo/error.hpp"
#include "layers/queries.hpp"
#include "layers/values.hpp"
#include "layers/schema.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

namespace sitmap::app {

namespace {

struct Options {
    std::string db_path;
    std::string base, route, group_by;
    double radius_km = 0;
    double buffer_km = 5;
    std::string from, to, type, target;
    bool ids = false;
    int repeat = 1;
};

void add_window(CLI::App* command, Options& o) {
    command->add_option("--db", o.db_path, "SpatiaLite file")->required()->check(CLI::ExistingFile);
    command->add_option("--from", o.from, "Incidents on or after (ISO 8601)");
    command->add_option("--to", o.to, "Incidents on or before (a bare date: the whole day)");
    command->add_option("--type", o.type, "Incident types, comma-separated");
    command->add_option("--target", o.target, "Incident targets, comma-separated");
}

// Runs `query` `repeat` times; reports the median on stderr when repeated.
template <typename F>
auto timed(int repeat, F&& query) {
    std::vector<double> ms;
    auto result = query();
    for (int i = 1; i < repeat; ++i) {
        const auto start = std::chrono::steady_clock::now();
        result = query();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    if (!ms.empty()) {
        std::sort(ms.begin(), ms.end());
        std::fprintf(stderr, "median %.3f ms over %zu runs\n", ms[ms.size() / 2], ms.size());
    }
    return result;
}

int print_hits(geo::Database& db, const std::vector<layers::Hit>& hits, bool ids, bool along) {
    const auto& incidents = layers::find_layer("incidents");
    if (ids) {
        auto stmt = db.prepare("SELECT id FROM incidents WHERE fid = ?");
        for (const auto& h : hits) {
            stmt.reset();
            stmt.bind(1, h.fid);
            if (stmt.step()) std::printf("%.*s\n", static_cast<int>(stmt.column_text(0).size()), stmt.column_text(0).data());
        }
        return 0;
    }
    std::vector<layers::RankedFeature> ranked;
    for (const auto& h : hits) {
        nlohmann::json computed = {{"distance_km", std::round(h.distance_km * 1000) / 1000}};
        if (along) computed["along_km"] = std::round(h.along_km * 1000) / 1000;
        ranked.push_back({h.fid, computed});
    }
    layers::FeatureCursor cursor(db, incidents, std::move(ranked));
    std::string out = R"({"type":"FeatureCollection","features":[)";
    bool first = true;
    std::string feature;
    while (cursor.next(feature)) {
        out += first ? "" : ",\n";
        out += feature;
        feature.clear();
        first = false;
        if (out.size() > (1U << 20U)) {
            std::fwrite(out.data(), 1, out.size(), stdout);
            out.clear();
        }
    }
    out += "]}\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}

} // namespace

Command add_query_command(CLI::App& app) {
    auto options = std::make_shared<Options>();
    auto& o = *options;
    auto* query = app.add_subcommand("query", "Situational queries: near-base, along-route, stats");
    query->require_subcommand(1);
    auto* near = query->add_subcommand("near-base", "Incidents within a radius of a base (GeoJSON, nearest first)");
    add_window(near, o);
    near->add_option("--base", o.base, "Base id or unique name (gao)")->required();
    near->add_option("--radius-km", o.radius_km, "Radius in km (geodesic, WGS84)")->required();
    auto* along = query->add_subcommand("along-route", "Incidents within a buffer of a route (GeoJSON, along the route)");
    add_window(along, o);
    along->add_option("--route", o.route, "Route id")->required();
    along->add_option("--buffer-km", o.buffer_km, "Buffer in km")->capture_default_str();
    for (auto* command : {near, along}) {
        command->add_flag("--ids", o.ids, "Write the incident ids, one a line, instead of GeoJSON");
        command->add_option("--repeat", o.repeat, "Run N times; the median time goes to stderr")
            ->check(CLI::Range(1, 100000));
    }
    auto* stats = query->add_subcommand("stats", "Incident counts as CSV");
    add_window(stats, o);
    stats->add_option("--group-by", o.group_by, "region, cercle, type, target, year, month, base (nearest open base) (comma-separated)");
    stats->add_option("--repeat", o.repeat, "Run N times; the median time goes to stderr")->check(CLI::Range(1, 100000));

    auto run = [options, near, along, stats]() -> int {
        const Options& opt = *options;
        auto db = layers::open_database(opt.db_path, geo::Database::Mode::read_only);
        layers::FeatureQuery q;
        q.filter = layers::parse_filter("", opt.from, opt.to, opt.type, opt.target);
        const auto& incidents = layers::find_layer("incidents");
        if (near->parsed()) {
            const auto base = layers::find_base(db, opt.base);
            const auto hits = timed(opt.repeat, [&] { return layers::within_radius(db, incidents, base.position, opt.radius_km, q); });
            return print_hits(db, hits, opt.ids, false);
        }
        if (along->parsed()) {
            const auto route = layers::find_route(db, opt.route);
            const auto hits = timed(opt.repeat, [&] { return layers::along_route(db, incidents, route, opt.buffer_km, q); });
            return print_hits(db, hits, opt.ids, true);
        }
        if (stats->parsed()) {
            const auto groups = layers::split_list(opt.group_by);
            const auto table = timed(opt.repeat, [&] { return layers::count_incidents(db, groups, q); });
            std::fputs(layers::to_csv(table).c_str(), stdout);
            return 0;
        }
        return 2;
    };
    return {query, run};
}

} // namespace sitmap::app
