#include "geo/mvt.hpp"

#include "geo/error.hpp"
#include "geo/tile.hpp"

#include <catch2/catch.hpp>
#include <gdal.h>
#include <ogr_api.h>
#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <protozero/pbf_message.hpp>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

using namespace sitmap::geo;
using mvt::GeomType;

namespace {

// ------------------------------------------------------------------ a small MVT decoder on protozero

struct DecodedValue {
    std::uint32_t tag = 0; // which Value field was set: 1 string .. 7 bool
    std::string s;
    float f = 0;
    double d = 0;
    std::int64_t i = 0;
    std::uint64_t u = 0;
    bool b = false;
};

struct DecodedFeature {
    bool has_id = false;
    std::uint64_t id = 0;
    std::vector<std::uint32_t> tags;
    std::uint32_t type = 0;
    std::vector<std::uint32_t> geometry;
};

struct DecodedLayer {
    std::uint32_t version = 1; // the proto default
    std::string name;
    std::uint32_t extent = 4096;
    std::vector<std::string> keys;
    std::vector<DecodedValue> values;
    std::vector<DecodedFeature> features;

    /// key -> value of one feature, through the dictionaries.
    std::map<std::string, DecodedValue> properties(const DecodedFeature& f) const {
        REQUIRE(f.tags.size() % 2 == 0);
        std::map<std::string, DecodedValue> out;
        for (std::size_t i = 0; i < f.tags.size(); i += 2) {
            REQUIRE(f.tags[i] < keys.size());
            REQUIRE(f.tags[i + 1] < values.size());
            out[keys[f.tags[i]]] = values[f.tags[i + 1]];
        }
        return out;
    }
};

DecodedValue decode_value(protozero::pbf_reader msg) {
    DecodedValue v;
    int fields = 0;
    while (msg.next()) {
        ++fields;
        v.tag = msg.tag();
        switch (msg.tag()) {
        case 1: v.s = msg.get_string(); break;
        case 2: v.f = msg.get_float(); break;
        case 3: v.d = msg.get_double(); break;
        case 4: v.i = msg.get_int64(); break;
        case 5: v.u = msg.get_uint64(); break;
        case 6: v.i = msg.get_sint64(); break;
        case 7: v.b = msg.get_bool(); break;
        default: FAIL("unknown Value field " << msg.tag());
        }
    }
    CHECK(fields == 1); // exactly one of the fields per value
    return v;
}

DecodedFeature decode_feature(protozero::pbf_reader msg) {
    DecodedFeature f;
    while (msg.next()) {
        switch (msg.tag()) {
        case 1: f.has_id = true; f.id = msg.get_uint64(); break;
        case 2: {
            auto r = msg.get_packed_uint32();
            f.tags.assign(r.begin(), r.end());
            break;
        }
        case 3: f.type = static_cast<std::uint32_t>(msg.get_enum()); break;
        case 4: {
            auto r = msg.get_packed_uint32();
            f.geometry.assign(r.begin(), r.end());
            break;
        }
        default: FAIL("unknown Feature field " << msg.tag());
        }
    }
    return f;
}

std::vector<DecodedLayer> decode_tile(const std::string& data) {
    std::vector<DecodedLayer> layers;
    protozero::pbf_reader tile{data};
    while (tile.next()) {
        REQUIRE(tile.tag() == 3);
        protozero::pbf_reader msg = tile.get_message();
        DecodedLayer l;
        while (msg.next()) {
            switch (msg.tag()) {
            case 15: l.version = msg.get_uint32(); break;
            case 1: l.name = msg.get_string(); break;
            case 2: l.features.push_back(decode_feature(msg.get_message())); break;
            case 3: l.keys.push_back(msg.get_string()); break;
            case 4: l.values.push_back(decode_value(msg.get_message())); break;
            case 5: l.extent = msg.get_uint32(); break;
            default: FAIL("unknown Layer field " << msg.tag());
            }
        }
        layers.push_back(std::move(l));
    }
    return layers;
}

/// One part of a decoded geometry: a run of points (Point), a line, or a ring (closed by ClosePath).
struct Part {
    std::vector<TilePoint> points;
    bool closed = false;
};

std::int32_t unzigzag(std::uint32_t v) {
    return static_cast<std::int32_t>((v >> 1U) ^ (~(v & 1U) + 1U));
}

/// Interprets a command stream and checks it against the rules of the spec for its type.
std::vector<Part> decode_geometry(const std::vector<std::uint32_t>& g, std::uint32_t type) {
    std::vector<Part> parts;
    std::int64_t cx = 0;
    std::int64_t cy = 0;
    std::size_t i = 0;
    auto read_point = [&](bool is_line_to) {
        REQUIRE(i + 1 < g.size());
        const std::int32_t dx = unzigzag(g[i++]);
        const std::int32_t dy = unzigzag(g[i++]);
        if (is_line_to) {
            CHECK_FALSE((dx == 0 && dy == 0)); // spec: a LineTo step is never zero
        }
        cx += dx;
        cy += dy;
        return TilePoint{static_cast<std::int32_t>(cx), static_cast<std::int32_t>(cy)};
    };
    while (i < g.size()) {
        const std::uint32_t id = g[i] & 7U;
        const std::uint32_t count = g[i] >> 3U;
        ++i;
        if (id == 1) {
            if (type == 1) {
                REQUIRE(parts.empty()); // a point geometry is a single MoveTo
                REQUIRE(count > 0);
            } else {
                REQUIRE(count == 1);
            }
            parts.emplace_back();
            for (std::uint32_t k = 0; k < count; ++k) {
                parts.back().points.push_back(read_point(false));
            }
        } else if (id == 2) {
            REQUIRE(type != 1);
            REQUIRE(!parts.empty());
            REQUIRE(parts.back().points.size() == 1); // LineTo follows its MoveTo directly
            REQUIRE(count > (type == 3 ? 1U : 0U));
            for (std::uint32_t k = 0; k < count; ++k) {
                parts.back().points.push_back(read_point(true));
            }
        } else if (id == 7) {
            REQUIRE(type == 3);
            REQUIRE(count == 1);
            REQUIRE(!parts.empty());
            REQUIRE(!parts.back().closed);
            // spec: the last point does not repeat the first
            CHECK_FALSE(parts.back().points.back() == parts.back().points.front());
            parts.back().closed = true;
        } else {
            FAIL("unknown command " << id);
        }
    }
    if (type == 3) {
        for (const Part& p : parts) {
            CHECK(p.closed);
        }
    }
    return parts;
}

/// Surveyor's formula in tile coordinates, as the spec states it (positive = exterior).
double surveyor_area(const std::vector<TilePoint>& r) {
    double sum = 0;
    for (std::size_t i = 0; i < r.size(); ++i) {
        const TilePoint& a = r[i];
        const TilePoint& b = r[(i + 1) % r.size()];
        sum += static_cast<double>(a.x) * b.y - static_cast<double>(b.x) * a.y;
    }
    return sum / 2.0;
}

using Ring = std::vector<TilePoint>;

// ------------------------------------------------------------------ GDAL's MVT driver

struct DatasetCloser {
    void operator()(void* h) const noexcept { GDALClose(static_cast<GDALDatasetH>(h)); }
};
using Dataset = std::unique_ptr<void, DatasetCloser>;
struct FeatureDestroyer {
    void operator()(OGRFeatureH h) const noexcept { OGR_F_Destroy(h); }
};
using Feature = std::unique_ptr<std::remove_pointer_t<OGRFeatureH>, FeatureDestroyer>;

/// A tile placed at /vsimem/.../z/x/y.pbf so that GDAL georeferences it; removed on destruction.
class VsiTile {
public:
    VsiTile(const TileId& t, const std::string& data) : m_data(data) {
        static std::atomic<int> counter{0};
        m_path = "/vsimem/sitmap_mvt_test_" + std::to_string(counter++) + "/" + t.to_string() + ".pbf";
        VSILFILE* f = VSIFileFromMemBuffer(m_path.c_str(), reinterpret_cast<GByte*>(m_data.data()),
                                           static_cast<vsi_l_offset>(m_data.size()), FALSE);
        REQUIRE(f != nullptr);
        VSIFCloseL(f);
    }
    VsiTile(const VsiTile&) = delete;
    VsiTile& operator=(const VsiTile&) = delete;
    ~VsiTile() { VSIUnlink(m_path.c_str()); }

