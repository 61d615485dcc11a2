#include "server/cli.hpp"

#include "geo/error.hpp"
#include "layers/demo.hpp"
#include "layers/export.hpp"
#include "layers/import.hpp"
#include "layers/schema.hpp"
#include "layers/simplified.hpp"
#include "layers/tokens.hpp"
#include "server/handlers.hpp"
#include "server/listener.hpp"
#include "server/log_output.hpp"
#include "server/query_cli.hpp"
#include "server/readiness.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>
#include <sys/resource.h>
#include <unistd.h>

namespace sitmap::server {

namespace {

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

/// Lets the calling thread yield the cores to the others (Linux nice 10 for this thread only):
/// background work must not slow requests down.
void lower_thread_priority() noexcept {
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
}

/// Builds the incident index in the background (a jthread's body): until it is ready, tiles read
/// the incidents from SQLite and /readyz waits for it (`task`).
void build_incident_index(std::stop_token stop, const std::string& db_path,
                          const std::shared_ptr<layers::IncidentIndex>& index, Readiness::Task task) {
    (void)task;  // done when this returns
    try {
        lower_thread_priority();
        const auto started = std::chrono::steady_clock::now();
        auto db = layers::open_database(db_path, geo::Database::Mode::read_only);
        index->build(db, std::move(stop));
        if (!index->ready()) return;
        const std::size_t size = index->size();
        const std::size_t bytes = index->memory_bytes();
        spdlog::info("incident index: {} incidents, {} MB ({} bytes each), in {:.1f} s", size, bytes >> 20U,
                     size ? bytes / size : 0,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    } catch (const std::exception& e) {
        spdlog::warn("building the incident index: {} (tiles read the incidents from SQLite)", e.what());
    }
}

int demo(const std::string& db_path) {
    auto db = layers::open_database(db_path, geo::Database::Mode::create);
    for (const auto& summary : layers::import_default_dataset(db)) {
        (void)summary;
    }
    auto count = [&](const char* layer) {
        auto stmt = db.prepare(std::string("SELECT count(*) FROM ") + layer);
        stmt.step();
        return stmt.column_int64(0);
    };
    std::printf("%s: default dataset: %lld regions, %lld cercles, %lld routes, %lld bases, %lld incidents (synthetic)\n",
                db_path.c_str(), static_cast<long long>(count("regions")), static_cast<long long>(count("cercles")),
                static_cast<long long>(count("routes")), static_cast<long long>(count("bases")),
                static_cast<long long>(count("incidents")));
    return 0;
}

} // namespace

int run_cli(int argc, char** argv) {
    CLI::App app{"sitmap: a situational-awareness map server (SpatiaLite, vector tiles, OGC API - Features)"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "sitmap 0.1.0");

    std::string db_path;

    auto* demo_cmd = app.add_subcommand("demo", "Create a database holding the embedded default dataset");
    demo_cmd->add_option("--db", db_path, "SpatiaLite file to create or fill")->required();

    layers::ImportOptions import;
    std::vector<std::string> maps;
    std::string mode = "replace";
    auto* import_cmd = app.add_subcommand("import", "Load any OGR-readable source into a layer");
    import_cmd->add_option("--db", db_path, "SpatiaLite file (created if absent)")->required();
    import_cmd->add_option("--layer", import.layer, "Target layer")
        ->required()
        ->check(CLI::IsMember({"regions", "cercles", "bases", "incidents", "routes"}));
    import_cmd->add_option("source", import.source, "File or GDAL path (/vsizip/...)")->required();
    import_cmd->add_option("--source-layer", import.source_layer, "Layer of a multi-layer source");
    import_cmd->add_option("--sql", import.sql, "SQL (SQLite dialect) on the source, imported instead of a layer");
    import_cmd->add_option("--assume-crs", import.assume_crs, "CRS of a source that declares none (EPSG:32630)");
    import_cmd->add_option("--map", maps, "source_field=attribute (repeatable)");
    import_cmd->add_option("--mode", mode, "replace, append or upsert (by id)")
        ->check(CLI::IsMember({"replace", "append", "upsert"}));
    import_cmd->add_flag("--skip-invalid", import.skip_invalid, "Skip bad features and report them");

    layers::ExportOptions export_options;
    std::string export_format = "GeoJSON";
    std::string export_bbox, export_from, export_to, export_type, export_target;
    auto* export_cmd = app.add_subcommand("export", "Write a layer to a file through GDAL");
    export_cmd->add_option("--db", db_path, "SpatiaLite file")->required()->check(CLI::ExistingFile);
    export_cmd->add_option("--layer", export_options.layer, "Layer to export")
        ->required()
        ->check(CLI::IsMember({"regions", "cercles", "bases", "incidents", "routes"}));
    export_cmd->add_option("--format", export_format, "GeoJSON, GPKG, CSV, KML or Shapefile")->capture_default_str();
    export_cmd->add_option("--bbox", export_bbox, "min_lon,min_lat,max_lon,max_lat");
    export_cmd->add_option("--from", export_from, "Incidents on or after (ISO 8601)");
    export_cmd->add_option("--to", export_to, "Incidents on or before (ISO 8601)");
    export_cmd->add_option("--type", export_type, "Incident types, comma-separated");
    export_cmd->add_option("--target", export_target, "Incident targets, comma-separated");
    export_cmd->add_option("out", export_options.path, "File to create")->required();

    const QueryCommand query_cmd = add_query_command(app);

    auto* token_cmd = app.add_subcommand("token", "Create, list and revoke API tokens");
    token_cmd->require_subcommand(1);
    std::string token_name, token_role, token_id;
    auto* token_create = token_cmd->add_subcommand("create", "Create a token; prints it once, alone on a line");
    token_create->add_option("--db", db_path, "SpatiaLite file")->required();
    token_create->add_option("--name", token_name, "Who holds it (\"JOC Gao\")")->required();
    token_create->add_option("--role", token_role, "viewer, editor, verifier or admin")->required();
    auto* token_list = token_cmd->add_subcommand("list", "List tokens: id, name, role, created, revoked");
    token_list->add_option("--db", db_path, "SpatiaLite file")->required();
    auto* token_revoke = token_cmd->add_subcommand("revoke", "Revoke a token");
    token_revoke->add_option("--db", db_path, "SpatiaLite file")->required();
    token_revoke->add_option("id", token_id, "The token's id (12 hex digits, from token list)")->required();

    std::string host = "127.0.0.1";
    unsigned short port = 8080;
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    ServerConfig config;
    config.web_root = SITMAP_SOURCE_WEB_DIR;
    config.node_modules = SITMAP_SOURCE_NODE_MODULES;
    std::string web_root = config.web_root.string();
    std::string node_modules = config.node_modules.string();
    auto* serve_cmd = app.add_subcommand("serve", "Serve the web map, vector tiles and GeoJSON over HTTP");
    serve_cmd->add_option("--db", db_path, "SpatiaLite file")->required();
    serve_cmd->add_option("--host", host, "Address to listen on")->capture_default_str();
    serve_cmd->add_option("--port", port, "Port (0 picks a free one)")->capture_default_str();
    serve_cmd->add_option("--threads", threads, "I/O threads reading and writing the connections")
        ->capture_default_str()->check(CLI::Range(1u, 256u));
    serve_cmd->add_option("--public-url", config.public_url, "Base of absolute URLs when behind a proxy");
    std::size_t tile_cache_mb = config.tile_cache_bytes >> 20U;
    serve_cmd->add_option("--tile-cache-mb", tile_cache_mb, "Tile cache budget in MiB (0: no cache)")->capture_default_str();
    bool no_incident_index = false;
    serve_cmd->add_flag("--no-incident-index", no_incident_index,
                        "Build incidents tiles from SQLite only, without the in-memory incident index "
                        "(saves about 150 bytes per incident)");
    serve_cmd->add_option("--tile-buffer", config.tile_buffer, "Tile units (of 4096) kept around each tile")
        ->capture_default_str()->check(CLI::Range(0u, 4096u));
    serve_cmd->add_option("--web", web_root, "Directory of the web map")->capture_default_str();
    serve_cmd->add_option("--node-modules", node_modules, "Directory holding maplibre-gl")->capture_default_str();
    std::vector<std::string> cors_origins;
    serve_cmd->add_option("--cors-origin", cors_origins,
                          "Origin whose web pages may read the API, like https://map.example.org (repeatable; none by default)");
    std::string read_access = "public";
    serve_cmd->add_option("--read-access", read_access, "public, or token: reading data needs a viewer token")
        ->capture_default_str();
    serve_cmd->add_option("--private-layer", config.private_layers,
                          "A layer anonymous readers may not see (repeatable)");
    ServerOptions server_options;
    server_options.limits.max_requests = 256;
    serve_cmd->add_option("--max-requests", server_options.limits.max_requests,
                          "Requests in progress at once; more get 503 with Retry-After (0: no limit)")->capture_default_str();
    serve_cmd->add_option("--max-streams", server_options.limits.max_streams,
                          "Event streams (GET /events) open at once; more get 503 with Retry-After (0: no limit)")->capture_default_str();
    auto& workers = server_options.workers;
    serve_cmd->add_option("--workers", workers.workers,
                          "Worker threads answering requests (tiles and heavy work; one more does only cheap work)")
        ->capture_default_str()->check(CLI::Range(1u, 256u));
    serve_cmd->add_option("--cheap-queue", workers.cheap_queue,
                          "Cheap requests (health, metadata, cached tiles) waiting for a worker; more get 503")
        ->capture_default_str()->check(CLI::Range(1u, 100000u));
    serve_cmd->add_option("--tile-queue", workers.tile_queue, "Tile builds waiting for a worker; more get 503")
        ->capture_default_str()->check(CLI::Range(1u, 100000u));
    serve_cmd->add_option("--heavy-queue", workers.heavy_queue,
                          "Heavy requests (item pages, queries, statistics, exports, writes) waiting for a worker; more get 503")
        ->capture_default_str()->check(CLI::Range(1u, 100000u));
    double read_timeout = 30;
    serve_cmd->add_option("--read-timeout", read_timeout, "Seconds allowed to receive a request, keep-alive idle time included")
        ->capture_default_str()->check(CLI::Range(0.1, 3600.0));

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << "sitmap: " << e.what() << " (see sitmap --help)\n";
        return 2;
    }

