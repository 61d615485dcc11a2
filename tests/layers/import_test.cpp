#include "layers/import.hpp"

#include "geo/error.hpp"
#include "layers/features.hpp"
#include "layers/schema.hpp"
#include "io_fixtures.hpp"
#include "http_client.hpp"
#include "sitmap_process.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <future>
#include <spawn.h>
#include <sys/wait.h>

using namespace sitmap;
using namespace sitmap::test;
using nlohmann::json;

namespace {

/// The three cercles of cercles_fr.geojson, with their accents, as every format must give them back.
void check_three_cercles(geo::Database& db) {
    CHECK(scalar(db, "SELECT count(*) FROM cercles") == 3);
    CHECK(text(db, "SELECT name FROM cercles WHERE id = 'ML0704'") == "Ménaka");
    CHECK(text(db, "SELECT name FROM cercles WHERE id = 'ML0406'") == "Ségou");
    CHECK(text(db, "SELECT name FROM cercles WHERE id = 'ML0601'") == "Diré");
    CHECK(text(db, "SELECT region_id FROM cercles WHERE id = 'ML0704'") == "ML07");
    CHECK(scalar(db, "SELECT json_extract(props, '$.population') FROM cercles WHERE id = 'ML0406'") == 496000);
    CHECK(scalar(db, "SELECT count(*) FROM cercles WHERE ST_IsValid(geom) = 1 AND ST_SRID(geom) = 4326") == 3);
    CHECK(real(db, "SELECT MbrMinX(geom) FROM cercles WHERE id = 'ML0704'") == Approx(1.0).margin(1e-7));
    CHECK(real(db, "SELECT MbrMaxY(geom) FROM cercles WHERE id = 'ML0704'") == Approx(17.0).margin(1e-7));
    CHECK(real(db, "SELECT ST_Area(geom) FROM cercles WHERE id = 'ML0601'") == Approx(0.5 + 0.2).margin(1e-7));
}

layers::ImportOptions options_for(const std::string& layer, const std::string& source) {
    layers::ImportOptions options;
    options.layer = layer;
    options.source = source;
    return options;
}

} // namespace

