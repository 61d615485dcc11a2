// Tiles built from a real SpatiaLite database (the default dataset), decoded with GDAL's MVT
// driver and checked against SpatiaLite counts of the same area.

#include "layers/tiles.hpp"

#include "geo/error.hpp"
#include "geo/gdal.hpp"
#include "geo/geos.hpp"
#include "geo/tile.hpp"
#include "layers/demo.hpp"
#include "layers/import.hpp"
#include "layers/schema.hpp"
#include "layers/simplified.hpp"

#include <catch2/catch.hpp>
#include <cpl_vsi.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unistd.h>

using namespace sitmap;
using layers::TileOptions;

namespace {

namespace fs = std::filesystem;

/// A temporary directory removed at the end of the test program.
const fs::path& temp_dir() {
    static const struct Dir {
        fs::path path;
        Dir() {
            path = fs::temp_directory_path() / ("sitmap_tiles_test_" + std::to_string(::getpid()));
            fs::create_directories(path);
        }
        ~Dir() { fs::remove_all(path); }
    } dir;
    return dir.path;
}

/// The default dataset plus a base next to the antimeridian (for the grid-edge tests).
geo::Database& dataset() {
    static geo::Database db = [] {
        const auto path = (temp_dir() / "default.sqlite").string();
        auto created = layers::open_database(path, geo::Database::Mode::create);
        layers::import_default_dataset(created);
        const auto edge = temp_dir() / "edge_base.geojson";
        std::ofstream(edge) << R"({"type":"FeatureCollection","features":[{"type":"Feature",
            "properties":{"id":"BASE-EDGE","name":"Edge","kind":"camp"},
            "geometry":{"type":"Point","coordinates":[179.999,1.0]}}]})";
        layers::ImportOptions options;
        options.layer = "bases";
        options.source = edge.string();
        options.mode = layers::ImportMode::append;
        layers::import_layer(created, options);
        return created;
    }();
    return db;
}

std::vector<const layers::Layer*> every_layer() {
    std::vector<const layers::Layer*> list;
    for (const auto& layer : layers::all_layers()) list.push_back(&layer);
    return list;
}

/// A tile's bytes opened with GDAL's MVT driver. Placed at /vsimem/.../z/x/y.pbf it is
/// georeferenced (EPSG:3857); placed elsewhere (`georeferenced` false) it has integer tile
/// coordinates. Features are not clipped to the tile (CLIP=NO), so the buffer is seen too.
class Decoded {
public:
    Decoded(const geo::TileId& tile, std::string bytes, bool georeferenced = true) : m_bytes(std::move(bytes)) {
        static std::atomic<int> counter{0};
        m_path = "/vsimem/sitmap_tiles_test_" + std::to_string(counter++) + "/" +
                 (georeferenced ? tile.to_string() : std::string("tile")) + ".pbf";
        m_file = std::make_unique<geo::MemoryFile>(m_path, m_bytes);
        m_dataset = std::make_unique<geo::Dataset>(geo::Dataset::open(m_path, {"CLIP=NO"}));
    }

    /// The features of a layer (none when the tile has no such layer).
    std::vector<geo::Feature> features(const std::string& layer) const {
        std::vector<geo::Feature> out;
        OGRLayerH l = GDALDatasetGetLayerByName(m_dataset->get(), layer.c_str());
        if (!l) return out;
        OGR_L_ResetReading(l);
        while (OGRFeatureH f = OGR_L_GetNextFeature(l)) out.emplace_back(f);
        return out;
    }

    std::size_t count(const std::string& layer) const { return features(layer).size(); }

private:
    std::string m_bytes;
    std::string m_path;
    std::unique_ptr<geo::MemoryFile> m_file;
    std::unique_ptr<geo::Dataset> m_dataset;
};

