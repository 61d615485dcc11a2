#pragma once
/// The default dataset served by the real routes on 127.0.0.1 and a free port, for the
/// OGC API tests (ogc_test.cpp, items_count_test.cpp, oapif_gdal_test.cpp), and what those tests
/// read from it.

#include "layers/demo.hpp"
#include "layers/schema.hpp"
#include "api/handlers.hpp"
#include "http/listener.hpp"
#include "http_client.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <future>
#include <memory>
#include <string>

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

/// GET `target` and parse its body; the status must be `expected`.
inline nlohmann::json get_json(HttpClient& client, const std::string& target,
                               boost::beast::http::status expected = boost::beast::http::status::ok) {
    auto response = client.get(target);
    INFO(target << " -> " << response.result_int() << " " << response.body().substr(0, 300));
    REQUIRE(response.result() == expected);
    return nlohmann::json::parse(response.body());
}

/// The single integer `sql` gives on the served database.
inline std::int64_t count(const OgcServer& server, const std::string& sql) {
    auto db = server.db();
    auto stmt = db.prepare(sql);
    stmt.step();
    return stmt.column_int64(0);
}

/// The href of the document's link with relation `rel`, or "".
inline std::string link(const nlohmann::json& doc, const std::string& rel) {
    for (const auto& l : doc["links"]) {
        if (l["rel"] == rel) return l["href"];
    }
    return "";
}

/// The path and query of an absolute http URL.
inline std::string path_of(const std::string& url) { return url.substr(url.find('/', std::string("http://").size())); }

} // namespace sitmap::test