TEST_CASE("import: every format GDAL reads gives the same cercles, accents intact", "[db][gdal]") {
    TempDir dir;
    const std::string geojson = fixture("cercles_fr.geojson");
    auto db = layers::open_database(dir.file("io.sqlite"), geo::Database::Mode::create);
    auto import = [&](layers::ImportOptions options) {
        const auto summary = layers::import_layer(db, options);
        CHECK(summary.read == 3);
        CHECK(summary.written == 3);
        CHECK(summary.skipped == 0);
        check_three_cercles(db);
    };

    SECTION("GeoJSON") { import(options_for("cercles", geojson)); }
    SECTION("Shapefile, and the same zipped, read through /vsizip/") {
        run("ogr2ogr -f 'ESRI Shapefile' -lco ENCODING=UTF-8 " + dir.file("cercles.shp") + " " + geojson);
        import(options_for("cercles", dir.file("cercles.shp")));
        run("cd " + dir.path().string() + " && zip -q cercles.zip cercles.shp cercles.shx cercles.dbf cercles.prj cercles.cpg");
        import(options_for("cercles", "/vsizip/" + dir.file("cercles.zip") + "/cercles.shp"));
    }
    SECTION("GeoPackage with two layers, the one asked for with --source-layer") {
        run("ogr2ogr -f GPKG " + dir.file("two.gpkg") + " " + fixture("invalid_polygons.geojson") + " -nln first");
        run("ogr2ogr -f GPKG -update " + dir.file("two.gpkg") + " " + geojson + " -nln admin2");
        auto options = options_for("cercles", dir.file("two.gpkg"));
        options.source_layer = "admin2";
        import(options);
        options.source_layer = "nothing";
        REQUIRE_THROWS_WITH(layers::import_layer(db, options), Catch::Contains("first") && Catch::Contains("admin2"));
    }
    SECTION("KML") {
        run("ogr2ogr -f KML -dsco NameField=ADM2_FR " + dir.file("cercles.kml") + " " + geojson);
        import(options_for("cercles", dir.file("cercles.kml")));
    }
    SECTION("FlatGeobuf") {
        run("ogr2ogr -f FlatGeobuf " + dir.file("cercles.fgb") + " " + geojson);
        import(options_for("cercles", dir.file("cercles.fgb")));
    }
    SECTION("CSV with a WKT column, which declares no CRS: refused, then read with --assume-crs") {
        run("ogr2ogr -f CSV -lco GEOMETRY=AS_WKT " + dir.file("cercles.csv") + " " + geojson);
        REQUIRE_THROWS_WITH(layers::import_layer(db, options_for("cercles", dir.file("cercles.csv"))),
                            Catch::Contains("no coordinate reference system") && Catch::Contains("--assume-crs"));
        CHECK(scalar(db, "SELECT count(*) FROM cercles") == 0);
        auto options = options_for("cercles", dir.file("cercles.csv"));
        options.assume_crs = "EPSG:4326";
        import(options);
    }
    SECTION("a projected file (UTM zone 30N) is reprojected to EPSG:4326") {
        run("ogr2ogr -f GPKG -t_srs EPSG:32630 " + dir.file("utm.gpkg") + " " + geojson);
        CHECK(run_output("ogrinfo -so -al " + dir.file("utm.gpkg")).find("UTM zone 30N") != std::string::npos);
        import(options_for("cercles", dir.file("utm.gpkg")));
        // The square's corner, reprojected there and back: the same degrees to a millimetre.
        CHECK(real(db, "SELECT MbrMinY(geom) FROM cercles WHERE id = 'ML0406'") == Approx(13.0).margin(1e-7));
        CHECK(real(db, "SELECT MbrMinX(geom) FROM cercles WHERE id = 'ML0406'") == Approx(-7.0).margin(1e-7));
    }
    SECTION("a shapefile without its .prj is refused unless --assume-crs names its CRS") {
        run("ogr2ogr -f 'ESRI Shapefile' -t_srs EPSG:32630 " + dir.file("noprj.shp") + " " + geojson);
        std::filesystem::remove(dir.file("noprj.prj"));
        REQUIRE_THROWS_WITH(layers::import_layer(db, options_for("cercles", dir.file("noprj.shp"))),
                            Catch::Contains("noprj.shp declares no coordinate reference system"));
        auto options = options_for("cercles", dir.file("noprj.shp"));
        options.assume_crs = "EPSG:4326";  // wrong: metres read as degrees are refused, not stored
        REQUIRE_THROWS_WITH(layers::import_layer(db, options), Catch::Contains("out of range for EPSG:4326"));
        CHECK(scalar(db, "SELECT count(*) FROM cercles") == 0);
        options.assume_crs = "EPSG:32630";
        import(options);
    }
}

TEST_CASE("import: invalid polygons are repaired, stray parts dropped, empty geometries refused", "[db][gdal]") {
    TempDir dir;
    auto db = layers::open_database(dir.file("io.sqlite"), geo::Database::Mode::create);
    const auto summary = layers::import_layer(db, options_for("cercles", fixture("invalid_polygons.geojson")));
    CHECK(summary.written == 3);
    CHECK(summary.repaired == 1);
    CHECK(summary.dropped_parts == 1);
    CHECK(scalar(db, "SELECT count(*) FROM cercles WHERE ST_IsValid(geom) = 1") == 3);
    CHECK(text(db, "SELECT GeometryType(geom) FROM cercles WHERE id = 'MIX-1'") == "MULTIPOLYGON");
    // The bow tie becomes its two triangles: area 2 * 0.25.
    CHECK(real(db, "SELECT ST_Area(geom) FROM cercles WHERE id = 'BOW-1'") == Approx(0.5).margin(1e-9));

    write_file(dir.file("empty.geojson"), R"({"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{"pcode":"A","name":"a"},"geometry":{"type":"Polygon","coordinates":[[[0,14],[1,14],[1,15],[0,14]]]}},
        {"type":"Feature","properties":{"pcode":"B","name":"b"},"geometry":null},
        {"type":"Feature","properties":{"pcode":"C","name":"c"},"geometry":{"type":"LineString","coordinates":[[0,14],[1,15]]}}]})");
    REQUIRE_THROWS_WITH(layers::import_layer(db, options_for("cercles", dir.file("empty.geojson"))),
                        Catch::Contains("empty.geojson") && Catch::Contains("feature 2") &&
                            Catch::Contains("no geometry"));
    CHECK(scalar(db, "SELECT count(*) FROM cercles") == 3);  // the import before is untouched

    auto skipping = options_for("cercles", dir.file("empty.geojson"));
    skipping.skip_invalid = true;
    const auto skipped = layers::import_layer(db, skipping);
    CHECK(skipped.written == 1);
    CHECK(skipped.skipped == 2);
    REQUIRE(skipped.skipped_reasons.size() == 2);
    CHECK_THAT(skipped.skipped_reasons[0], Catch::Contains("feature 2"));
    CHECK_THAT(skipped.skipped_reasons[1], Catch::Contains("feature 3") && Catch::Contains("no polygon"));
}