    Dataset open() const {
        GDALAllRegister();
        const char* drivers[] = {"MVT", nullptr};
        Dataset ds{GDALOpenEx(m_path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, drivers, nullptr, nullptr)};
        REQUIRE(ds != nullptr);
        return ds;
    }

private:
    std::string m_data; // GDAL reads this buffer in place
    std::string m_path;
};

std::string wkt(OGRGeometryH g) {
    char* text = nullptr;
    REQUIRE(OGR_G_ExportToWkt(g, &text) == OGRERR_NONE);
    std::string out(text);
    CPLFree(text);
    return out;
}

/// Signed area of an OGR ring in map coordinates (y up): positive = counter-clockwise.
double ogr_ring_area(OGRGeometryH ring) {
    const int n = OGR_G_GetPointCount(ring);
    double sum = 0;
    for (int i = 0; i + 1 < n; ++i) {
        sum += OGR_G_GetX(ring, i) * OGR_G_GetY(ring, i + 1) - OGR_G_GetX(ring, i + 1) * OGR_G_GetY(ring, i);
    }
    return sum / 2.0;
}

/// The polygons of an OGR Polygon or MultiPolygon as lists of rings.
std::vector<std::vector<OGRGeometryH>> ogr_polygons(OGRGeometryH g) {
    std::vector<std::vector<OGRGeometryH>> out;
    auto add_polygon = [&](OGRGeometryH poly) {
        REQUIRE(wkbFlatten(OGR_G_GetGeometryType(poly)) == wkbPolygon);
        std::vector<OGRGeometryH> rings;
        for (int r = 0; r < OGR_G_GetGeometryCount(poly); ++r) {
            rings.push_back(OGR_G_GetGeometryRef(poly, r));
        }
        out.push_back(rings);
    };
    if (wkbFlatten(OGR_G_GetGeometryType(g)) == wkbMultiPolygon) {
        for (int p = 0; p < OGR_G_GetGeometryCount(g); ++p) {
            add_polygon(OGR_G_GetGeometryRef(g, p));
        }
    } else {
        add_polygon(g);
    }
    return out;
}

const Ring square_cw{{100, 100}, {200, 100}, {200, 200}, {100, 200}};      // positive area, y down
const Ring square_ccw{{100, 100}, {100, 200}, {200, 200}, {200, 100}};     // negative area
const Ring hole_ccw{{130, 130}, {130, 170}, {170, 170}, {170, 130}};       // negative area
const Ring hole_cw{{130, 130}, {170, 130}, {170, 170}, {130, 170}};        // positive area

} // namespace

