#pragma once
/// Geodesic distances on the WGS84 ellipsoid (PROJ's geodesic.h, Karney's algorithms), boxes that
/// bound a radius for spatial-index prefilters, and locating points along polylines.
/// Coordinates are lon/lat degrees (EPSG:4326 axis order lon, lat); distances are kilometres.

#include "geo/lonlat.hpp"

#include <array>
#include <vector>

namespace sitmap::geo {

class Database;

/// The geodesic distance between two points on WGS84, in kilometres (geod_inverse).
double geodesic_distance_km(LonLat a, LonLat b);

/// The point `distance_km` from `from` along the geodesic leaving at `azimuth_deg`
/// (clockwise from north), on WGS84 (geod_direct).
LonLat geodesic_destination(LonLat from, double azimuth_deg, double distance_km);

/// A lon/lat box {min_lon, min_lat, max_lon, max_lat} holding every point within `radius_km`
/// (geodesic) of `centre`: the latitudes are exact (geod_direct north and south), the longitudes
/// are bounded by the shortest parallel in that band, so the box is never too small. A box that
/// reaches a pole or wraps the antimeridian spans every longitude.
std::array<double, 4> radius_bbox(LonLat centre, double radius_km);

/// Where a point lies relative to a polyline.
struct LineLocation {
    double distance_km = 0;  ///< from the point to the closest point of the line
    double along_km = 0;     ///< from the line's start to that closest point, along the line
    LonLat closest;
};

/// A polyline made of parts walked in order (a route's MultiLineString). Lengths are geodesic
/// per vertex pair; the closest point on a segment is found in a local equirectangular plane
/// centred on the point, then measured geodesically (good to metres for segments of tens of km).
class Polyline {
public:
    /// Throws sitmap::input_error when there is no part with at least two vertices.
    explicit Polyline(std::vector<std::vector<LonLat>> parts);

    /// The total length in kilometres.
    double length_km() const { return m_length_km; }
    /// The closest point of the line to `point`.
    LineLocation locate(LonLat point) const;
    /// The vertices between `from_km` and `to_km` along the line (clamped to the line), with
    /// interpolated end points; one vector per part touched.
    std::vector<std::vector<LonLat>> slice(double from_km, double to_km) const;
    /// For each segment, the box of its points widened by `margin_km` (for R*Tree prefilters).
    std::vector<std::array<double, 4>> segment_boxes(double margin_km) const;

private:
    struct Segment {
        LonLat a, b;
        double start_km;   // along the line at a
        double length_km;
        std::size_t part;
    };
    std::vector<Segment> m_segments;
    double m_length_km = 0;
};

/// Registers the SQL function geodesic_km(lon1, lat1, lon2, lat2) (NULL if any argument is NULL)
/// on this connection, once. Throws sitmap::internal_error if SQLite refuses.
void register_geodesy_functions(Database& db);

} // namespace sitmap::geo