TEST_CASE("import: the common field names of COD-AB, geoBoundaries and GADM are recognised", "[db][gdal]") {
    TempDir dir;
    auto db = layers::open_database(dir.file("io.sqlite"), geo::Database::Mode::create);
    const std::string square = R"("geometry":{"type":"Polygon","coordinates":[[[0,14],[1,14],[1,15],[0,15],[0,14]]]})";
    SECTION("OCHA COD-AB: ADM1_PCODE, ADM1_FR") {
        write_file(dir.file("a.geojson"), R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ADM1_PCODE":"ML07","ADM1_FR":"Gao","ADM0_FR":"Mali"},)" + square + "}]}");
        layers::import_layer(db, options_for("regions", dir.file("a.geojson")));
        CHECK(text(db, "SELECT id || '|' || name || '|' || json_extract(props, '$.ADM0_FR') FROM regions") == "ML07|Gao|Mali");
    }
    SECTION("geoBoundaries: shapeName, shapeID") {
        write_file(dir.file("b.geojson"), R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"shapeName":"Tin-Essako","shapeID":"MLI-ADM2-3_0_0-B12","shapeGroup":"MLI"},)" + square + "}]}");
        layers::import_layer(db, options_for("cercles", dir.file("b.geojson")));
        CHECK(text(db, "SELECT id || '|' || name FROM cercles") == "MLI-ADM2-3_0_0-B12|Tin-Essako");
    }
    SECTION("GADM: GID_2, NAME_2, GID_1") {
        write_file(dir.file("c.geojson"), R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"GID_2":"MLI.6.3_1","NAME_2":"Niafunké","GID_1":"MLI.6_1","NAME_1":"Timbuktu"},)" + square + "}]}");
        layers::import_layer(db, options_for("cercles", dir.file("c.geojson")));
        CHECK(text(db, "SELECT id || '|' || name || '|' || region_id FROM cercles") == "MLI.6.3_1|Niafunké|MLI.6_1");
    }
    SECTION("--map names the fields nobody could guess, and a wrong --map is a clear error") {
        write_file(dir.file("d.geojson"), R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"libelle":"Bourem","code_insee":"ML0702"},)" + square + "}]}");
        auto options = options_for("cercles", dir.file("d.geojson"));
        REQUIRE_THROWS_WITH(layers::import_layer(db, options), Catch::Contains("feature 1") && Catch::Contains("name"));
        options.field_map = {{"libelle", "name"}, {"code_insee", "id"}};
        layers::import_layer(db, options);
        CHECK(text(db, "SELECT id || '|' || name FROM cercles") == "ML0702|Bourem");
        options.field_map = {{"libelle", "title"}};
        REQUIRE_THROWS_WITH(layers::import_layer(db, options), Catch::Contains("no attribute 'title'"));
        options.field_map = {{"nom", "name"}};
        REQUIRE_THROWS_WITH(layers::import_layer(db, options), Catch::Contains("has no field 'nom'"));
    }
    SECTION("--sql recodes a source's fields (ROWCA's MLI007 to COD-AB's ML07)") {
        write_file(dir.file("e.geojson"), R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ADM1_NAME":"Gao","rowcacode1":"MLI007"},)" + square + "}]}");
        auto options = options_for("regions", dir.file("e.geojson"));
        options.sql = "SELECT 'ML' || substr(rowcacode1, 5, 2) AS pcode, * FROM e";
        layers::import_layer(db, options);
        CHECK(text(db, "SELECT id || '|' || name || '|' || json_extract(props, '$.rowcacode1') FROM regions") == "ML07|Gao|MLI007");
        options.sql = "SELECT nonsense FROM e";
        REQUIRE_THROWS_WITH(layers::import_layer(db, options), Catch::Contains("--sql"));
    }
}

