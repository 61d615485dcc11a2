#pragma once
/// Situational queries: features near a base or a point, within an admin unit, along a route;
/// a route's risk profile, coverage by the bases, and incident counts by group.
/// Distances are geodesic on WGS84 in kilometres; every spatial query first asks the layer's
/// R*Tree for a box and then measures only the candidates it returns.

#include "geo/geodesy.hpp"
#include "geo/sqlite.hpp"
#include "layers/features.hpp"
#include "layers/layer.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sitmap::layers {

/// A feature found by a distance query.
struct Hit {
    std::int64_t fid = 0;
    double distance_km = 0;  ///< to the centre, or to the route
    double along_km = 0;     ///< along the route from its start (along_route only)
};

/// The order distance queries give: nearest first (distance_km), or along the route (along_km);
/// ties by fid. `any`: no order (the caller pages with hits_page).
enum class HitOrder { distance, along, any };

/// Where a page of hits ended: the sort key (distance_km, or along_km along a route) and the fid
/// of its last hit. The next page holds the hits strictly after it in (key, fid) order.
struct HitKey {
    double key = 0;
    std::int64_t fid = 0;
};

/// One page of hits, in order, and how many hits follow it.
struct HitPage {
    std::vector<Hit> hits;
    std::size_t following = 0;
};

/// The page of `hits` (in any order) by `order` (distance or along): the hits strictly after
/// `after`, `skip` of them passed over, then at most `limit`. Only the page is sorted (a partial
/// selection, not a sort of every hit).
HitPage hits_page(std::vector<Hit> hits, HitOrder order, const std::optional<HitKey>& after, std::size_t skip,
                  std::size_t limit);

/// A base, looked up by id ("BASE-002") or by a name that matches exactly one base once case and
/// accents are folded ("gao" -> "Sector East Headquarters, Gao"). Throws sitmap::not_found_error
/// (unknown, naming a few ids) or sitmap::input_error (ambiguous, naming the candidates).
struct Base {
    std::int64_t fid = 0;
    std::string id;
    std::string name;
    geo::LonLat position;
    std::string opened;  ///< "YYYY-MM-DD" or empty
    std::string closed;  ///< "YYYY-MM-DD" or empty (still open)
};
Base find_base(geo::Database& db, const std::string& id_or_name);

/// Features of a point layer (bases, incidents) within `radius_km` of `centre` and matching
/// `query` (limit and offset ignored), nearest first, ties by fid. The set is exact: a point
/// within DistanceFrom's error bound (plus, without attribute conditions, its R*Tree float32 box)
/// of the circle is settled by geod_inverse on its stored position. Other distances come from
/// DistanceFrom (millimetres from geod_inverse below 200 km) and, without attribute conditions,
/// from the middle of the R*Tree's float32 box, so they are within its half-diagonal (0.3 m in
/// Mali) of the exact figure and near-ties may come in either order. Throws sitmap::input_error
/// for a layer that is not made of points or a radius outside (0, 20000].
std::vector<Hit> within_radius(geo::Database& db, const Layer& layer, geo::LonLat centre, double radius_km,
                               const FeatureQuery& query, HitOrder order = HitOrder::distance);

/// The `k` features of a point layer nearest to `centre` and matching `query`, nearest first.
std::vector<Hit> nearest(geo::Database& db, const Layer& layer, geo::LonLat centre, std::int64_t k,
                         const FeatureQuery& query);

/// The condition for `within=cercle:ML0701` or `within=region:ML07`: incidents by their joined
/// cercle_id/region_id, other layers by intersection with the unit's polygon. Throws
/// sitmap::input_error for a malformed spec, sitmap::not_found_error for an unknown unit.
Condition within_unit(geo::Database& db, const Layer& layer, const std::string& spec);

/// A route's line. Throws sitmap::not_found_error.
struct Route {
    std::string id;
    std::string name;
    geo::Polyline line;
};
Route find_route(geo::Database& db, const std::string& id);

/// Features of a point layer within `buffer_km` of the route and matching `query`, ordered by
/// distance along the route (from its start), ties by fid.
std::vector<Hit> along_route(geo::Database& db, const Layer& layer, const Route& route, double buffer_km,
                             const FeatureQuery& query, HitOrder order = HitOrder::along);

/// One stretch of a route and the incidents within the buffer whose closest point lies on it.
struct ProfileSegment {
    double start_km = 0;
    double end_km = 0;
    std::int64_t count = 0;
    std::map<std::string, std::int64_t> by_type;
    std::vector<std::vector<geo::LonLat>> line;  ///< the stretch itself, for the map
};
struct RouteProfile {
    std::string route_id;
    std::string name;
    double length_km = 0;
    double segment_km = 0;
    double buffer_km = 0;
    std::vector<ProfileSegment> segments;
};

/// Cuts the route into stretches of `segment_km` (the last one shorter) and counts the incidents
/// matching `query` within `buffer_km` of the route on each. Throws sitmap::input_error for a
/// segment length outside [0.5, 1000] km or more than 10000 stretches.
RouteProfile route_profile(geo::Database& db, const std::string& route_id, double segment_km, double buffer_km,
                           const FeatureQuery& query);

/// Incidents per cercle within `radius_km` of a base open on the incident's date (opened <= day
/// <= closed; an empty date leaves that side open), and beyond.
struct CoverageRow {
    std::string cercle_id;  ///< empty for incidents outside every cercle
    std::string name;
    std::string region_id;
    std::int64_t incidents = 0;
    std::int64_t covered = 0;
};
struct Coverage {
    double radius_km = 0;
    std::vector<CoverageRow> cercles;  ///< by cercle id
    std::int64_t incidents = 0;
    std::int64_t covered = 0;
    std::vector<std::int64_t> uncovered;  ///< fids of the incidents beyond reach, ascending
};
Coverage coverage(geo::Database& db, double radius_km, const FeatureQuery& query);

/// Incident counts grouped by any of: region, cercle, type, target, year, month ("YYYY-MM"),
/// base (the nearest base, geodesic, open on the incident's day; empty when none was open).
/// Rows are ordered by their keys; keys of region, cercle and base come with the name.
struct CountTable {
    std::vector<std::string> columns;  ///< the key columns, then "count"
    std::vector<std::vector<std::string>> rows;  ///< as text, count last
};
/// Throws sitmap::input_error naming the groups there are for an unknown or repeated one.
CountTable count_incidents(geo::Database& db, const std::vector<std::string>& group_by, const FeatureQuery& query);

/// The table as CSV (RFC 4180: CRLF, fields quoted when they hold a comma, quote or line break).
std::string to_csv(const CountTable& table);

} // namespace sitmap::layers
