// The streaming GeoJSON writer against what it replaces: nlohmann::json's dump() for strings and
// numbers, SpatiaLite's AsGeoJSON(geom, 6, 0) for geometries, and a DOM-built reference of the
// properties (columns win over stored extras, "id" dropped, computed ones win over all).

#include "layers/features.hpp"
#include "layers/geometry_blob.hpp"
#include "layers/json_text.hpp"

#include "support/demo_db.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <random>

using namespace sitmap;
using nlohmann::json;

namespace {

std::string writer_string(std::string_view text) {
    std::string out;
    layers::json_text::append_string(out, text);
    return out;
}

std::string writer_double(double value) {
    std::string out;
    layers::json_text::append_double(out, value);
    return out;
}

std::string dump_replace(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

/// The GeoJSON of every feature of `layer`, by fid, through `write`.
std::vector<std::string> all_features(geo::Database& db, const layers::Layer& layer) {
    layers::FeatureQuery all;
    all.limit = 1'000'000;
    std::vector<std::string> out;
    layers::write_features(db, layer, all, [&](std::string_view f) { out.emplace_back(f); });
    return out;
}

/// The feature as the DOM-based writer built it: columns, then extras from `props` that are
/// neither a column nor "id", then `computed`, which replaces any of the same name.
json reference_feature(geo::Database& db, const layers::Layer& layer, std::int64_t fid, const json& computed) {
    std::string sql = "SELECT id, ";
    for (const auto& c : layer.columns) sql += c.name + ", ";
    auto stmt = db.prepare(sql + "props, AsGeoJSON(geom, 6, 0) FROM " + layer.name + " WHERE fid = ?");
    stmt.bind(1, fid);
    REQUIRE(stmt.step());
    json properties = json::object();
    int column = 1;
    for (const auto& c : layer.columns) {
        const int type = stmt.column_type(column);
        if (type == SQLITE_NULL) properties[c.name] = nullptr;
        else if (type == SQLITE_INTEGER && c.type == layers::ColumnType::boolean) properties[c.name] = stmt.column_int64(column) != 0;
        else if (type == SQLITE_INTEGER) properties[c.name] = stmt.column_int64(column);
        else if (type == SQLITE_FLOAT) properties[c.name] = stmt.column_double(column);
        else properties[c.name] = std::string(stmt.column_text(column));
        ++column;
    }
    if (!stmt.is_null(column)) {
        const auto extra = json::parse(stmt.column_text(column), nullptr, false);
        if (extra.is_object()) {
            for (const auto& [key, value] : extra.items()) {
                if (!properties.contains(key) && key != "id") properties[key] = value;
            }
        }
    }
    for (const auto& [key, value] : computed.items()) properties[key] = value;
    const json geometry = stmt.is_null(column + 1) ? json() : json::parse(stmt.column_text(column + 1));
    return {{"type", "Feature"}, {"id", std::string(stmt.column_text(0))}, {"geometry", geometry},
            {"properties", properties}};
}

/// The fid and id of the `n`th incident by fid (from 0).
std::pair<std::int64_t, std::string> nth_incident(geo::Database& db, int n) {
    auto stmt = db.prepare("SELECT fid, id FROM incidents ORDER BY fid LIMIT 1 OFFSET ?");
    stmt.bind(1, n);
    REQUIRE(stmt.step());
    return {stmt.column_int64(0), std::string(stmt.column_text(1))};
}

/// A copy of a SpatiaLite blob in big-endian byte order (header, class, counts and coordinates).
std::string big_endian_point(double x, double y) {
    std::string blob(60, '\0');
    auto put = [&](std::size_t at, auto value) {
        unsigned char raw[sizeof(value)];
        std::memcpy(raw, &value, sizeof(value));
        std::reverse(std::begin(raw), std::end(raw));
        std::memcpy(blob.data() + at, raw, sizeof(value));
    };
    blob[1] = 0;  // big endian
    put(2, std::int32_t{4326});
    put(6, x);
    put(14, y);
    put(22, x);
    put(30, y);
    blob[38] = static_cast<char>(0x7C);
    put(39, std::int32_t{1});
    put(43, x);
    put(51, y);
    blob[59] = static_cast<char>(0xFE);
    return blob;
}

} // namespace

TEST_CASE("json_text: strings are escaped as nlohmann::json's dump with replace", "[geojson]") {
    const std::vector<std::string> cases = {
        "", "plain", "quote \" backslash \\ slash /", "\b\f\n\r\t", std::string("nul \0 byte", 10), "\x01\x1f\x7f",
        "Tombouctou – Ménaka ✓ 𝄞", "\xC3", "\xC3(", "\xE2\x82", "\xE2\x82(", "\xF0\x9D\x84", "\xC0\x80", "\xED\xA0\x80",
        "\xF4\x90\x80\x80", "\xF5\x80", "\xFF\xFE", "a\x80" "b", "\xE0\x80\x80", "\xF0\x80\x80\x80", "end \xE2"};
    for (const auto& text : cases) {
        INFO(dump_replace(text));
        CHECK(writer_string(text) == dump_replace(text));
    }
    // Random bytes, biased towards UTF-8 lead and continuation bytes.
    std::mt19937 random(20);
    const unsigned char alphabet[] = {'a', '"', '\\', 0x01, 0x7F, 0x80, 0x9F, 0xA0, 0xBF, 0xC2, 0xDF, 0xE0,
                                      0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xC0, 0xFF, 0x8F, 0x90};
    for (int i = 0; i < 20000; ++i) {
        std::string text(random() % 12, ' ');
        for (auto& c : text) c = static_cast<char>(alphabet[random() % sizeof alphabet]);
        REQUIRE(writer_string(text) == dump_replace(text));
    }
}

TEST_CASE("json_text: doubles are written as nlohmann::json writes them", "[geojson]") {
    const std::vector<double> cases = {0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 3.25, 12.345, 100.0, 1e15, 1e16, 123456789012345.0,
                                       1234567890123456.0, 1e21, 1e-4, 1e-5, 0.00012, 1.5e-7, 5e-324, 1.7976931348623157e308,
                                       2.2250738585072014e-308, 16.27, -3.99, 1.0 / 3.0, 2.0 / 3.0, 9007199254740993.0};
    for (const double v : cases) {
        INFO(v);
        CHECK(writer_double(v) == json(v).dump());
    }
    CHECK(writer_double(std::nan("")) == "null");
    CHECK(writer_double(INFINITY) == "null");
    // Distances rounded to metres, as the distance queries give them, and random finite doubles.
    std::mt19937_64 random(7);
    for (int i = 0; i < 20000; ++i) {
        const double km = static_cast<double>(random() % 20'000'000) / 1000;
        REQUIRE(writer_double(km) == json(km).dump());
        double any = 0;
        do {
            any = std::bit_cast<double>(random());
        } while (!std::isfinite(any));
        const std::string written = writer_double(any);
        REQUIRE(json::parse(written).get<double>() == any);  // always reads back the same
    }
}

TEST_CASE("json_text: coordinates are written as AsGeoJSON(geom, 6) writes them", "[geojson][db]") {
    auto& db = test::demo_db();
    auto stmt = db.prepare("SELECT AsGeoJSON(MakePoint(?, ?, 4326), 6, 0)");
    const std::vector<double> cases = {0.0, -0.0, 1.0, -1.0, 0.1, -0.0000001, 0.0000004, 0.0000005, 0.0000006,
                                       -3.9912345678, 16.2700005, 179.9999996, -180.0, 1e-9, 0.0078125, 1234567.25};
    std::mt19937 random(3);
    std::vector<double> values = cases;
    for (int i = 0; i < 2000; ++i) values.push_back(std::uniform_real_distribution<double>(-180, 180)(random));
    for (const double v : values) {
        stmt.reset();
        stmt.bind(1, v).bind(2, 16.5);
        REQUIRE(stmt.step());
        std::string out = R"({"type":"Point","coordinates":[)";
        layers::json_text::append_coordinate(out, v);
        out += ",16.5]}";
        INFO(v);
        REQUIRE(out == stmt.column_text(0));
    }
}

TEST_CASE("geometry blobs: every geometry of the default dataset as AsGeoJSON(geom, 6, 0) writes it", "[geojson][db]") {
    auto& db = test::demo_db();
    std::int64_t compared = 0;
    for (const auto& layer : layers::all_layers()) {
        auto stmt = db.prepare("SELECT geom, AsGeoJSON(geom, 6, 0) FROM " + layer.name + " WHERE geom IS NOT NULL");
        while (stmt.step()) {
            std::string out;
            REQUIRE(layers::append_geojson_geometry(out, stmt.column_blob(0)));
            REQUIRE(out == stmt.column_text(1));
            ++compared;
        }
    }
    CHECK(compared > 3000);
    // Other classes, made by SpatiaLite, as they are written.
    for (const char* wkt : {"LINESTRING(1 2, 3.0000004 -4.5)", "POLYGON((0 0, 1 0, 1 1, 0 0), (0.2 0.2, 0.3 0.2, 0.3 0.3, 0.2 0.2))",
                            "MULTIPOINT(1 2, 3 4)", "POINT(-0.00000001 1e-7)"}) {
        auto made = db.prepare("SELECT GeomFromText(?, 4326), AsGeoJSON(GeomFromText(?, 4326), 6, 0)");
        made.bind(1, wkt).bind(2, wkt);
        REQUIRE(made.step());
        std::string out;
        INFO(wkt);
        REQUIRE(layers::append_geojson_geometry(out, made.column_blob(0)));
        CHECK(out == made.column_text(1));
    }
}

TEST_CASE("geometry blobs: big-endian points are read; other kinds are left to SpatiaLite", "[geojson][db]") {
    std::string out = "x";
    REQUIRE(layers::append_geojson_geometry(out, big_endian_point(-3.5, 16.25)));
    CHECK(out == R"(x{"type":"Point","coordinates":[-3.5,16.25]})");
    auto& db = test::demo_db();
    for (const char* wkt : {"POINT Z(1 2 3)", "GEOMETRYCOLLECTION(POINT(1 2))", "LINESTRING M(1 2 3, 4 5 6)"}) {
        auto made = db.prepare("SELECT GeomFromText(?, 4326)");
        made.bind(1, wkt);
        REQUIRE(made.step());
        INFO(wkt);
        out = "x";
        CHECK_FALSE(layers::append_geojson_geometry(out, made.column_blob(0)));
        CHECK(out == "x");
    }
    std::string truncated = big_endian_point(1, 2).substr(0, 50) + "\xFE";
    CHECK_FALSE(layers::append_geojson_geometry(out, truncated));
    CHECK_FALSE(layers::append_geojson_geometry(out, ""));
}

TEST_CASE("FeatureWriter: every feature of the default dataset equals the DOM-built one", "[geojson][db]") {
    auto& db = test::demo_db();
    for (const auto& layer : layers::all_layers()) {
        const auto features = all_features(db, layer);
        REQUIRE_FALSE(features.empty());
        auto fids = db.prepare("SELECT fid FROM " + layer.name + " ORDER BY fid");
        for (const auto& text : features) {
            REQUIRE(fids.step());
            INFO(layer.name << ": " << text.substr(0, 300));
            REQUIRE(json::parse(text) == reference_feature(db, layer, fids.column_int64(0), json::object()));
        }
    }
}

TEST_CASE("FeatureWriter: stored extras are copied, or read as before when copying would change them", "[geojson][db]") {
    test::TempDir dir;
    auto db = layers::open_database(dir.file("props.db"), geo::Database::Mode::create);
    layers::import_default_dataset(db);
    const auto& incidents = layers::find_layer("incidents");
    // Each props text on one incident: collisions with columns, "id", the computed distance_km,
    // repeated keys, escaped keys, nested values, invalid JSON, a non-object, bad UTF-8, deep nesting.
    const std::vector<std::string> props = {
        R"({"source":"JOC","score":1.50,"tags":["a","b"],"nested":{"k":[1,{"z":null}]},"ok":true})",
        R"({"type":"not the column","id":"not the id","fatalities":99,"distance_km":5,"extra":"kept"})",
        R"({"a":1,"a":2})", R"({"k\u00e9y":"v","plain":"x"})", R"({"esc":"tab\tquote\"uni\u00e9slash\/"})",
        R"({"broken":)", R"(["not","an","object"])", "{\"bad\":\"\xC3(\"}", R"(  { "spaced" : 1 , "b" : [ ] }  )",
        R"({"big":1e999})", R"({"small":-0,"exp":1.5E-7,"int":12345678901234567890})", R"({})", R"({"s":"\ud83d\ude00"})",
        std::string(100, '[') + std::string(100, ']'), "{\"d\":" + std::string(80, '[') + std::string(80, ']') + "}",
        R"({"trailing":1} x)", R"({"a":01})", R"({"a":"ctrl)" "\x01" R"("})"};
    const std::int64_t first = nth_incident(db, 0).first;
    REQUIRE(nth_incident(db, static_cast<int>(props.size())).first == first + static_cast<std::int64_t>(props.size()));
    for (std::size_t i = 0; i < props.size(); ++i) {
        auto set = db.prepare("UPDATE incidents SET props = ? WHERE fid = ?");
        set.bind(1, props[i]).bind(2, first + static_cast<std::int64_t>(i));
        set.run();
    }
    std::vector<layers::RankedFeature> ranked;
    for (std::size_t i = 0; i < props.size(); ++i) ranked.push_back({first + static_cast<std::int64_t>(i), 5.25, 0.5});
    layers::FeatureCursor cursor(db, incidents, ranked);
    for (std::size_t i = 0; i < props.size(); ++i) {
        std::string text;
        REQUIRE(cursor.next(text));
        INFO(props[i] << " -> " << text);
        const auto parsed = json::parse(text);
        CHECK(parsed == reference_feature(db, incidents, first + static_cast<std::int64_t>(i),
                                          {{"distance_km", 5.25}, {"along_km", 0.5}}));
    }
    std::string none;
    CHECK_FALSE(cursor.next(none));
}

TEST_CASE("FeatureWriter: feature_by_id adds computed members, replacing properties of the same name", "[geojson][db]") {
    auto& db = test::demo_db();
    const auto& incidents = layers::find_layer("incidents");
    const json computed = {{"nearest_base", {{"id", "BASE-001"}, {"distance_km", 1.5}}}, {"type", "replaced"}};
    const auto [fid, id] = nth_incident(db, 1);
    const auto feature = json::parse(layers::feature_by_id(db, incidents, id, computed));
    CHECK(feature == reference_feature(db, incidents, fid, computed));
    CHECK(feature["properties"]["type"] == "replaced");
}