TEST_CASE("import: ACLED's columns become incidents, unknown types 'other', every extra column kept", "[db][gdal]") {
    TempDir dir;
    auto db = layers::open_database(dir.file("io.sqlite"), geo::Database::Mode::create);
    layers::import_layer(db, options_for("cercles", fixture("cercles_fr.geojson")));
    const auto summary = layers::import_layer(db, options_for("incidents", fixture("acled_incidents.csv")));
    CHECK(summary.written == 5);
    CHECK(summary.joined == 2);  // the points near Ménaka and Niono; the other three lie outside the fixture's cercles
    CHECK(text(db, "SELECT group_concat(type, ',') FROM (SELECT type FROM incidents ORDER BY occurred_at)") ==
          "ied_detonated,direct_fire,attack_on_civilians,indirect_fire,other");
    CHECK(text(db, "SELECT occurred_at FROM incidents ORDER BY occurred_at LIMIT 1") == "2020-03-12T00:00:00Z");
    CHECK(text(db, "SELECT json_extract(props, '$.type_original') FROM incidents WHERE type = 'other'") ==
          "Strategic developments");
    CHECK(text(db, "SELECT json_extract(props, '$.type_original') FROM incidents WHERE type = 'ied_detonated'") ==
          "Explosions/Remote violence");
    CHECK(text(db, "SELECT description FROM incidents WHERE type = 'direct_fire'") ==
          "Clash near Ménaka; casualties on both sides.");
    CHECK(scalar(db, "SELECT fatalities FROM incidents WHERE type = 'direct_fire'") == 12);
    CHECK(text(db, "SELECT source FROM incidents WHERE type = 'indirect_fire'") == "MINUSMA");
    CHECK(text(db, "SELECT cercle_id || '|' || region_id FROM incidents WHERE type = 'direct_fire'") == "ML0704|ML07");
    CHECK(text(db, "SELECT cercle_id FROM incidents WHERE type = 'attack_on_civilians'") == "ML0406");
    CHECK(scalar(db, "SELECT count(*) FROM incidents WHERE type = 'other' AND cercle_id IS NULL") == 1);  // Kidal

    // The columns the schema has no place for come back in the API.
    const auto id = text(db, "SELECT id FROM incidents WHERE type = 'direct_fire'");
    const auto feature = json::parse(layers::feature_by_id(db, layers::find_layer("incidents"), id));
    const auto& p = feature["properties"];
    CHECK(p["sub_event_type"] == "Armed clash");
    CHECK(p["actor1"] == "Islamic State (Greater Sahara)");
    CHECK(p["admin1"] == "Gao");
    CHECK(p["admin2"] == "Ménaka");
    CHECK(p["geo_precision"] == "2");
    CHECK(p["time_precision"] == "1");
    CHECK(p["cercle_id"] == "ML0704");
    CHECK_FALSE(p.contains("latitude"));  // the geometry's columns are the geometry
    CHECK(feature["geometry"]["coordinates"][0].get<double>() == Approx(2.4014));
}

TEST_CASE("import: replace, append and upsert; replacing boundaries re-joins every incident", "[db][gdal]") {
    TempDir dir;
    auto db = layers::open_database(dir.file("io.sqlite"), geo::Database::Mode::create);
    layers::import_layer(db, options_for("cercles", fixture("cercles_fr.geojson")));
    layers::import_layer(db, options_for("incidents", fixture("acled_incidents.csv")));

    auto append = options_for("cercles", fixture("cercles_fr.geojson"));
    append.mode = layers::ImportMode::append;
    REQUIRE_THROWS_WITH(layers::import_layer(db, append), Catch::Contains("feature 1") && Catch::Contains("--mode upsert"));
    CHECK(scalar(db, "SELECT count(*) FROM cercles") == 3);

    // Ménaka moves and is renamed; a new cercle comes: upsert keeps the others.
    write_file(dir.file("moved.geojson"), R"js({"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{"ADM2_PCODE":"ML0704","ADM2_FR":"Ménaka (new)","ADM1_PCODE":"ML07"},"geometry":{"type":"Polygon","coordinates":[[[-9,10.5],[-8,10.5],[-8,11],[-9,11],[-9,10.5]]]}},
        {"type":"Feature","properties":{"ADM2_PCODE":"ML0799","ADM2_FR":"Nouveau","ADM1_PCODE":"ML07"},"geometry":{"type":"Polygon","coordinates":[[[1,15],[3,15],[3,17],[1,17],[1,15]]]}}]})js");
    auto upsert = options_for("cercles", dir.file("moved.geojson"));
    upsert.mode = layers::ImportMode::upsert;
    const auto summary = layers::import_layer(db, upsert);
    CHECK(summary.written == 2);
    CHECK(scalar(db, "SELECT count(*) FROM cercles") == 4);
    CHECK(text(db, "SELECT name FROM cercles WHERE id = 'ML0704'") == "Ménaka (new)");
    CHECK(text(db, "SELECT cercle_id FROM incidents WHERE type = 'direct_fire'") == "ML0799");  // re-joined
    CHECK(summary.joined == scalar(db, "SELECT count(*) FROM incidents WHERE cercle_id IS NOT NULL"));

    layers::import_layer(db, options_for("cercles", dir.file("moved.geojson")));  // replace
    CHECK(scalar(db, "SELECT count(*) FROM cercles") == 2);
    CHECK(scalar(db, "SELECT count(*) FROM incidents WHERE cercle_id = 'ML0406'") == 0);  // Ségou is gone
    CHECK(scalar(db, "SELECT count(*) FROM sitmap_changes WHERE layer = 'cercles'") == 3);
}

