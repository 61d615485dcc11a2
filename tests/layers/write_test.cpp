#include "layers/write.hpp"

#include "geo/error.hpp"
#include "layers/changes.hpp"
#include "layers/demo.hpp"
#include "layers/features.hpp"
#include "layers/filter.hpp"
#include "layers/import.hpp"
#include "layers/schema.hpp"
#include "io_fixtures.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

using namespace sitmap;
using sitmap::test::scalar;
using nlohmann::json;

namespace {

/// A copy of the default dataset for one test (it writes), made from one imported once.
class WritableDemo {
public:
    WritableDemo() {
        static test::TempDir templates;
        static const std::string original = [] {
            const auto path = templates.file("demo.db");
            auto db = layers::open_database(path, geo::Database::Mode::create);
            layers::import_default_dataset(db);
            db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
            return path;
        }();
        std::filesystem::copy_file(original, m_dir.file("demo.db"));
        m_db.emplace(layers::open_database(m_dir.file("demo.db"), geo::Database::Mode::read_write));
    }
    geo::Database& db() { return *m_db; }

private:
    test::TempDir m_dir;
    std::optional<geo::Database> m_db;
};

const layers::Layer& incidents() { return layers::find_layer("incidents"); }

json incident(const std::string& id = "JOC-1", double lon = -0.04, double lat = 16.27) {
    json feature = {{"type", "Feature"},
                    {"geometry", {{"type", "Point"}, {"coordinates", {lon, lat}}}},
                    {"properties",
                     {{"occurred_at", "2024-05-01T10:30:00Z"}, {"type", "IED detonated"}, {"target", "un_mission"},
                      {"fatalities", 2}, {"description", "convoy hit north of Gao"}, {"callsign", "Bravo 2"}}}};
    if (!id.empty()) feature["id"] = id;
    return feature;
}

std::string reason(const layers::Layer& layer, const json& feature) {
    try {
        layers::parse_feature(layer, feature.dump());
    } catch (const input_error& e) {
        return e.what();
    }
    return "(accepted)";
}

const layers::Actor editor{"JOC Gao", layers::Role::editor};
const layers::Actor verifier{"Sector East G2", layers::Role::verifier};

} // namespace

TEST_CASE("write: a GeoJSON Feature is read into typed, normalised values", "[db]") {
    const auto input = layers::parse_feature(incidents(), incident().dump());
    CHECK(input.id == "JOC-1");
    CHECK(input.values["type"] == "ied_detonated");
    CHECK(input.values["fatalities"] == 2);
    CHECK(input.values["occurred_at"] == "2024-05-01T10:30:00Z");
    CHECK(input.extra["callsign"] == "Bravo 2");
    CHECK(input.bbox[0] == Approx(-0.04));
    CHECK(input.wkb.size() == 21);

    json numbered = incident();
    numbered["id"] = 42;
    CHECK(layers::parse_feature(incidents(), numbered.dump()).id == "42");
    json line = {{"type", "Feature"},
                 {"geometry", {{"type", "LineString"}, {"coordinates", {{-0.04, 16.27}, {0.5, 15.66}}}}},
                 {"properties", {{"name", "Gao - Ansongo"}}}};
    CHECK(layers::parse_feature(layers::find_layer("routes"), line.dump()).wkb.size() == 9 + 9 + 2 * 16);  // MULTILINESTRING of one
}