// ------------------------------------------------------------------ protozero round trips

TEST_CASE("mvt: a point layer round-trips through protozero with name, version, extent and ids", "[geo]") {
    mvt::TileBuilder tile;
    auto& layer = tile.add_layer("incidents");
    {
        auto f = layer.feature(42, GeomType::Point);
        f.point(25, 17);
        f.property("type", "ambush").property("fatalities", 3).property("delta", -5);
        f.property("ratio", 0.25).property("synthetic", true).property("big", std::uint64_t{1} << 40);
        f.property("single", 1.5F);
        CHECK(f.commit());
    }
    {
        auto f = layer.feature(7, GeomType::Point);
        f.point(TilePoint{5, 7}).point(TilePoint{3, 2});
        f.property("type", std::string("ambush")).property("fatalities", std::int64_t{3});
        CHECK(f.commit());
    }
    CHECK(layer.feature_count() == 2);
    const std::string data = tile.serialize();
    REQUIRE_FALSE(data.empty());

    const auto layers = decode_tile(data);
    REQUIRE(layers.size() == 1);
    const DecodedLayer& l = layers[0];
    CHECK(l.name == "incidents");
    CHECK(l.version == 2);
    CHECK(l.extent == 4096);
    REQUIRE(l.features.size() == 2);

    const DecodedFeature& a = l.features[0];
    CHECK(a.has_id);
    CHECK(a.id == 42);
    CHECK(a.type == 1);
    CHECK(a.geometry == std::vector<std::uint32_t>{9, 50, 34}); // the spec's point example
    auto pa = l.properties(a);
    REQUIRE(pa.size() == 7);
    CHECK(pa["type"].tag == 1);
    CHECK(pa["type"].s == "ambush");
    CHECK(pa["fatalities"].tag == 4); // non-negative -> int_value
    CHECK(pa["fatalities"].i == 3);
    CHECK(pa["delta"].tag == 6); // negative -> sint_value
    CHECK(pa["delta"].i == -5);
    CHECK(pa["ratio"].tag == 3);
    CHECK(pa["ratio"].d == 0.25);
    CHECK(pa["synthetic"].tag == 7);
    CHECK(pa["synthetic"].b);
    CHECK(pa["big"].tag == 5);
    CHECK(pa["big"].u == (std::uint64_t{1} << 40));
    CHECK(pa["single"].tag == 2);
    CHECK(pa["single"].f == 1.5F);

    const DecodedFeature& b = l.features[1];
    CHECK(b.id == 7);
    CHECK(b.geometry == std::vector<std::uint32_t>{17, 10, 14, 3, 9}); // the spec's multipoint example
    auto pb = l.properties(b);
    CHECK(pb["type"].s == "ambush");
    CHECK(pb["fatalities"].i == 3);
}