std::int64_t integer_field(const geo::Feature& f, const char* name) {
    const int index = OGR_F_GetFieldIndex(f.get(), name);
    return index < 0 || !OGR_F_IsFieldSetAndNotNull(f.get(), index) ? 0 : OGR_F_GetFieldAsInteger64(f.get(), index);
}

std::string text_field(const geo::Feature& f, const char* name) {
    const int index = OGR_F_GetFieldIndex(f.get(), name);
    return index < 0 ? std::string() : OGR_F_GetFieldAsString(f.get(), index);
}

/// What SpatiaLite counts in the tile plus buffer with the same filter: points inside the box,
/// lines and polygons that intersect it.
std::int64_t spatialite_count(geo::Database& db, const layers::Layer& layer, const geo::TileId& tile,
                              const layers::Filter& filter, std::uint32_t buffer = 64) {
    const geo::BBox b = geo::tile_bounds_lonlat(tile, buffer);
    layers::Filter attributes = filter;
    attributes.bbox.reset();
    std::vector<layers::SqlValue> params;
    const std::string where = layers::filter_sql(layer, attributes, params);
    const std::string area = layer.geometry == layers::GeometryKind::point
                                 ? "ST_X(t.geom) BETWEEN ? AND ? AND ST_Y(t.geom) BETWEEN ? AND ?"
                                 : "ST_Intersects(t.geom, BuildMbr(?, ?, ?, ?, 4326))";
    auto stmt = db.prepare("SELECT count(*) FROM " + layer.name + " t WHERE " + area + where);
    if (layer.geometry == layers::GeometryKind::point) {
        stmt.bind(1, b.min_x).bind(2, b.max_x).bind(3, b.min_y).bind(4, b.max_y);
    } else {
        stmt.bind(1, b.min_x).bind(2, b.min_y).bind(3, b.max_x).bind(4, b.max_y);
    }
    layers::bind_all(stmt, params, 5);
    stmt.step();
    return stmt.column_int64(0);
}

/// Every layer of the tile holds as many features as SpatiaLite counts, and each decodes.
void check_counts(const geo::TileId& tile, const layers::Filter& filter) {
    auto& db = dataset();
    TileOptions options;
    options.cluster = false;
    const std::string bytes = layers::build_tile(db, tile, every_layer(), filter, options);
    std::int64_t total = 0;
    for (const auto& layer : layers::all_layers()) total += spatialite_count(db, layer, tile, filter);
    if (total == 0) {
        CHECK(bytes.empty());
        return;
    }
    REQUIRE_FALSE(bytes.empty());
    const Decoded decoded(tile, bytes);
    for (const auto& layer : layers::all_layers()) {
        INFO("tile " << tile.to_string() << ", layer " << layer.name << ", filter " << filter.key());
        CHECK(static_cast<std::int64_t>(decoded.count(layer.name)) == spatialite_count(db, layer, tile, filter));
    }
}

/// Tiles at random over the dataset (Mali, -12..4.5 E, 10..25 N), reproducible.
std::vector<geo::TileId> random_tiles(int count, int min_zoom, int max_zoom, unsigned seed) {
    std::mt19937 random(seed);
    std::uniform_real_distribution<double> lon(-12.5, 4.5), lat(10.0, 25.0);
    std::uniform_int_distribution<int> zoom(min_zoom, max_zoom);
    std::vector<geo::TileId> tiles;
    for (int i = 0; i < count; ++i) tiles.push_back(geo::lonlat_to_tile(lon(random), lat(random), zoom(random)));
    return tiles;
}

geo::Geometry geometry_of(const geo::Feature& f) {
    OGRGeometryH g = OGR_F_GetGeometryRef(f.get());
    REQUIRE(g != nullptr);
    std::string wkb(static_cast<std::size_t>(OGR_G_WkbSize(g)), '\0');
    OGR_G_ExportToIsoWkb(g, wkbNDR, reinterpret_cast<unsigned char*>(wkb.data()));
    return geo::Geometry::from_wkb(wkb);
}

