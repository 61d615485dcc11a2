#include "layers/queries.hpp"

#include "geo/error.hpp"
#include "layers/queries_distance.hpp"
#include "layers/values.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <optional>
#include <unordered_set>

namespace sitmap::layers {

namespace {

constexpr double max_radius_km = 20000;  // about half the Earth's circumference

void require_points(const Layer& layer, const char* what) {
    if (layer.geometry != GeometryKind::point) {
        throw input_error(std::string(what) + " applies to point layers (bases, incidents), not " + layer.name);
    }
}

void check_distance(double km, const char* what) {
    if (!std::isfinite(km) || km <= 0 || km > max_radius_km) {
        throw input_error(std::string(what) + ": expected a distance in km above 0 and at most 20000");
    }
}

/// Whether `a` comes before `b` in (key, fid) order.
bool before(double a_key, std::int64_t a_fid, double b_key, std::int64_t b_fid) {
    return a_key != b_key ? a_key < b_key : a_fid < b_fid;
}

double key_of(const Hit& hit, HitOrder order) { return order == HitOrder::along ? hit.along_km : hit.distance_km; }

auto hit_less(HitOrder order) {
    return [order](const Hit& a, const Hit& b) { return before(key_of(a, order), a.fid, key_of(b, order), b.fid); };
}

void sort_hits(std::vector<Hit>& hits, HitOrder order) {
    if (order != HitOrder::any) std::sort(hits.begin(), hits.end(), hit_less(order));
}

std::vector<std::vector<geo::LonLat>> lines_from_geojson(std::string_view text) {
    const auto geometry = nlohmann::json::parse(text);
    auto coordinates = geometry.at("coordinates");
    if (geometry.at("type") == "LineString") coordinates = nlohmann::json::array({coordinates});
    std::vector<std::vector<geo::LonLat>> parts;
    for (const auto& line : coordinates) {
        auto& part = parts.emplace_back();
        for (const auto& c : line) part.push_back({c.at(0).get<double>(), c.at(1).get<double>()});
    }
    return parts;
}

} // namespace

Base find_base(geo::Database& db, const std::string& id_or_name) {
    auto stmt = db.prepare("SELECT fid, id, name, X(geom), Y(geom), opened, closed FROM bases");
    std::vector<Base> by_name;
    std::string some_ids;
    const std::string wanted = fold_name(id_or_name);
    while (stmt.step()) {
        Base base{stmt.column_int64(0), std::string(stmt.column_text(1)), std::string(stmt.column_text(2)),
                  {stmt.column_double(3), stmt.column_double(4)}, std::string(stmt.column_text(5)),
                  std::string(stmt.column_text(6))};
        if (base.id == id_or_name) return base;
        if (some_ids.size() < 60) some_ids += (some_ids.empty() ? "" : ", ") + base.id;
        // A name matches when the folded text is one of its comma-separated words or parts.
        const std::string name = fold_name(base.name);
        const auto at = name.find(wanted);
        const auto word_char = [&](std::size_t i) { return i < name.size() && std::isalnum(static_cast<unsigned char>(name[i])); };
        if (!wanted.empty() && at != std::string::npos && (at == 0 || !word_char(at - 1)) && !word_char(at + wanted.size())) {
            by_name.push_back(std::move(base));
        }
    }
    if (by_name.size() == 1) return by_name.front();
    if (by_name.empty()) throw not_found_error("no base '" + id_or_name + "' (ids: " + some_ids + "...)");
    std::string names;
    for (const auto& b : by_name) names += (names.empty() ? "" : "; ") + b.id + " " + b.name;
    throw input_error("base '" + id_or_name + "' matches several bases: " + names + " (use the id)");
}

HitPage hits_page(std::vector<Hit> hits, HitOrder order, const std::optional<HitKey>& after, std::size_t skip,
                  std::size_t limit) {
    if (after) {
        std::erase_if(hits, [&](const Hit& h) { return !before(after->key, after->fid, key_of(h, order), h.fid); });
    }
    const std::size_t first = std::min(skip, hits.size());
    const std::size_t last = first + std::min(limit, hits.size() - first);
    const auto less = hit_less(order);
    if (last < hits.size()) std::nth_element(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(last), hits.end(), less);
    if (first > 0) std::nth_element(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(first), hits.begin() + static_cast<std::ptrdiff_t>(last), less);
    std::sort(hits.begin() + static_cast<std::ptrdiff_t>(first), hits.begin() + static_cast<std::ptrdiff_t>(last), less);
    HitPage page;
    page.following = hits.size() - last;
    page.hits.assign(hits.begin() + static_cast<std::ptrdiff_t>(first), hits.begin() + static_cast<std::ptrdiff_t>(last));
    return page;
}

std::vector<Hit> within_radius(geo::Database& db, const Layer& layer, geo::LonLat centre, double radius_km,
                               const FeatureQuery& query, HitOrder order) {
    require_points(layer, "a radius query");
    check_distance(radius_km, "radius_km");
    std::vector<Hit> hits;
    const auto box = geo::radius_bbox(centre, radius_km);
    const DistanceFrom from(centre);
    constexpr double margin_km = DistanceFrom::error_km;
    if (query.filter.attributes_empty() && !query.filter.bbox && query.where.empty()) {
        // No attribute to check: the R*Tree alone answers, without reaching the rows. It holds each
        // point as a float32 box around the exact position, so the distance from the box's middle
        // is within the box's half-diagonal (centimetres) of the exact one; only the points that
        // close to the circle are settled with their exact position, read from the row, and
        // geod_inverse.
        auto stmt = db.prepare("SELECT pkid, xmin, xmax, ymin, ymax FROM idx_" + layer.name +
                               "_geom WHERE xmin <= ? AND xmax >= ? AND ymin <= ? AND ymax >= ?");
        stmt.bind(1, box[2]).bind(2, box[0]).bind(3, box[3]).bind(4, box[1]);
        auto exact = db.prepare("SELECT geom FROM " + layer.name + " WHERE fid = ? AND geom IS NOT NULL");
        constexpr double km_per_degree = 112;  // more than a degree of latitude or longitude anywhere
        hits.reserve(1U << 16U);
        while (stmt.step()) {
            const double xmin = stmt.column_double(1), xmax = stmt.column_double(2);
            const double ymin = stmt.column_double(3), ymax = stmt.column_double(4);
            const double d = from.km({(xmin + xmax) / 2, (ymin + ymax) / 2});
            const double dx = xmax - xmin, dy = ymax - ymin;
            const double slack = km_per_degree * std::sqrt(dx * dx + dy * dy) / 2 + margin_km;
            if (d > radius_km + slack) continue;
            if (d < radius_km - slack) {
                hits.push_back({stmt.column_int64(0), d, 0});
                continue;
            }
            exact.reset();
            exact.bind(1, stmt.column_int64(0));
            if (!exact.step()) continue;
            const double exact_km = geo::geodesic_distance_km(centre, point_from_blob(exact.column_blob(0)));
            if (exact_km <= radius_km) hits.push_back({stmt.column_int64(0), exact_km, 0});
        }
        sort_hits(hits, order);
        return hits;
    }
    for_each_point(db, layer, query, {box},
                   [&](std::int64_t fid, geo::LonLat position) {
                       double d = from.km(position);
                       if (std::abs(d - radius_km) <= margin_km) d = geo::geodesic_distance_km(centre, position);
                       if (d <= radius_km) hits.push_back({fid, d, 0});
                   });
    sort_hits(hits, order);
    return hits;
}

std::vector<Hit> nearest(geo::Database& db, const Layer& layer, geo::LonLat centre, std::int64_t k,
                         const FeatureQuery& query) {
    require_points(layer, "a nearest query");
    if (k < 1 || k > 1000) throw input_error("k: expected 1 to 1000");
    // Widen the radius until it holds k features: every feature nearer than the k-th found is
    // inside that radius, so the k nearest are exactly the first k found.
    for (double radius = 25;; radius = std::min(radius * 4, max_radius_km)) {
        auto hits = within_radius(db, layer, centre, radius, query);
        if (static_cast<std::int64_t>(hits.size()) >= k || radius >= max_radius_km) {
            if (static_cast<std::int64_t>(hits.size()) > k) hits.resize(static_cast<std::size_t>(k));
            return hits;
        }
    }
}

Condition within_unit(geo::Database& db, const Layer& layer, const std::string& spec) {
    const auto colon = spec.find(':');
    const std::string kind = spec.substr(0, colon);
    const std::string id = colon == std::string::npos ? "" : spec.substr(colon + 1);
    if ((kind != "cercle" && kind != "region") || id.empty()) {
        throw input_error("within: expected cercle:{id} or region:{id}, got '" + spec + "'");
    }
    const std::string table = kind + "s";
    auto stmt = db.prepare("SELECT t.fid, r.xmin, r.ymin, r.xmax, r.ymax FROM " + table + " t JOIN idx_" + table +
                           "_geom r ON r.pkid = t.fid WHERE t.id = ?");
    stmt.bind(1, id);
    if (!stmt.step()) throw not_found_error("within: no " + kind + " '" + id + "'");
    Condition c;
    if (layer.name == "incidents") {
        c.sql = " AND t." + kind + "_id = ?";  // joined at import (join_incidents_to_boundaries)
        c.params.emplace_back(id);
        return c;
    }
    c = bbox_condition(layer, {{stmt.column_double(1), stmt.column_double(2), stmt.column_double(3),
                                stmt.column_double(4)}});
    c.sql += " AND ST_Intersects(t.geom, (SELECT u.geom FROM " + table + " u WHERE u.fid = ?)) = 1";
    c.params.emplace_back(stmt.column_int64(0));
    return c;
}

Route find_route(geo::Database& db, const std::string& id) {
    auto stmt = db.prepare("SELECT id, name, AsGeoJSON(geom) FROM routes WHERE id = ?");
    stmt.bind(1, id);
    if (!stmt.step() || stmt.is_null(2)) throw not_found_error("no route '" + id + "'");
    return {std::string(stmt.column_text(0)), std::string(stmt.column_text(1)),
            geo::Polyline(lines_from_geojson(stmt.column_text(2)))};
}

std::vector<Hit> along_route(geo::Database& db, const Layer& layer, const Route& route, double buffer_km,
                             const FeatureQuery& query, HitOrder order) {
    require_points(layer, "an along-route query");
    check_distance(buffer_km, "buffer_km");
    if (buffer_km > 500) throw input_error("buffer_km: expected at most 500");
    std::vector<Hit> hits;
    for_each_point(db, layer, query, route.line.segment_boxes(buffer_km),
                   [&](std::int64_t fid, geo::LonLat position) {
                       const auto at = route.line.locate(position);
                       if (at.distance_km <= buffer_km) hits.push_back({fid, at.distance_km, at.along_km});
                   });
    sort_hits(hits, order);
    return hits;
}

RouteProfile route_profile(geo::Database& db, const std::string& route_id, double segment_km, double buffer_km,
                           const FeatureQuery& query) {
    if (!std::isfinite(segment_km) || segment_km < 0.5 || segment_km > 1000) {
        throw input_error("segment_km: expected 0.5 to 1000");
    }
    const Route route = find_route(db, route_id);
    RouteProfile profile{route.id, route.name, route.line.length_km(), segment_km, buffer_km, {}};
    const double stretches = std::max(1.0, std::ceil(profile.length_km / segment_km));
    if (stretches > 10000) throw input_error("segment_km: the route would have more than 10000 segments");
    for (std::size_t i = 0; i < static_cast<std::size_t>(stretches); ++i) {
        ProfileSegment s;
        s.start_km = static_cast<double>(i) * segment_km;
        s.end_km = std::min(profile.length_km, s.start_km + segment_km);
        s.line = route.line.slice(s.start_km, s.end_km);
        profile.segments.push_back(std::move(s));
    }
    const auto& incidents = find_layer("incidents");
    const auto hits = along_route(db, incidents, route, buffer_km, query);
    auto type_of = db.prepare("SELECT type FROM incidents WHERE fid = ?");
    for (const auto& hit : hits) {
        const auto index = std::min(profile.segments.size() - 1, static_cast<std::size_t>(hit.along_km / segment_km));
        auto& segment = profile.segments[index];
        type_of.reset();
        type_of.bind(1, hit.fid);
        if (!type_of.step()) continue;
        ++segment.count;
        ++segment.by_type[std::string(type_of.column_text(0))];
    }
    return profile;
}

Coverage coverage(geo::Database& db, double radius_km, const FeatureQuery& query) {
    check_distance(radius_km, "radius_km");
    const auto& incidents = find_layer("incidents");
    Coverage result;
    result.radius_km = radius_km;
    std::unordered_set<std::int64_t> covered;
    auto bases = db.prepare("SELECT id FROM bases");
    while (bases.step()) {
        const Base base = find_base(db, std::string(bases.column_text(0)));
        FeatureQuery open = query;  // only the incidents of the days the base was open
        if (!base.opened.empty()) {
            open.where.sql += " AND t.occurred_at >= ?";
            open.where.params.emplace_back(base.opened);
        }
        if (!base.closed.empty()) {
            open.where.sql += " AND t.occurred_at < date(?, '+1 day')";
            open.where.params.emplace_back(base.closed);
        }
        for (const auto& hit : within_radius(db, incidents, base.position, radius_km, open)) covered.insert(hit.fid);
    }
    std::vector<SqlValue> params;
    auto stmt = db.prepare("SELECT t.fid, coalesce(t.cercle_id, ''), coalesce(c.name, ''), coalesce(c.region_id, '') "
                           "FROM incidents t LEFT JOIN cercles c ON c.id = t.cercle_id WHERE 1=1" +
                           filter_sql(incidents, query.filter, params) + query.where.sql + " ORDER BY t.fid");
    params.insert(params.end(), query.where.params.begin(), query.where.params.end());
    bind_all(stmt, params);
    std::map<std::string, CoverageRow> rows;
    while (stmt.step()) {
        const std::int64_t fid = stmt.column_int64(0);
        auto& row = rows[std::string(stmt.column_text(1))];
        row.cercle_id = stmt.column_text(1);
        row.name = stmt.column_text(2);
        row.region_id = stmt.column_text(3);
        ++row.incidents;
        ++result.incidents;
        if (covered.count(fid)) {
            ++row.covered;
            ++result.covered;
        } else {
            result.uncovered.push_back(fid);
        }
    }
    for (auto& [id, row] : rows) result.cercles.push_back(std::move(row));
    return result;
}

namespace {

/// The bases with the days they were open, to find the nearest base open on an incident's day.
class OpenBases {
public:
    explicit OpenBases(geo::Database& db) {
        auto stmt = db.prepare("SELECT id FROM bases ORDER BY fid");
        while (stmt.step()) m_bases.push_back(find_base(db, std::string(stmt.column_text(0))));
    }

