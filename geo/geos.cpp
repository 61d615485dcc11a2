#include "geo/geos.hpp"

#include "geo/error.hpp"

#include <vector>

namespace sitmap::geo {

namespace {

thread_local std::string t_geos_error;

void on_error(const char* message, void*) {
    t_geos_error = message ? message : "";
}

void on_notice(const char*, void*) {}

struct ContextOwner {
    GEOSContextHandle_t handle = nullptr;
    ContextOwner() {
        handle = GEOS_init_r();
        GEOSContext_setErrorMessageHandler_r(handle, on_error, nullptr);
        GEOSContext_setNoticeMessageHandler_r(handle, on_notice, nullptr);
    }
    ~ContextOwner() { GEOS_finish_r(handle); }
    ContextOwner(const ContextOwner&) = delete;
    ContextOwner& operator=(const ContextOwner&) = delete;
};

struct WkbReader {
    GEOSWKBReader* reader = GEOSWKBReader_create_r(geos_context());
    ~WkbReader() { GEOSWKBReader_destroy_r(geos_context(), reader); }
};

} // namespace

GEOSContextHandle_t geos_context() {
    thread_local ContextOwner owner;
    return owner.handle;
}

std::string geos_last_error() {
    return t_geos_error;
}

void GeosGeometryDeleter::operator()(GEOSGeometry* geometry) const noexcept {
    GEOSGeom_destroy_r(geos_context(), geometry);
}

Geometry::Geometry(GEOSGeometry* raw, std::string_view what) : m_geometry(raw) {
    if (!raw) {
        throw error(std::string(what) + ": " + (t_geos_error.empty() ? "GEOS failed" : t_geos_error));
    }
}

Geometry Geometry::from_wkb(std::string_view wkb) {
    thread_local WkbReader reader;
    GEOSGeometry* raw = GEOSWKBReader_read_r(geos_context(), reader.reader,
                                             reinterpret_cast<const unsigned char*>(wkb.data()),
                                             wkb.size());
    if (!raw) throw input_error("not a valid WKB geometry: " + t_geos_error);
    return Geometry(raw, "reading WKB");
}

Geometry Geometry::from_wkt(std::string_view wkt) {
    GEOSWKTReader* reader = GEOSWKTReader_create_r(geos_context());
    const std::string text(wkt);
    GEOSGeometry* raw = GEOSWKTReader_read_r(geos_context(), reader, text.c_str());
    GEOSWKTReader_destroy_r(geos_context(), reader);
    if (!raw) throw input_error("not a valid WKT geometry: " + t_geos_error);
    return Geometry(raw, "reading WKT");
}

std::string Geometry::wkb() const {
    GEOSWKBWriter* writer = GEOSWKBWriter_create_r(geos_context());
    GEOSWKBWriter_setOutputDimension_r(geos_context(), writer, 2);
    std::size_t size = 0;
    unsigned char* bytes = GEOSWKBWriter_write_r(geos_context(), writer, get(), &size);
    GEOSWKBWriter_destroy_r(geos_context(), writer);
    if (!bytes) throw error("writing WKB: " + t_geos_error);
    std::string result(reinterpret_cast<const char*>(bytes), size);
    GEOSFree_r(geos_context(), bytes);
    return result;
}

std::string Geometry::wkt(int decimals) const {
    GEOSWKTWriter* writer = GEOSWKTWriter_create_r(geos_context());
    GEOSWKTWriter_setRoundingPrecision_r(geos_context(), writer, decimals);
    GEOSWKTWriter_setTrim_r(geos_context(), writer, 1);
    char* text = GEOSWKTWriter_write_r(geos_context(), writer, get());
    GEOSWKTWriter_destroy_r(geos_context(), writer);
    if (!text) throw error("writing WKT: " + t_geos_error);
    std::string result(text);
    GEOSFree_r(geos_context(), text);
    return result;
}

bool Geometry::empty() const {
    return GEOSisEmpty_r(geos_context(), get()) == 1;
}

int Geometry::type_id() const {
    return GEOSGeomTypeId_r(geos_context(), get());
}

int Geometry::dimension() const {
    return GEOSGeom_getDimensions_r(geos_context(), get());
}

int Geometry::num_geometries() const {
    return GEOSGetNumGeometries_r(geos_context(), get());
}

const GEOSGeometry* Geometry::part(int n) const {
    return GEOSGetGeometryN_r(geos_context(), get(), n);
}

bool Geometry::is_valid() const {
    return GEOSisValid_r(geos_context(), get()) == 1;
}

std::string Geometry::invalid_reason() const {
    char* reason = GEOSisValidReason_r(geos_context(), get());
    if (!reason) return "unknown";
    std::string result(reason);
    GEOSFree_r(geos_context(), reason);
    return result;
}

Geometry Geometry::make_valid() const {
    return Geometry(GEOSMakeValid_r(geos_context(), get()), "repairing geometry (MakeValid)");
}

namespace {

void collect_parts(const GEOSGeometry* g, int dimension, std::vector<GEOSGeometry*>& keep, int& dropped) {
    GEOSContextHandle_t ctx = geos_context();
    const int type = GEOSGeomTypeId_r(ctx, g);
    if (type == GEOS_MULTIPOINT || type == GEOS_MULTILINESTRING || type == GEOS_MULTIPOLYGON ||
        type == GEOS_GEOMETRYCOLLECTION) {
        const int n = GEOSGetNumGeometries_r(ctx, g);
        for (int i = 0; i < n; ++i) collect_parts(GEOSGetGeometryN_r(ctx, g, i), dimension, keep, dropped);
        return;
    }
    if (GEOSisEmpty_r(ctx, g) == 1) return;
    if (GEOSGeom_getDimensions_r(ctx, g) == dimension) {
        keep.push_back(GEOSGeom_clone_r(ctx, g));
    } else {
        ++dropped;
    }
}

} // namespace

Geometry Geometry::keep_dimension(int dimension, int& dropped) const {
    std::vector<GEOSGeometry*> parts;
    dropped = 0;
    collect_parts(get(), dimension, parts, dropped);
    const int type = dimension == 0 ? GEOS_MULTIPOINT : dimension == 1 ? GEOS_MULTILINESTRING : GEOS_MULTIPOLYGON;
    return Geometry(GEOSGeom_createCollection_r(geos_context(), type, parts.data(),
                                                static_cast<unsigned>(parts.size())),
                    "collecting parts");
}

Geometry Geometry::snap_to_grid(double grid) const {
    return Geometry(GEOSGeom_setPrecision_r(geos_context(), get(), grid, 0), "snapping to grid");
}

Geometry Geometry::clip_by_rect(double xmin, double ymin, double xmax, double ymax) const {
    return Geometry(GEOSClipByRect_r(geos_context(), get(), xmin, ymin, xmax, ymax), "clipping");
}

Geometry Geometry::intersection(const Geometry& other) const {
    return Geometry(GEOSIntersection_r(geos_context(), get(), other.get()), "intersection");
}

bool Geometry::intersects(const Geometry& other) const {
    return GEOSIntersects_r(geos_context(), get(), other.get()) == 1;
}

Geometry Geometry::point_on_surface() const {
    return Geometry(GEOSPointOnSurface_r(geos_context(), get()), "point on surface");
}

} // namespace sitmap::geo