/// The union of the polygons of a layer of a decoded tile.
geo::Geometry union_of(const std::vector<geo::Feature>& features) {
    geo::Geometry all;
    for (const auto& f : features) {
        auto g = geometry_of(f);
        all = all ? geo::Geometry(GEOSUnion_r(geo::geos_context(), all.get(), g.get()), "union") : std::move(g);
    }
    return all;
}

/// Parts and holes of a (multi)polygon.
std::pair<int, int> parts_and_holes(const geo::Geometry& g) {
    int holes = 0;
    const int parts = g.num_geometries();
    for (int i = 0; i < parts; ++i) holes += GEOSGetNumInteriorRings_r(geo::geos_context(), g.part(i));
    return {parts, holes};
}

double area(const geo::Geometry& g) {
    double a = 0;
    GEOSArea_r(geo::geos_context(), g.get(), &a);
    return a;
}

/// The polygons of a layer, in tile coordinates of `tile`, clipped to the tile plus buffer
/// but not snapped: the reference the tile is compared with.
std::vector<geo::Geometry> source_polygons(geo::Database& db, const std::string& layer, const geo::TileId& tile) {
    const geo::BBox b = geo::tile_bounds_lonlat(tile, 64);
    auto stmt = db.prepare("SELECT AsBinary(geom) FROM " + layer +
                           " WHERE ST_Intersects(geom, BuildMbr(?, ?, ?, ?, 4326))");
    stmt.bind(1, b.min_x).bind(2, b.min_y).bind(3, b.max_x).bind(4, b.max_y);
    const geo::TileTransform transform(tile);
    std::vector<geo::Geometry> out;
    while (stmt.step()) {
        auto g = geo::Geometry::from_wkb(stmt.column_blob(0));
        geo::transform_xy(g, [&](double& x, double& y) {
            const auto m = geo::lonlat_to_mercator(x, y);
            x = transform.tile_x(m.x);
            y = transform.tile_y(m.y);
        });
        out.push_back(g.clip_by_rect(-64, -64, 4160, 4160));
    }
    return out;
}

double border_length(const geo::Geometry& g) {
    const geo::Geometry border(GEOSBoundary_r(geo::geos_context(), g.get()), "boundary");
    double length = 0;
    GEOSLength_r(geo::geos_context(), border.get(), &length);
    return length;
}

/// The tile's polygons of `layer` meet without cracks: their union has no more parts or holes
/// than the union of the source polygons, and they do not overlap. Their union covers the
/// source's but for what simplification may move: up to its tolerance (8 units) along the
/// source's border.
/// With `strict` false the slivers left where a repair moved a border must stay under a few
/// square units in all (4 units: 1/16 of a pixel).
void check_no_cracks(geo::Database& db, const std::string& layer, const geo::TileId& tile, bool strict = true) {
    INFO("tile " << tile.to_string() << ", layer " << layer);
    const std::string bytes = layers::build_tile(db, tile, {&layers::find_layer(layer)}, {});
    REQUIRE_FALSE(bytes.empty());
    const Decoded decoded(tile, bytes, false);
    const auto features = decoded.features(layer);
    if (features.size() < 2) return;  // inside one polygon: nothing to crack
    const auto tiled = union_of(features);
    geo::Geometry source;
    for (auto& g : source_polygons(db, layer, tile)) {
        source = source ? geo::Geometry(GEOSUnion_r(geo::geos_context(), source.get(), g.get()), "union") : std::move(g);
    }
    const auto [tiled_parts, tiled_holes] = parts_and_holes(tiled);
    const auto [source_parts, source_holes] = parts_and_holes(source);
    double sum = 0;
    for (const auto& f : features) sum += area(geometry_of(f));
    const double moved = tile.z < layers::simplify_below_zoom ? 8.0 * border_length(source) : 0.0;
    CHECK(std::abs(area(tiled) - area(source)) <= 1e-3 * area(source) + moved);
    if (strict) {
        // A crack splits the union or pierces it; rounding may only close gaps narrower than a unit.
        CHECK(tiled_parts <= source_parts);
        CHECK(tiled_holes <= source_holes);
        CHECK(sum == Approx(area(tiled)).epsilon(1e-9));  // no overlaps
    } else {
        CHECK(std::abs(sum - area(tiled)) < 1.0);
        auto holes_area = [](const geo::Geometry& g) {
            double total = 0;
            for (int i = 0; i < g.num_geometries(); ++i) {
                for (int h = 0; h < GEOSGetNumInteriorRings_r(geo::geos_context(), g.part(i)); ++h) {
                    double a = 0;
                    geo::Geometry ring(GEOSGeom_createPolygon_r(geo::geos_context(),
                                                                GEOSGeom_clone_r(geo::geos_context(),
                                                                    GEOSGetInteriorRingN_r(geo::geos_context(), g.part(i), h)),
                                                                nullptr, 0), "hole");
                    GEOSArea_r(geo::geos_context(), ring.get(), &a);
                    total += a;
                }
            }
            return total;
        };
        CHECK(holes_area(tiled) - holes_area(source) < 4.0);
    }
}

} // namespace

