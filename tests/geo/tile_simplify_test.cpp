// Simplification of polygons that share borders (geo/simplify.hpp): neighbours keep one border.

#include "geo/simplify.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <string>

using namespace sitmap;

namespace {

double area(const geo::Geometry& g) {
    double a = 0;
    GEOSArea_r(geo::geos_context(), g.get(), &a);
    return a;
}

int vertices(const geo::Geometry& g) {
    return GEOSGetNumCoordinates_r(geo::geos_context(), g.get());
}

geo::Geometry united(const geo::Geometry& a, const geo::Geometry& b) {
    return geo::Geometry(GEOSUnion_r(geo::geos_context(), a.get(), b.get()), "union");
}

/// A border from (0, 0) to (0, 1000) that zigzags by +-amplitude around x = 0, as WKT coordinates
/// going north (or south when `reverse`).
std::string zigzag(double amplitude, bool reverse) {
    std::string out;
    for (int i = 0; i <= 100; ++i) {
        const int step = reverse ? 100 - i : i;
        const double x = (step == 0 || step == 100) ? 0 : (step % 2 ? amplitude : -amplitude);
        out += std::to_string(x) + " " + std::to_string(step * 10) + ", ";
    }
    return out;
}

/// Two squares west and east of the zigzag border, sharing it vertex for vertex.
std::vector<geo::Geometry> two_neighbours(double amplitude) {
    std::vector<geo::Geometry> out;
    out.push_back(geo::Geometry::from_wkt("POLYGON((" + zigzag(amplitude, false) + "-1000 1000, -1000 0, 0 0))"));
    out.push_back(geo::Geometry::from_wkt("POLYGON((" + zigzag(amplitude, true) + "1000 0, 1000 1000, 0 1000))"));
    return out;
}

} // namespace

TEST_CASE("tile simplify: neighbours simplified together keep one border, with fewer vertices", "[geo]") {
    const auto source = two_neighbours(3.0);
    const auto simple = geo::simplify_coverage(source, 5.0);
    REQUIRE(simple.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
        INFO("polygon " << i << ": " << simple[i].wkt(1));
        REQUIRE_FALSE(simple[i].empty());
        CHECK(simple[i].is_valid());
        CHECK(vertices(simple[i]) <= 6);  // the zigzag is within the tolerance: a straight border
        CHECK(vertices(source[i]) > 100);
        CHECK(area(simple[i]) == Approx(1000.0 * 1000.0).margin(5.0 * 1000.0));
    }
    // No gap and no overlap: the union is one square without holes, as large as both together.
    const auto both = united(simple[0], simple[1]);
    CHECK(both.type_id() == GEOS_POLYGON);
    CHECK(GEOSGetNumInteriorRings_r(geo::geos_context(), both.get()) == 0);
    CHECK(area(both) == Approx(area(simple[0]) + area(simple[1])).epsilon(1e-12));
    CHECK(area(both) == Approx(2000.0 * 1000.0).epsilon(1e-12));
}

TEST_CASE("tile simplify: a border wider than the tolerance keeps its shape, the same on both sides", "[geo]") {
    const auto source = two_neighbours(50.0);
    const auto simple = geo::simplify_coverage(source, 5.0);
    REQUIRE(simple.size() == 2);
    const auto both = united(simple[0], simple[1]);
    CHECK(area(both) == Approx(area(simple[0]) + area(simple[1])).epsilon(1e-12));
    CHECK(GEOSGetNumInteriorRings_r(geo::geos_context(), both.get()) == 0);
    CHECK(area(simple[0]) == Approx(area(source[0])).epsilon(1e-12));  // every zig kept
}

TEST_CASE("tile simplify: an island keeps a ring, a hole stays a hole, a gap stays a gap", "[geo]") {
    std::vector<geo::Geometry> source;
    // A lone polygon far away, with a dense circle-like outline.
    std::string circle;
    for (int i = 0; i <= 360; ++i) {
        const double a = (i % 360) * 3.141592653589793 / 180.0;
        circle += std::to_string(5000 + 100 * std::cos(a)) + " " + std::to_string(5000 + 100 * std::sin(a)) +
                  (i < 360 ? ", " : "");
    }
    source.push_back(geo::Geometry::from_wkt("POLYGON((" + circle + "))"));
    // A square with a square hole, and a square in the hole leaving a gap of 10 around it.
    source.push_back(geo::Geometry::from_wkt("POLYGON((0 0, 300 0, 300 300, 0 300, 0 0), (100 100, 200 100, 200 200, 100 200, 100 100))"));
    source.push_back(geo::Geometry::from_wkt("POLYGON((110 110, 190 110, 190 190, 110 190, 110 110))"));
    // A polygon that is not valid comes back empty.
    source.push_back(geo::Geometry::from_wkt("POLYGON((0 0, 10 10, 10 0, 0 10, 0 0))"));
    const auto simple = geo::simplify_coverage(source, 2.0);
    REQUIRE(simple.size() == 4);
    CHECK(simple[0].is_valid());
    CHECK(vertices(simple[0]) < 60);
    CHECK(area(simple[0]) == Approx(area(source[0])).epsilon(0.05));
    for (std::size_t i : {1U, 2U}) {  // straight edges: nothing to drop
        INFO(simple[i].wkt(0) << " from " << source[i].wkt(0));
        CHECK(GEOSEquals_r(geo::geos_context(), simple[i].get(), source[i].get()) == 1);
        CHECK(vertices(simple[i]) == vertices(source[i]));
    }
    CHECK(simple[3].empty());
}

TEST_CASE("tile simplify: a line keeps its ends and loses what is within the tolerance", "[geo]") {
    const auto line = geo::Geometry::from_wkt("LINESTRING(" + zigzag(1.0, false).substr(0, zigzag(1.0, false).size() - 2) + ")");
    const auto simple = geo::simplify_line(line, 2.0);
    CHECK(simple.wkt(0) == "LINESTRING (0 0, 0 1000)");
}
