#include "layers/boundary_index.hpp"

#include "layers/import.hpp"

namespace sitmap::layers {

namespace {

/// An R*Tree condition keeping the rows of `table` whose box holds the point bound as 4 parameters.
std::string box_holds(const std::string& table) {
    return " AND fid IN (SELECT pkid FROM idx_" + table + "_geom WHERE xmin <= ? AND xmax >= ? AND ymin <= ? AND ymax >= ?)";
}

} // namespace

BoundaryIndex::BoundaryIndex(geo::Database& db) {
    load(db, "SELECT fid, id, region_id, AsBinary(geom) FROM cercles WHERE geom IS NOT NULL ORDER BY fid", m_cercles);
    load(db, "SELECT fid, id, NULL, AsBinary(geom) FROM regions WHERE geom IS NOT NULL ORDER BY fid", m_regions);
}

BoundaryIndex::BoundaryIndex(geo::Database& db, double x, double y) {
    const std::array<double, 2> at{x, y};
    load(db, "SELECT fid, id, region_id, AsBinary(geom) FROM cercles WHERE geom IS NOT NULL" + box_holds("cercles") +
                 " ORDER BY fid", m_cercles, at);
    load(db, "SELECT fid, id, NULL, AsBinary(geom) FROM regions WHERE geom IS NOT NULL" + box_holds("regions") +
                 " ORDER BY fid", m_regions, at);
}

std::pair<const std::string*, const std::string*> BoundaryIndex::lookup(double x, double y) const {
    const Boundary* cercle = first_holding(m_cercles, x, y);
    const Boundary* region = first_holding(m_regions, x, y);
    const std::string* region_id = region ? &region->id : cercle && !cercle->region_id.empty() ? &cercle->region_id : nullptr;
    return {cercle ? &cercle->id : nullptr, region_id};
}

void BoundaryIndex::load(geo::Database& db, const std::string& sql, std::vector<Boundary>& out,
                         std::optional<std::array<double, 2>> at) {
    auto stmt = db.prepare(sql);
    if (at) stmt.bind(1, (*at)[0]).bind(2, (*at)[0]).bind(3, (*at)[1]).bind(4, (*at)[1]);
    while (stmt.step()) {
        Boundary b;
        b.id = stmt.column_text(1);
        if (!stmt.is_null(2)) b.region_id = stmt.column_text(2);
        b.geometry = geo::Geometry::from_wkb(stmt.column_blob(3));
        GEOSContextHandle_t ctx = geo::geos_context();
        GEOSGeom_getXMin_r(ctx, b.geometry.get(), &b.xmin);
        GEOSGeom_getYMin_r(ctx, b.geometry.get(), &b.ymin);
        GEOSGeom_getXMax_r(ctx, b.geometry.get(), &b.xmax);
        GEOSGeom_getYMax_r(ctx, b.geometry.get(), &b.ymax);
        b.prepared.reset(GEOSPrepare_r(ctx, b.geometry.get()));
        out.push_back(std::move(b));
    }
}

const BoundaryIndex::Boundary* BoundaryIndex::first_holding(const std::vector<Boundary>& list, double x, double y) {
    GEOSContextHandle_t ctx = geo::geos_context();
    geo::Geometry point;
    for (const auto& b : list) {
        if (x < b.xmin || x > b.xmax || y < b.ymin || y > b.ymax) continue;
        if (!point) {
            GEOSCoordSequence* seq = GEOSCoordSeq_create_r(ctx, 1, 2);
            GEOSCoordSeq_setXY_r(ctx, seq, 0, x, y);
            point = geo::Geometry(GEOSGeom_createPoint_r(ctx, seq), "making a point");
        }
        if (GEOSPreparedIntersects_r(ctx, b.prepared.get(), point.get()) == 1) return &b;
    }
    return nullptr;
}

std::int64_t count_joined_incidents(geo::Database& db) {
    auto count = db.prepare("SELECT count(*) FROM incidents WHERE cercle_id IS NOT NULL");
    count.step();
    return count.column_int64(0);
}

std::int64_t join_incidents_to_boundaries(geo::Database& db) {
    const BoundaryIndex boundaries(db);
    auto select = db.prepare("SELECT fid, ST_X(geom), ST_Y(geom) FROM incidents WHERE geom IS NOT NULL");
    auto update = db.prepare("UPDATE incidents SET cercle_id = ?, region_id = ? WHERE fid = ?");
    while (select.step()) {
        const auto [cercle, region] = boundaries.lookup(select.column_double(1), select.column_double(2));
        update.bind(1, cercle ? std::optional<std::string>(*cercle) : std::nullopt)
            .bind(2, region ? std::optional<std::string>(*region) : std::nullopt)
            .bind(3, select.column_int64(0))
            .run();
        update.reset();
    }
    return count_joined_incidents(db);
}

std::pair<std::optional<std::string>, std::optional<std::string>> boundaries_at(geo::Database& db, double lon,
                                                                                double lat) {
    const BoundaryIndex boundaries(db, lon, lat);
    const auto [cercle, region] = boundaries.lookup(lon, lat);
    return {cercle ? std::optional<std::string>(*cercle) : std::nullopt,
            region ? std::optional<std::string>(*region) : std::nullopt};
}

} // namespace sitmap::layers