TEST_CASE("write: bad features are refused with the field named", "[db]") {
    auto with = [](const std::function<void(json&)>& change) {
        json f = incident();
        change(f);
        return f;
    };
    CHECK_THAT(reason(incidents(), json::array()), Catch::Contains("type: expected a GeoJSON Feature"));
    CHECK_THAT(reason(incidents(), with([](json& f) { f["geometry"]["type"] = "LineString"; })),
               Catch::Contains("geometry.type: incidents takes Point"));
    CHECK_THAT(reason(incidents(), with([](json& f) { f["geometry"]["coordinates"] = {2.35, 48.85}; })),
               Catch::Contains("outside Mali"));
    CHECK_THAT(reason(incidents(), with([](json& f) { f["geometry"]["coordinates"] = {"x", 16}; })),
               Catch::Contains("geometry.coordinates: expected a position"));
    CHECK_THAT(reason(incidents(), with([](json& f) { f.erase("geometry"); })), Catch::Contains("geometry: required"));
    CHECK_THAT(reason(incidents(), with([](json& f) { f["properties"]["type"] = "bomb"; })),
               Catch::Contains("properties.type: unknown value 'bomb'"));
    CHECK_THAT(reason(incidents(), with([](json& f) { f["properties"]["occurred_at"] = "yesterday"; })),
               Catch::Contains("properties.occurred_at"));
    CHECK_THAT(reason(incidents(), with([](json& f) { f["properties"].erase("occurred_at"); })),
               Catch::Contains("properties.occurred_at: required"));
    CHECK_THAT(reason(incidents(), with([](json& f) { f["properties"]["fatalities"] = -1; })),
               Catch::Contains("properties.fatalities"));
    CHECK_THAT(reason(incidents(), with([](json& f) { f["properties"]["fatalities"] = "2; DROP TABLE incidents"; })),
               Catch::Contains("properties.fatalities"));
    CHECK_THAT(reason(incidents(), with([](json& f) { f["properties"]["description"] = std::string(5000, 'x'); })),
               Catch::Contains("properties.description: longer than"));
    CHECK_THAT(reason(incidents(), with([](json& f) { f["properties"]["status"] = "probable"; })),
               Catch::Contains("properties.status: unknown value"));
    CHECK_THAT(reason(incidents(), with([](json& f) { f["id"] = json::object(); })), Catch::Contains("id: expected"));
    CHECK_THAT(reason(incidents(), with([](json& f) { f["properties"] = "none"; })),
               Catch::Contains("properties: expected an object"));

    json long_route = {{"type", "Feature"}, {"geometry", {{"type", "LineString"}, {"coordinates", json::array()}}},
                       {"properties", {{"name", "long"}}}};
    for (int i = 0; i < 100001; ++i) long_route["geometry"]["coordinates"].push_back({-1 + i * 1e-5, 15.0});
    CHECK_THAT(reason(layers::find_layer("routes"), long_route), Catch::Contains("more than 100000 positions"));
    json stub = long_route;
    stub["geometry"]["coordinates"] = {{-1.0, 15.0}, {-1.0, 15.0}};
    CHECK_THAT(reason(layers::find_layer("routes"), stub), Catch::Contains("geometry: not a valid"));

    REQUIRE_THROWS_WITH(layers::parse_feature(incidents(), "{\"type\": \"Feature\", "),
                        Catch::Contains("body: not valid JSON"));
    REQUIRE_THROWS_WITH(layers::parse_feature(incidents(), std::string(100000, '[')), Catch::Contains("nested deeper"));
    REQUIRE_THROWS_AS(layers::parse_feature(incidents(),
                                            R"({"type":"Feature","geometry":{"type":"Point","coordinates":[1e400,16]}})"),
                      input_error);  // out of double's range: not a finite coordinate
}

TEST_CASE("write: an API-created incident is reported, joined to its cercle, audited and logged", "[db]") {
    WritableDemo demo;
    auto& db = demo.db();
    const auto before_changes = layers::last_change(db);
    const auto stored = json::parse(layers::create_feature(db, incidents(), layers::parse_feature(incidents(), incident().dump()), editor));
    CHECK(stored["id"] == "JOC-1");
    CHECK(stored["properties"]["status"] == "reported");
    CHECK(stored["properties"]["reported_by"] == "JOC Gao");
    CHECK(stored["properties"]["verified_by"].is_null());
    CHECK(stored["properties"]["callsign"] == "Bravo 2");
    // Gao town: the cercle and region the import's spatial join gives the point.
    auto joined = db.prepare("SELECT c.id, c.region_id FROM cercles c WHERE ST_Contains(c.geom, MakePoint(-0.04, 16.27, 4326))");
    REQUIRE(joined.step());
    CHECK(stored["properties"]["cercle_id"] == std::string(joined.column_text(0)));
    CHECK_FALSE(stored["properties"]["region_id"].is_null());

    const auto changes = layers::changes_since(db, before_changes);
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].action == "create");
    CHECK(changes[0].feature_id == "JOC-1");
    CHECK(changes[0].bbox[0] == Approx(-0.04));
    const auto log = layers::audit_log(db, {"incidents", "JOC-1", 10});
    REQUIRE(log.size() == 1);
    CHECK(log[0]["action"] == "create");
    CHECK(log[0]["actor"] == "JOC Gao");
    CHECK(log[0]["before"].is_null());
    CHECK(log[0]["after"] == stored);

    REQUIRE_THROWS_AS(layers::create_feature(db, incidents(), layers::parse_feature(incidents(), incident().dump()), editor),
                      conflict_error);
    CHECK(scalar(db, "SELECT count(*) FROM sitmap_audit") == 1);

    json unnamed = incident("");
    const auto generated = json::parse(layers::create_feature(db, incidents(), layers::parse_feature(incidents(), unnamed.dump()), editor));
    CHECK_THAT(generated["id"].get<std::string>(), Catch::StartsWith("incidents-"));
}