TEST_CASE("tiles: every layer of random tiles holds as many features as SpatiaLite counts in the tile plus buffer",
          "[db][gdal]") {
    for (const auto& tile : random_tiles(60, 0, 14, 20240501)) check_counts(tile, {});
}

TEST_CASE("tiles: filters on time, type and target select the same incidents as SpatiaLite", "[db][gdal]") {
    const auto filter = layers::parse_filter("", "2016-01-01", "2019-12-31", "ied_detonated,ambush", "un_mission");
    for (const auto& tile : random_tiles(25, 4, 12, 7)) check_counts(tile, filter);
    // Every decoded incident matches the filter.
    const auto tile = geo::lonlat_to_tile(-0.04, 16.27, 7);  // Gao
    TileOptions options;
    options.cluster = false;
    const Decoded decoded(tile, layers::build_tile(dataset(), tile, {&layers::find_layer("incidents")}, filter, options));
    const auto incidents = decoded.features("incidents");
    REQUIRE_FALSE(incidents.empty());
    for (const auto& f : incidents) {
        const auto type = text_field(f, "type");
        CHECK((type == "ied_detonated" || type == "ambush"));
        CHECK(text_field(f, "target") == "un_mission");
        CHECK(text_field(f, "occurred_at") >= "2016-01-01");
        CHECK(text_field(f, "occurred_at") <= "2019-12-31T23:59:59Z");
    }
}

TEST_CASE("tiles: every decoded polygon and line of random tiles is valid", "[db][gdal]") {
    for (const auto& tile : random_tiles(60, 0, 16, 99)) {
        const std::string bytes = layers::build_tile(dataset(), tile, every_layer(), {});
        if (bytes.empty()) continue;
        const Decoded decoded(tile, bytes, false);  // integer tile coordinates, as encoded
        for (const char* layer : {"regions", "cercles", "routes"}) {
            for (const auto& f : decoded.features(layer)) {
                const auto g = geometry_of(f);
                INFO("tile " << tile.to_string() << ", " << layer << " " << integer_field(f, "mvt_id") << ": "
                             << g.invalid_reason());
                CHECK(g.is_valid());
                CHECK(g.dimension() == (std::string(layer) == "routes" ? 1 : 2));
            }
        }
    }
}

