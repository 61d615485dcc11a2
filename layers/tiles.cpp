#include "layers/tiles.hpp"

#include "geo/error.hpp"
#include "geo/geos.hpp"
#include "geo/mvt.hpp"
#include "layers/cluster_pyramid.hpp"
#include "layers/features.hpp"
#include "layers/simplified.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cmath>

namespace sitmap::layers {

namespace {

using geo::mvt::GeomType;

/// The SELECT list every feature query starts with: fid, id, the layer's columns.
std::string select_columns(const Layer& layer) {
    std::string sql = "SELECT t.fid, t.id";
    for (const auto& c : layer.columns) sql += ", t." + c.name;
    return sql;
}

/// The property keys of a layer's features, registered once per tile layer (a dictionary lookup
/// per property and feature was a tenth of a big tile's time): "id", then the columns in order.
std::vector<geo::mvt::PropertyKey> property_keys(geo::mvt::LayerBuilder& out, const Layer& layer) {
    std::vector<geo::mvt::PropertyKey> keys{out.key("id")};
    for (const auto& c : layer.columns) keys.push_back(out.key(c.name));
    return keys;
}

/// Adds the row's `id` and columns (from column 1 on, as select_columns lists them).
void add_properties(geo::mvt::FeatureBuilder& feature, const std::vector<geo::mvt::PropertyKey>& keys,
                    const Layer& layer, const geo::Statement& stmt) {
    feature.property(keys[0], stmt.column_text(1));
    int column = 2;
    for (const auto& c : layer.columns) {
        const auto& key = keys[static_cast<std::size_t>(column - 1)];
        switch (stmt.column_type(column)) {
            case SQLITE_NULL: break;
            case SQLITE_INTEGER:
                if (c.type == ColumnType::boolean) {
                    feature.property(key, stmt.column_int64(column) != 0);
                } else {
                    feature.property(key, stmt.column_int64(column));
                }
                break;
            case SQLITE_FLOAT: feature.property(key, stmt.column_double(column)); break;
            default: feature.property(key, stmt.column_text(column)); break;
        }
        ++column;
    }
}

/// The points of a GEOS line or ring, already snapped to the integer grid.
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

/// Rounds every coordinate to the nearest integer.
void round_to_grid(geo::Geometry& geometry) {
    geo::transform_xy(geometry, [](double& x, double& y) {
        x = std::floor(x + 0.5);
        y = std::floor(y + 0.5);
    });
}

/// Moves a lon/lat geometry to fractional tile coordinates.
void lonlat_to_tile(geo::Geometry& geometry, const geo::TileTransform& transform) {
    geo::transform_xy(geometry, [&](double& x, double& y) {
        const geo::Mercator m = geo::lonlat_to_mercator(x, y);
        x = transform.tile_x(m.x);
        y = transform.tile_y(m.y);
    });
}

/// Moves an EPSG:3857 geometry to fractional tile coordinates.
void mercator_to_tile(geo::Geometry& geometry, const geo::TileTransform& transform) {
    geo::transform_xy(geometry, [&](double& x, double& y) {
        x = transform.tile_x(x);
        y = transform.tile_y(y);
    });
}

/// A line or polygon in fractional tile coordinates, clipped to [low, high] on both axes, with
/// its vertices on the integer grid.
///
/// Every vertex is rounded on its own, so a border two polygons share (the same vertices) comes
/// out the same in both, and neighbours meet without cracks or overlaps. Snap-rounding the whole
/// geometry (GEOSGeom_setPrecision) would also keep it valid, but it bends a segment towards any
/// other vertex of the same polygon that lies within half a unit, which the neighbour does not
/// do: a crack.
geo::Geometry clip_to_grid(geo::Geometry geometry, double low, double high) {
    // Clip before rounding: clipping needs a valid input, and a rounded polygon may not be one.
    geometry = geometry.clip_by_rect(low, low, high, high);  // new vertices on the edges only
    if (geometry.empty()) return geometry;
    round_to_grid(geometry);
    if (geometry.dimension() < 2 || geometry.is_valid()) return geometry;  // a line is drawn as it is
    // Rounding made the polygon invalid (spikes, rings touching themselves). MakeValid keeps every
    // edge where it is and only adds nodes, so the border with a neighbour stays where the
    // neighbour has it; snap-rounding moves edges, so it is the last resort.
    int dropped = 0;
    geometry = geometry.make_valid().keep_dimension(2, dropped);
    round_to_grid(geometry);
    if (geometry.is_valid()) return geometry;
    try {
        return geometry.snap_to_grid(1.0);
    } catch (const error&) {
        return geometry.make_valid().keep_dimension(2, dropped).snap_to_grid(1.0);
    }
}

/// Runs `select` (on alias `t`) over the features whose R*Tree box meets a lon/lat box and which
/// match the filter's attributes. The R*Tree drives and each row is reached by its rowid.
geo::Statement query_box(geo::Database& db, const Layer& layer, const geo::BBox& box, const Filter& filter,
                         const std::string& select) {
    Filter attributes = filter;
    attributes.bbox.reset();  // the tile is the box
    std::vector<SqlValue> params{box.max_x, box.min_x, box.max_y, box.min_y};
    const std::string where = filter_sql(layer, attributes, params);
    auto stmt = db.prepare(select + " FROM idx_" + layer.name + "_geom r CROSS JOIN " + layer.name +
                           " t ON t.fid = r.pkid WHERE r.xmin <= ? AND r.xmax >= ? AND r.ymin <= ? AND r.ymax >= ?"
                           " AND t.geom IS NOT NULL" + where);
    bind_all(stmt, params);
    return stmt;
}

/// The geometry of a line or polygon feature in fractional tile coordinates: simplified for the
/// zoom when `simplified` holds it, else as stored.
geo::Geometry tile_geometry(geo::Database& db, const Layer& layer, std::int64_t fid, const SimplifiedLayer* simplified,
                            const geo::TileTransform& transform) {
    if (simplified) {
        if (const auto found = simplified->wkb.find(fid); found != simplified->wkb.end()) {
            auto geometry = geo::Geometry::from_wkb(found->second);
            mercator_to_tile(geometry, transform);
            return geometry;
        }
    }
    auto stmt = db.prepare("SELECT AsBinary(geom) FROM " + layer.name + " WHERE fid = ?");
    stmt.bind(1, fid);
    if (!stmt.step()) throw internal_error(layer.name + ": feature " + std::to_string(fid) + " vanished while tiling");
    auto geometry = geo::Geometry::from_wkb(stmt.column_blob(0));
    lonlat_to_tile(geometry, transform);
    return geometry;
}

/// Every feature of a layer in the tile plus buffer.
void add_features(geo::mvt::LayerBuilder& out, geo::Database& db, const geo::TileId& tile, const Layer& layer,
                  const Filter& filter, const TileOptions& options) {
    const bool points = layer.geometry == GeometryKind::point;
    // Below simplify_below_zoom lines and polygons come simplified from memory: the rows give
    // only the attributes, and the stored geometry is read for what the simplification left out.
    const bool simplify = !points && options.simplify && tile.z < simplify_below_zoom;
    const auto simplified = simplify ? simplified_layer(db, layer, tile.z) : nullptr;
    const std::string select = select_columns(layer) + (points ? ", t.geom" : simplified ? "" : ", AsBinary(t.geom)");
    auto stmt = query_box(db, layer, geo::tile_bounds_lonlat(tile, options.buffer, options.extent), filter, select);

    const geo::TileTransform transform(tile, options.extent);
    const double low = -static_cast<double>(options.buffer);
    const double high = static_cast<double>(options.extent + options.buffer);
    const int geometry_column = 2 + static_cast<int>(layer.columns.size());
    std::vector<geo::TilePoint> scratch;
    const GeomType type = points ? GeomType::Point
                                 : layer.geometry == GeometryKind::line ? GeomType::LineString : GeomType::Polygon;
    const auto keys = property_keys(out, layer);
    while (stmt.step()) {
        const std::int64_t fid = stmt.column_int64(0);
        if (points) {
            // The R*Tree holds float32 boxes rounded outwards: keep exactly the points in the box.
            const geo::LonLat p = point_from_blob(stmt.column_blob(geometry_column));
            const geo::Mercator m = geo::lonlat_to_mercator(p.lon, p.lat);
            const double x = transform.tile_x(m.x);
            const double y = transform.tile_y(m.y);
            if (x < low || x > high || y < low || y > high) continue;
            auto feature = out.feature(static_cast<std::uint64_t>(fid), type);
            feature.point(transform.from_mercator(m.x, m.y));
            add_properties(feature, keys, layer, stmt);
            feature.commit();
            continue;
        }
        geo::Geometry geometry;
        if (simplified) {
            geometry = tile_geometry(db, layer, fid, simplified.get(), transform);
        } else {
            geometry = geo::Geometry::from_wkb(stmt.column_blob(geometry_column));
            lonlat_to_tile(geometry, transform);
        }
        geometry = clip_to_grid(std::move(geometry), low, high);
        if (geometry.empty()) continue;
        auto feature = out.feature(static_cast<std::uint64_t>(fid), type);
        add_geometry(feature, geometry.get(), scratch);
        add_properties(feature, keys, layer, stmt);
        feature.commit();
    }
}

/// One cluster cell: its members' count, position sum, and count per type (by index in the
/// layer's allowed types).
struct Cell {
    double sum_x = 0;
    double sum_y = 0;
    std::int64_t count = 0;
    std::int64_t first_fid = 0;
    std::vector<std::int64_t> by_type;
};

/// Below this zoom, clustered tiles scan the covering index instead of querying the R*Tree.
constexpr int cluster_scan_below_zoom = 7;

/// A cluster cell's mean position (tile units of the tile being built), member count, and its
/// member when it has one.
struct ClusterPoint {
    double x = 0;
    double y = 0;
    std::int64_t count = 0;
    std::int64_t fid = 0;
};

/// Adds the cluster of the cell at global `row` and `column` of the zoom when its position lies in
/// the tile plus buffer; a cell of one incident goes to `singles` (drawn as the incident itself).
void add_cluster(geo::mvt::LayerBuilder& out, const TileOptions& options, std::int64_t row,
                 std::int64_t column, const ClusterPoint& c, const std::vector<std::string>& types,
                 const std::int64_t* by_type, std::vector<std::int64_t>& singles) {
    const double low = -static_cast<double>(options.buffer);
    const double high = static_cast<double>(options.extent + options.buffer);
    if (c.x < low || c.x > high || c.y < low || c.y > high) return;
    if (c.count == 1) {
        singles.push_back(c.fid);
        return;
    }
    auto feature = out.feature(cluster_id_base + (static_cast<std::uint64_t>(row) << 24U) + static_cast<std::uint64_t>(column),
                               GeomType::Point);
    feature.point({static_cast<std::int32_t>(std::lround(c.x)), static_cast<std::int32_t>(std::lround(c.y))});
    feature.property("cluster", true).property("point_count", c.count);
    std::string key;
    for (std::size_t t = 0; t < types.size(); ++t) {
        if (by_type[t] == 0) continue;
        key = "count_" + types[t];
        feature.property(key, by_type[t]);
    }
    feature.commit();
}

/// The incidents of cells that hold one, each with its properties, in fid order.
void add_single_incidents(geo::mvt::LayerBuilder& out, geo::Database& db, const Layer& layer,
                          const geo::TileTransform& transform, std::vector<std::int64_t>& singles) {
    if (singles.empty()) return;
    std::sort(singles.begin(), singles.end());
    const auto keys = property_keys(out, layer);
    auto one = db.prepare(select_columns(layer) + ", t.geom FROM " + layer.name + " t WHERE t.fid = ?");
    const int geometry_column = 2 + static_cast<int>(layer.columns.size());
    for (const std::int64_t fid : singles) {
        one.reset();
        one.bind(1, fid);
        if (!one.step()) continue;  // deleted since the cells were counted
        auto feature = out.feature(static_cast<std::uint64_t>(fid), GeomType::Point);
        const geo::LonLat p = point_from_blob(one.column_blob(geometry_column));
        feature.point(transform.from_lonlat(p.lon, p.lat));
        add_properties(feature, keys, layer, one);
        feature.commit();
    }
}

/// Incidents grouped by cells of the zoom's global grid (see build_tile).
void add_clusters(geo::mvt::LayerBuilder& out, geo::Database& db, const geo::TileId& tile, const Layer& layer,
                  const Filter& filter, const TileOptions& options) {
    const double cell = options.cluster_cell;
    // Read whole cells: the tile plus one cell on each side. A low-zoom tile holds a large share of
    // all incidents: one pass over the covering index incidents_points (fid, type, position, the
    // filtered attributes) then costs less than reaching each row through the R*Tree.
    const geo::BBox box = geo::tile_bounds_lonlat(tile, cell, options.extent);
    auto stmt = [&] {
        if (tile.z >= cluster_scan_below_zoom) return query_box(db, layer, box, filter, "SELECT t.fid, t.type, t.geom");
        Filter attributes = filter;
        attributes.bbox.reset();
        std::vector<SqlValue> params;
        auto scan = db.prepare("SELECT t.fid, t.type, t.geom FROM " + layer.name +
                               " t INDEXED BY incidents_points WHERE t.geom IS NOT NULL" +
                               filter_sql(layer, attributes, params));
        bind_all(scan, params);
        return scan;
    }();
    const geo::TileTransform transform(tile, options.extent);
    const auto cells_per_side = static_cast<std::int64_t>(options.extent / options.cluster_cell);
    const auto side = cells_per_side + 2;  // rows and columns -1 .. cells_per_side
    const std::vector<std::string>& types = layer.column("type")->allowed;
    std::vector<Cell> cells(static_cast<std::size_t>(side * side));
    std::size_t last_type = 0;  // rows often repeat the type of the one before
    while (stmt.step()) {
        const geo::LonLat p = point_from_blob(stmt.column_blob(2));
        if (!box.contains(p.lon, p.lat)) continue;
        const geo::Mercator m = geo::lonlat_to_mercator(p.lon, p.lat);
        const double x = transform.tile_x(m.x);
        const double y = transform.tile_y(m.y);
        const auto column = static_cast<std::int64_t>(std::floor(x / cell));
        const auto row = static_cast<std::int64_t>(std::floor(y / cell));
        if (column < -1 || column > cells_per_side || row < -1 || row > cells_per_side) continue;
        Cell& c = cells[static_cast<std::size_t>((row + 1) * side + column + 1)];
        if (c.count == 0) {
            c.first_fid = stmt.column_int64(0);
            c.by_type.assign(types.size(), 0);
        }
        c.sum_x += x;
        c.sum_y += y;
        ++c.count;
        const std::string_view type = stmt.column_text(1);
        if (types[last_type] != type) {
            last_type = static_cast<std::size_t>(std::find(types.begin(), types.end(), type) - types.begin());
            if (last_type == types.size()) throw internal_error("incidents: unknown type '" + std::string(type) + "'");
        }
        ++c.by_type[last_type];
    }

    std::vector<std::int64_t> singles;
    for (std::int64_t row = -1; row <= cells_per_side; ++row) {
        for (std::int64_t column = -1; column <= cells_per_side; ++column) {
            const Cell& c = cells[static_cast<std::size_t>((row + 1) * side + column + 1)];
            if (c.count == 0) continue;
            const ClusterPoint point{c.sum_x / static_cast<double>(c.count), c.sum_y / static_cast<double>(c.count),
                                     c.count, c.first_fid};
            add_cluster(out, options, row + static_cast<std::int64_t>(tile.y) * cells_per_side,
                        column + static_cast<std::int64_t>(tile.x) * cells_per_side, point, types, c.by_type.data(),
                        singles);
        }
    }
    add_single_incidents(out, db, layer, transform, singles);
}

/// The same clusters from the cells kept in memory (no filter): the cells of the tile plus one
/// on each side, their members never read.
void add_clusters_from(ClusterPyramid& pyramid, geo::mvt::LayerBuilder& out, geo::Database& db,
                       const geo::TileId& tile, const Layer& layer, const TileOptions& options) {
    pyramid.sync(db);
    const std::int64_t per_tile = ClusterPyramid::cells_per_tile;
    const double scale = static_cast<double>(options.extent) / 4096.0;
    const double to_zoom = 1.0 / static_cast<double>(std::int64_t{1} << (ClusterPyramid::finest_zoom - tile.z));
    const double tile_x = static_cast<double>(tile.x) * 4096.0;
    const double tile_y = static_cast<double>(tile.y) * 4096.0;
    const std::vector<std::string>& types = layer.column("type")->allowed;
    const std::int64_t first_column = static_cast<std::int64_t>(tile.x) * per_tile - 1;
    const std::int64_t first_row = static_cast<std::int64_t>(tile.y) * per_tile - 1;
    std::vector<std::int64_t> singles;
    pyramid.for_each_cell(tile.z, first_column, first_column + per_tile + 1, first_row, first_row + per_tile + 1,
                          [&](std::int64_t column, std::int64_t row, const ClusterPyramid::Cell& c) {
        const double count = static_cast<double>(c.count);
        const ClusterPoint point{(c.sum_x / count * to_zoom - tile_x) * scale, (c.sum_y / count * to_zoom - tile_y) * scale,
                                 c.count, c.fid};
        std::int64_t by_type[ClusterPyramid::max_types];
        std::copy(c.by_type.begin(), c.by_type.end(), by_type);
        add_cluster(out, options, row, column, point, types, by_type, singles);
    });
    add_single_incidents(out, db, layer, geo::TileTransform(tile, options.extent), singles);
}

} // namespace

std::string build_tile(geo::Database& db, const geo::TileId& tile, const std::vector<const Layer*>& layers,
                       const Filter& filter, const TileOptions& options, const TilePointSource* points) {
    tile.validate();
    if (options.cluster_cell == 0 || options.extent % options.cluster_cell != 0) {
        throw input_error("tiles: the cluster cell (" + std::to_string(options.cluster_cell) +
                          ") must divide the extent (" + std::to_string(options.extent) + ")");
    }
    geo::mvt::TileBuilder builder;
    for (const Layer* layer : layers) {
        auto& out = builder.add_layer(layer->name, options.extent);
        if (options.cluster && layer->name == "incidents" && tile.z < cluster_below_zoom) {
            const bool whole = filter.attributes_empty() && options.extent / options.cluster_cell == ClusterPyramid::cells_per_tile;
            if (options.clusters && whole) {
                add_clusters_from(*options.clusters, out, db, tile, *layer, options);
            } else {
                add_clusters(out, db, tile, *layer, filter, options);
            }
        } else if (!points || !points->add_points(out, tile, *layer, filter, options)) {
            add_features(out, db, tile, *layer, filter, options);
        }
    }
    return builder.serialize();
}

} // namespace sitmap::layers