TEST_CASE("write: only a verifier who did not report an incident may change its status", "[db]") {
    WritableDemo demo;
    auto& db = demo.db();
    layers::create_feature(db, incidents(), layers::parse_feature(incidents(), incident().dump()), editor);
    const std::string verify = R"({"properties":{"status":"verified"}})";
    REQUIRE_THROWS_AS(layers::update_feature(db, incidents(), "JOC-1", verify, editor), forbidden_error);
    const layers::Actor reporter_as_verifier{"JOC Gao", layers::Role::verifier};
    REQUIRE_THROWS_WITH(layers::update_feature(db, incidents(), "JOC-1", verify, reporter_as_verifier),
                        Catch::Contains("second person"));
    // An editor's edit leaves the status as it was.
    const auto edited = json::parse(layers::update_feature(db, incidents(), "JOC-1", R"({"properties":{"injuries":3}})", editor));
    CHECK(edited["properties"]["status"] == "reported");
    CHECK(edited["properties"]["injuries"] == 3);

    const auto verified = json::parse(layers::update_feature(db, incidents(), "JOC-1", verify, verifier));
    CHECK(verified["properties"]["status"] == "verified");
    CHECK(verified["properties"]["verified_by"] == "Sector East G2");
    CHECK(verified["properties"]["reported_by"] == "JOC Gao");
    CHECK(layers::audit_log(db, {"incidents", "JOC-1", 1})[0]["action"] == "verify");

    layers::Filter only_verified = layers::parse_filter("", "", "", "", "", "verified");
    layers::Filter only_reported = layers::parse_filter("", "", "", "", "", "reported");
    CHECK(layers::count_features(db, incidents(), only_reported) == 0);
    CHECK(layers::count_features(db, incidents(), only_verified) == scalar(db, "SELECT count(*) FROM incidents"));
    REQUIRE_THROWS_AS(layers::parse_filter("", "", "", "", "", "maybe"), input_error);
}

TEST_CASE("write: a merge patch changes what it names; replace and delete are audited", "[db]") {
    WritableDemo demo;
    auto& db = demo.db();
    layers::create_feature(db, incidents(), layers::parse_feature(incidents(), incident().dump()), editor);
    const auto mark = layers::last_change(db);
    const auto moved = json::parse(layers::update_feature(
        db, incidents(), "JOC-1",
        R"({"geometry":{"type":"Point","coordinates":[-3.99,16.77]},"properties":{"callsign":null,"fatalities":0}})", editor));
    CHECK(moved["geometry"]["coordinates"][0] == Approx(-3.99));
    CHECK_FALSE(moved["properties"].contains("callsign"));
    CHECK(moved["properties"]["fatalities"] == 0);
    CHECK(moved["properties"]["description"] == "convoy hit north of Gao");
    CHECK(moved["properties"]["cercle_id"] != json::parse(layers::audit_log(db, {"incidents", "JOC-1", 2})[1]["after"].dump())["properties"]["cercle_id"]);
    const auto change = layers::changes_since(db, mark).at(0);
    CHECK(change.action == "update");
    CHECK(change.bbox[0] == Approx(-3.99).margin(1e-4));  // the new place and the old one
    CHECK(change.bbox[2] == Approx(-0.04).margin(1e-4));

    json replacement = incident("JOC-1", -1.0, 14.5);
    replacement["properties"]["type"] = "ambush";
    const auto replaced = json::parse(layers::replace_feature(db, incidents(), "JOC-1",
                                                              layers::parse_feature(incidents(), replacement.dump()), editor));
    CHECK(replaced["properties"]["type"] == "ambush");
    CHECK(replaced["properties"]["status"] == "reported");
    REQUIRE_THROWS_WITH(layers::replace_feature(db, incidents(), "JOC-2", layers::parse_feature(incidents(), replacement.dump()), editor),
                        Catch::Contains("no feature 'JOC-2'"));
    REQUIRE_THROWS_AS(layers::replace_feature(db, incidents(), "JOC-1", layers::parse_feature(incidents(), incident("X").dump()), editor),
                      input_error);
    REQUIRE_THROWS_AS(layers::update_feature(db, incidents(), "JOC-1", R"({"properties":{"type":"bomb"}})", editor), input_error);
    REQUIRE_THROWS_AS(layers::update_feature(db, incidents(), "JOC-1", R"(["not","an","object"])", editor), input_error);

    layers::delete_feature(db, incidents(), "JOC-1", editor);
    CHECK(scalar(db, "SELECT count(*) FROM incidents WHERE id = 'JOC-1'") == 0);
    const auto log = layers::audit_log(db, {"incidents", "JOC-1", 10});
    REQUIRE(log.size() == 4);
    CHECK(log[0]["action"] == "delete");
    CHECK(log[0]["after"].is_null());
    CHECK(log[0]["before"] == replaced);
    CHECK(layers::changes_since(db, layers::last_change(db) - 1).at(0).action == "delete");
    REQUIRE_THROWS_AS(layers::delete_feature(db, incidents(), "JOC-1", editor), not_found_error);
    REQUIRE_THROWS_AS(layers::delete_feature(db, layers::find_layer("regions"), "anything", editor), input_error);
}

