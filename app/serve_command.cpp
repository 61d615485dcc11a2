// `sitmap serve --db F`: the web map, vector tiles and the OGC API over HTTP.
#include "app/command.hpp"

#include "api/handlers.hpp"
#include "app/log_output.hpp"
#include "geo/error.hpp"
#include "http/listener.hpp"
#include "http/readiness.hpp"
#include "layers/schema.hpp"
#include "layers/simplified.hpp"

#include <spdlog/spdlog.h>

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace sitmap::app {

namespace {

struct ServeArguments {
    std::string db_path;
    std::string host = "127.0.0.1";
    unsigned short port = 8080;
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    server::ServerConfig config;
    std::string web_root = SITMAP_SOURCE_WEB_DIR;
    std::string node_modules = SITMAP_SOURCE_NODE_MODULES;
    std::size_t tile_cache_mb = server::ServerConfig{}.tile_cache_bytes >> 20U;
    std::vector<std::string> cors_origins;
    std::string read_access = "public";
    server::ServerOptions options;
    double read_timeout = 30;
    bool no_incident_index = false;
};

void add_http_options(CLI::App* serve, ServeArguments& a) {
    serve->add_option("--db", a.db_path, "SpatiaLite file")->required();
    serve->add_option("--host", a.host, "Address to listen on")->capture_default_str();
    serve->add_option("--port", a.port, "Port (0 picks a free one)")->capture_default_str();
    serve->add_option("--threads", a.threads, "I/O threads reading and writing the connections")
        ->capture_default_str()->check(CLI::Range(1u, 256u));
    serve->add_option("--public-url", a.config.public_url, "Base of absolute URLs when behind a proxy");
    serve->add_option("--tile-cache-mb", a.tile_cache_mb, "Tile cache budget in MiB (0: no cache)")->capture_default_str();
    serve->add_flag("--no-incident-index", a.no_incident_index,
                    "Build incidents tiles from SQLite only, without the in-memory incident index "
                    "(saves about 150 bytes per incident)");
    serve->add_option("--tile-buffer", a.config.tile_buffer, "Tile units (of 4096) kept around each tile")
        ->capture_default_str()->check(CLI::Range(0u, 4096u));
    serve->add_option("--web", a.web_root, "Directory of the web map")->capture_default_str();
    serve->add_option("--node-modules", a.node_modules, "Directory holding maplibre-gl")->capture_default_str();
    serve->add_option("--cors-origin", a.cors_origins,
                      "Origin whose web pages may read the API, like https://map.example.org (repeatable; none by default)");
    serve->add_option("--read-access", a.read_access, "public, or token: reading data needs a viewer token")
        ->capture_default_str();
    serve->add_option("--private-layer", a.config.private_layers, "A layer anonymous readers may not see (repeatable)");
    serve->add_option("--read-timeout", a.read_timeout, "Seconds allowed to receive a request, keep-alive idle time included")
        ->capture_default_str()->check(CLI::Range(0.1, 3600.0));
}

void add_limit_options(CLI::App* serve, ServeArguments& a) {
    auto& limits = a.options.limits;
    limits.max_requests = 256;
    serve->add_option("--max-requests", limits.max_requests,
                      "Requests in progress at once; more get 503 with Retry-After (0: no limit)")->capture_default_str();
    serve->add_option("--max-streams", limits.max_streams,
                      "Event streams (GET /events) open at once; more get 503 with Retry-After (0: no limit)")->capture_default_str();
    auto& workers = a.options.workers;
    serve->add_option("--workers", workers.workers,
                      "Worker threads answering requests (tiles and heavy work; one more does only cheap work)")
        ->capture_default_str()->check(CLI::Range(1u, 256u));
    serve->add_option("--cheap-queue", workers.cheap_queue,
                      "Cheap requests (health, metadata, cached tiles) waiting for a worker; more get 503")
        ->capture_default_str()->check(CLI::Range(1u, 100000u));
    serve->add_option("--tile-queue", workers.tile_queue, "Tile builds waiting for a worker; more get 503")
        ->capture_default_str()->check(CLI::Range(1u, 100000u));
    serve->add_option("--heavy-queue", workers.heavy_queue,
                      "Heavy requests (item pages, queries, statistics, exports, writes) waiting for a worker; more get 503")
        ->capture_default_str()->check(CLI::Range(1u, 100000u));
}

/// Checks the arguments and completes the configuration from them. Throws input_error.
void complete_config(ServeArguments& a) {
    if (!std::filesystem::exists(a.db_path)) {
        throw input_error("serve: " + a.db_path + " does not exist (create it with `sitmap demo --db " + a.db_path + "`)");
    }
    if (a.read_access != "public" && a.read_access != "token") {
        throw input_error("--read-access: expected public or token, got '" + a.read_access + "'");
    }
    for (const auto& name : a.config.private_layers) layers::find_layer(name);  // unknown: exit 2
    a.config.database = a.db_path;
    a.config.read_needs_token = a.read_access == "token";
    a.config.tile_cache_bytes = a.tile_cache_mb << 20U;
    a.config.web_root = a.web_root;
    a.config.node_modules = a.node_modules;
    a.options.limits.read_timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(a.read_timeout));
}

/// Lets the calling thread yield the cores to the others (Linux nice 10 for this thread only):
/// background work must not slow requests down.
void lower_thread_priority() noexcept {
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
}

/// Builds in the background what the first tiles would otherwise wait for (a few seconds on
/// official boundaries and a million incidents): the borders simplified per zoom, then the
/// incidents' cluster cells. /readyz answers 503 until both are ready (or failed: tiles then build
/// them when asked). Stopped and joined when the returned thread is destroyed.
std::jthread prepare_in_background(const server::ServerConfig& config) {
    auto borders = server::Readiness::begin(config.readiness, "simplified borders");
    auto cells = server::Readiness::begin(config.readiness, "cluster cells");
    return std::jthread([config, borders = std::move(borders), cells = std::move(cells)](std::stop_token stop) mutable {
        lower_thread_priority();
        try {
            auto db = layers::open_database(config.database, geo::Database::Mode::read_only);
            layers::prepare_simplified_layers(db, stop);
            { [[maybe_unused]] const auto done = std::move(borders); }
            if (!stop.stop_requested()) config.clusters->sync(db);
        } catch (const std::exception& e) {
            spdlog::warn("preparing tiles: {} (tiles build what is missing when asked)", e.what());
        }
    });
}

/// Hands the heap's free pages back to the system every few seconds. Tiles invalidated by writes
/// and large pages free memory all over the heap, which glibc keeps (it returns only the top of
/// a heap by itself): without this the server's resident memory creeps up under writes.
std::jthread return_free_memory() {
    return std::jthread([](std::stop_token stop) {
        lower_thread_priority();
        std::mutex mutex;
        std::condition_variable_any wake;
        std::unique_lock lock(mutex);
        while (!wake.wait_for(lock, stop, std::chrono::seconds(5), [&stop] { return stop.stop_requested(); })) {
            ::malloc_trim(0);
        }
    });
}

/// Builds the incident index in the background: until it is ready, tiles read the incidents from
/// SQLite and /readyz waits for it. Stopped and joined when the returned thread is destroyed.
std::jthread index_in_background(const std::string& db_path, const server::ServerConfig& config) {
    auto task = server::Readiness::begin(config.readiness, "incident index");
    return std::jthread([db_path, index = config.incident_index, task = std::move(task)](std::stop_token stop) {
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
    });
}

int run_serve(ServeArguments& a) {
    complete_config(a);
    server::Router router;
    server::register_routes(router, a.config);
    router.set_cors_origins(a.cors_origins);
    buffer_log_output();  // one write per 64 KiB or per second, not per request
    struct FlushAtExit {
        ~FlushAtExit() { flush_log(); }
    } flush_at_exit;
    server::Server server(router, a.host, a.port, a.threads, a.options);
    spdlog::info("sitmap serving {} at http://{}:{}/ with {} I/O threads and {} workers", a.db_path, a.host,
                 server.port(), a.threads, a.options.workers.workers);
    const std::jthread preparing = prepare_in_background(a.config);  // before any answer
    const std::jthread trimming = return_free_memory();
    const std::jthread indexing = a.no_incident_index ? std::jthread() : index_in_background(a.db_path, a.config);
    server.run();
    spdlog::info("sitmap stopped");
    return 0;
}

} // namespace

Command add_serve_command(CLI::App& app) {
    auto arguments = std::make_shared<ServeArguments>();
    auto* serve = app.add_subcommand("serve", "Serve the web map, vector tiles and GeoJSON over HTTP");
    add_http_options(serve, *arguments);
    add_limit_options(serve, *arguments);
    return {serve, [arguments] { return run_serve(*arguments); }};
}

} // namespace sitmap::app