TEST_CASE("import: one bad feature and nothing is written; the error names file, feature and field", "[db][gdal]") {
    TempDir dir;
    auto db = layers::open_database(dir.file("io.sqlite"), geo::Database::Mode::create);
    layers::import_layer(db, options_for("incidents", fixture("acled_incidents.csv")));
    const auto before = scalar(db, "SELECT count(*) FROM incidents");
    const auto changes = scalar(db, "SELECT count(*) FROM sitmap_changes");
    const std::string header = "id,occurred_at,type,fatalities,lon,lat\n";
    auto refused = [&](const std::string& name, const std::string& body, const std::string& why) {
        write_file(dir.file(name), body);
        REQUIRE_THROWS_AS(layers::import_layer(db, options_for("incidents", dir.file(name))), input_error);
        REQUIRE_THROWS_WITH(layers::import_layer(db, options_for("incidents", dir.file(name))),
                            Catch::Contains(name) && Catch::Contains(why));
        CHECK(scalar(db, "SELECT count(*) FROM incidents") == before);
        CHECK(scalar(db, "SELECT count(*) FROM sitmap_changes") == changes);
    };
    refused("lat200.csv", header + "A,2020-01-01,ambush,0,-3,14\nB,2020-01-02,ambush,0,-3,200\n",
            "feature 2: coordinates out of range");
    refused("baddate.csv", header + "A,2020-01-01,ambush,0,-3,14\nB,2020-02-31,ambush,0,-3,14\n",
            "feature 2: field 'occurred_at' (occurred_at): '2020-02-31' is not an ISO 8601 date");
    refused("badnumber.csv", header + "A,2020-01-01,ambush,many,-3,14\n", "feature 1: field 'fatalities'");
    refused("twice.csv", header + "A,2020-01-01,ambush,0,-3,14\nA,2020-01-02,ambush,0,-3,14\n", "feature 2");
    refused("broken_ring.geojson",
            R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"occurred_at":"2020-01-01","type":"ambush"},"geometry":{"type":"Polygon","coordinates":[[[0,14],[1,14],[0,14]]]}}]})",
            "feature 1");

    // The command line: exit 2, the same message, the database unchanged.
    auto cli = run_sitmap({"import", "--db", dir.file("io.sqlite"), "--layer", "incidents", dir.file("lat200.csv")});
    CHECK(cli.exit_code == 2);
    CHECK_THAT(cli.output, Catch::Contains("lat200.csv") && Catch::Contains("feature 2"));
    auto skip = run_sitmap({"import", "--db", dir.file("io.sqlite"), "--layer", "incidents", "--mode", "append",
                            "--skip-invalid", dir.file("baddate.csv")});
    CHECK(skip.exit_code == 0);
    CHECK_THAT(skip.output, Catch::Contains("read 2, written 1") && Catch::Contains("skipped 1") &&
                                Catch::Contains("skipped: importing") && Catch::Contains("2020-02-31"));
    CHECK(scalar(db, "SELECT count(*) FROM incidents") == before + 1);
}

