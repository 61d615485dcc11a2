// The cluster cells kept in memory give the same clustered tiles as counting the incidents, before
// and after creates, moves and deletes, and with a filter the incidents are still counted.

#include "layers/cluster_pyramid.hpp"

#include "geo/tile.hpp"
#include "layers/demo.hpp"
#include "layers/schema.hpp"
#include "layers/tiles.hpp"
#include "layers/write.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iomanip>
#include <random>
#include <string>
#include <vector>

using namespace sitmap;

namespace {

/// `count` incidents: most around a few towns (cells of many), some scattered (cells of one).
void write_clustered_incidents(const std::string& path, int count) {
    std::mt19937 random(7);
    std::normal_distribution<double> spread(0.0, 0.08);
    std::uniform_real_distribution<double> lon(-11.0, 4.0), lat(10.5, 24.5);
    const double towns[][2] = {{-3.996, 16.773}, {0.044, 16.272}, {-4.197, 14.494}, {-8.0, 12.65}};
    const char* types[] = {"ied_detonated", "ambush", "direct_fire", "indirect_fire"};
    std::ofstream out(path);
    // Full precision: a point exactly on a tile's edge (-4.21875 at 6 digits) falls in the cell on
    // either side depending on the last bit of the arithmetic, and counting the incidents tile by
    // tile does that arithmetic per tile, where the cells are counted once for every tile.
    out << std::setprecision(17) << "id,occurred_at,type,target,lon,lat\n";
    for (int i = 0; i < count; ++i) {
        const bool scattered = i % 10 == 0;
        const auto& town = towns[i % 4];
        out << "P-" << i << ",2021-0" << 1 + i % 9 << "-15T08:00:00Z," << types[i % 4] << ",un_mission,"
            << (scattered ? lon(random) : town[0] + spread(random)) << ','
            << (scattered ? lat(random) : town[1] + spread(random)) << '\n';
    }
}

/// The tiles of zooms 3 to 8 around Mopti and Gao (each with its neighbours).
std::vector<geo::TileId> tiles_around_towns() {
    std::vector<geo::TileId> tiles;
    for (int z = 3; z < layers::cluster_below_zoom; ++z) {
        for (const auto& [lon, lat] : {std::pair{-4.197, 14.494}, {0.044, 16.272}}) {
            const auto centre = geo::lonlat_to_tile(lon, lat, z);
            for (int dx = -1; dx <= 1; ++dx) {
                for (int dy = -1; dy <= 1; ++dy) tiles.push_back(geo::TileId{z, centre.x + dx, centre.y + dy});
            }
        }
    }
    return tiles;
}

/// Every tile built from the cells equals the one built by counting the incidents.
void check_same_tiles(geo::Database& db, layers::ClusterPyramid& pyramid, const layers::Filter& filter = {}) {
    const std::vector<const layers::Layer*> incidents{&layers::find_layer("incidents")};
    layers::TileOptions counted;
    layers::TileOptions from_cells;
    from_cells.clusters = &pyramid;
    for (const auto& tile : tiles_around_towns()) {
        INFO("tile " << tile.to_string());
        const std::string expected = layers::build_tile(db, tile, incidents, filter, counted);
        CHECK(layers::build_tile(db, tile, incidents, filter, from_cells) == expected);
    }
}

nlohmann::json incident_at(double lon, double lat) {
    return {{"type", "Feature"},
            {"geometry", {{"type", "Point"}, {"coordinates", {lon, lat}}}},
            {"properties", {{"occurred_at", "2024-05-01T10:30:00Z"}, {"type", "ambush"}, {"target", "un_mission"}}}};
}

} // namespace

TEST_CASE("cluster cells: tiles from the cells equal tiles counted from the incidents, through writes", "[db]") {
    test::TempDir dir;
    auto db = layers::open_database(dir.file("clusters.sqlite"), geo::Database::Mode::create);
    layers::import_default_dataset(db);
    write_clustered_incidents(dir.file("incidents.csv"), 20000);
    layers::ImportOptions import;
    import.layer = "incidents";
    import.source = dir.file("incidents.csv");
    import.mode = layers::ImportMode::append;
    layers::import_layer(db, import);

    layers::ClusterPyramid pyramid(layers::find_layer("incidents"));
    check_same_tiles(db, pyramid);

    const layers::Actor editor{"JOC Mopti", layers::Role::editor};
    const auto& incidents = layers::find_layer("incidents");
    std::vector<std::string> created;
    for (const auto& [lon, lat] : {std::pair{-4.19, 14.49}, {-4.3, 14.6}, {0.05, 16.27}, {-2.0, 20.0}}) {
        const auto stored = nlohmann::json::parse(
            layers::create_feature(db, incidents, layers::parse_feature(incidents, incident_at(lon, lat).dump()), editor));
        created.push_back(stored["id"].get<std::string>());
    }
    SECTION("created incidents are counted in their cells and every cell above") { check_same_tiles(db, pyramid); }
    SECTION("a moved and a deleted incident leave their cells, the moved one joins another") {
        layers::update_feature(db, incidents, created[0], R"({"geometry":{"type":"Point","coordinates":[0.2,16.1]}})",
                               editor);
        layers::delete_feature(db, incidents, created[3], editor);
        layers::delete_feature(db, incidents, "P-10", editor);  // a scattered one: its cell held only it
        check_same_tiles(db, pyramid);
    }
    SECTION("a filter is counted from the incidents (the cells hold every incident)") {
        layers::Filter ambushes;
        ambushes.types = {"ambush"};
        check_same_tiles(db, pyramid, ambushes);
    }
}