TEST_CASE("mvt: keys and values are shared by the features of a layer", "[geo]") {
    mvt::TileBuilder tile;
    auto& layer = tile.add_layer("bases");
    for (std::uint64_t id = 1; id <= 100; ++id) {
        auto f = layer.feature(id, GeomType::Point);
        f.point(static_cast<std::int32_t>(id), 10);
        f.property("kind", id % 2 == 0 ? "camp" : "police");
        f.property("approximate", static_cast<int>(id % 2));
        f.property("name", "Base " + std::to_string(id));
        REQUIRE(f.commit());
    }
    CHECK(layer.key_count() == 3);
    CHECK(layer.value_count() == 2 + 2 + 100);
    const auto layers = decode_tile(tile.serialize());
    REQUIRE(layers.size() == 1);
    CHECK(layers[0].keys.size() == 3);
    CHECK(layers[0].values.size() == 104);
    REQUIRE(layers[0].features.size() == 100);
    auto p = layers[0].properties(layers[0].features[9]);
    CHECK(p["kind"].s == "camp");
    CHECK(p["approximate"].i == 0);
    CHECK(p["name"].s == "Base 10");
    // The same number as int and as double are different values.
    mvt::TileBuilder t2;
    auto& l2 = t2.add_layer("x");
    auto f = l2.feature(1, GeomType::Point);
    f.point(0, 0).property("a", 1).property("b", 1.0).property("c", true).property("d", "1");
    f.commit();
    CHECK(l2.value_count() == 4);
}

TEST_CASE("mvt: a repeated key in one feature keeps the last value", "[geo]") {
    mvt::TileBuilder tile;
    auto& layer = tile.add_layer("x");
    auto f = layer.feature(1, GeomType::Point);
    f.point(1, 1).property("name", "first").property("name", "second");
    REQUIRE(f.commit());
    const auto l = decode_tile(tile.serialize()).at(0);
    CHECK(l.features.at(0).tags.size() == 2);
    CHECK(l.properties(l.features[0])["name"].s == "second");
}

TEST_CASE("mvt: lines encode as the spec's examples and drop duplicate points", "[geo]") {
    mvt::TileBuilder tile;
    auto& layer = tile.add_layer("routes");
    {
        auto f = layer.feature(1, GeomType::LineString);
        f.line({{2, 2}, {2, 10}, {10, 10}});
        REQUIRE(f.commit());
    }
    {
        auto f = layer.feature(2, GeomType::LineString);
        f.line({{2, 2}, {2, 2}, {2, 10}, {2, 10}, {2, 10}, {10, 10}});
        f.line({{1, 1}, {3, 5}, {3, 5}});
        REQUIRE(f.commit());
    }
    {
        // One distinct point only: no geometry, so nothing is written.
        auto f = layer.feature(3, GeomType::LineString);
        f.line({{7, 7}, {7, 7}, {7, 7}});
        f.property("orphan_key", "orphan value");
        CHECK_FALSE(f.has_geometry());
        CHECK_FALSE(f.commit());
    }
    {
        // A degenerate part is skipped but the good part stays.
        auto f = layer.feature(4, GeomType::LineString);
        f.line({{5, 5}});
        f.line({{0, 0}, {4, 0}});
        REQUIRE(f.commit());
    }
    CHECK(layer.feature_count() == 3);
    CHECK(layer.key_count() == 0); // the dropped feature's key did not stay in the layer
    const auto l = decode_tile(tile.serialize()).at(0);
    REQUIRE(l.features.size() == 3);
    CHECK(l.keys.empty());
    CHECK(l.values.empty());
    CHECK(l.features[0].type == 2);
    CHECK(l.features[0].geometry == std::vector<std::uint32_t>{9, 4, 4, 18, 0, 16, 16, 0});
    CHECK(l.features[1].geometry == std::vector<std::uint32_t>{9, 4, 4, 18, 0, 16, 16, 0, 9, 17, 17, 10, 4, 8});
    CHECK(l.features[2].id == 4);
    const auto parts = decode_geometry(l.features[2].geometry, 2);
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].points == std::vector<TilePoint>{{0, 0}, {4, 0}});
}