    /// The base open on the day of `occurred_at` (opened <= day <= closed, an empty date leaving
    /// that side open) nearest to `at` (geodesic; ties to the first base), or nullptr.
    const Base* nearest(geo::LonLat at, std::string_view occurred_at) const {
        const std::string_view day = occurred_at.substr(0, 10);
        // Great-circle distances (unit sphere) rank the bases cheaply; they are within 0.6 % of the
        // geodesic ones, so only the bases within 2 % of the closest are measured geodesically.
        m_rough.clear();
        double closest = std::numeric_limits<double>::infinity();
        for (const Base& b : m_bases) {
            const bool open = (b.opened.empty() || b.opened <= day) && (b.closed.empty() || day <= b.closed);
            const double d = open ? great_circle(at, b.position) : std::numeric_limits<double>::infinity();
            m_rough.push_back(d);
            closest = std::min(closest, d);
        }
        const Base* best = nullptr;
        double best_km = 0;
        for (std::size_t i = 0; i < m_bases.size(); ++i) {
            if (!(m_rough[i] <= closest * 1.02 + 1e-12)) continue;
            const double km = geo::geodesic_distance_km(at, m_bases[i].position);
            if (!best || km < best_km) {
                best = &m_bases[i];
                best_km = km;
            }
        }
        return best;
    }

private:
    static double great_circle(geo::LonLat a, geo::LonLat b) {
        constexpr double degree = std::numbers::pi / 180;
        const double s_lat = std::sin((b.lat - a.lat) * degree / 2);
        const double s_lon = std::sin((b.lon - a.lon) * degree / 2);
        const double h = s_lat * s_lat + std::cos(a.lat * degree) * std::cos(b.lat * degree) * s_lon * s_lon;
        return 2 * std::asin(std::sqrt(std::min(1.0, h)));
    }