TEST_CASE("tiles: features carry their fid as id and typed properties", "[db][gdal]") {
    const auto tile = geo::lonlat_to_tile(-4.2, 14.5, 9);  // Mopti
    const Decoded decoded(tile, layers::build_tile(dataset(), tile, every_layer(), {}));
    const auto incidents = decoded.features("incidents");
    REQUIRE_FALSE(incidents.empty());
    auto stmt = dataset().prepare("SELECT fid, fatalities FROM incidents WHERE id = ?");
    for (const auto& f : incidents) {
        stmt.reset();
        stmt.bind(1, text_field(f, "id"));
        REQUIRE(stmt.step());
        CHECK(integer_field(f, "mvt_id") == stmt.column_int64(0));
        const int index = OGR_F_GetFieldIndex(f.get(), "fatalities");
        REQUIRE(index >= 0);
        const auto type = OGR_Fld_GetType(OGR_F_GetFieldDefnRef(f.get(), index));
        CHECK((type == OFTInteger || type == OFTInteger64));
        CHECK(integer_field(f, "fatalities") == stmt.column_int64(1));
    }
}

TEST_CASE("tiles: zoom 0 holds every feature of every layer", "[db][gdal]") {
    const geo::TileId tile{0, 0, 0};
    check_counts(tile, {});
    TileOptions options;
    options.cluster = false;
    const Decoded decoded(tile, layers::build_tile(dataset(), tile, every_layer(), {}, options));
    for (const auto& layer : layers::all_layers()) {
        auto stmt = dataset().prepare("SELECT count(*) FROM " + layer.name);
        stmt.step();
        CHECK(static_cast<std::int64_t>(decoded.count(layer.name)) == stmt.column_int64(0));
    }
}

TEST_CASE("tiles: the last column holds a base next to the antimeridian, the first does not wrap it", "[db][gdal]") {
    auto has_edge_base = [](const geo::TileId& tile, double* x) {
        const std::string bytes = layers::build_tile(dataset(), tile, {&layers::find_layer("bases")}, {});
        if (bytes.empty()) return false;
        const Decoded decoded(tile, bytes);
        for (const auto& f : decoded.features("bases")) {
            if (text_field(f, "id") != "BASE-EDGE") continue;
            if (x) *x = OGR_G_GetX(OGR_F_GetGeometryRef(f.get()), 0);
            return true;
        }
        return false;
    };
    for (int z : {1, 4, 10, 16}) {
        INFO("zoom " << z);
        const auto tile = geo::lonlat_to_tile(179.999, 1.0, z);
        REQUIRE(tile.x == tile.tiles_per_side() - 1);
        check_counts(tile, {});
        double x = 0;
        REQUIRE(has_edge_base(tile, &x));
        CHECK(x == Approx(geo::lonlat_to_mercator(179.999, 1.0).x).margin(geo::tile_size_mercator(z) / 4096));
        // The first column, across the antimeridian, does not see it: tiles do not wrap.
        CHECK_FALSE(has_edge_base({z, 0, tile.y}, nullptr));
    }
}

TEST_CASE("tiles: the last row and tiles far from the data are empty", "[db]") {
    for (int z : {3, 5, 12, 16}) {
        const std::uint32_t last = (1U << z) - 1;
        CHECK(layers::build_tile(dataset(), {z, last / 3, last}, every_layer(), {}).empty());
        CHECK(layers::build_tile(dataset(), {z, last, last}, every_layer(), {}).empty());
        check_counts({z, last / 2, last}, {});
    }
    CHECK_THROWS_AS(layers::build_tile(dataset(), {3, 8, 0}, every_layer(), {}), input_error);
    CHECK_THROWS_AS(layers::build_tile(dataset(), {17, 0, 1U << 17U}, every_layer(), {}), input_error);
}