TEST_CASE("mvt: polygons encode as the spec's examples", "[geo]") {
    mvt::TileBuilder tile;
    auto& layer = tile.add_layer("regions");
    {
        auto f = layer.feature(1, GeomType::Polygon);
        f.ring({{3, 6}, {8, 12}, {20, 34}, {3, 6}});
        REQUIRE(f.commit());
    }
    {
        auto f = layer.feature(2, GeomType::Polygon);
        f.ring({{0, 0}, {10, 0}, {10, 10}, {0, 10}, {0, 0}});
        f.polygon();
        f.ring({{11, 11}, {20, 11}, {20, 20}, {11, 20}, {11, 11}});
        f.ring({{13, 13}, {13, 17}, {17, 17}, {17, 13}, {13, 13}});
        REQUIRE(f.commit());
    }
    const auto l = decode_tile(tile.serialize()).at(0);
    REQUIRE(l.features.size() == 2);
    CHECK(l.features[0].type == 3);
    CHECK(l.features[0].geometry == std::vector<std::uint32_t>{9, 6, 12, 18, 10, 12, 24, 44, 15});
    CHECK(l.features[1].geometry == std::vector<std::uint32_t>{9,  0,  0, 26, 20, 0, 0, 20, 19, 0, 15,
                                                               9,  22, 2, 26, 18, 0, 0, 18, 17, 0, 15,
                                                               9,  4,  13, 26, 0, 8, 8, 0,  0, 7, 15});
}

TEST_CASE("mvt: rings in either winding come out exterior clockwise and holes counter-clockwise", "[geo]") {
    const std::vector<std::pair<Ring, Ring>> inputs = {
        {square_cw, hole_ccw}, {square_ccw, hole_cw}, {square_ccw, hole_ccw}, {square_cw, hole_cw}};
    for (const auto& [outer, hole] : inputs) {
        mvt::TileBuilder tile;
        auto& layer = tile.add_layer("cercles");
        auto f = layer.feature(9, GeomType::Polygon);
        f.ring(outer).ring(hole);
        // A second polygon given as a closed ring in the "wrong" winding.
        Ring second{{300, 300}, {300, 400}, {400, 400}, {400, 300}, {300, 300}};
        f.polygon().ring(second);
        REQUIRE(f.commit());
        const auto l = decode_tile(tile.serialize()).at(0);
        const auto parts = decode_geometry(l.features.at(0).geometry, 3);
        REQUIRE(parts.size() == 3);
        CHECK(surveyor_area(parts[0].points) == Approx(10000.0));
        CHECK(surveyor_area(parts[1].points) == Approx(-1600.0));
        CHECK(surveyor_area(parts[2].points) == Approx(10000.0));
        CHECK(parts[0].points.size() == 4);
        CHECK(parts[2].points.size() == 4); // the closing point was not repeated
    }
}

TEST_CASE("mvt: degenerate rings are dropped, and holes of a dropped exterior with them", "[geo]") {
    mvt::TileBuilder tile;
    auto& layer = tile.add_layer("regions");
    {
        auto f = layer.feature(1, GeomType::Polygon);
        f.ring({{0, 0}, {10, 0}, {0, 0}});                  // two distinct points
        f.ring({{1, 1}, {2, 1}});                           // hole of the dropped exterior
        f.polygon().ring({{0, 0}, {5, 5}, {10, 10}});       // collinear: zero area
        f.polygon().ring({{0, 0}, {0, 0}, {4, 0}, {4, 0}, {4, 4}, {4, 4}, {0, 0}}); // kept, duplicates dropped
        f.ring({{1, 1}, {3, 1}, {1, 1}});                   // degenerate hole
        f.ring({{1, 1}, {2, 2}, {1, 1}, {2, 2}});           // zero-area hole
        REQUIRE(f.commit());
    }
    {
        auto f = layer.feature(2, GeomType::Polygon);
        f.ring({{0, 0}, {10, 0}, {20, 0}, {0, 0}});
        CHECK_FALSE(f.commit());
    }
    {
        // The hole of a dropped exterior must not become a hole of the previous polygon.
        auto f = layer.feature(3, GeomType::Polygon);
        f.ring(square_cw);
        f.polygon().ring({{500, 500}, {600, 500}});
        f.ring(hole_ccw);
        REQUIRE(f.commit());
    }
    const auto l = decode_tile(tile.serialize()).at(0);
    REQUIRE(l.features.size() == 2);
    const auto parts = decode_geometry(l.features[0].geometry, 3);
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].points == std::vector<TilePoint>{{0, 0}, {4, 0}, {4, 4}});
    CHECK(l.features[1].id == 3);
    const auto parts3 = decode_geometry(l.features[1].geometry, 3);
    REQUIRE(parts3.size() == 1);
    CHECK(parts3[0].points == square_cw);
}

