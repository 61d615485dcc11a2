#include "layers/features.hpp"

#include "geo/error.hpp"

#include <nlohmann/json.hpp>
#include <sqlite3.h>

namespace sitmap::layers {

namespace {

using nlohmann::json;

std::string select_sql(const Layer& layer) {
    // AsGeoJSON(geom, 6): coordinates rounded to 6 decimals (about 0.1 m), no bbox, no CRS member.
    return "SELECT t.fid, t.id, " + [&] {
        std::string cols;
        for (const auto& c : layer.columns) cols += "t." + c.name + ", ";
        return cols;
    }() + "t.props, AsGeoJSON(t.geom, 6, 0) FROM " + layer.name + " t WHERE 1=1";
}

/// Appends one Feature built from the current row of `stmt` (laid out as select_sql()), with the
/// `computed` properties (a JSON object, or null) after the stored ones.
void append_feature(std::string& out, const Layer& layer, const geo::Statement& stmt,
                    const json& computed = nullptr) {
    json properties = json::object();
    int column = 2;
    for (const auto& c : layer.columns) {
        switch (stmt.column_type(column)) {
            case SQLITE_NULL: properties[c.name] = nullptr; break;
            case SQLITE_INTEGER:
                if (c.type == ColumnType::boolean) {
                    properties[c.name] = stmt.column_int64(column) != 0;
                } else {
                    properties[c.name] = stmt.column_int64(column);
                }
                break;
            case SQLITE_FLOAT: properties[c.name] = stmt.column_double(column); break;
            default: properties[c.name] = std::string(stmt.column_text(column)); break;
        }
        ++column;
    }
    if (!stmt.is_null(column)) {
        auto extra = json::parse(stmt.column_text(column), nullptr, false);
        if (extra.is_object()) {
            for (auto& [key, value] : extra.items()) {
                if (!properties.contains(key) && key != "id") properties[key] = value;
            }
        }
    }
    ++column;
    if (computed.is_object()) {
        for (auto& [key, value] : computed.items()) properties[key] = value;
    }
    out += R"({"type":"Feature","id":)";
    out += json(std::string(stmt.column_text(1))).dump();
    out += R"(,"geometry":)";
    out += stmt.is_null(column) ? std::string_view("null") : stmt.column_text(column);
    out += R"(,"properties":)";
    out += properties.dump(-1, ' ', false, json::error_handler_t::replace);
    out += '}';
}

} // namespace

Condition& Condition::operator+=(const Condition& other) {
    sql += other.sql;
    params.insert(params.end(), other.params.begin(), other.params.end());
    return *this;
}

FeatureCursor::FeatureCursor(geo::Database& db, const Layer& layer, const FeatureQuery& query)
    : m_layer(layer), m_stmt([&] {
          geo::register_geodesy_functions(db);  // CQL2 S_DWITHIN calls geodesic_km
          std::vector<SqlValue> params;
          const std::string sql = select_sql(layer) + filter_sql(layer, query.filter, params) + query.where.sql +
                                  " ORDER BY t.fid LIMIT ? OFFSET ?";
          params.insert(params.end(), query.where.params.begin(), query.where.params.end());
          auto stmt = db.prepare(sql);
          const int next = bind_all(stmt, params);
          stmt.bind(next, query.limit).bind(next + 1, query.offset);
          return stmt;
      }()) {}

FeatureCursor::FeatureCursor(geo::Database& db, const Layer& layer, std::vector<RankedFeature> ranked)
    : m_layer(layer), m_stmt(db.prepare(select_sql(layer) + " AND t.fid = ?")), m_ranked(std::move(ranked)),
      m_by_fid(true) {}

bool FeatureCursor::next(std::string& out) {
    if (!m_by_fid) {
        if (!m_stmt.step()) return false;
        append_feature(out, m_layer, m_stmt);
        return true;
    }
    while (m_next_ranked < m_ranked.size()) {
        const auto& feature = m_ranked[m_next_ranked++];
        m_stmt.reset();
        m_stmt.bind(1, feature.fid);
        if (m_stmt.step()) {
            append_feature(out, m_layer, m_stmt, feature.computed);
            return true;
        }
    }
    return false;
}

std::int64_t write_features(geo::Database& db, const Layer& layer, const FeatureQuery& query,
                            const std::function<void(std::string_view)>& write) {
    FeatureCursor cursor(db, layer, query);
    std::int64_t written = 0;
    std::string feature;
    while (true) {
        feature.clear();
        if (!cursor.next(feature)) break;
        write(feature);
        ++written;
    }
    return written;
}

std::int64_t count_features(geo::Database& db, const Layer& layer, const Filter& filter) {
    FeatureQuery query;
    query.filter = filter;
    return count_features(db, layer, query);
}

std::int64_t count_features(geo::Database& db, const Layer& layer, const FeatureQuery& query) {
    geo::register_geodesy_functions(db);
    std::vector<SqlValue> params;
    auto stmt = db.prepare("SELECT count(*) FROM " + layer.name + " t WHERE 1=1" +
                           filter_sql(layer, query.filter, params) + query.where.sql);
    params.insert(params.end(), query.where.params.begin(), query.where.params.end());
    bind_all(stmt, params);
    stmt.step();
    return stmt.column_int64(0);
}

std::string feature_by_id(geo::Database& db, const Layer& layer, const std::string& id, const json& computed) {
    auto stmt = db.prepare(select_sql(layer) + " AND t.id = ?");
    stmt.bind(1, id);
    if (!stmt.step()) throw not_found_error("no feature '" + id + "' in " + layer.name);
    std::string out;
    append_feature(out, layer, stmt, computed);
    return out;
}

void for_each_point(geo::Database& db, const Layer& layer, const FeatureQuery& query, const Condition& extra,
                    const std::function<void(std::int64_t fid, geo::LonLat position)>& visit) {
    geo::register_geodesy_functions(db);
    std::vector<SqlValue> params;
    auto sql = "SELECT t.fid, X(t.geom), Y(t.geom) FROM " + layer.name + " t WHERE t.geom IS NOT NULL" + extra.sql +
               filter_sql(layer, query.filter, params) + query.where.sql;
    params.insert(params.begin(), extra.params.begin(), extra.params.end());
    params.insert(params.end(), query.where.params.begin(), query.where.params.end());
    auto stmt = db.prepare(sql);
    bind_all(stmt, params);
    while (stmt.step()) visit(stmt.column_int64(0), {stmt.column_double(1), stmt.column_double(2)});
}

Condition bbox_condition(const Layer& layer, const std::vector<std::array<double, 4>>& boxes) {
    Condition c;
    if (boxes.empty()) {
        c.sql = " AND 0";
        return c;
    }
    c.sql = " AND t.fid IN (";
    for (std::size_t i = 0; i < boxes.size(); ++i) {
        if (i) c.sql += " UNION ALL ";
        c.sql += "SELECT pkid FROM idx_" + layer.name + "_geom WHERE xmin <= ? AND xmax >= ? AND ymin <= ? AND ymax >= ?";
        for (double v : {boxes[i][2], boxes[i][0], boxes[i][3], boxes[i][1]}) c.params.emplace_back(v);
    }
    c.sql += ")";
    return c;
}

} // namespace sitmap::layers