    std::vector<Base> m_bases;
    mutable std::vector<double> m_rough;
};

} // namespace

CountTable count_incidents(geo::Database& db, const std::vector<std::string>& group_by, const FeatureQuery& query) {
    // Each group: its key (an SQL expression on the incident, or the nearest open base computed
    // here) and, for regions and cercles, the table their names come from.
    struct Group {
        std::string key_column, key_sql, name_column, names_table;
    };
    static const std::map<std::string, Group> groups = {
        {"region", {"region_id", "t.region_id", "region_name", "regions"}},
        {"cercle", {"cercle_id", "t.cercle_id", "cercle_name", "cercles"}},
        {"type", {"type", "t.type", "", ""}},
        {"target", {"target", "t.target", "", ""}},
        {"year", {"year", "substr(t.occurred_at, 1, 4)", "", ""}},
        {"month", {"month", "substr(t.occurred_at, 1, 7)", "", ""}},
        {"base", {"base_id", "", "base_name", ""}},
    };
    CountTable table;
    std::vector<const Group*> chosen;
    std::string select;
    for (const auto& g : group_by) {
        const auto found = groups.find(g);
        if (found == groups.end() ||
            std::find(chosen.begin(), chosen.end(), &found->second) != chosen.end()) {
            throw input_error("group_by: '" + g + "' is unknown or repeated (any of: region, cercle, type, target, "
                              "year, month, base)");
        }
        chosen.push_back(&found->second);
        table.columns.push_back(found->second.key_column);
        if (!found->second.name_column.empty()) table.columns.push_back(found->second.name_column);
        if (!found->second.key_sql.empty()) select += found->second.key_sql + ", ";
    }
    table.columns.push_back("count");
    const bool by_base = std::find(group_by.begin(), group_by.end(), "base") != group_by.end();
    std::optional<OpenBases> bases;
    if (by_base) bases.emplace(db);
    // The matching incidents' keys in one pass, counted here rather than by a GROUP BY, which sorts
    // every row in a temporary B-tree: with only a time window and the type, target, cercle or
    // region keys, SQLite reads them from the covering index incidents_window, not from the rows.
    const auto& incidents = find_layer("incidents");
    std::vector<SqlValue> params;
    auto stmt = db.prepare("SELECT " + select + (by_base ? "t.occurred_at, t.geom" : "1") + " FROM incidents t WHERE 1=1" +
                           filter_sql(incidents, query.filter, params) + query.where.sql +
                           (by_base ? " AND t.geom IS NOT NULL" : ""));
    params.insert(params.end(), query.where.params.begin(), query.where.params.end());
    bind_all(stmt, params);
    // A row's keys joined by NUL, which sorts before any character: the map orders them as tuples.
    std::map<std::string, std::int64_t> counts;
    std::map<std::string, std::string> base_names;
    std::string key;
    const int sql_keys = stmt.column_count() - (by_base ? 2 : 1);
    while (stmt.step()) {
        key.clear();
        int column = 0;
        for (const Group* g : chosen) {
            if (g->key_sql.empty()) {
                const Base* base = bases->nearest(point_from_blob(stmt.column_blob(sql_keys + 1)), stmt.column_text(sql_keys));
                if (base) {
                    key += base->id;
                    base_names.emplace(base->id, base->name);
                }
            } else if (!stmt.is_null(column)) {
                key += stmt.column_text(column);
            }
            if (!g->key_sql.empty()) ++column;
            key += '\0';
        }
        const auto at = counts.find(key);
        if (at == counts.end()) {
            counts.emplace(key, 1);
        } else {
            ++at->second;
        }
    }
    std::map<std::string, std::map<std::string, std::string>> names;  // table -> id -> name
    for (const Group* g : chosen) {
        if (g->names_table.empty()) continue;
        auto lookup = db.prepare("SELECT id, name FROM " + g->names_table);
        while (lookup.step()) names[g->names_table][std::string(lookup.column_text(0))] = lookup.column_text(1);
    }
    for (const auto& [joined, count] : counts) {
        auto& row = table.rows.emplace_back();
        std::size_t from = 0;
        for (const Group* g : chosen) {
            const auto to = joined.find('\0', from);
            row.push_back(joined.substr(from, to - from));
            from = to + 1;
            if (g->name_column.empty()) continue;
            const auto& by_id = g->names_table.empty() ? base_names : names[g->names_table];
            const auto name = by_id.find(row.back());
            row.push_back(name == by_id.end() ? "" : name->second);
        }
        row.push_back(std::to_string(count));
    }
    return table;
}

std::string to_csv(const CountTable& table) {
    auto field = [](const std::string& text) {
        if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
        std::string out = "\"";
        for (const char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
        return out + "\"";
    };
    std::string out;
    for (std::size_t i = 0; i < table.columns.size(); ++i) out += (i ? "," : "") + field(table.columns[i]);
    out += "\r\n";
    for (const auto& row : table.rows) {
        for (std::size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + field(row[i]);
        out += "\r\n";
    }
    return out;
}

} // namespace sitmap::layers
