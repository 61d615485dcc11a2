#pragma once
/// The cercles and regions held in memory as GEOS prepared geometries, for the spatial join of
/// incidents (cercle_id, region_id): a bounding-box test, then a prepared point-in-polygon test, a
/// few microseconds a point (SQL's ST_Intersects would parse each polygon's blob again for every
/// incident).

#include "geo/geos.hpp"
#include "geo/sqlite.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sitmap::layers {

class BoundaryIndex {
public:
    /// Every cercle and region.
    explicit BoundaryIndex(geo::Database& db);
    /// Only the boundaries whose box holds the point (lon/lat), found by the R*Trees: for one incident.
    BoundaryIndex(geo::Database& db, double x, double y);

    /// cercle_id and region_id of the point (lon/lat); null when outside every cercle/region.
    std::pair<const std::string*, const std::string*> lookup(double x, double y) const;

private:
    struct PreparedDeleter {
        void operator()(const GEOSPreparedGeometry* p) const noexcept { GEOSPreparedGeom_destroy_r(geo::geos_context(), p); }
    };
    struct Boundary {
        std::string id;
        std::string region_id;
        double xmin = 0, ymin = 0, xmax = 0, ymax = 0;
        geo::Geometry geometry;
        std::unique_ptr<const GEOSPreparedGeometry, PreparedDeleter> prepared;
    };

    static void load(geo::Database& db, const std::string& sql, std::vector<Boundary>& out,
                     std::optional<std::array<double, 2>> at = std::nullopt);
    static const Boundary* first_holding(const std::vector<Boundary>& list, double x, double y);

    std::vector<Boundary> m_cercles;
    std::vector<Boundary> m_regions;
};

/// The number of incidents joined to a cercle.
std::int64_t count_joined_incidents(geo::Database& db);

} // namespace sitmap::layers
