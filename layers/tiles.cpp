#include "layers/tiles.hpp"

#include "geo/geos.hpp"
#include "geo/mvt.hpp"

#include <sqlite3.h>

namespace sitmap::layers {

namespace {

using geo::mvt::GeomType;

void add_properties(geo::mvt::FeatureBuilder& feature, const Layer& layer, const geo::Statement& stmt) {
    feature.property("id", stmt.column_text(1));
    int column = 2;
    for (const auto& c : layer.columns) {
        switch (stmt.column_type(column)) {
            case SQLITE_NULL: break;
            case SQLITE_INTEGER:
                if (c.type == ColumnType::boolean) {
                    feature.property(c.name, stmt.column_int64(column) != 0);
                } else {
                    feature.property(c.name, stmt.column_int64(column));
                }
                break;
            case SQLITE_FLOAT: feature.property(c.name, stmt.column_double(column)); break;
            default: feature.property(c.name, stmt.column_text(column)); break;
        }
        ++column;
    }
}

/// The points of a GEOS line or ring, already in tile coordinates, as integers.
void read_points(const GEOSGeometry* line, std::vector<geo::TilePoint>& out) {
    out.clear();
    GEOSContextHandle_t ctx = geo::geos_context();
    const GEOSCoordSequence* seq = GEOSGeom_getCoordSeq_r(ctx, line);
    unsigned int size = 0;
    GEOSCoordSeq_getSize_r(ctx, seq, &size);
    out.reserve(size);
    for (unsigned int i = 0; i < size; ++i) {
        double x = 0, y = 0;
        GEOSCoordSeq_getXY_r(ctx, seq, i, &x, &y);
        out.push_back({static_cast<std::int32_t>(std::lround(x)), static_cast<std::int32_t>(std::lround(y))});
    }
}

void add_geometry(geo::mvt::FeatureBuilder& feature, const GEOSGeometry* g, std::vector<geo::TilePoint>& points) {
    GEOSContextHandle_t ctx = geo::geos_context();
    switch (GEOSGeomTypeId_r(ctx, g)) {
        case GEOS_LINESTRING:
            read_points(g, points);
            feature.line(points);
            break;
        case GEOS_POLYGON: {
            feature.polygon();
            read_points(GEOSGetExteriorRing_r(ctx, g), points);
            feature.ring(points);
            const int holes = GEOSGetNumInteriorRings_r(ctx, g);
            for (int i = 0; i < holes; ++i) {
                read_points(GEOSGetInteriorRingN_r(ctx, g, i), points);
                feature.ring(points);
            }
            break;
        }
        case GEOS_MULTILINESTRING:
        case GEOS_MULTIPOLYGON:
        case GEOS_GEOMETRYCOLLECTION: {
            const int n = GEOSGetNumGeometries_r(ctx, g);
            for (int i = 0; i < n; ++i) add_geometry(feature, GEOSGetGeometryN_r(ctx, g, i), points);
            break;
        }
        default: break;  // points and empty parts have no place in a line or polygon feature
    }
}

void add_layer(geo::mvt::TileBuilder& tile_builder, geo::Database& db, const geo::TileId& tile, const Layer& layer,
               const Filter& filter, const TileOptions& options) {
    const geo::BBox box = geo::tile_bounds_lonlat(tile, options.buffer, options.extent);
    Filter tile_filter = filter;
    tile_filter.bbox = std::array<double, 4>{box.min_x, box.min_y, box.max_x, box.max_y};
    std::vector<SqlValue> params;
    const bool points = layer.geometry == GeometryKind::point;
    std::string sql = "SELECT t.fid, t.id";
    for (const auto& c : layer.columns) sql += ", t." + c.name;
    sql += points ? ", ST_X(t.geom), ST_Y(t.geom)" : ", AsBinary(t.geom)";
    sql += " FROM " + layer.name + " t WHERE 1=1" + filter_sql(layer, tile_filter, params) + " ORDER BY t.fid";
    auto stmt = db.prepare(sql);
    bind_all(stmt, params);

    const geo::TileTransform transform(tile, options.extent);
    const double low = -static_cast<double>(options.buffer);
    const double high = static_cast<double>(options.extent + options.buffer);
    const int geometry_column = 2 + static_cast<int>(layer.columns.size());
    auto& out = tile_builder.add_layer(layer.name, options.extent);
    std::vector<geo::TilePoint> scratch;
    const GeomType type = points ? GeomType::Point
                                 : layer.geometry == GeometryKind::line ? GeomType::LineString : GeomType::Polygon;
    while (stmt.step()) {
        auto feature = out.feature(static_cast<std::uint64_t>(stmt.column_int64(0)), type);
        if (points) {
            feature.point(transform.from_lonlat(stmt.column_double(geometry_column),
                                                stmt.column_double(geometry_column + 1)));
        } else {
            auto geometry = geo::Geometry::from_wkb(stmt.column_blob(geometry_column));
            geo::transform_xy(geometry, [&](double& x, double& y) {
                const geo::Mercator m = geo::lonlat_to_mercator(x, y);
                x = transform.tile_x(m.x);
                y = transform.tile_y(m.y);
            });
            geometry = geometry.clip_by_rect(low, low, high, high);
            if (geometry.empty()) continue;
            geometry = geometry.snap_to_grid(1.0);
            if (geometry.empty()) continue;
            add_geometry(feature, geometry.get(), scratch);
        }
        add_properties(feature, layer, stmt);
        feature.commit();
    }
}

} // namespace

std::string build_tile(geo::Database& db, const geo::TileId& tile, const std::vector<const Layer*>& layers,
                       const Filter& filter, const TileOptions& options) {
    tile.validate();
    geo::mvt::TileBuilder builder;
    for (const Layer* layer : layers) add_layer(builder, db, tile, *layer, filter, options);
    return builder.serialize();
}

} // namespace sitmap::layers