TEST_CASE("tiles: a tile inside a cercle at zoom 12 is one square covering the tile and its buffer", "[db][gdal]") {
    auto& db = dataset();
    // The middle of the largest cercle, and a zoom-12 tile there whose buffered box lies inside it.
    auto stmt = db.prepare(
        "SELECT fid, ST_X(PointOnSurface(geom)), ST_Y(PointOnSurface(geom)) FROM cercles ORDER BY ST_Area(geom) DESC");
    auto inside = db.prepare("SELECT ST_Within(BuildMbr(?, ?, ?, ?, 4326), geom) FROM cercles WHERE fid = ?");
    std::optional<geo::TileId> found;
    std::int64_t fid = 0;
    while (!found && stmt.step()) {
        const auto tile = geo::lonlat_to_tile(stmt.column_double(1), stmt.column_double(2), 12);
        const auto b = geo::tile_bounds_lonlat(tile, 64);
        inside.reset();
        inside.bind(1, b.min_x).bind(2, b.min_y).bind(3, b.max_x).bind(4, b.max_y).bind(5, stmt.column_int64(0));
        if (inside.step() && inside.column_int64(0) == 1) {
            found = tile;
            fid = stmt.column_int64(0);
        }
    }
    REQUIRE(found);
    const Decoded decoded(*found, layers::build_tile(db, *found, {&layers::find_layer("cercles")}, {}), false);
    const auto cercles = decoded.features("cercles");
    REQUIRE(cercles.size() == 1);
    CHECK(integer_field(cercles[0], "mvt_id") == fid);
    const auto g = geometry_of(cercles[0]);
    CHECK(g.is_valid());
    CHECK(area(g) == Approx(4224.0 * 4224.0));
    OGREnvelope envelope;
    OGR_G_GetEnvelope(OGR_F_GetGeometryRef(cercles[0].get()), &envelope);
    CHECK(envelope.MinX == -64);
    CHECK(envelope.MinY == -64);
    CHECK(envelope.MaxX == 4160);
    CHECK(envelope.MaxY == 4160);
}

/// Places where three or more polygons of a layer meet (a vertex of one that touches two others).
std::vector<std::pair<double, double>> junctions(geo::Database& db, const std::string& layer, int count) {
    auto stmt = db.prepare("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointN(ST_ExteriorRing(ST_GeometryN(a.geom, 1)), "
                           "1 + (a.fid * 7) % 10) AS p FROM " + layer + " a) WHERE (SELECT count(*) FROM " + layer +
                           " b WHERE ST_Distance(b.geom, p) < 1e-9) >= 3 LIMIT ?");
    stmt.bind(1, count);
    std::vector<std::pair<double, double>> out;
    while (stmt.step()) out.emplace_back(stmt.column_double(0), stmt.column_double(1));
    return out;
}

TEST_CASE("tiles: neighbouring cercles and regions meet without cracks or overlaps", "[db][gdal]") {
    for (int z : {5, 6, 8, 10, 12, 14}) {
        check_no_cracks(dataset(), "cercles", geo::lonlat_to_tile(-4.0, 14.0, std::min(z, 8)));
        check_no_cracks(dataset(), "regions", geo::lonlat_to_tile(-4.0, 14.0, std::min(z, 6)));
        for (const auto& [lon, lat] : junctions(dataset(), "cercles", 5)) {
            check_no_cracks(dataset(), "cercles", geo::lonlat_to_tile(lon, lat, z));
        }
    }
}

/// OCHA's cercles of Mali (../shared/data/mali-admin) in a database of their own, or null when
/// the shared data is absent (the caller skips with a warning).
geo::Database* real_cercles() {
    static std::optional<geo::Database> db = []() -> std::optional<geo::Database> {
        const char* shared = std::getenv("SITMAP_SHARED_DATA");
        const fs::path source = fs::path(shared ? shared : "") / "mali-admin" / "mli_adm2_cercles_ocha.geojson";
        if (!shared || !fs::exists(source)) return std::nullopt;
        auto created = layers::open_database((temp_dir() / "real.sqlite").string(), geo::Database::Mode::create);
        layers::ImportOptions options;
        options.layer = "cercles";
        options.source = source.string();
        layers::import_layer(created, options);
        return created;
    }();
    if (!db) WARN("SKIPPED: mali-admin/mli_adm2_cercles_ocha.geojson is absent (set SITMAP_SHARED_DATA to ../shared/data)");
    return db ? &*db : nullptr;
}

