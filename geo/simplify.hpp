#pragma once
/// Simplification that keeps shared borders shared: polygons that tile an area (a coverage, e.g.
/// the cercles of a country) are simplified border by border, so that two neighbours still meet
/// along the very same vertices afterwards (no cracks, no overlaps), and lines one by one.
///
/// GEOS 3.12 has GEOSCoverageSimplifyVW for this; Debian 12 ships GEOS 3.11, so it is built here
/// from older parts: node all the boundaries together (GEOSUnaryUnion), merge them into edges
/// between nodes (GEOSLineMerge), simplify every edge once keeping its end nodes and without
/// making edges cross (GEOSTopologyPreserveSimplify, Douglas-Peucker), rebuild the faces
/// (GEOSPolygonize) and give each face back to the polygons it lies in.

#include "geo/geos.hpp"

#include <vector>

namespace sitmap::geo {

/// Simplifies polygons together, in planar coordinates (e.g. EPSG:3857 metres), with a
/// Douglas-Peucker `tolerance` in the same unit. Returns one geometry per input, in the same
/// order: the simplified (multi)polygon, valid, whose borders with the other inputs are vertex
/// for vertex the same on both sides; an input that is not a valid polygon, or of which nothing
/// is left, comes back as an empty geometry. A gap or an overlap between inputs stays one (it
/// is simplified like any other face). Throws sitmap::error when GEOS fails.
std::vector<Geometry> simplify_coverage(const std::vector<Geometry>& polygons, double tolerance);

/// A line or multiline simplified by Douglas-Peucker with `tolerance`, keeping the ends of every
/// part and without making its parts cross (GEOSTopologyPreserveSimplify). Throws sitmap::error.
Geometry simplify_line(const Geometry& line, double tolerance);

} // namespace sitmap::geo
