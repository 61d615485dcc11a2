#include "geo/tile.hpp"

#include "geo/error.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <numbers>

using namespace sitmap::geo;

namespace {

// The OSM wiki's "slippy map" formula, written differently from geo/tile.cpp (asinh(tan)
// instead of log(tan(pi/4 + phi/2))), to check it independently.
double osm_tile_fx(double lon, int z) {
    return (lon + 180.0) / 360.0 * std::exp2(z);
}
double osm_tile_fy(double lat, int z) {
    const double phi = lat * std::numbers::pi / 180.0;
    return (1.0 - std::asinh(std::tan(phi)) / std::numbers::pi) / 2.0 * std::exp2(z);
}

} // namespace

TEST_CASE("tile: zoom 0 covers the whole mercator square", "[geo]") {
    const BBox m = tile_bounds_mercator(TileId{0, 0, 0});
    CHECK(m.min_x == Approx(-20037508.342789244).margin(1e-6));
    CHECK(m.min_y == Approx(-20037508.342789244).margin(1e-6));
    CHECK(m.max_x == Approx(20037508.342789244).margin(1e-6));
    CHECK(m.max_y == Approx(20037508.342789244).margin(1e-6));

    const BBox g = tile_bounds_lonlat(TileId{0, 0, 0});
    CHECK(g.min_x == Approx(-180.0).margin(1e-9));
    CHECK(g.max_x == Approx(180.0).margin(1e-9));
    CHECK(g.min_y == Approx(-max_latitude).margin(1e-9));
    CHECK(g.max_y == Approx(max_latitude).margin(1e-9));

    CHECK(lonlat_to_tile(-0.04, 16.27, 0) == TileId{0, 0, 0});
    CHECK(lonlat_to_tile(179.9, -84.0, 0) == TileId{0, 0, 0});
}

TEST_CASE("tile: the four tiles of zoom 1 split the square at the origin", "[geo]") {
    const BBox nw = tile_bounds_mercator(TileId{1, 0, 0});
    CHECK(nw.min_x == Approx(-mercator_half_size));
    CHECK(nw.max_x == Approx(0.0).margin(1e-6));
    CHECK(nw.min_y == Approx(0.0).margin(1e-6));
    CHECK(nw.max_y == Approx(mercator_half_size));
    CHECK(lonlat_to_tile(-1.0, 1.0, 1) == TileId{1, 0, 0});
    CHECK(lonlat_to_tile(1.0, 1.0, 1) == TileId{1, 1, 0});
    CHECK(lonlat_to_tile(-1.0, -1.0, 1) == TileId{1, 0, 1});
    CHECK(lonlat_to_tile(1.0, -1.0, 1) == TileId{1, 1, 1});
}

TEST_CASE("tile: the last row and column end at the south-east corner of the square", "[geo]") {
    for (int z : {1, 3, 7, 12, 24}) {
        const std::uint32_t last = (std::uint32_t{1} << z) - 1;
        const TileId t = TileId::make(z, last, last);
        const BBox b = tile_bounds_mercator(t);
        CHECK(b.max_x == Approx(mercator_half_size).margin(1e-6));
        CHECK(b.min_y == Approx(-mercator_half_size).margin(1e-6));
        CHECK(b.max_x - b.min_x == Approx(tile_size_mercator(z)));
        // lon 180 and the south pole belong to the last column and row.
        CHECK(lonlat_to_tile(180.0, -90.0, z) == t);
        CHECK(lonlat_to_tile(-180.0, 90.0, z) == TileId{z, 0, 0});
    }
}

