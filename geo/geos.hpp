#pragma once
/// RAII wrappers for the reentrant GEOS C API: one context per thread, one owner per geometry.

#include <memory>
#include <string>
#include <string_view>

#include <geos_c.h>

namespace sitmap::geo {

/// The calling thread's GEOS context, created on first use and destroyed with the thread.
/// GEOS notices and errors are collected and the last error is reported by the throwing calls.
GEOSContextHandle_t geos_context();

/// Deletes a GEOS geometry with the thread's context.
struct GeosGeometryDeleter {
    void operator()(GEOSGeometry* geometry) const noexcept;
};

/// One owner for one GEOSGeometry, created and used on the same thread.
class Geometry {
public:
    Geometry() = default;
    /// Takes ownership; throws sitmap::error with `what` and the GEOS message when `raw` is null.
    Geometry(GEOSGeometry* raw, std::string_view what);

    /// Parses ISO WKB (2D). Throws sitmap::input_error when the bytes are not WKB.
    static Geometry from_wkb(std::string_view wkb);
    /// Parses WKT. Throws sitmap::input_error on a syntax error.
    static Geometry from_wkt(std::string_view wkt);

    std::string wkb() const;
    std::string wkt(int decimals = 6) const;

    bool empty() const;
    /// GEOS_POINT, GEOS_LINESTRING, ... GEOS_GEOMETRYCOLLECTION.
    int type_id() const;
    /// 0 points, 1 lines, 2 polygons.
    int dimension() const;
    int num_geometries() const;
    /// The n-th part, owned by this geometry.
    const GEOSGeometry* part(int n) const;

    bool is_valid() const;
    /// Why the geometry is invalid, with the location, e.g. "Self-intersection[-3.21 14.5]".
    std::string invalid_reason() const;
    Geometry make_valid() const;
    /// Keeps only the parts of the given dimension (0, 1, 2), as a Multi* geometry (possibly empty);
    /// `dropped` receives the number of parts of another dimension.
    Geometry keep_dimension(int dimension, int& dropped) const;

    /// Reduces precision to the grid (keeps the result valid: GEOS overlay NG).
    Geometry snap_to_grid(double grid) const;
    Geometry clip_by_rect(double xmin, double ymin, double xmax, double ymax) const;
    Geometry intersection(const Geometry& other) const;
    bool intersects(const Geometry& other) const;
    Geometry point_on_surface() const;

    GEOSGeometry* get() const { return m_geometry.get(); }
    GEOSGeometry* release() { return m_geometry.release(); }
    explicit operator bool() const { return static_cast<bool>(m_geometry); }

private:
    std::unique_ptr<GEOSGeometry, GeosGeometryDeleter> m_geometry;
};

/// Runs `transform(x, y)` in place on every coordinate (GEOSGeom_transformXY).
template <typename F>
void transform_xy(Geometry& geometry, F&& transform);

/// The message of the last GEOS error on this thread (empty when there was none).
std::string geos_last_error();


template <typename F>
void transform_xy(Geometry& geometry, F&& transform) {
    struct Thunk {
        static int call(double* x, double* y, void* data) {
            (*static_cast<F*>(data))(*x, *y);
            return 1;
        }
    };
    GEOSGeometry* result =
        GEOSGeom_transformXY_r(geos_context(), geometry.get(), &Thunk::call, &transform);
    geometry = Geometry(result, "transforming coordinates");
}

} // namespace sitmap::geo
