#pragma once
/// GeoJSON geometries read from SpatiaLite BLOB-Geometry in place, without SQL functions.

#include <string>
#include <string_view>

namespace sitmap::layers {

/// Appends the GeoJSON geometry of a SpatiaLite BLOB-Geometry as AsGeoJSON(geom, 6, 0) writes it
/// (coordinates with 6 decimals, trailing zeros trimmed; no bbox, no crs) and returns true, for the
/// XY classes POINT, LINESTRING, POLYGON, MULTIPOINT, MULTILINESTRING and MULTIPOLYGON (either byte
/// order). Returns false and leaves `out` as it was for anything else (Z or M, compressed,
/// GEOMETRYCOLLECTION, empty, malformed): the caller asks SpatiaLite then.
bool append_geojson_geometry(std::string& out, std::string_view blob);

} // namespace sitmap::layers
