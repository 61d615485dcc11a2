// `sitmap import --db F --layer L SOURCE`: any OGR-readable source into a layer, in one transaction.
#include "app/command.hpp"

#include "geo/error.hpp"
#include "layers/import.hpp"
#include "layers/schema.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace sitmap::app {

namespace {

struct ImportArguments {
    std::string db_path;
    layers::ImportOptions import;
    std::vector<std::string> maps;
    std::string mode = "replace";
};

void print_summary(const std::string& layer, const layers::ImportSummary& s) {
    std::printf("%s: read %lld, written %lld, repaired %lld, dropped parts %lld, skipped %lld",
                layer.c_str(), static_cast<long long>(s.read), static_cast<long long>(s.written),
                static_cast<long long>(s.repaired), static_cast<long long>(s.dropped_parts),
                static_cast<long long>(s.skipped));
    if (layer == "incidents" || layer == "cercles" || layer == "regions") {
        std::printf(", incidents in a cercle %lld", static_cast<long long>(s.joined));
    }
    std::printf(" (%.2f s)\n", s.seconds);
    for (const auto& reason : s.skipped_reasons) std::printf("  skipped: %s\n", reason.c_str());
    if (static_cast<std::int64_t>(s.skipped_reasons.size()) < s.skipped) {
        std::printf("  ... and %lld more skipped\n",
                    static_cast<long long>(s.skipped - static_cast<std::int64_t>(s.skipped_reasons.size())));
    }
}

/// Progress on a terminal: one line redrawn with rate and ETA. Elsewhere: a line now and then.
std::function<void(std::int64_t, std::int64_t)> progress_printer() {
    const bool tty = isatty(STDOUT_FILENO) == 1;
    auto started = std::chrono::steady_clock::now();
    auto last_line = std::make_shared<std::int64_t>(0);
    return [tty, started, last_line](std::int64_t read, std::int64_t total) {
        const double seconds =
            std::max(1e-3, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        const double rate = static_cast<double>(read) / seconds;
        if (tty) {
            if (total > 0) {
                const double eta = static_cast<double>(total - read) / std::max(rate, 1.0);
                std::printf("\r%lld / %lld features, %.0f/s, ETA %.0f s   ", static_cast<long long>(read),
                            static_cast<long long>(total), rate, eta);
            } else {
                std::printf("\r%lld features, %.0f/s   ", static_cast<long long>(read), rate);
            }
            if (read == total) std::printf("\n");
            std::fflush(stdout);
        } else if (read - *last_line >= 100000) {
            *last_line = read;
            std::printf("progress: %lld features, %.0f/s\n", static_cast<long long>(read), rate);
            std::fflush(stdout);
        }
    };
}

/// The --map source_field=attribute pairs. Throws input_error for one without both sides.
std::vector<std::pair<std::string, std::string>> field_map(const std::vector<std::string>& maps) {
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const auto& m : maps) {
        const auto eq = m.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == m.size()) {
            throw input_error("import --map " + m + ": expected source_field=attribute");
        }
        pairs.emplace_back(m.substr(0, eq), m.substr(eq + 1));
    }
    return pairs;
}

int run_import(ImportArguments& a) {
    a.import.field_map = field_map(a.maps);
    a.import.mode = a.mode == "append"   ? layers::ImportMode::append
                    : a.mode == "upsert" ? layers::ImportMode::upsert
                                         : layers::ImportMode::replace;
    a.import.progress = progress_printer();
    auto db = layers::open_database(a.db_path, geo::Database::Mode::create);
    print_summary(a.import.layer, layers::import_layer(db, a.import));
    return 0;
}

} // namespace

Command add_import_command(CLI::App& app) {
    auto arguments = std::make_shared<ImportArguments>();
    auto& a = *arguments;
    auto* import = app.add_subcommand("import", "Load any OGR-readable source into a layer");
    import->add_option("--db", a.db_path, "SpatiaLite file (created if absent)")->required();
    import->add_option("--layer", a.import.layer, "Target layer")
        ->required()
        ->check(CLI::IsMember({"regions", "cercles", "bases", "incidents", "routes"}));
    import->add_option("source", a.import.source, "File or GDAL path (/vsizip/...)")->required();
    import->add_option("--source-layer", a.import.source_layer, "Layer of a multi-layer source");
    import->add_option("--sql", a.import.sql, "SQL (SQLite dialect) on the source, imported instead of a layer");
    import->add_option("--assume-crs", a.import.assume_crs, "CRS of a source that declares none (EPSG:32630)");
    import->add_option("--map", a.maps, "source_field=attribute (repeatable)");
    import->add_option("--mode", a.mode, "replace, append or upsert (by id)")
        ->check(CLI::IsMember({"replace", "append", "upsert"}));
    import->add_flag("--skip-invalid", a.import.skip_invalid, "Skip bad features and report them");
    return {import, [arguments] { return run_import(*arguments); }};
}

} // namespace sitmap::app