TEST_CASE("mvt: layers without features are omitted and an empty tile is empty", "[geo]") {
    mvt::TileBuilder tile;
    auto& empty = tile.add_layer("regions");
    auto& bases = tile.add_layer("bases", 512);
    auto& routes = tile.add_layer("routes");
    CHECK(tile.empty());
    CHECK(tile.serialize().empty());
    {
        auto f = routes.feature(1, GeomType::LineString);
        f.line({{1, 1}, {1, 1}});
        CHECK_FALSE(f.commit());
    }
    {
        auto f = bases.feature(GeomType::Point); // no id
        f.point(1, 2);
        // not committed: rolled back by the destructor
    }
    CHECK(tile.serialize().empty());
    {
        auto f = bases.feature(GeomType::Point);
        f.point(1, 2).property("name", "Gao");
        REQUIRE(f.commit());
    }
    CHECK(empty.empty());
    CHECK_FALSE(tile.empty());
    const auto layers = decode_tile(tile.serialize());
    REQUIRE(layers.size() == 1);
    CHECK(layers[0].name == "bases");
    CHECK(layers[0].extent == 512);
    CHECK(layers[0].version == 2);
    REQUIRE(layers[0].features.size() == 1);
    CHECK_FALSE(layers[0].features[0].has_id);
}

TEST_CASE("mvt: layer names must be unique and non-empty", "[geo]") {
    mvt::TileBuilder tile;
    tile.add_layer("bases");
    REQUIRE_THROWS_AS(tile.add_layer("bases"), sitmap::input_error);
    REQUIRE_THROWS_AS(tile.add_layer(""), sitmap::input_error);
    REQUIRE_THROWS_AS(tile.add_layer("x", 0), sitmap::input_error);
}

TEST_CASE("mvt: steps that do not fit 32 bits are rejected", "[geo]") {
    mvt::TileBuilder tile;
    auto& layer = tile.add_layer("x");
    auto f = layer.feature(1, GeomType::LineString);
    REQUIRE_THROWS_AS(f.line({{-2000000000, 0}, {2000000000, 0}}), sitmap::input_error);
}

TEST_CASE("mvt: several layers keep their order and their own dictionaries", "[geo]") {
    mvt::TileBuilder tile;
    for (const char* name : {"regions", "cercles", "bases", "incidents", "routes"}) {
        auto& layer = tile.add_layer(name);
        auto f = layer.feature(1, GeomType::Point);
        f.point(10, 10).property("layer", name);
        REQUIRE(f.commit());
    }
    const auto layers = decode_tile(tile.serialize());
    REQUIRE(layers.size() == 5);
    CHECK(layers[0].name == "regions");
    CHECK(layers[4].name == "routes");
    for (const auto& l : layers) {
        REQUIRE(l.values.size() == 1);
        CHECK(l.values[0].s == l.name);
    }
}

// ------------------------------------------------------------------ GDAL's MVT driver reads our tiles