TEST_CASE("tiles: real Mali cercles meet without cracks at every zoom", "[db][gdal][shared]") {
    auto* db = real_cercles();
    if (!db) return;
    auto places = junctions(*db, "cercles", 6);
    REQUIRE(places.size() >= 2);
    places.emplace_back(-4.0, 14.0);  // Mopti-Djenné-Bandiagara
    places.emplace_back(-0.3, 16.1);  // Gao-Bourem-Ansongo
    for (int z : {4, 5, 6, 7, 8, 9, 10, 11, 12, 14}) {
        for (const auto& [lon, lat] : places) check_no_cracks(*db, "cercles", geo::lonlat_to_tile(lon, lat, z));
    }
}

/// Over the tiles covering Mali at zoom z: every decoded cercle is valid, and the bytes and
/// vertices of the tiles with and without simplification.
struct Shrink {
    std::size_t bytes = 0, bytes_raw = 0;
    long vertices = 0, vertices_raw = 0;
};
Shrink simplified_tiles(geo::Database& db, int z) {
    Shrink out;
    TileOptions raw;
    raw.simplify = false;
    const auto& cercles = layers::find_layer("cercles");
    geo::tiles_covering({-12.3, 10.1, 4.3, 25.0}, z).for_each([&](const geo::TileId& tile) {
        const std::string bytes = layers::build_tile(db, tile, {&cercles}, {});
        const std::string bytes_raw = layers::build_tile(db, tile, {&cercles}, {}, raw);
        out.bytes += bytes.size();
        out.bytes_raw += bytes_raw.size();
        if (bytes.empty()) return;
        for (const auto& [tile_bytes, count] : {std::pair{&bytes, &out.vertices}, std::pair{&bytes_raw, &out.vertices_raw}}) {
            const Decoded decoded(tile, *tile_bytes, false);
            for (const auto& f : decoded.features("cercles")) {
                const auto g = geometry_of(f);
                INFO("tile " << tile.to_string() << ", cercle " << integer_field(f, "mvt_id") << ": " << g.invalid_reason());
                if (tile_bytes == &bytes) CHECK(g.is_valid());
                *count += GEOSGetNumCoordinates_r(geo::geos_context(), g.get());
            }
        }
    });
    return out;
}

TEST_CASE("tiles: real Mali cercles simplified at zooms 4 to 8 stay valid and lose most of their vertices",
          "[db][gdal][shared]") {
    auto* db = real_cercles();
    if (!db) return;
    for (int z = 4; z <= 8; ++z) {
        const auto s = simplified_tiles(*db, z);
        WARN("zoom " << z << ": cercle tiles over Mali " << s.bytes_raw << " -> " << s.bytes << " bytes, "
                     << s.vertices_raw << " -> " << s.vertices << " vertices");
        CHECK(s.vertices * 2 < s.vertices_raw);  // at least halved
        CHECK(s.bytes < s.bytes_raw);
    }
}

TEST_CASE("tiles: the default cercles simplified at zooms 4 to 8 stay valid and meet without cracks", "[db][gdal]") {
    for (int z = 4; z <= 8; ++z) {
        const auto s = simplified_tiles(dataset(), z);
        CHECK(s.vertices <= s.vertices_raw);
        geo::tiles_covering({-6.0, 13.0, 0.0, 17.0}, z).for_each([&](const geo::TileId& tile) {
            if (layers::build_tile(dataset(), tile, {&layers::find_layer("cercles")}, {}).empty()) return;  // beyond Mali
            check_no_cracks(dataset(), "cercles", tile);
            check_no_cracks(dataset(), "regions", tile);
        });
    }
}

