// The foundation's end-to-end path without a browser: the real `sitmap` binary creates the default
// database, serves it on a loopback port, and GDAL's own MVT driver decodes the tiles it served.

#include "geo/gdal.hpp"
#include "geo/tile.hpp"
#include "layers/schema.hpp"
#include "http_client.hpp"
#include "sitmap_process.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>

using namespace sitmap;
using sitmap::test::HttpClient;

namespace {

/// Feature count per layer of an MVT tile, read by GDAL's MVT driver (no clipping to the tile).
std::map<std::string, long long> decode_with_gdal(const std::string& bytes, const geo::TileId& tile,
                                                  const test::TempDir& dir) {
    const auto folder = dir.path() / "tiles" / std::to_string(tile.z) / std::to_string(tile.x);
    std::filesystem::create_directories(folder);
    const auto file = folder / (std::to_string(tile.y) + ".pbf");
    std::ofstream(file, std::ios::binary) << bytes;
    auto dataset = geo::Dataset::open(file.string(), {"CLIP=NO"});
    std::map<std::string, long long> counts;
    for (int i = 0; i < dataset.layer_count(); ++i) {
        OGRLayerH layer = GDALDatasetGetLayer(dataset.get(), i);
        counts[OGR_L_GetName(layer)] = OGR_L_GetFeatureCount(layer, 1);
    }
    return counts;
}

/// Features of a layer that meet the tile grown by its buffer (64 of 4096), counted by SpatiaLite.
long long count_in_tile(geo::Database& db, const std::string& layer, const geo::TileId& tile,
                        const std::string& where = "") {
    const auto box = geo::tile_bounds_lonlat(tile, 64, 4096);
    auto stmt = db.prepare("SELECT count(*) FROM " + layer +
                           " WHERE ST_Intersects(geom, BuildMbr(?, ?, ?, ?, 4326))" + where);
    stmt.bind(1, box.min_x).bind(2, box.min_y).bind(3, box.max_x).bind(4, box.max_y);
    REQUIRE(stmt.step());
    return stmt.column_int64(0);
}

} // namespace

TEST_CASE("served tiles: GDAL's MVT driver decodes what the real server sends, feature for feature",
          "[http][gdal][db]") {
    test::TempDir dir;
    const auto db_path = dir.file("demo.sqlite");
    const auto demo = test::run_sitmap({"demo", "--db", db_path});
    INFO(demo.output);
    REQUIRE(demo.exit_code == 0);
    auto db = layers::open_database(db_path, geo::Database::Mode::read_only);

    test::ServeProcess server(db_path);
    HttpClient client(server.port());

    // Gao at zoom 7, Mopti at zoom 9, and the zoom-5 tile over central Mali.
    REQUIRE(geo::lonlat_to_tile(-0.04, 16.27, 7) == geo::TileId{7, 63, 58});
    REQUIRE(geo::lonlat_to_tile(-4.19, 14.49, 9) == geo::TileId{9, 250, 235});
    for (const auto& tile : {geo::TileId{7, 63, 58}, geo::TileId{9, 250, 235}, geo::TileId{5, 15, 14}}) {
        INFO("tile " << tile.to_string());
        // cluster=false: every incident as itself, so counts compare with SQL one for one
        auto response = client.get("/tiles/" + tile.to_string() + ".mvt?cluster=false");
        REQUIRE(response.result() == boost::beast::http::status::ok);
        CHECK(response[boost::beast::http::field::content_type] == "application/vnd.mapbox-vector-tile");
        const auto counts = decode_with_gdal(response.body(), tile, dir);
        for (const char* layer : {"incidents", "bases"}) {
            INFO(layer);
            const auto expected = count_in_tile(db, layer, tile);
            CHECK(expected > 0);
            CHECK((counts.count(layer) ? counts.at(layer) : 0) == expected);
        }
        for (const char* layer : {"regions", "cercles", "routes"}) {
            INFO(layer);
            const auto expected = count_in_tile(db, layer, tile);
            CHECK((counts.count(layer) ? counts.at(layer) : 0) == expected);
        }
    }

    SECTION("filters on the tile URL give the same counts as SQL with the same filter") {
        const geo::TileId tile{5, 15, 14};
        auto response = client.get("/tiles/incidents/" + tile.to_string() +
                                   ".mvt?cluster=false&from=2020-07-01&to=2020-12-23&type=ied_detonated,ied_neutralized");
        REQUIRE(response.result() == boost::beast::http::status::ok);
        const auto counts = decode_with_gdal(response.body(), tile, dir);
        CHECK(counts.size() == 1);
        CHECK(counts.at("incidents") ==
              count_in_tile(db, "incidents", tile,
                            " AND occurred_at >= '2020-07-01' AND occurred_at <= '2020-12-23T23:59:59Z'"
                            " AND type IN ('ied_detonated','ied_neutralized')"));
    }
    SECTION("a tile with nothing in it is 204 with no body; a tile off the grid is a 400 with a JSON reason") {
        auto empty = client.get("/tiles/0/0/0.mvt?from=1990-01-01&to=1990-01-02&type=ambush");
        // zoom 0 still holds the boundaries, so ask for a layer that the filter empties
        auto none = client.get("/tiles/incidents/3/0/0.mvt");
        CHECK(none.result() == boost::beast::http::status::no_content);
        CHECK(none.body().empty());
        auto bad = client.get("/tiles/5/40/3.mvt");
        CHECK(bad.result() == boost::beast::http::status::bad_request);
        const auto reason = nlohmann::json::parse(bad.body());
        CHECK(reason["error"] == "bad_request");
        CHECK(reason["message"].get<std::string>().find("5/40/3") != std::string::npos);
        CHECK(empty.result() == boost::beast::http::status::ok);
    }
    SECTION("TileJSON lists the five layers with their fields and an absolute tile URL") {
        auto response = client.get("/tiles.json");
        REQUIRE(response.result() == boost::beast::http::status::ok);
        const auto tilejson = nlohmann::json::parse(response.body());
        CHECK(tilejson["tilejson"] == "3.0.0");
        CHECK(tilejson["tiles"][0] == "http://127.0.0.1/tiles/{z}/{x}/{y}.mvt");
        CHECK(tilejson["vector_layers"].size() == 5);
    }
    SECTION("GeoJSON items honour bbox and limit") {
        auto response = client.get("/collections/bases/items?bbox=-1,15,1,17&limit=50");
        REQUIRE(response.result() == boost::beast::http::status::ok);
        const auto collection = nlohmann::json::parse(response.body());
        auto stmt = db.prepare("SELECT count(*) FROM bases WHERE ST_Intersects(geom, BuildMbr(-1, 15, 1, 17, 4326))");
        REQUIRE(stmt.step());
        CHECK(collection["features"].size() == static_cast<std::size_t>(stmt.column_int64(0)));
        CHECK(collection["numberMatched"] == stmt.column_int64(0));
    }
    CHECK(server.stop() == 0);  // SIGTERM: a clean shutdown
}