    try {
        if (demo_cmd->parsed()) return demo(db_path);
        if (import_cmd->parsed()) {
            for (const auto& m : maps) {
                const auto eq = m.find('=');
                if (eq == std::string::npos || eq == 0 || eq + 1 == m.size()) {
                    std::cerr << "sitmap import: --map " << m << ": expected source_field=attribute\n";
                    return 2;
                }
                import.field_map.emplace_back(m.substr(0, eq), m.substr(eq + 1));
            }
            import.mode = mode == "append" ? layers::ImportMode::append
                          : mode == "upsert" ? layers::ImportMode::upsert
                                             : layers::ImportMode::replace;
            import.progress = progress_printer();
            auto db = layers::open_database(db_path, geo::Database::Mode::create);
            print_summary(import.layer, layers::import_layer(db, import));
            return 0;
        }
        if (export_cmd->parsed()) {
            export_options.format = layers::parse_export_format(export_format);
            export_options.filter =
                layers::parse_filter(export_bbox, export_from, export_to, export_type, export_target);
            auto db = layers::open_database(db_path, geo::Database::Mode::read_only);
            const auto written = layers::export_layer(db, export_options);
            std::printf("%s: %lld features written to %s\n", export_options.layer.c_str(),
                        static_cast<long long>(written), export_options.path.c_str());
            return 0;
        }
        if (query_cmd.command->parsed()) return query_cmd.run();
        if (token_cmd->parsed()) {
            if (!std::filesystem::exists(db_path)) throw input_error(db_path + " does not exist");
            auto db = layers::open_database(db_path, geo::Database::Mode::read_write);
            if (token_create->parsed()) {
                const auto created = layers::create_token(db, token_name, layers::parse_role(token_role));
                std::cerr << "token " << created.info.id << " for " << created.info.name << " ("
                          << layers::role_name(created.info.role) << "); it is shown once, keep it now:\n";
                std::printf("%s\n", created.token.c_str());
            } else if (token_list->parsed()) {
                std::printf("%-12s  %-9s  %-20s  %-20s  %s\n", "id", "role", "created", "revoked", "name");
                for (const auto& t : layers::list_tokens(db)) {
                    std::printf("%-12s  %-9s  %-20s  %-20s  %s\n", t.id.c_str(), std::string(layers::role_name(t.role)).c_str(),
                                t.created_at.c_str(), t.revoked_at.value_or("-").c_str(), t.name.c_str());
                }
            } else {
                layers::revoke_token(db, token_id);
                std::printf("token %s revoked\n", token_id.c_str());
            }
            return 0;
        }
        if (serve_cmd->parsed()) {
            config.database = db_path;
            if (read_access != "public" && read_access != "token") {
                throw input_error("--read-access: expected public or token, got '" + read_access + "'");
            }
            config.read_needs_token = read_access == "token";
            for (const auto& name : config.private_layers) layers::find_layer(name);  // unknown: exit 2
            config.tile_cache_bytes = tile_cache_mb << 20U;
            config.web_root = web_root;
            config.node_modules = node_modules;
            if (!std::filesystem::exists(db_path)) {
                std::cerr << "sitmap serve: " << db_path << " does not exist (create it with `sitmap demo --db "
                          << db_path << "`)\n";
                return 2;
            }
            Router router;
            register_routes(router, config);
            router.set_cors_origins(cors_origins);
            server_options.limits.read_timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                std::chrono::duration<double>(read_timeout));
            buffer_log_output();  // one write per 64 KiB or per second, not per request
            struct FlushAtExit {
                ~FlushAtExit() { flush_log(); }
            } flush_at_exit;
            // /readyz answers 503 until the borders below are ready (or failed: tiles then build them).
            auto preparing_task = Readiness::begin(config.readiness, "simplified borders");
            Server server(router, host, port, threads, server_options);
            spdlog::info("sitmap serving {} at http://{}:{}/ with {} I/O threads and {} workers", db_path, host,
                         server.port(), threads, workers.workers);
            // Borders simplified per zoom are built in the background now rather than by the
            // first tile of each zoom (a few seconds on official boundaries); stopped and joined
            // when serving ends.
            const std::jthread preparing([db_path, task = std::move(preparing_task)](std::stop_token stop) {
                try {
                    lower_thread_priority();
                    auto db = layers::open_database(db_path, geo::Database::Mode::read_only);
                    layers::prepare_simplified_layers(db, stop);
                } catch (const std::exception& e) {
                    spdlog::warn("preparing simplified borders: {} (tiles build them when asked)", e.what());
                }
            });
            // The incidents in memory for tiles: until built, tiles read them from SQLite.
            std::jthread indexing;
            if (!no_incident_index) {
                indexing = std::jthread(build_incident_index, db_path, config.incident_index,
                                        Readiness::begin(config.readiness, "incident index"));
            }
            server.run();
            spdlog::info("sitmap stopped");
            return 0;
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

} // namespace sitmap::server
