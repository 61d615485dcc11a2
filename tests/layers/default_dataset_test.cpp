#include "layers/demo.hpp"

#include "layers/features.hpp"
#include "layers/schema.hpp"
#include "io_fixtures.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace sitmap;
using sitmap::test::scalar;

namespace {

} // namespace

TEST_CASE("default dataset: every layer is imported through the user's import path", "[db][gdal]") {
    test::TempDir dir;
    auto db = layers::open_database(dir.file("demo.sqlite"), geo::Database::Mode::create);
    const auto summaries = layers::import_default_dataset(db);
    REQUIRE(summaries.size() == 5);
    for (const auto& s : summaries) {
        CHECK(s.read == s.written);
        CHECK(s.skipped == 0);
    }
    CHECK(scalar(db, "SELECT count(*) FROM regions") == 9);
    CHECK(scalar(db, "SELECT count(*) FROM cercles") == 50);
    CHECK(scalar(db, "SELECT count(*) FROM bases") >= 15);
    CHECK(scalar(db, "SELECT count(*) FROM routes") >= 4);
    CHECK(scalar(db, "SELECT count(*) FROM incidents") >= 2000);

    SECTION("geometries are valid and in Mali") {
        CHECK(scalar(db, "SELECT count(*) FROM cercles WHERE ST_IsValid(geom) = 0") == 0);
        CHECK(scalar(db, "SELECT count(*) FROM regions WHERE ST_IsValid(geom) = 0") == 0);
        CHECK(scalar(db, "SELECT count(*) FROM incidents WHERE ST_X(geom) < -12.3 OR ST_X(geom) > 4.3 "
                         "OR ST_Y(geom) < 10.1 OR ST_Y(geom) > 25.1") == 0);
    }
    SECTION("every incident was joined to its cercle and region by the spatial join") {
        CHECK(scalar(db, "SELECT count(*) FROM incidents WHERE cercle_id IS NULL OR region_id IS NULL") == 0);
        CHECK(scalar(db, "SELECT count(*) FROM incidents i JOIN cercles c ON c.id = i.cercle_id "
                         "WHERE NOT ST_Intersects(c.geom, i.geom)") == 0);
        CHECK(scalar(db, "SELECT count(*) FROM incidents i JOIN cercles c ON c.id = i.cercle_id "
                         "WHERE c.region_id <> i.region_id") == 0);
    }
    SECTION("the second half of 2020 reproduces the Secretary-General's letter of 23 December 2020") {
        const std::string window = " AND occurred_at >= '2020-07-01' AND occurred_at <= '2020-12-23T23:59:59Z'";
        CHECK(scalar(db, "SELECT count(*) FROM incidents WHERE type IN ('ied_detonated','ied_neutralized')" + window) == 98);
        CHECK(scalar(db, "SELECT count(*) FROM incidents WHERE target = 'un_mission' AND "
                         "type IN ('ied_detonated','ied_neutralized')" + window) == 39);
        CHECK(scalar(db, "SELECT count(*) FROM incidents WHERE target = 'un_mission' AND type = 'ied_neutralized'" +
                         window) == 19);
        CHECK(scalar(db, "SELECT count(*) FROM incidents WHERE target = 'un_mission' AND type = 'ied_detonated'" +
                         window) == 20);
    }
    SECTION("synthetic and approximate records say so") {
        CHECK(scalar(db, "SELECT count(*) FROM incidents WHERE synthetic <> 1") == 0);
        CHECK(scalar(db, "SELECT count(*) FROM cercles WHERE approximate <> 1") == 0);
    }
    SECTION("names keep their accents") {
        auto stmt = db.prepare("SELECT name FROM cercles WHERE id = 'ML0704'");
        REQUIRE(stmt.step());
        CHECK(stmt.column_text(0) == "Ménaka");
    }
    SECTION("GeoJSON features carry typed properties") {
        layers::FeatureQuery query;
        query.limit = 1;
        query.filter = layers::parse_filter("", "2020-07-01", "2020-12-23", "ied_detonated", "un_mission");
        std::vector<std::string> features;
        layers::write_features(db, layers::find_layer("incidents"), query,
                               [&](std::string_view f) { features.emplace_back(f); });
        REQUIRE(features.size() == 1);
        const auto feature = nlohmann::json::parse(features[0]);
        CHECK(feature["type"] == "Feature");
        CHECK(feature["geometry"]["type"] == "Point");
        CHECK(feature["properties"]["type"] == "ied_detonated");
        CHECK(feature["properties"]["fatalities"].is_number_integer());
        CHECK(feature["properties"]["synthetic"] == true);
        CHECK(layers::count_features(db, layers::find_layer("incidents"), query.filter) == 20);
    }
}