TEST_CASE("mvt: GDAL's MVT driver reads the features, ids, typed attributes and positions", "[geo][gdal]") {
    const TileId tid{7, 63, 58};
    const TileTransform tr(tid);
    mvt::TileBuilder tile;
    auto& incidents = tile.add_layer("incidents");
    const TilePoint gao = tr.from_lonlat(-0.04, 16.27);
    {
        auto f = incidents.feature(1001, GeomType::Point);
        f.point(gao);
        f.property("type", "ied_detonated").property("fatalities", 4).property("injuries", -1);
        f.property("score", 2.5).property("synthetic", true);
        REQUIRE(f.commit());
    }
    {
        auto f = incidents.feature(1002, GeomType::Point);
        f.point(tr.from_lonlat(-1.0, 15.0));
        f.property("type", "ambush").property("fatalities", 0).property("injuries", 2);
        f.property("score", 0.5).property("synthetic", false);
        REQUIRE(f.commit());
    }
    auto& routes = tile.add_layer("routes");
    {
        auto f = routes.feature(7, GeomType::LineString);
        f.line({{0, 0}, {0, 0}, {100, 0}, {100, 100}});
        f.property("name", "RN16");
        REQUIRE(f.commit());
    }
    VsiTile file(tid, tile.serialize());
    Dataset ds = file.open();
    CHECK(GDALDatasetGetLayerCount(ds.get()) == 2);

    OGRLayerH layer = GDALDatasetGetLayerByName(ds.get(), "incidents");
    REQUIRE(layer != nullptr);
    CHECK(OGR_L_GetFeatureCount(layer, TRUE) == 2);
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    auto field_type = [&](const char* name) {
        const int i = OGR_FD_GetFieldIndex(defn, name);
        REQUIRE(i >= 0);
        return OGR_Fld_GetType(OGR_FD_GetFieldDefn(defn, i));
    };
    // GDAL exposes the MVT feature id as the mvt_id field (its FIDs are sequence numbers).
    CHECK(field_type("mvt_id") == OFTInteger64);
    CHECK(field_type("type") == OFTString);
    CHECK((field_type("fatalities") == OFTInteger || field_type("fatalities") == OFTInteger64));
    CHECK((field_type("injuries") == OFTInteger || field_type("injuries") == OFTInteger64));
    CHECK(field_type("score") == OFTReal);
    CHECK(field_type("synthetic") == OFTInteger);
    CHECK(OGR_Fld_GetSubType(OGR_FD_GetFieldDefn(defn, OGR_FD_GetFieldIndex(defn, "synthetic"))) == OFSTBoolean);

    OGR_L_ResetReading(layer);
    Feature first{OGR_L_GetNextFeature(layer)};
    REQUIRE(first);
    CHECK(OGR_F_GetFieldAsInteger64(first.get(), OGR_F_GetFieldIndex(first.get(), "mvt_id")) == 1001);
    CHECK(std::string(OGR_F_GetFieldAsString(first.get(), OGR_F_GetFieldIndex(first.get(), "type"))) ==
          "ied_detonated");
    CHECK(OGR_F_GetFieldAsInteger64(first.get(), OGR_F_GetFieldIndex(first.get(), "fatalities")) == 4);
    CHECK(OGR_F_GetFieldAsInteger64(first.get(), OGR_F_GetFieldIndex(first.get(), "injuries")) == -1);
    CHECK(OGR_F_GetFieldAsDouble(first.get(), OGR_F_GetFieldIndex(first.get(), "score")) == 2.5);
    CHECK(OGR_F_GetFieldAsInteger(first.get(), OGR_F_GetFieldIndex(first.get(), "synthetic")) == 1);
    OGRGeometryH g = OGR_F_GetGeometryRef(first.get());
    REQUIRE(g != nullptr);
    CHECK(wkbFlatten(OGR_G_GetGeometryType(g)) == wkbPoint);
    // GDAL puts the tile at EPSG:3857 from its z/x/y path: the point is Gao within one tile unit.
    const Mercator expected = tr.to_mercator(gao);
    CHECK(OGR_G_GetX(g, 0) == Approx(expected.x).margin(1e-3));
    CHECK(OGR_G_GetY(g, 0) == Approx(expected.y).margin(1e-3));
    const Mercator truth = lonlat_to_mercator(-0.04, 16.27);
    const double unit = tile_size_mercator(7) / 4096.0;
    CHECK(std::abs(OGR_G_GetX(g, 0) - truth.x) <= unit);
    CHECK(std::abs(OGR_G_GetY(g, 0) - truth.y) <= unit);

    Feature second{OGR_L_GetNextFeature(layer)};
    REQUIRE(second);
    CHECK(OGR_F_GetFieldAsInteger64(second.get(), OGR_F_GetFieldIndex(second.get(), "mvt_id")) == 1002);
    CHECK(OGR_F_GetFieldAsInteger(second.get(), OGR_F_GetFieldIndex(second.get(), "synthetic")) == 0);
    CHECK(OGR_F_GetFieldAsInteger64(second.get(), OGR_F_GetFieldIndex(second.get(), "injuries")) == 2);
    CHECK_FALSE(Feature{OGR_L_GetNextFeature(layer)});

    OGRLayerH lines = GDALDatasetGetLayerByName(ds.get(), "routes");
    REQUIRE(lines != nullptr);
    OGR_L_ResetReading(lines);
    Feature line{OGR_L_GetNextFeature(lines)};
    REQUIRE(line);
    CHECK(OGR_F_GetFieldAsInteger64(line.get(), OGR_F_GetFieldIndex(line.get(), "mvt_id")) == 7);
    OGRGeometryH lg = OGR_F_GetGeometryRef(line.get());
    REQUIRE(lg != nullptr);
    CHECK(wkbFlatten(OGR_G_GetGeometryType(lg)) == wkbLineString);
    CHECK(OGR_G_GetPointCount(lg) == 3); // the duplicate point was dropped
    CHECK(OGR_G_GetX(lg, 2) == Approx(tr.to_mercator({100, 100}).x).margin(1e-3));
    CHECK(OGR_G_GetY(lg, 2) == Approx(tr.to_mercator({100, 100}).y).margin(1e-3));
}

