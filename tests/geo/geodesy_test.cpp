#include "geo/geodesy.hpp"

#include "geo/error.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <unistd.h>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using sitmap::geo::LonLat;

namespace {

// Mali and a margin around it.
LonLat random_point(std::mt19937& rng) {
    std::uniform_real_distribution<double> lon(-12.5, 4.5), lat(10, 25.5);
    return {lon(rng), lat(rng)};
}

} // namespace

TEST_CASE("geodesy: distances in Mali agree with PROJ's geod program within 1 m", "[geo]") {
    std::mt19937 rng(20201223);
    std::vector<std::pair<LonLat, LonLat>> pairs;
    std::string input;
    for (int i = 0; i < 200; ++i) {
        const auto a = random_point(rng), b = random_point(rng);
        pairs.emplace_back(a, b);
        char line[128];
        std::snprintf(line, sizeof line, "%.9f %.9f %.9f %.9f\n", a.lat, a.lon, b.lat, b.lon);
        input += line;
    }
    // geod -I reads "lat1 lon1 lat2 lon2" and prints "az1 az2 distance".
    const std::string path = (std::filesystem::temp_directory_path() / ("sitmap-geod-" + std::to_string(getpid()))).string();
    {
        std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen(path.c_str(), "w"), &std::fclose);
        REQUIRE(out);
        std::fputs(input.c_str(), out.get());
    }
    const std::string command = "geod +ellps=WGS84 -I +units=m -f %.4f < " + path;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), &pclose);
    REQUIRE(pipe);
    std::string output;
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe.get())) output.append(buffer, n);
    std::remove(path.c_str());
    std::istringstream lines(output);
    std::size_t checked = 0;
    std::string az1, az2;
    double metres = 0;
    while (lines >> az1 >> az2 >> metres) {
        REQUIRE(checked < pairs.size());
        const auto& [a, b] = pairs[checked];
        INFO("pair " << checked << ": " << a.lon << "," << a.lat << " -> " << b.lon << "," << b.lat);
        CHECK(sitmap::geo::geodesic_distance_km(a, b) * 1000 == Approx(metres).margin(1.0));
        ++checked;
    }
    CHECK(checked == pairs.size());
}

TEST_CASE("geodesy: one degree of latitude at the equator is 110.574 km", "[geo]") {
    CHECK(sitmap::geo::geodesic_distance_km({0, 0}, {0, 1}) == Approx(110.574).margin(0.001));
    CHECK(sitmap::geo::geodesic_distance_km({-0.0447, 16.2717}, {-0.0447, 16.2717}) == 0);
}

TEST_CASE("geodesy: a radius box holds every point within the radius", "[geo]") {
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> azimuth(-180, 180), fraction(0, 1), radius(0.1, 500);
    for (int i = 0; i < 300; ++i) {
        const auto centre = random_point(rng);
        const double r = radius(rng);
        const auto box = sitmap::geo::radius_bbox(centre, r);
        for (int k = 0; k < 50; ++k) {
            const auto p = sitmap::geo::geodesic_destination(centre, azimuth(rng), r * (k == 0 ? 1.0 : fraction(rng)));
            INFO("centre " << centre.lon << "," << centre.lat << " r " << r << " point " << p.lon << "," << p.lat);
            CHECK((p.lon >= box[0] && p.lon <= box[2] && p.lat >= box[1] && p.lat <= box[3]));
        }
        // ...and is not much larger: the corners of the box are further than r.
        CHECK(sitmap::geo::geodesic_distance_km(centre, {box[0], box[1]}) > r);
        CHECK(box[3] - centre.lat == Approx(r / 110.6).epsilon(0.01));
    }
}

TEST_CASE("geodesy: a point is located on a polyline by distance and by length along it", "[geo]") {
    // Gao -> Ansongo -> Labbezanga, roughly the RN17.
    const sitmap::geo::Polyline line({{{-0.0447, 16.2717}, {0.5036, 15.6597}, {0.6967, 14.9514}}});
    const double first = sitmap::geo::geodesic_distance_km({-0.0447, 16.2717}, {0.5036, 15.6597});
    CHECK(line.length_km() == Approx(first + sitmap::geo::geodesic_distance_km({0.5036, 15.6597}, {0.6967, 14.9514})));

    const auto at_start = line.locate({-0.0447, 16.2717});
    CHECK(at_start.distance_km == Approx(0).margin(1e-9));
    CHECK(at_start.along_km == Approx(0).margin(1e-9));

    const auto at_vertex = line.locate({0.5036, 15.6597});
    CHECK(at_vertex.along_km == Approx(first).margin(1e-6));

    // 3 km east of the middle vertex: about 3 km off the line (the line runs roughly north-south).
    const auto off = sitmap::geo::geodesic_destination({0.5036, 15.6597}, 90, 3);
    const auto located = line.locate(off);
    CHECK(located.distance_km < 3.0001);
    CHECK(located.distance_km > 1.5);
    CHECK(located.along_km == Approx(first).margin(3));

    const auto slice = line.slice(10, 20);
    REQUIRE(slice.size() == 1);
    REQUIRE(slice[0].size() == 2);
    CHECK(sitmap::geo::geodesic_distance_km(slice[0][0], slice[0][1]) == Approx(10).epsilon(0.01));

    CHECK_THROWS_AS(sitmap::geo::Polyline({{{0, 0}}}), sitmap::input_error);
}
