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

/// Appends one Feature built from the current row of `stmt` (laid out as select_sql()).
void append_feature(std::string& out, const Layer& layer, const geo::Statement& stmt) {
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
    out += R"({"type":"Feature","id":)";
    out += json(std::string(stmt.column_text(1))).dump();
    out += R"(,"geometry":)";
    out += stmt.is_null(column) ? std::string_view("null") : stmt.column_text(column);
    out += R"(,"properties":)";
    out += properties.dump(-1, ' ', false, json::error_handler_t::replace);
    out += '}';
}

} // namespace

std::int64_t write_features(geo::Database& db, const Layer& layer, const FeatureQuery& query,
                            const std::function<void(std::string_view)>& write) {
    std::vector<SqlValue> params;
    std::string sql = select_sql(layer) + filter_sql(layer, query.filter, params) + " ORDER BY t.fid LIMIT ? OFFSET ?";
    auto stmt = db.prepare(sql);
    const int next = bind_all(stmt, params);
    stmt.bind(next, query.limit).bind(next + 1, query.offset);
    std::int64_t written = 0;
    std::string feature;
    while (stmt.step()) {
        feature.clear();
        append_feature(feature, layer, stmt);
        write(feature);
        ++written;
    }
    return written;
}

std::int64_t count_features(geo::Database& db, const Layer& layer, const Filter& filter) {
    std::vector<SqlValue> params;
    auto stmt = db.prepare("SELECT count(*) FROM " + layer.name + " t WHERE 1=1" + filter_sql(layer, filter, params));
    bind_all(stmt, params);
    stmt.step();
    return stmt.column_int64(0);
}

std::string feature_by_id(geo::Database& db, const Layer& layer, const std::string& id) {
    auto stmt = db.prepare(select_sql(layer) + " AND t.id = ?");
    stmt.bind(1, id);
    if (!stmt.step()) throw not_found_error("no feature '" + id + "' in " + layer.name);
    std::string out;
    append_feature(out, layer, stmt);
    return out;
}

} // namespace sitmap::layers
