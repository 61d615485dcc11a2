// The situational endpoints: a route's risk profile, coverage by the bases, incident counts.
#include "api/ogc_api.hpp"

#include "geo/error.hpp"
#include "layers/cql2.hpp"
#include "layers/queries.hpp"
#include "layers/values.hpp"
#include "api/auth.hpp"
#include "http/json_error.hpp"
#include "api/ogc_html.hpp"

#include <cmath>

namespace sitmap::server {

namespace {

using nlohmann::json;

double round3(double v) { return std::round(v * 1000) / 1000; }

double number_param(const Query& q, const char* name, double fallback) {
    const auto text = q.get(name);
    if (!text) return fallback;
    char* end = nullptr;
    const double value = std::strtod(text->c_str(), &end);
    if (text->empty() || *end != '\0' || !std::isfinite(value)) {
        throw input_error(std::string(name) + ": '" + *text + "' is not a number");
    }
    return value;
}

json line_json(const std::vector<std::vector<geo::LonLat>>& parts) {
    json lines = json::array();
    for (const auto& part : parts) {
        json line = json::array();
        for (const auto& p : part) line.push_back({std::round(p.lon * 1e6) / 1e6, std::round(p.lat * 1e6) / 1e6});
        lines.push_back(line);
    }
    return {{"type", "MultiLineString"}, {"coordinates", lines}};
}

// The incident window shared by the statistics: from, to, type, target, within, filter.
layers::FeatureQuery incident_query(geo::Database& db, const Query& q) {
    const auto& incidents = layers::find_layer("incidents");
    layers::FeatureQuery query;
    query.filter = filter_from(q, false);
    if (auto within = q.get("within")) query.where += layers::within_unit(db, incidents, *within);
    if (auto filter = q.get("filter")) {
        if (auto lang = q.get("filter-lang"); lang && *lang != "cql2-text") {
            throw input_error("filter-lang: only cql2-text is supported");
        }
        query.where += layers::cql2::filter_condition(*filter, incidents);
    }
    return query;
}

Response counts_response(const ServerConfig& config, const RouteContext& ctx, const std::vector<std::string>& groups) {
    auto& db = connection(config);
    const auto table = layers::count_incidents(db, groups, incident_query(db, ctx.query));
    const std::string format = requested_format(ctx, {"json", "csv", "html"});
    if (format == "csv") return make_response(http::status::ok, layers::to_csv(table), "text/csv; charset=utf-8");
    json rows = json::array();
    for (const auto& row : table.rows) {
        json r = json::object();
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (table.columns[i] == "count") r["count"] = std::stoll(row[i]);
            else r[table.columns[i]] = row[i].empty() ? json(nullptr) : json(row[i]);
        }
        rows.push_back(r);
    }
    json body = {{"group_by", groups}, {"rows", rows}};
    if (format == "html") return html_response("Incident counts", body);
    return json_response(http::status::ok, body);
}

} // namespace