TEST_CASE("write: a write failing halfway leaves nothing behind", "[db]") {
    WritableDemo demo;
    auto& db = demo.db();
    db.exec("CREATE TRIGGER refuse_audit BEFORE INSERT ON sitmap_audit BEGIN SELECT RAISE(ABORT, 'audit refused'); END");
    const auto incidents_before = scalar(db, "SELECT count(*) FROM incidents");
    const auto changes_before = layers::last_change(db);
    REQUIRE_THROWS(layers::create_feature(db, incidents(), layers::parse_feature(incidents(), incident().dump()), editor));
    CHECK(scalar(db, "SELECT count(*) FROM incidents") == incidents_before);
    CHECK(scalar(db, "SELECT count(*) FROM idx_incidents_geom") == incidents_before);
    CHECK(layers::last_change(db) == changes_before);
    const std::string some_id = [&] {
        auto stmt = db.prepare("SELECT id FROM bases ORDER BY fid LIMIT 1");
        stmt.step();
        return std::string(stmt.column_text(0));
    }();
    const std::string base_before = layers::feature_by_id(db, layers::find_layer("bases"), some_id);
    REQUIRE_THROWS(layers::delete_feature(db, layers::find_layer("bases"), some_id, editor));
    CHECK(layers::feature_by_id(db, layers::find_layer("bases"), some_id) == base_before);
    CHECK(scalar(db, "SELECT count(*) FROM sitmap_audit") == 0);
}

TEST_CASE("write: imported incidents are verified unless the source says otherwise", "[db]") {
    WritableDemo demo;
    CHECK(scalar(demo.db(), "SELECT count(*) FROM incidents WHERE status <> 'verified' OR reported_by IS NOT NULL") == 0);
}

TEST_CASE("write: an upsert import keeps the status and reporter of an API-created incident", "[db][gdal]") {
    WritableDemo demo;
    auto& db = demo.db();
    layers::create_feature(db, incidents(), layers::parse_feature(incidents(), incident().dump()), editor);
    // The same id comes back in a file with a corrected description and no status column.
    test::TempDir dir;
    const auto source = dir.file("correction.geojson");
    json correction = incident();
    correction["properties"]["description"] = "convoy hit 12 km north of Gao";
    std::ofstream(source) << json{{"type", "FeatureCollection"}, {"features", {correction}}}.dump();
    layers::ImportOptions options;
    options.layer = "incidents";
    options.source = source;
    options.mode = layers::ImportMode::upsert;
    layers::import_layer(db, options);

    auto row = db.prepare("SELECT description, status, reported_by FROM incidents WHERE id = 'JOC-1'");
    REQUIRE(row.step());
    CHECK(std::string(row.column_text(0)) == "convoy hit 12 km north of Gao");
    CHECK(std::string(row.column_text(1)) == "reported");
    CHECK(std::string(row.column_text(2)) == "JOC Gao");
}