TEST_CASE("mvt: GDAL's MVT driver sees holes as holes and exteriors clockwise on the map", "[geo][gdal]") {
    // GDAL keeps the rings' order and tells holes by a change of winding from the first ring.
    // Flipping y to map coordinates keeps the picture, so an MVT exterior (clockwise on screen)
    // is clockwise on the map too: a negative signed area with y up.
    const TileId tid{5, 15, 14};
    const TileTransform tr(tid);
    mvt::TileBuilder tile;
    auto& layer = tile.add_layer("regions");
    {
        // Exterior given counter-clockwise and the hole clockwise on screen: both must be flipped.
        auto f = layer.feature(1, GeomType::Polygon);
        f.ring(square_ccw).ring(hole_cw);
        f.property("id", "ML07");
        REQUIRE(f.commit());
    }
    {
        // Two polygons, the second with a degenerate ring dropped.
        auto f = layer.feature(2, GeomType::Polygon);
        f.ring({{1000, 1000}, {2000, 1000}, {2000, 2000}, {1000, 2000}, {1000, 1000}});
        f.ring({{1200, 1200}, {1300, 1300}, {1200, 1200}});
        f.polygon().ring({{3000, 3000}, {3000, 3500}, {3500, 3500}, {3500, 3000}});
        f.property("id", "ML06");
        REQUIRE(f.commit());
    }
    VsiTile file(tid, tile.serialize());
    Dataset ds = file.open();
    OGRLayerH l = GDALDatasetGetLayerByName(ds.get(), "regions");
    REQUIRE(l != nullptr);
    CHECK(OGR_L_GetFeatureCount(l, TRUE) == 2);
    OGR_L_ResetReading(l);

    Feature a{OGR_L_GetNextFeature(l)};
    REQUIRE(a);
    OGRGeometryH ga = OGR_F_GetGeometryRef(a.get());
    REQUIRE(ga != nullptr);
    INFO(wkt(ga));
    auto polys = ogr_polygons(ga);
    REQUIRE(polys.size() == 1);
    REQUIRE(polys[0].size() == 2); // one exterior, one hole: not two polygons
    const double unit = tile_size_mercator(5) / 4096.0;
    CHECK(ogr_ring_area(polys[0][0]) == Approx(-10000.0 * unit * unit).epsilon(1e-9));
    CHECK(ogr_ring_area(polys[0][1]) == Approx(1600.0 * unit * unit).epsilon(1e-9));
    CHECK(OGR_G_Area(ga) == Approx(8400.0 * unit * unit).epsilon(1e-9));

    Feature b{OGR_L_GetNextFeature(l)};
    REQUIRE(b);
    OGRGeometryH gb = OGR_F_GetGeometryRef(b.get());
    REQUIRE(gb != nullptr);
    INFO(wkt(gb));
    CHECK(wkbFlatten(OGR_G_GetGeometryType(gb)) == wkbMultiPolygon);
    polys = ogr_polygons(gb);
    REQUIRE(polys.size() == 2);
    CHECK(polys[0].size() == 1);
    CHECK(polys[1].size() == 1);
    CHECK(ogr_ring_area(polys[0][0]) < 0);
    CHECK(ogr_ring_area(polys[1][0]) < 0);
    // The corners land where the transform says.
    const Mercator nw = tr.to_mercator({1000, 1000});
    const OGRGeometryH ring = polys[0][0];
    bool found = false;
    for (int i = 0; i < OGR_G_GetPointCount(ring); ++i) {
        found = found || (std::abs(OGR_G_GetX(ring, i) - nw.x) < 1e-3 && std::abs(OGR_G_GetY(ring, i) - nw.y) < 1e-3);
    }
    CHECK(found);
}