TEST_CASE("tiles: clusters keep every incident counted, by type, and stay under 500 KB", "[db][gdal]") {
    // Every cell lies in one tile: over the tiles covering the data, the clusters of each tile's
    // own cells (by their id) and the single incidents inside it add up to every incident.
    auto& db = dataset();
    const auto& incidents = layers::find_layer("incidents");
    const auto filter = layers::parse_filter("", "2015-01-01", "", "", "");
    std::map<std::string, std::int64_t> expected;
    auto count = db.prepare("SELECT type, count(*) FROM incidents WHERE occurred_at >= '2015-01-01' GROUP BY type");
    while (count.step()) expected[std::string(count.column_text(0))] = count.column_int64(1);
    auto position = db.prepare("SELECT ST_X(geom), ST_Y(geom) FROM incidents WHERE id = ?");
    const std::uint64_t cells = 4096 / TileOptions{}.cluster_cell;
    for (int z : {0, 3, 5, 8}) {
        INFO("zoom " << z);
        std::map<std::string, std::int64_t> by_type;
        std::size_t clusters = 0;
        geo::tiles_covering({-12.5, 10.0, 4.5, 25.0}, z).for_each([&](const geo::TileId& tile) {
            const std::string bytes = layers::build_tile(db, tile, {&incidents}, filter);
            CHECK(bytes.size() < 500 * 1024);
            if (bytes.empty()) return;
            const Decoded decoded(tile, bytes);
            for (const auto& f : decoded.features("incidents")) {
                const auto id = static_cast<std::uint64_t>(integer_field(f, "mvt_id"));
                if (integer_field(f, "point_count") > 0) {
                    REQUIRE(id >= layers::cluster_id_base);
                    const std::uint64_t row = (id - layers::cluster_id_base) >> 24U;
                    const std::uint64_t column = (id - layers::cluster_id_base) & 0xffffffU;
                    if (row / cells != tile.y || column / cells != tile.x) continue;  // the neighbour's cell
                    ++clusters;
                    std::int64_t sum = 0;
                    for (const auto& type : incidents.column("type")->allowed) {
                        const auto n = integer_field(f, ("count_" + type).c_str());
                        sum += n;
                        if (n) by_type[type] += n;
                    }
                    CHECK(sum == integer_field(f, "point_count"));
                } else {
                    REQUIRE(id < layers::cluster_id_base);
                    position.reset();
                    position.bind(1, text_field(f, "id"));
                    REQUIRE(position.step());
                    if (geo::lonlat_to_tile(position.column_double(0), position.column_double(1), z) == tile) {
                        ++by_type[text_field(f, "type")];
                    }
                }
            }
        });
        CHECK(clusters > 0);
        CHECK(by_type == expected);
    }
}

TEST_CASE("tiles: a cluster is the same in the two tiles that share it", "[db][gdal]") {
    // Clusters near a tile edge are drawn by both tiles, at the same place, with the same id.
    auto& db = dataset();
    const auto& incidents = layers::find_layer("incidents");
    int shared = 0;
    for (int z : {5, 6, 7, 8}) {
        const auto left = geo::lonlat_to_tile(-4.0, 14.5, z);
        const geo::TileId right{z, left.x + 1, left.y};
        std::map<std::int64_t, std::pair<double, double>> seen;
        const Decoded left_tile(left, layers::build_tile(db, left, {&incidents}, {}));
        const Decoded right_tile(right, layers::build_tile(db, right, {&incidents}, {}));
        for (const auto& f : left_tile.features("incidents")) {
            OGRGeometryH p = OGR_F_GetGeometryRef(f.get());
            seen[integer_field(f, "mvt_id")] = {OGR_G_GetX(p, 0), OGR_G_GetY(p, 0)};
        }
        for (const auto& f : right_tile.features("incidents")) {
            const auto it = seen.find(integer_field(f, "mvt_id"));
            if (it == seen.end()) continue;
            OGRGeometryH p = OGR_F_GetGeometryRef(f.get());
            const double unit = geo::tile_size_mercator(z) / 4096;
            CHECK(OGR_G_GetX(p, 0) == Approx(it->second.first).margin(unit));
            CHECK(OGR_G_GetY(p, 0) == Approx(it->second.second).margin(unit));
            ++shared;
        }
    }
    CHECK(shared > 0);
}
