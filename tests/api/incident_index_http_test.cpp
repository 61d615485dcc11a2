// The real server (default options: tile cache on, incident index built at start-up) shows a
// write made through the API in the very next incidents tile: create, attribute change, move and
// delete, each tile compared with what SQLite gives for the same data.

#include "geo/tile.hpp"
#include "layers/schema.hpp"
#include "layers/tiles.hpp"
#include "mvt_features.hpp"
#include "write_fixture.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <thread>

using namespace sitmap;
using sitmap::test::HttpClient;
namespace http = boost::beast::http;

namespace {

/// Waits (up to 30 s) for /readyz to answer 200: the incident index is then built.
bool index_http_wait_ready(unsigned short port) {
    for (int i = 0; i < 300; ++i) {
        if (HttpClient(port).get("/readyz").result() == http::status::ok) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

/// The incidents of a served tile, as comparable text.
std::vector<std::string> index_http_served(unsigned short port, const geo::TileId& tile) {
    const auto response = HttpClient(port).get("/tiles/incidents/" + tile.to_string() + ".mvt");
    REQUIRE((response.result() == http::status::ok || response.result() == http::status::no_content));
    return test::mvt_features(response.body(), "incidents");
}

/// The same tile built from SQLite on a connection of the test's own.
std::vector<std::string> index_http_expected(const std::string& db_path, const geo::TileId& tile) {
    auto db = layers::open_database(db_path, geo::Database::Mode::read_only);
    layers::TileOptions options;
    return test::mvt_features(layers::build_tile(db, tile, {&layers::find_layer("incidents")}, {}, options), "incidents");
}

bool index_http_holds(const std::vector<std::string>& features, const std::string& needle) {
    return std::any_of(features.begin(), features.end(),
                       [&](const std::string& f) { return f.find(needle) != std::string::npos; });
}

} // namespace

TEST_CASE("incident index over HTTP: a create, update, move and delete show in the next tile", "[http][db]") {
    test::TempDir dir;
    const auto db = test::make_demo_database(dir);
    const auto editor = test::make_token(db, "editor", "JOC Gao");
    test::ServeProcess server(db);
    const auto port = server.port();
    REQUIRE(index_http_wait_ready(port));

    const auto here = geo::lonlat_to_tile(-0.04, 16.27, 11);
    const auto there = geo::lonlat_to_tile(-4.19, 14.49, 11);
    const std::string id_text = test::mvt_hex("\x0a\x0dIDX-HTTP-0001");  // the id property's value
    // Cached before the writes, so the writes must also drop them from the cache.
    CHECK(index_http_served(port, here) == index_http_expected(db, here));
    CHECK(index_http_served(port, there) == index_http_expected(db, there));

    const auto created = test::send(port, http::verb::post, "/collections/incidents/items", editor,
                                    test::new_incident("IDX-HTTP-0001", -0.04, 16.27).dump());
    REQUIRE(created.result() == http::status::created);
    auto tile = index_http_served(port, here);
    CHECK(index_http_holds(tile, id_text));
    CHECK(tile == index_http_expected(db, here));

    const std::string item = "/collections/incidents/items/IDX-HTTP-0001";
    REQUIRE(test::send(port, http::verb::patch, item, editor, R"({"properties":{"type":"indirect_fire","fatalities":4}})",
                       "application/merge-patch+json")
                .result() == http::status::ok);
    tile = index_http_served(port, here);
    CHECK(index_http_holds(tile, "type=" + test::mvt_hex("\x0a\x0dindirect_fire")));
    CHECK(tile == index_http_expected(db, here));

    REQUIRE(test::send(port, http::verb::patch, item, editor,
                       R"({"geometry":{"type":"Point","coordinates":[-4.19,14.49]}})", "application/merge-patch+json")
                .result() == http::status::ok);
    CHECK_FALSE(index_http_holds(index_http_served(port, here), id_text));
    tile = index_http_served(port, there);
    CHECK(index_http_holds(tile, id_text));
    CHECK(tile == index_http_expected(db, there));

    REQUIRE(test::send(port, http::verb::delete_, item, editor).result() == http::status::no_content);
    tile = index_http_served(port, there);
    CHECK_FALSE(index_http_holds(tile, id_text));
    CHECK(tile == index_http_expected(db, there));
    CHECK(index_http_served(port, here) == index_http_expected(db, here));
}
