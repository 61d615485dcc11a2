#pragma once
/// The one lon/lat position type shared by tile math and geodesy.

namespace sitmap::geo {

/// A position in degrees, EPSG:4326, longitude first.
struct LonLat {
    double lon = 0.0;
    double lat = 0.0;
};

} // namespace sitmap::geo