TEST_CASE("import: hostile files get a clear error and change nothing", "[db][gdal]") {
    TempDir dir;
    auto db = layers::open_database(dir.file("io.sqlite"), geo::Database::Mode::create);
    layers::import_layer(db, options_for("cercles", fixture("cercles_fr.geojson")));
    SECTION("a truncated shapefile") {
        run("ogr2ogr -f 'ESRI Shapefile' " + dir.file("cut.shp") + " " + fixture("cercles_fr.geojson"));
        std::filesystem::resize_file(dir.file("cut.shp"), std::filesystem::file_size(dir.file("cut.shp")) / 2);
        REQUIRE_THROWS_AS(layers::import_layer(db, options_for("cercles", dir.file("cut.shp"))), input_error);
    }
    SECTION("a zip with no data") {
        write_file(dir.file("readme.txt"), "nothing here\n");
        run("cd " + dir.path().string() + " && zip -q empty.zip readme.txt");
        REQUIRE_THROWS_WITH(layers::import_layer(db, options_for("cercles", "/vsizip/" + dir.file("empty.zip"))),
                            Catch::Contains("empty.zip"));
    }
    SECTION("not a geographic file at all") {
        write_file(dir.file("notes.geojson"), "{ this is not json");
        REQUIRE_THROWS_WITH(layers::import_layer(db, options_for("cercles", dir.file("notes.geojson"))),
                            Catch::Contains("cannot open") && Catch::Contains("notes.geojson"));
    }
    check_three_cercles(db);
}

TEST_CASE("import: a process killed mid-import leaves the database as it was", "[db][gdal][slow][large]") {
    TempDir dir;
    const std::string db_path = dir.file("io.sqlite");
    REQUIRE(run_sitmap({"demo", "--db", db_path}).exit_code == 0);
    const std::string csv = dir.file("big.csv");
    write_incidents_csv(csv, 400000);
    std::int64_t before = 0;
    {
        auto db = layers::open_database(db_path, geo::Database::Mode::read_only);
        before = scalar(db, "SELECT count(*) FROM incidents");
    }

    // Run the import with stdout on a pipe (progress lines every 100,000 features); kill -9 after the first.
    int out[2];
    REQUIRE(pipe(out) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    std::vector<std::string> args = {env_or_throw("SITMAP_BINARY"), "import", "--db", db_path, "--layer", "incidents",
                                     "--mode", "append", csv};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    REQUIRE(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    std::string seen;
    char buffer[256];
    while (seen.find("progress:") == std::string::npos) {
        const auto n = read(out[0], buffer, sizeof buffer);
        if (n <= 0) break;
        seen.append(buffer, static_cast<std::size_t>(n));
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(out[0]);
    INFO("import output before the kill: " << seen);
    REQUIRE(seen.find("progress:") != std::string::npos);  // it was killed mid-way, not after
    REQUIRE(WIFSIGNALED(status));

    auto db = layers::open_database(db_path, geo::Database::Mode::read_write);
    CHECK(text(db, "PRAGMA integrity_check") == "ok");
    CHECK(scalar(db, "SELECT count(*) FROM incidents") == before);
    CHECK(scalar(db, "SELECT count(*) FROM idx_incidents_geom") == before);
    CHECK(scalar(db, "SELECT count(*) FROM incidents WHERE id LIKE 'BIG-%'") == 0);
}

TEST_CASE("import: a running server keeps answering from the last committed state", "[db][gdal][http][slow][large]") {
    TempDir dir;
    const std::string db_path = dir.file("io.sqlite");
    REQUIRE(run_sitmap({"demo", "--db", db_path}).exit_code == 0);
    write_incidents_csv(dir.file("big.csv"), 200000);
    ServeProcess server(db_path);
    auto matched = [&] {
        HttpClient client(server.port());
        auto response = client.get("/collections/incidents/items?limit=1");
        REQUIRE(response.result_int() == 200);
        return json::parse(response.body())["numberMatched"].get<std::int64_t>();
    };
    const auto before = matched();

    auto import = std::async(std::launch::async, [&] {
        return run_sitmap({"import", "--db", db_path, "--layer", "incidents", "--mode", "append", dir.file("big.csv")});
    });
    int answered = 0;
    bool committed = false;
    while (import.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
        const auto now = matched();
        // Never a half-written state: the old count until the commit, then the new one (the
        // process may still be exiting).
        CHECK((now == (committed ? before + 200000 : before) || now == before + 200000));
        committed = now == before + 200000;
        if (!committed) ++answered;
    }
    const auto result = import.get();
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    CHECK(answered > 3);
    CHECK(matched() == before + 200000);
}
