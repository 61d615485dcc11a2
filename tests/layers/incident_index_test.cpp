// The in-memory incident index answers the same incidents tiles as SQLite: the same features,
// geometry and properties (decoded, order aside), with filters, and after writes it has applied
// from the change log.

#include "layers/incident_index.hpp"

#include "geo/tile.hpp"
#include "layers/changes.hpp"
#include "layers/demo.hpp"
#include "layers/features.hpp"
#include "layers/schema.hpp"
#include "layers/tiles.hpp"
#include "layers/write.hpp"
#include "mvt_features.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace sitmap;

namespace {

/// The tiles at z 9, 11 and 14 holding every 40th incident, and their east neighbours.
std::vector<geo::TileId> index_test_tiles(geo::Database& db) {
    std::vector<geo::TileId> tiles;
    auto stmt = db.prepare("SELECT geom FROM incidents WHERE geom IS NOT NULL AND fid % 40 = 0");
    while (stmt.step()) {
        const auto p = layers::point_from_blob(stmt.column_blob(0));
        for (const int z : {9, 11, 14}) {
            const auto tile = geo::lonlat_to_tile(p.lon, p.lat, z);
            tiles.push_back(tile);
            tiles.push_back(geo::TileId::make(z, (tile.x + 1) % (1U << z), tile.y));
        }
    }
    return tiles;
}

std::vector<layers::Filter> index_test_filters() {
    return {layers::parse_filter("", "", "", "", ""),
            layers::parse_filter("", "", "", "ambush,direct_fire", ""),
            layers::parse_filter("", "2019-01-01", "2021-06-30", "", ""),
            layers::parse_filter("", "2020-03-15T12:00:00Z", "", "", "civilians,un_mission"),
            layers::parse_filter("", "", "2018-12-31", "", "", "verified"),
            layers::parse_filter("", "2015-01-01", "2023-12-31", "ied_detonated,indirect_fire,ambush", "national_forces",
                                 "reported,verified")};
}

/// Compares every test tile and filter, SQLite against the index; returns the features compared.
std::size_t index_test_compare(geo::Database& db, const layers::IncidentIndex& index) {
    const std::vector<const layers::Layer*> incidents{&layers::find_layer("incidents")};
    layers::TileOptions options;
    options.cluster = false;
    std::size_t compared = 0;
    for (const auto& tile : index_test_tiles(db)) {
        for (const auto& filter : index_test_filters()) {
            INFO("tile " << tile.to_string() << " filter " << filter.key());
            const auto from_sqlite = test::mvt_features(layers::build_tile(db, tile, incidents, filter, options), "incidents");
            const auto from_index =
                test::mvt_features(layers::build_tile(db, tile, incidents, filter, options, &index), "incidents");
            REQUIRE(from_index == from_sqlite);
            compared += from_index.size();
        }
    }
    return compared;
}

geo::Database index_test_database(const test::TempDir& dir) {
    auto db = layers::open_database(dir.file("index.sqlite"), geo::Database::Mode::create);
    layers::import_default_dataset(db);
    return db;
}

} // namespace

TEST_CASE("incident index: the same incidents tiles as SQLite, with and without filters", "[db]") {
    test::TempDir dir;
    auto db = index_test_database(dir);
    layers::IncidentIndex index;
    const std::vector<const layers::Layer*> incidents{&layers::find_layer("incidents")};
    layers::TileOptions options;
    options.cluster = false;
    const auto tile = geo::lonlat_to_tile(-0.04, 16.27, 9);
    // Not built: it does not answer, and the tile comes from SQLite.
    CHECK_FALSE(index.ready());
    CHECK(layers::build_tile(db, tile, incidents, {}, options, &index) == layers::build_tile(db, tile, incidents, {}, options));

    index.build(db);
    REQUIRE(index.ready());
    auto count = db.prepare("SELECT count(*) FROM incidents WHERE geom IS NOT NULL");
    REQUIRE(count.step());
    CHECK(static_cast<std::int64_t>(index.size()) == count.column_int64(0));
    CHECK(index.sequence() == layers::last_change(db));
    CHECK(index_test_compare(db, index) > 1000);  // enough features to mean something

    // Other layers, and clustered incidents, still come from SQLite.
    geo::mvt::LayerBuilder bases("bases", 4096);
    CHECK_FALSE(index.add_points(bases, tile, layers::find_layer("bases"), {}, options));
}

TEST_CASE("incident index: creates, moves, attribute changes and deletes show after sync", "[db]") {
    test::TempDir dir;
    auto db = index_test_database(dir);
    layers::IncidentIndex index;
    index.build(db);
    const auto& layer = layers::find_layer("incidents");
    const layers::Actor actor{"tester", layers::Role::editor};
    const auto incident = [](const std::string& id, double lon, double lat, const char* type) {
        return R"({"type":"Feature","id":")" + id + R"(","geometry":{"type":"Point","coordinates":[)" +
               std::to_string(lon) + "," + std::to_string(lat) +
               R"(]},"properties":{"occurred_at":"2024-05-01T10:30:00Z","type":")" + type + R"(","target":"un_mission"}})";
    };
    const auto sync_and_compare = [&] {
        index.sync(db, layers::last_change(db));
        CHECK(index.sequence() == layers::last_change(db));
        return index_test_compare(db, index);
    };
    layers::create_feature(db, layer, layers::parse_feature(layer, incident("IDX-1", -0.05, 16.26, "ambush")), actor);
    layers::create_feature(db, layer, layers::parse_feature(layer, incident("IDX-2", -4.2, 14.5, "direct_fire")), actor);
    CHECK(sync_and_compare() > 0);
    layers::update_feature(db, layer, "IDX-1", R"({"properties":{"type":"indirect_fire","fatalities":3}})", actor);
    layers::update_feature(db, layer, "IDX-2", R"({"geometry":{"type":"Point","coordinates":[-0.03,16.28]}})", actor);
    CHECK(sync_and_compare() > 0);
    layers::delete_feature(db, layer, "IDX-1", actor);
    CHECK(sync_and_compare() > 0);
    auto count = db.prepare("SELECT count(*) FROM incidents WHERE geom IS NOT NULL");
    REQUIRE(count.step());
    CHECK(static_cast<std::int64_t>(index.size()) == count.column_int64(0));
}