TEST_CASE("tile: out-of-range tile ids are rejected with input_error", "[geo]") {
    CHECK_NOTHROW(TileId::make(0, 0, 0));
    CHECK_NOTHROW(TileId::make(24, (1 << 24) - 1, (1 << 24) - 1));
    REQUIRE_THROWS_AS(TileId::make(-1, 0, 0), sitmap::input_error);
    REQUIRE_THROWS_AS(TileId::make(25, 0, 0), sitmap::input_error);
    REQUIRE_THROWS_AS(TileId::make(0, 1, 0), sitmap::input_error);
    REQUIRE_THROWS_AS(TileId::make(0, 0, 1), sitmap::input_error);
    REQUIRE_THROWS_AS(TileId::make(3, 8, 0), sitmap::input_error);
    REQUIRE_THROWS_AS(TileId::make(3, -1, 0), sitmap::input_error);
    REQUIRE_THROWS_AS(TileId::make(3, 0, 8), sitmap::input_error);
    REQUIRE_THROWS_AS((TileId{3, 8, 0}.validate()), sitmap::input_error);
    CHECK_FALSE(TileId{3, 0, 8}.valid());
    CHECK(TileId{3, 7, 7}.valid());
    REQUIRE_THROWS_AS(tile_bounds_mercator(TileId{2, 4, 0}), sitmap::input_error);
    REQUIRE_THROWS_AS(TileTransform(TileId{5, 0, 32}), sitmap::input_error);
    REQUIRE_THROWS_AS(lonlat_to_tile(0.0, 0.0, 25), sitmap::input_error);
    REQUIRE_THROWS_AS(lonlat_to_tile(std::nan(""), 0.0, 3), sitmap::input_error);
    REQUIRE_THROWS_WITH(TileId::make(3, 8, 0), Catch::Contains("3/8/0") && Catch::Contains("0..7"));
    CHECK(TileId{7, 63, 58}.to_string() == "7/63/58");
}

TEST_CASE("tile: lon/lat -> mercator -> lon/lat round trips within 1e-9 degrees", "[geo]") {
    for (double lon = -180.0; lon <= 180.0; lon += 7.5) {
        for (double lat = -85.0; lat <= 85.0; lat += 2.5) {
            const Mercator m = lonlat_to_mercator(lon, lat);
            const LonLat back = mercator_to_lonlat(m.x, m.y);
            CHECK(back.lon == Approx(lon).margin(1e-9));
            CHECK(back.lat == Approx(lat).margin(1e-9));
        }
    }
}

TEST_CASE("tile: mercator formulas match EPSG:3857 reference values", "[geo]") {
    CHECK(lonlat_to_mercator(180.0, 0.0).x == Approx(20037508.342789244).margin(1e-6));
    CHECK(lonlat_to_mercator(0.0, 0.0).y == Approx(0.0).margin(1e-9));
    // The mercator square ends at atan(sinh(pi)).
    CHECK(lonlat_to_mercator(0.0, max_latitude).y == Approx(20037508.342789244).margin(1e-3));
    // Latitudes beyond the square are clamped, not infinite.
    CHECK(lonlat_to_mercator(0.0, 90.0).y == Approx(20037508.342789244).margin(1e-3));
    CHECK(lonlat_to_mercator(0.0, -90.0).y == Approx(-20037508.342789244).margin(1e-3));
    // Gao, 0.04 W 16.27 N: y = R * asinh(tan(phi)), an equivalent formula.
    const double phi = 16.27 * std::numbers::pi / 180.0;
    CHECK(lonlat_to_mercator(-0.04, 16.27).y == Approx(earth_radius * std::asinh(std::tan(phi))).margin(1e-6));
    CHECK(lonlat_to_mercator(-0.04, 16.27).x == Approx(-4452.779631730943).margin(1e-6));
}

TEST_CASE("tile: known Malian towns fall in the tiles the slippy-map formula gives", "[geo]") {
    struct Town {
        const char* name;
        double lon, lat;
        int z;
        std::uint32_t x, y; // computed with Python from the OSM wiki formula
    };
    const Town towns[] = {
        {"Gao", -0.04, 16.27, 7, 63, 58},
        {"Bamako", -8.0029, 12.6392, 10, 489, 475},
        {"Tessalit", 0.9745, 20.2019, 12, 2059, 1813},
    };
    for (const Town& t : towns) {
        INFO(t.name);
        CHECK(lonlat_to_tile(t.lon, t.lat, t.z) == TileId{t.z, t.x, t.y});
        for (int z = 0; z <= 18; ++z) {
            const TileId id = lonlat_to_tile(t.lon, t.lat, z);
            CHECK(id.x == static_cast<std::uint32_t>(std::floor(osm_tile_fx(t.lon, z))));
            CHECK(id.y == static_cast<std::uint32_t>(std::floor(osm_tile_fy(t.lat, z))));
            CHECK(tile_bounds_lonlat(id).contains(t.lon, t.lat));
        }
    }
}

