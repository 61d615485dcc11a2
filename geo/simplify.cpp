#include "geo/simplify.hpp"

#include <memory>

namespace sitmap::geo {

namespace {

struct PreparedDeleter {
    void operator()(const GEOSPreparedGeometry* prepared) const noexcept {
        GEOSPreparedGeom_destroy_r(geos_context(), prepared);
    }
};
using Prepared = std::unique_ptr<const GEOSPreparedGeometry, PreparedDeleter>;

struct Extent {
    double min_x = 0, min_y = 0, max_x = 0, max_y = 0;
    [[nodiscard]] bool intersects(const Extent& o) const noexcept {
        return min_x <= o.max_x && o.min_x <= max_x && min_y <= o.max_y && o.min_y <= max_y;
    }
};

Extent extent_of(const GEOSGeometry* g) {
    Extent e;
    GEOSGeom_getExtent_r(geos_context(), g, &e.min_x, &e.min_y, &e.max_x, &e.max_y);
    return e;
}

double area_of(const GEOSGeometry* g) {
    double area = 0;
    GEOSArea_r(geos_context(), g, &area);
    return area;
}

/// A collection taking over `parts`.
Geometry collect(int type, std::vector<Geometry>& parts, const char* what) {
    std::vector<GEOSGeometry*> raw;
    raw.reserve(parts.size());
    for (auto& part : parts) raw.push_back(part.release());
    parts.clear();
    return Geometry(GEOSGeom_createCollection_r(geos_context(), type, raw.data(), static_cast<unsigned>(raw.size())),
                    what);
}

Geometry empty_polygon() {
    return Geometry(GEOSGeom_createEmptyPolygon_r(geos_context()), "empty polygon");
}

/// True when `face` (simplified) belongs to `polygon` (as given). Far from the face's border its
/// interior point lies on the same side of the polygon's border as before simplifying (no border
/// moved by more than the tolerance); close to it (a face thinner than twice the tolerance) the
/// face belongs to the polygon that holds most of its area.
bool belongs(const GEOSGeometry* face, const Geometry& inside, bool clear, const Geometry& polygon,
             const GEOSPreparedGeometry* prepared) {
    GEOSContextHandle_t ctx = geos_context();
    if (clear) return GEOSPreparedContains_r(ctx, prepared, inside.get()) == 1;
    const Geometry common(GEOSIntersection_r(ctx, polygon.get(), face), "intersecting a face");
    return area_of(common.get()) > area_of(face) / 2;
}

} // namespace

std::vector<Geometry> simplify_coverage(const std::vector<Geometry>& polygons, double tolerance) {
    GEOSContextHandle_t ctx = geos_context();
    std::vector<bool> usable(polygons.size(), false);
    std::vector<Geometry> borders;
    for (std::size_t i = 0; i < polygons.size(); ++i) {
        const Geometry& p = polygons[i];
        if (!p || p.empty() || p.dimension() != 2 || !p.is_valid()) continue;
        usable[i] = true;
        borders.emplace_back(GEOSBoundary_r(ctx, p.get()), "a polygon's border");
    }
    std::vector<Geometry> out;
    out.reserve(polygons.size());
    if (borders.empty()) {
        for (std::size_t i = 0; i < polygons.size(); ++i) out.push_back(empty_polygon());
        return out;
    }

    // Every border once, cut where borders meet, then merged into the edges between those nodes:
    // an edge shared by two polygons is one line, simplified once for both.
    const Geometry all = collect(GEOS_GEOMETRYCOLLECTION, borders, "collecting borders");
    const Geometry noded(GEOSUnaryUnion_r(ctx, all.get()), "noding borders");
    const Geometry edges(GEOSLineMerge_r(ctx, noded.get()), "merging borders into edges");
    const Geometry simple(GEOSTopologyPreserveSimplify_r(ctx, edges.get(), tolerance), "simplifying edges");
    const GEOSGeometry* linework[] = {simple.get()};
    const Geometry faces(GEOSPolygonize_r(ctx, linework, 1), "rebuilding faces");

    std::vector<Prepared> prepared(polygons.size());
    std::vector<Extent> extents(polygons.size());
    for (std::size_t i = 0; i < polygons.size(); ++i) {
        if (!usable[i]) continue;
        prepared[i].reset(GEOSPrepare_r(ctx, polygons[i].get()));
        extents[i] = extent_of(polygons[i].get());
    }
    std::vector<std::vector<Geometry>> parts(polygons.size());
    const int face_count = faces.num_geometries();
    for (int f = 0; f < face_count; ++f) {
        const GEOSGeometry* face = faces.part(f);
        const Geometry inside(GEOSPointOnSurface_r(ctx, face), "a point inside a face");
        const Geometry border(GEOSBoundary_r(ctx, face), "a face's border");
        double distance = 0;
        GEOSDistance_r(ctx, inside.get(), border.get(), &distance);
        const Extent extent = extent_of(face);
        for (std::size_t i = 0; i < polygons.size(); ++i) {
            if (!usable[i] || !extents[i].intersects(extent)) continue;
            if (belongs(face, inside, distance > tolerance, polygons[i], prepared[i].get())) {
                parts[i].emplace_back(GEOSGeom_clone_r(ctx, face), "copying a face");
            }
        }
    }
    for (std::size_t i = 0; i < polygons.size(); ++i) {
        if (parts[i].empty()) {
            out.push_back(empty_polygon());
        } else if (parts[i].size() == 1) {
            out.push_back(std::move(parts[i].front()));
        } else {
            // The faces of one polygon share whole edges: a coverage union dissolves them exactly.
            const Geometry together = collect(GEOS_GEOMETRYCOLLECTION, parts[i], "collecting faces");
            out.emplace_back(GEOSCoverageUnion_r(ctx, together.get()), "joining faces");
        }
    }
    return out;
}

Geometry simplify_line(const Geometry& line, double tolerance) {
    return Geometry(GEOSTopologyPreserveSimplify_r(geos_context(), line.get(), tolerance), "simplifying a line");
}

} // namespace sitmap::geo
