#include "geo/geodesy.hpp"

#include "geo/error.hpp"
#include "geo/sqlite.hpp"

#include <geodesic.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace sitmap::geo {

namespace {

constexpr double wgs84_a = 6378137.0;
constexpr double wgs84_f = 1 / 298.257223563;
constexpr double degree = std::numbers::pi / 180;

// geod_inverse and geod_direct only read the struct, so one shared instance is safe on any thread.
const geod_geodesic& wgs84() {
    static const geod_geodesic g = [] {
        geod_geodesic init{};
        geod_init(&init, wgs84_a, wgs84_f);
        return init;
    }();
    return g;
}

// Radius of the parallel at `lat` (metres): N(lat) cos(lat).
double parallel_radius_m(double lat) {
    const double e2 = wgs84_f * (2 - wgs84_f);
    const double s = std::sin(lat * degree);
    return wgs84_a * std::cos(lat * degree) / std::sqrt(1 - e2 * s * s);
}

void sql_geodesic_km(sqlite3_context* context, int argc, sqlite3_value** argv) {
    double v[4];
    for (int i = 0; i < argc; ++i) {
        if (sqlite3_value_type(argv[i]) == SQLITE_NULL) {
            sqlite3_result_null(context);
            return;
        }
        v[i] = sqlite3_value_double(argv[i]);
    }
    sqlite3_result_double(context, geodesic_distance_km({v[0], v[1]}, {v[2], v[3]}));
}

} // namespace

double geodesic_distance_km(LonLat a, LonLat b) {
    double s12 = 0;
    geod_inverse(&wgs84(), a.lat, a.lon, b.lat, b.lon, &s12, nullptr, nullptr);
    return s12 / 1000;
}

LonLat geodesic_destination(LonLat from, double azimuth_deg, double distance_km) {
    LonLat to;
    geod_direct(&wgs84(), from.lat, from.lon, azimuth_deg, distance_km * 1000, &to.lat, &to.lon, nullptr);
    return to;
}

std::array<double, 4> radius_bbox(LonLat centre, double radius_km) {
    const double north = geodesic_destination(centre, 0, radius_km).lat;
    const double south = geodesic_destination(centre, 180, radius_km).lat;
    // Past a pole, the geodesic north comes back down: the band then reaches that pole.
    const bool over_pole = north < centre.lat || south > centre.lat || radius_km * 1000 >= wgs84_a * std::numbers::pi / 2;
    if (over_pole) return {-180, south > centre.lat ? -90 : std::max(-90.0, south), 180, north < centre.lat ? 90 : north};
    // Any path of length r from the centre stays in [south, north] and crosses each meridian
    // no faster than along the shortest parallel of that band.
    const double widest_lat = std::max(std::abs(north), std::abs(south));
    const double dlon = radius_km * 1000 / parallel_radius_m(widest_lat) / degree * (1 + 1e-9);
    if (dlon >= 180 || centre.lon - dlon < -180 || centre.lon + dlon > 180) return {-180, south, 180, north};
    return {centre.lon - dlon, south, centre.lon + dlon, north};
}

Polyline::Polyline(std::vector<std::vector<LonLat>> parts) {
    for (std::size_t p = 0; p < parts.size(); ++p) {
        for (std::size_t i = 1; i < parts[p].size(); ++i) {
            const double length = geodesic_distance_km(parts[p][i - 1], parts[p][i]);
            m_segments.push_back({parts[p][i - 1], parts[p][i], m_length_km, length, p});
            m_length_km += length;
        }
    }
    if (m_segments.empty()) throw input_error("a line needs at least two points");
}

LineLocation Polyline::locate(LonLat point) const {
    LineLocation best;
    best.distance_km = INFINITY;
    const double kx = std::cos(point.lat * degree);  // local plane: x = dlon * cos(lat), y = dlat
    for (const auto& s : m_segments) {
        const double ax = (s.a.lon - point.lon) * kx, ay = s.a.lat - point.lat;
        const double bx = (s.b.lon - point.lon) * kx, by = s.b.lat - point.lat;
        const double dx = bx - ax, dy = by - ay;
        const double length2 = dx * dx + dy * dy;
        const double t = length2 > 0 ? std::clamp(-(ax * dx + ay * dy) / length2, 0.0, 1.0) : 0.0;
        const LonLat closest{s.a.lon + t * (s.b.lon - s.a.lon), s.a.lat + t * (s.b.lat - s.a.lat)};
        const double distance = geodesic_distance_km(point, closest);
        if (distance < best.distance_km) {
            best.distance_km = distance;
            best.closest = closest;
            best.along_km = s.start_km + std::min(s.length_km, geodesic_distance_km(s.a, closest));
        }
    }
    return best;
}

std::vector<std::vector<LonLat>> Polyline::slice(double from_km, double to_km) const {
    from_km = std::clamp(from_km, 0.0, m_length_km);
    to_km = std::clamp(to_km, from_km, m_length_km);
    auto at = [](const Segment& s, double km) {
        const double t = s.length_km > 0 ? std::clamp((km - s.start_km) / s.length_km, 0.0, 1.0) : 0.0;
        return LonLat{s.a.lon + t * (s.b.lon - s.a.lon), s.a.lat + t * (s.b.lat - s.a.lat)};
    };
    std::vector<std::vector<LonLat>> parts;
    std::size_t current_part = SIZE_MAX;
    for (const auto& s : m_segments) {
        const double end = s.start_km + s.length_km;
        if (end < from_km || s.start_km > to_km) continue;
        if (s.part != current_part) {
            parts.push_back({at(s, std::max(from_km, s.start_km))});
            current_part = s.part;
        }
        parts.back().push_back(at(s, std::min(to_km, end)));
    }
    return parts;
}

std::vector<std::array<double, 4>> Polyline::segment_boxes(double margin_km) const {
    std::vector<std::array<double, 4>> boxes;
    for (const auto& s : m_segments) {
        auto a = radius_bbox(s.a, margin_km);
        const auto b = radius_bbox(s.b, margin_km);
        // The segment's own box, widened by the larger margin of its two ends.
        const double mx = std::max(std::max(s.a.lon - a[0], a[2] - s.a.lon), std::max(s.b.lon - b[0], b[2] - s.b.lon));
        const double my = std::max(std::max(s.a.lat - a[1], a[3] - s.a.lat), std::max(s.b.lat - b[1], b[3] - s.b.lat));
        boxes.push_back({std::min(s.a.lon, s.b.lon) - mx, std::min(s.a.lat, s.b.lat) - my,
                         std::max(s.a.lon, s.b.lon) + mx, std::max(s.a.lat, s.b.lat) + my});
    }
    return boxes;
}

void register_geodesy_functions(Database& db) {
    // A connection keeps its functions; the lookup is cheaper than redefining (which SQLite
    // refuses while statements are running).
    sqlite3_stmt* probe = nullptr;
    const int found = sqlite3_prepare_v2(db.handle(), "SELECT geodesic_km(0,0,0,0)", -1, &probe, nullptr);
    sqlite3_finalize(probe);
    if (found == SQLITE_OK) return;
    const int rc = sqlite3_create_function_v2(db.handle(), "geodesic_km", 4, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                              nullptr, sql_geodesic_km, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) throw internal_error("registering geodesic_km on " + db.path() + ": " + sqlite3_errstr(rc));
}

} // namespace sitmap::geo