TEST_CASE("tile: lon/lat bounds of a tile match the inverse slippy-map formula", "[geo]") {
    const BBox b = tile_bounds_lonlat(TileId{7, 63, 58});
    CHECK(b.min_x == Approx(-2.8125).margin(1e-9));
    CHECK(b.max_x == Approx(0.0).margin(1e-9));
    CHECK(b.min_y == Approx(13.923403897723341).margin(1e-9));
    CHECK(b.max_y == Approx(16.636191878397657).margin(1e-9));
}

TEST_CASE("tile: a buffer grows the bounds by that many 1/4096ths of the tile", "[geo]") {
    const TileId t{5, 15, 14};
    const BBox plain = tile_bounds_mercator(t);
    const BBox buffered = tile_bounds_mercator(t, 64.0);
    const double grow = tile_size_mercator(5) * 64.0 / 4096.0;
    CHECK(buffered.min_x == Approx(plain.min_x - grow));
    CHECK(buffered.max_x == Approx(plain.max_x + grow));
    CHECK(buffered.min_y == Approx(plain.min_y - grow));
    CHECK(buffered.max_y == Approx(plain.max_y + grow));
    // Same buffer at extent 512 is 8 times wider.
    const BBox b512 = tile_bounds_mercator(t, 64.0, 512);
    CHECK(b512.max_x - plain.max_x == Approx(8.0 * grow));

    const BBox g = tile_bounds_lonlat(t, 64.0);
    const BBox gp = tile_bounds_lonlat(t);
    CHECK(g.min_x < gp.min_x);
    CHECK(g.max_y > gp.max_y);
    const LonLat ne = mercator_to_lonlat(buffered.max_x, buffered.max_y);
    CHECK(g.max_x == Approx(ne.lon));
    CHECK(g.max_y == Approx(ne.lat));
}

TEST_CASE("tile: the tiles covering Mali at zooms 5 and 8", "[geo]") {
    const BBox mali{-12.24, 10.14, 4.27, 25.0};
    // Fractional tile numbers from Python: z5 x 14.91..16.38, y 13.70..15.09.
    const TileRange r5 = tiles_covering(mali, 5);
    CHECK(r5.z == 5);
    CHECK(r5.min_x == 14);
    CHECK(r5.max_x == 16);
    CHECK(r5.min_y == 13);
    CHECK(r5.max_y == 15);
    CHECK(r5.count() == 9);
    // z8 x 119.30..131.04, y 109.63..120.75.
    const TileRange r8 = tiles_covering(mali, 8);
    CHECK(r8.min_x == 119);
    CHECK(r8.max_x == 131);
    CHECK(r8.min_y == 109);
    CHECK(r8.max_y == 120);
    CHECK(r8.count() == 13 * 12);
    std::uint64_t seen = 0;
    r8.for_each([&](const TileId& t) {
        CHECK(r8.contains(t));
        CHECK(t.valid());
        ++seen;
    });
    CHECK(seen == r8.count());
    CHECK(r8.contains(lonlat_to_tile(-0.04, 16.27, 8)));
}

TEST_CASE("tile: the whole world at zoom 2 is 16 tiles", "[geo]") {
    const TileRange r = tiles_covering(BBox{-180.0, -90.0, 180.0, 90.0}, 2);
    CHECK(r.min_x == 0);
    CHECK(r.min_y == 0);
    CHECK(r.max_x == 3);
    CHECK(r.max_y == 3);
    CHECK(r.count() == 16);
}

