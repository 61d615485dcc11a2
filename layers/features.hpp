#pragma once
/// Reading a layer's features as GeoJSON (RFC 7946, lon/lat).

#include "geo/geodesy.hpp"
#include "geo/sqlite.hpp"
#include "layers/filter.hpp"
#include "layers/layer.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sitmap::layers {

/// An SQL condition on table alias `t` (" AND ..." text) and the values it binds, in order.
/// The text is made only of fixed SQL and names from the Layer definitions; values are parameters.
struct Condition {
    std::string sql;
    std::vector<SqlValue> params;

    /// Appends `other` (text and parameters).
    Condition& operator+=(const Condition& other);
    bool empty() const { return sql.empty(); }
};

struct FeatureQuery {
    Filter filter;
    /// More conditions: property equality, CQL2 filters, admin units (see queries.hpp, cql2.hpp).
    Condition where;
    std::int64_t limit = 100;
    std::int64_t offset = 0;
    /// Keyset paging: only the features whose fid is above this one (before offset applies).
    std::optional<std::int64_t> after_fid;
};

/// A feature chosen and ordered by the caller (nearest first...), with the properties the query
/// computed added after its own (replacing any of the same name); NaN leaves one out.
struct RankedFeature {
    std::int64_t fid = 0;
    double distance_km = std::numeric_limits<double>::quiet_NaN();
    double along_km = std::numeric_limits<double>::quiet_NaN();
};

/// Writes GeoJSON Features from rows laid out as feature_select_sql() gives them, straight into
/// the caller's string: no DOM, no allocation per feature. Geometries are read from the blobs
/// (AsGeoJSON(geom, 6) for the few kinds it does not read itself, through `db`).
class FeatureWriter {
public:
    FeatureWriter(geo::Database& db, const Layer& layer);

    /// Appends the Feature of the current row of `stmt`. Properties: the layer's columns, typed,
    /// in the layer's order; then the stored extra attributes (`props`) but "id" and those named
    /// like a column; then `ranked`'s distances and `added`'s members (a JSON object, or null),
    /// which replace any property of the same name.
    void append(std::string& out, const geo::Statement& stmt, const RankedFeature* ranked = nullptr,
                const nlohmann::json* added = nullptr);

private:
    void append_geometry(std::string& out, const geo::Statement& stmt, int column);

    geo::Database& m_db;
    const Layer& m_layer;
    std::vector<std::string> m_keys;  ///< `"name":` of each column, written before its value
    std::optional<geo::Statement> m_as_geojson;  // prepared at the first geometry it is needed for
};

/// SELECT of the columns FeatureWriter reads, from the layer's table as `t`, ending in "WHERE 1=1".
std::string feature_select_sql(const Layer& layer);

/// Pulls matching features one at a time as GeoJSON Feature objects, for streamed responses.
/// It reads through `db`, which must outlive it and not be used by another thread meanwhile.
class FeatureCursor {
public:
    /// The features matching `query` (filter and where), ordered by fid, after_fid, limit and offset applied.
    FeatureCursor(geo::Database& db, const Layer& layer, const FeatureQuery& query);
    /// The given features in the given order (missing fids are skipped).
    FeatureCursor(geo::Database& db, const Layer& layer, std::vector<RankedFeature> ranked);

    /// Appends the next feature to `out`; false when there are no more.
    bool next(std::string& out);
    /// The fid of the feature next() appended last.
    std::int64_t last_fid() const { return m_last_fid; }

private:
    FeatureWriter m_writer;
    geo::Statement m_stmt;
    std::vector<RankedFeature> m_ranked;
    std::size_t m_next_ranked = 0;
    std::int64_t m_last_fid = 0;
    bool m_by_fid = false;
};

/// Calls `write` with each matching feature as one GeoJSON Feature object (no separators),
/// ordered by fid. Properties: the layer's columns, typed, then the source's extra attributes.
/// Returns the number of features written.
std::int64_t write_features(geo::Database& db, const Layer& layer, const FeatureQuery& query,
                            const std::function<void(std::string_view)>& write);

/// The number of features matching the filter (limit and offset ignored).
std::int64_t count_features(geo::Database& db, const Layer& layer, const Filter& filter);

/// The number of features matching the filter and the conditions of `query` (limit and offset ignored).
/// A bbox alone is counted from the layer's R*Tree, without reading the rows.
std::int64_t count_features(geo::Database& db, const Layer& layer, const FeatureQuery& query);

/// count_features() when it reads at most `max_rows` rows, nothing otherwise. Only a bbox with
/// other conditions (attribute filters on incidents, `query.where`) makes counting read the rows:
/// one per feature in the box, so it is done when the R*Tree holds at most `max_rows` there.
/// Any other query is counted from indexes (R*Tree, the incidents' covering indexes, the table's
/// own b-tree) and always answered.
std::optional<std::int64_t> count_features_bounded(geo::Database& db, const Layer& layer, const FeatureQuery& query,
                                                   std::int64_t max_rows);

/// One feature by its id as a GeoJSON Feature, with `computed` properties added when it is an
/// object. Throws sitmap::not_found_error.
std::string feature_by_id(geo::Database& db, const Layer& layer, const std::string& id,
                          const nlohmann::json& computed = nullptr);

/// The fid and position of each feature of a point layer whose position lies in one of `boxes`
/// (lon/lat {min_lon, min_lat, max_lon, max_lat}, answered by the layer's R*Tree, which may return
/// points up to a float32 rounding outside) and matching the filter and `query.where` (limit and
/// offset ignored); each feature once, in no particular order. Positions are read from the
/// geometry blobs (point_from_blob), not through SQL functions.
void for_each_point(geo::Database& db, const Layer& layer, const FeatureQuery& query,
                    const std::vector<std::array<double, 4>>& boxes,
                    const std::function<void(std::int64_t fid, geo::LonLat position)>& visit);

/// The position held by a SpatiaLite POINT geometry blob (XY, either byte order), read in place.
/// Throws sitmap::internal_error for any other blob (the point layers are declared POINT XY).
geo::LonLat point_from_blob(std::string_view blob);

/// A condition keeping the features whose bounding box meets one of `boxes` (lon/lat
/// {min_lon, min_lat, max_lon, max_lat}), answered by the layer's R*Tree.
Condition bbox_condition(const Layer& layer, const std::vector<std::array<double, 4>>& boxes);

} // namespace sitmap::layers
