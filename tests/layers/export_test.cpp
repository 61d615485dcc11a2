#include "layers/export.hpp"

#include "geo/error.hpp"
#include "layers/demo.hpp"
#include "layers/features.hpp"
#include "layers/import.hpp"
#include "layers/schema.hpp"
#include "io_fixtures.hpp"
#include "sitmap_process.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <map>

using namespace sitmap;
using namespace sitmap::test;
using nlohmann::json;

namespace {

/// What must survive a round trip, per feature id: every column as text, the extra attributes
/// (values as text: CSV and KML carry text), and the geometry's shape to 1e-6 degree.
std::map<std::string, std::string> fingerprints(geo::Database& db, const layers::Layer& layer, bool dbase_names) {
    std::string sql = "SELECT id";
    for (const auto& c : layer.columns) sql += ", " + c.name;
    sql += ", props, ST_NumGeometries(geom), ST_NPoints(geom), printf('%.6f %.6f %.6f %.6f', MbrMinX(geom), "
           "MbrMinY(geom), MbrMaxX(geom), MbrMaxY(geom)) FROM " + layer.name;
    auto stmt = db.prepare(sql);
    std::map<std::string, std::string> out;
    while (stmt.step()) {
        std::string print;
        int i = 1;
        for (const auto& c : layer.columns) print += c.name + "=" + std::string(stmt.is_null(i) ? "NULL" : stmt.column_text(i)) + "; ";
        i = 1 + static_cast<int>(layer.columns.size());
        if (!stmt.is_null(i)) {
            std::map<std::string, std::string> props;
            const auto parsed = json::parse(stmt.column_text(i));
            for (const auto& [key, value] : parsed.items()) {
                props[dbase_names ? key.substr(0, 10) : key] = value.is_string() ? value.get<std::string>() : value.dump();
            }
            for (const auto& [key, value] : props) print += key + "=" + value + "; ";
        }
        for (int g = i + 1; g <= i + 3; ++g) print += std::string(stmt.column_text(g)) + "; ";
        out[std::string(stmt.column_text(0))] = print;
    }
    return out;
}

/// A database with every layer, accents, extra attributes and ACLED's columns in it.
void fill(geo::Database& db) {
    layers::import_default_dataset(db);
    layers::ImportOptions options;
    options.layer = "cercles";
    options.source = fixture("cercles_fr.geojson");
    options.mode = layers::ImportMode::upsert;
    layers::import_layer(db, options);
    options.layer = "incidents";
    options.source = fixture("acled_incidents.csv");
    layers::import_layer(db, options);
}

} // namespace

TEST_CASE("export: import(export(layer)) gives back the same features and attributes, in every format",
          "[db][gdal][slow]") {
    TempDir dir;
    auto source = layers::open_database(dir.file("source.sqlite"), geo::Database::Mode::create);
    fill(source);
    REQUIRE(scalar(source, "SELECT count(*) FROM incidents WHERE props IS NOT NULL") == 5);

    const std::vector<std::pair<std::string, std::string>> formats = {
        {"GeoJSON", "geojson"}, {"GPKG", "gpkg"}, {"CSV", "csv"}, {"KML", "kml"}, {"Shapefile", "shp"}};
    for (const auto& [format, extension] : formats) {
        DYNAMIC_SECTION("format " << format) {
            auto copy = layers::open_database(dir.file("copy-" + extension + ".sqlite"), geo::Database::Mode::create);
            for (const auto& layer : layers::all_layers()) {  // boundaries first: incidents are joined to them
                layers::ExportOptions out;
                out.layer = layer.name;
                out.format = layers::parse_export_format(format);
                out.path = dir.file(layer.name + "." + extension);
                const auto written = layers::export_layer(source, out);
                CHECK(written == scalar(source, "SELECT count(*) FROM " + layer.name));

                layers::ImportOptions in;
                in.layer = layer.name;
                in.source = out.path;
                if (format == "CSV" && layer.geometry != layers::GeometryKind::point) in.assume_crs = "EPSG:4326";
                const auto summary = layers::import_layer(copy, in);
                CHECK(summary.written == written);
                CHECK(summary.repaired == 0);

                const bool dbase = format == "Shapefile";
                const auto before = fingerprints(source, layer, dbase);
                const auto after = fingerprints(copy, layer, dbase);
                REQUIRE(before.size() == after.size());
                for (const auto& [id, print] : before) {
                    INFO(format << " " << layer.name << " " << id);
                    REQUIRE(after.count(id) == 1);
                    CHECK(after.at(id) == print);
                }
            }
        }
    }
}

TEST_CASE("export: the filters of the API choose what is written", "[db][gdal]") {
    TempDir dir;
    auto db = layers::open_database(dir.file("source.sqlite"), geo::Database::Mode::create);
    fill(db);
    layers::ExportOptions out;
    out.layer = "incidents";
    out.path = dir.file("ambush.geojson");
    out.filter = layers::parse_filter("-5,13,0,17", "2015-01-01", "2018-12-31", "ambush,direct_fire", "");
    const auto written = layers::export_layer(db, out);
    CHECK(written > 0);
    CHECK(written == layers::count_features(db, layers::find_layer("incidents"), out.filter));
    CHECK(written < scalar(db, "SELECT count(*) FROM incidents"));
    const auto info = run_output("ogrinfo -so -al " + out.path);
    CHECK_THAT(info, Catch::Contains("Feature Count: " + std::to_string(written)));

    REQUIRE_THROWS_WITH(layers::export_layer(db, out), Catch::Contains("exists already"));
    REQUIRE_THROWS_WITH(layers::parse_export_format("DXF"), Catch::Contains("GeoJSON, GPKG, CSV, KML, Shapefile"));
}

TEST_CASE("export: the command line writes the file, and bad arguments exit 2", "[db][gdal]") {
    TempDir dir;
    const std::string db = dir.file("demo.sqlite");
    REQUIRE(run_sitmap({"demo", "--db", db}).exit_code == 0);
    auto ok = run_sitmap({"export", "--db", db, "--layer", "incidents", "--format", "GPKG", "--type", "ambush",
                          "--from", "2020-01-01", dir.file("ambush.gpkg")});
    INFO(ok.output);
    CHECK(ok.exit_code == 0);
    auto conn = layers::open_database(db, geo::Database::Mode::read_only);
    const auto expected = scalar(conn, "SELECT count(*) FROM incidents WHERE type = 'ambush' AND occurred_at >= '2020-01-01'");
    CHECK_THAT(ok.output, Catch::Contains(std::to_string(expected) + " features written"));
    CHECK_THAT(run_output("ogrinfo -so -al " + dir.file("ambush.gpkg")),
               Catch::Contains("Feature Count: " + std::to_string(expected)));

    const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
        {{"--format", "DXF", dir.file("a.dxf")}, "unknown format"},
        {{"--bbox", "1,2,3", dir.file("b.geojson")}, "bbox"},
        {{"--type", "picnic", dir.file("c.geojson")}, "picnic"},
        {{"--from", "yesterday", dir.file("d.geojson")}, "from"},
        {{dir.file("ambush.gpkg")}, "exists already"},
    };
    for (const auto& [args, why] : bad) {
        std::vector<std::string> all = {"export", "--db", db, "--layer", "incidents"};
        all.insert(all.end(), args.begin(), args.end());
        auto result = run_sitmap(all);
        INFO(result.output);
        CHECK(result.exit_code == 2);
        CHECK_THAT(result.output, Catch::Contains(why));
    }
    CHECK(run_sitmap({"export", "--db", db, "--layer", "nope", dir.file("e.geojson")}).exit_code == 2);
}