TEST_CASE("tile: a bbox edge on a tile edge does not pull in the neighbour", "[geo]") {
    const TileRange r = tiles_covering(BBox{0.0, 0.0, 90.0, 45.0}, 1);
    CHECK(r.min_x == 1);
    CHECK(r.max_x == 1);
    CHECK(r.min_y == 0);
    CHECK(r.max_y == 0);
    // A point bbox on a corner still yields one tile.
    const TileRange p = tiles_covering(BBox{0.0, 0.0, 0.0, 0.0}, 1);
    CHECK(p.count() == 1);
    CHECK(p.contains(TileId{1, 1, 1}));
}

TEST_CASE("tile: a reversed or non-finite bbox is rejected", "[geo]") {
    REQUIRE_THROWS_AS(tiles_covering(BBox{10.0, 0.0, 5.0, 1.0}, 3), sitmap::input_error);
    REQUIRE_THROWS_AS(tiles_covering(BBox{0.0, 10.0, 5.0, 1.0}, 3), sitmap::input_error);
    REQUIRE_THROWS_AS(tiles_covering(BBox{0.0, 0.0, std::numeric_limits<double>::infinity(), 1.0}, 3),
                      sitmap::input_error);
    REQUIRE_THROWS_AS(tiles_covering(BBox{0.0, 0.0, 1.0, 1.0}, 30), sitmap::input_error);
}

TEST_CASE("tile: the transform maps tile corners to 0 and the extent, y down", "[geo]") {
    const TileId t{7, 63, 58};
    const TileTransform tr(t);
    const BBox b = tile_bounds_lonlat(t);
    CHECK(tr.from_lonlat(b.min_x, b.max_y) == TilePoint{0, 0});       // north-west
    CHECK(tr.from_lonlat(b.max_x, b.min_y) == TilePoint{4096, 4096}); // south-east
    CHECK(tr.from_lonlat(b.max_x, b.max_y) == TilePoint{4096, 0});
    const BBox m = tile_bounds_mercator(t);
    CHECK(tr.from_mercator(m.min_x, m.min_y) == TilePoint{0, 4096});
    // Gao: fractional position from Python, (4037.75, 556.08) -> rounded.
    CHECK(tr.from_lonlat(-0.04, 16.27) == TilePoint{4038, 556});
    // North is up: a point further north has a smaller y.
    CHECK(tr.from_lonlat(-0.04, 16.3).y < tr.from_lonlat(-0.04, 16.27).y);

    const TileTransform t512(t, 512);
    CHECK(t512.from_lonlat(-0.04, 16.27) == TilePoint{505, 70}); // 4037.75/8, 556.08/8 rounded
}

TEST_CASE("tile: the transform round trips through mercator within half a unit", "[geo]") {
    const TileTransform tr(TileId{10, 489, 475});
    const double unit = tile_size_mercator(10) / 4096.0;
    for (int i = -100; i <= 4196; i += 37) {
        const TilePoint p{i, 4096 - i};
        const Mercator m = tr.to_mercator(p);
        CHECK(tr.from_mercator(m.x, m.y) == p);
        CHECK(tr.tile_x(m.x) == Approx(static_cast<double>(i)).margin(1e-6));
        const Mercator shifted{m.x + 0.4 * unit, m.y - 0.4 * unit};
        CHECK(tr.from_mercator(shifted.x, shifted.y) == p);
    }
    CHECK(tr.from_lonlat(-8.0029, 12.6392) == TilePoint{967, 3086});
}

TEST_CASE("tile: the transform clamps far-away points so deltas fit 32 bits", "[geo]") {
    const TileTransform tr(TileId{24, 0, 0});
    const TilePoint far = tr.from_lonlat(179.0, -80.0);
    CHECK(far.x == (1 << 30) - 1);
    CHECK(far.y == (1 << 30) - 1);
    const TilePoint nan = tr.from_mercator(std::nan(""), 0.0);
    CHECK(nan.x == 0);
}
