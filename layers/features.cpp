#include "layers/features.hpp"

#include "geo/error.hpp"

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <unordered_set>

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

/// True when `query` holds conditions besides its bbox (that make counting read the rows).
bool has_conditions(const Layer& layer, const FeatureQuery& query) {
    return !query.where.empty() || (layer.name == "incidents" && !query.filter.attributes_empty());
}

/// The number of entries of the layer's R*Tree meeting `box`, stopping at `at_most`.
std::int64_t features_in_box(geo::Database& db, const Layer& layer, const std::array<double, 4>& box,
                             std::int64_t at_most = -1) {
    auto stmt = db.prepare("SELECT count(*) FROM (SELECT 1 FROM idx_" + layer.name +
                           "_geom WHERE xmin <= ? AND xmax >= ? AND ymin <= ? AND ymax >= ? LIMIT ?)");
    stmt.bind(1, box[2]).bind(2, box[0]).bind(3, box[3]).bind(4, box[1]).bind(5, at_most);
    stmt.step();
    return stmt.column_int64(0);
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
    if (query.filter.bbox && !has_conditions(layer, query)) return features_in_box(db, layer, *query.filter.bbox);
    geo::register_geodesy_functions(db);
    std::vector<SqlValue> params;
    auto stmt = db.prepare("SELECT count(*) FROM " + layer.name + " t WHERE 1=1" +
                           filter_sql(layer, query.filter, params) + query.where.sql);
    params.insert(params.end(), query.where.params.begin(), query.where.params.end());
    bind_all(stmt, params);
    stmt.step();
    return stmt.column_int64(0);
}

std::optional<std::int64_t> count_features_bounded(geo::Database& db, const Layer& layer, const FeatureQuery& query,
                                                   std::int64_t max_rows) {
    if (query.filter.bbox && has_conditions(layer, query) &&
        features_in_box(db, layer, *query.filter.bbox, max_rows + 1) > max_rows) {
        return std::nullopt;
    }
    return count_features(db, layer, query);
}

std::string feature_by_id(geo::Database& db, const Layer& layer, const std::string& id, const json& computed) {
    auto stmt = db.prepare(select_sql(layer) + " AND t.id = ?");
    stmt.bind(1, id);
    if (!stmt.step()) throw not_found_error("no feature '" + id + "' in " + layer.name);
    std::string out;
    append_feature(out, layer, stmt, computed);
    return out;
}

void for_each_point(geo::Database& db, const Layer& layer, const FeatureQuery& query,
                    const std::vector<std::array<double, 4>>& boxes,
                    const std::function<void(std::int64_t fid, geo::LonLat position)>& visit) {
    geo::register_geodesy_functions(db);
    std::vector<SqlValue> params;
    const std::string conditions = filter_sql(layer, query.filter, params) + query.where.sql;
    params.insert(params.end(), query.where.params.begin(), query.where.params.end());
    // The R*Tree drives (CROSS JOIN keeps it outermost) and each candidate row is reached by its
    // rowid: no temporary list of fids to build and sort, as `fid IN (SELECT pkid ...)` would.
    auto stmt = db.prepare("SELECT t.fid, t.geom FROM idx_" + layer.name + "_geom r CROSS JOIN " + layer.name +
                           " t ON t.fid = r.pkid WHERE r.xmin <= ? AND r.xmax >= ? AND r.ymin <= ? AND r.ymax >= ?"
                           " AND t.geom IS NOT NULL" + conditions);
    std::unordered_set<std::int64_t> seen;  // boxes may overlap
    for (const auto& box : boxes) {
        stmt.reset();
        stmt.bind(1, box[2]).bind(2, box[0]).bind(3, box[3]).bind(4, box[1]);
        bind_all(stmt, params, 5);
        while (stmt.step()) {
            const std::int64_t fid = stmt.column_int64(0);
            if (boxes.size() > 1 && !seen.insert(fid).second) continue;
            visit(fid, point_from_blob(stmt.column_blob(1)));
        }
    }
}

geo::LonLat point_from_blob(std::string_view blob) {
    // SpatiaLite BLOB-Geometry: 0x00, byte order (1 little endian), SRID (4), MBR (4 doubles),
    // 0x7C, class (4, 1 = POINT XY), X, Y, 0xFE: 60 bytes.
    constexpr std::size_t size = 60;
    const auto* bytes = reinterpret_cast<const unsigned char*>(blob.data());
    if (blob.size() != size || bytes[0] != 0x00 || bytes[38] != 0x7C || bytes[59] != 0xFE || bytes[1] > 1) {
        throw internal_error("a point geometry is not a SpatiaLite POINT XY blob");
    }
    const bool swap = (bytes[1] == 1) != (std::endian::native == std::endian::little);
    auto read = [&](std::size_t at, auto value) {
        unsigned char raw[sizeof(value)];
        std::memcpy(raw, bytes + at, sizeof(value));
        if (swap) std::reverse(std::begin(raw), std::end(raw));
        std::memcpy(&value, raw, sizeof(value));
        return value;
    };
    if (read(39, std::int32_t{}) != 1) throw internal_error("a point geometry is not a SpatiaLite POINT XY blob");
    return {read(43, double{}), read(51, double{})};
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