void register_situational_routes(Router& router, const ServerConfig& config) {
    router.get("/routes/{id}/profile", [config](const RouteContext& ctx) -> Response {
        check_parameters(ctx.query, {"segment_km", "buffer_km", "from", "to", "type", "target", "status", "f"});
        require_read(config, ctx, "routes");
        require_read(config, ctx, "incidents");
        const std::string format = requested_format(ctx, {"json", "geojson", "html"});
        auto& db = connection(config);
        layers::FeatureQuery query;
        query.filter = filter_from(ctx.query, false);
        const auto profile = layers::route_profile(db, ctx.param("id"), number_param(ctx.query, "segment_km", 10),
                                                   number_param(ctx.query, "buffer_km", 5), query);
        json segments = json::array();
        json features = json::array();
        for (std::size_t i = 0; i < profile.segments.size(); ++i) {
            const auto& s = profile.segments[i];
            json properties = {{"index", i},
                               {"start_km", round3(s.start_km)},
                               {"end_km", round3(s.end_km)},
                               {"count", s.count},
                               {"by_type", s.by_type}};
            segments.push_back(properties);
            features.push_back({{"type", "Feature"},
                                {"id", profile.route_id + ":" + std::to_string(i)},
                                {"geometry", line_json(s.line)},
                                {"properties", properties}});
        }
        if (format == "geojson") {
            return json_response(http::status::ok, {{"type", "FeatureCollection"}, {"features", features}},
                                 "application/geo+json");
        }
        json body = {{"route_id", profile.route_id},         {"name", profile.name},
                     {"length_km", round3(profile.length_km)}, {"segment_km", profile.segment_km},
                     {"buffer_km", profile.buffer_km},         {"segments", segments}};
        if (format == "html") return html_response("Route profile: " + profile.name, body);
        return json_response(http::status::ok, body);
    });

    router.get("/stats/coverage", [config](const RouteContext& ctx) -> Response {
        check_parameters(ctx.query,
                         {"radius_km", "from", "to", "type", "target", "status", "within", "filter", "filter-lang", "limit", "f"});
        require_read(config, ctx, "bases");
        require_read(config, ctx, "incidents");
        require_read(config, ctx, "cercles");  // the rows name the cercles
        const std::string format = requested_format(ctx, {"json", "html"});
        auto& db = connection(config);
        const auto result = layers::coverage(db, number_param(ctx.query, "radius_km", 50), incident_query(db, ctx.query));
        std::int64_t limit = 1000;
        if (auto text = ctx.query.get("limit")) {
            limit = parse_integer(*text, "limit");
            if (limit < 0 || limit > items_max_limit) {
                throw input_error("limit: expected 0 to " + std::to_string(items_max_limit));
            }
        }
        json cercles = json::array();
        for (const auto& row : result.cercles) {
            cercles.push_back({{"cercle_id", row.cercle_id.empty() ? json(nullptr) : json(row.cercle_id)},
                               {"name", row.name},
                               {"region_id", row.region_id},
                               {"incidents", row.incidents},
                               {"within", row.covered},
                               {"beyond", row.incidents - row.covered}});
        }
        std::vector<layers::RankedFeature> uncovered;
        for (std::size_t i = 0; i < result.uncovered.size() && static_cast<std::int64_t>(i) < limit; ++i) {
            uncovered.push_back({result.uncovered[i], nullptr});
        }
        json features = json::array();
        layers::FeatureCursor cursor(db, layers::find_layer("incidents"), std::move(uncovered));
        std::string feature;
        while (cursor.next(feature)) {
            features.push_back(json::parse(feature));
            feature.clear();
        }
        json body = {{"radius_km", result.radius_km},
                     {"incidents", result.incidents},
                     {"within", result.covered},
                     {"beyond", result.incidents - result.covered},
                     {"cercles", cercles},
                     {"uncovered",
                      {{"type", "FeatureCollection"},
                       {"numberMatched", result.uncovered.size()},
                       {"numberReturned", features.size()},
                       {"features", features}}}};
        if (format == "html") return html_response("Coverage", body);
        return json_response(http::status::ok, body);
    });

    router.get("/stats/incidents", [config](const RouteContext& ctx) -> Response {
        check_parameters(ctx.query, {"group_by", "from", "to", "type", "target", "status", "within", "filter", "filter-lang", "f"});
        require_read(config, ctx, "incidents");
        std::vector<std::string> groups;
        for (const auto& value : ctx.query.get_all("group_by")) {
            for (auto& g : layers::split_list(value)) groups.push_back(std::move(g));
        }
        return counts_response(config, ctx, groups);
    });

    router.get("/stats/counts", [config](const RouteContext& ctx) -> Response {
        check_parameters(ctx.query, {"by", "from", "to", "type", "target", "status", "within", "filter", "filter-lang", "f"});
        require_read(config, ctx, "incidents");
        const auto by = ctx.query.get("by");
        if (!by || (*by != "cercle" && *by != "region")) throw input_error("by: expected cercle or region");
        return counts_response(config, ctx, {*by});
    });
}

} // namespace sitmap::server
