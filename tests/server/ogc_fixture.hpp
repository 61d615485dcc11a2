#pragma once
/// The default dataset served by the real routes on 127.0.0.1 and a free port, for the
/// OGC API tests (ogc_test.cpp, oapif_gdal_test.cpp).

#include "layers/demo.hpp"
#include "layers/schema.hpp"
#include "server/handlers.hpp"
#include "server/listener.hpp"
#include "support/temp_dir.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <future>
#include <memory>

namespace sitmap::test {

struct OgcServer {
    TempDir dir;
    server::ServerConfig config;
    server::Router router;
    std::unique_ptr<server::Server> server;
    std::future<void> done;

    /// `prepare` may change the database before the server starts.
    template <typename Prepare>
    explicit OgcServer(Prepare&& prepare) {
        spdlog::set_level(spdlog::level::warn);
        config.database = dir.file("map.sqlite");
        {
            auto db = layers::open_database(config.database, geo::Database::Mode::create);
            layers::import_default_dataset(db);
            prepare(db);
        }
        const char* source = std::getenv("SITMAP_SOURCE_DIR");
        config.web_root = std::filesystem::path(source ? source : ".") / "web";
        server::register_routes(router, config);
        server::ServerOptions options;
        options.handle_signals = false;
        server = std::make_unique<server::Server>(router, "127.0.0.1", 0, 2, options);
        done = std::async(std::launch::async, [this] { server->run(); });
    }
    OgcServer() : OgcServer([](geo::Database&) {}) {}
    ~OgcServer() {
        server->stop();
        done.wait();
    }
    OgcServer(const OgcServer&) = delete;
    OgcServer& operator=(const OgcServer&) = delete;

    unsigned short port() const { return server->port(); }
    /// A read-only connection to the served database, for expected values.
    geo::Database db() const { return layers::open_database(config.database, geo::Database::Mode::read_only); }
};

} // namespace sitmap::test
