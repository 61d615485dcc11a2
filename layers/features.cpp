#include "layers/features.hpp"

#include "geo/error.hpp"
#include "layers/geometry_blob.hpp"
#include "layers/json_text.hpp"

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <unordered_set>

namespace sitmap::layers {

namespace {

using nlohmann::json;

/// Whether a computed property named `key` replaces the feature's own.
bool is_added(std::string_view key, const RankedFeature* ranked, const json* added) {
    if (ranked && ((key == "distance_km" && !std::isnan(ranked->distance_km)) ||
                   (key == "along_km" && !std::isnan(ranked->along_km)))) {
        return true;
    }
    return added && added->is_object() && added->contains(std::string(key));
}

/// Whether an extra attribute named `key` is left out: "id", a column's name, or computed.
bool is_hidden_extra(const Layer& layer, std::string_view key, const RankedFeature* ranked, const json* added) {
    return key == "id" || layer.column(key) != nullptr || is_added(key, ranked, added);
}

void append_key(std::string& out, bool& first, std::string_view key) {
    if (!first) out += ',';
    first = false;
    json_text::append_string(out, key);
    out += ':';
}

/// The extra attributes as nlohmann::json reads them (any valid JSON object text).
void append_extras_parsed(std::string& out, bool& first, const Layer& layer, std::string_view props,
                          const RankedFeature* ranked, const json* added) {
    const auto extra = json::parse(props, nullptr, false);
    if (!extra.is_object()) return;
    for (const auto& [key, value] : extra.items()) {
        if (is_hidden_extra(layer, key, ranked, added)) continue;
        append_key(out, first, key);
        out += value.dump(-1, ' ', false, json::error_handler_t::replace);
    }
}

/// The extra attributes copied member by member from the stored text, each value as it is.
/// False (and `out`, `first` unspecified) when the text is not a plain object that reads back the
/// same through nlohmann::json: keys with escapes, repeated keys, strings it would refuse...
bool append_extras_raw(std::string& out, bool& first, const Layer& layer, std::string_view props,
                       const RankedFeature* ranked, const json* added) {
    std::size_t at = 0;
    json_text::skip_space(props, at);
    if (at >= props.size() || props[at] != '{') return false;
    ++at;
    json_text::skip_space(props, at);
    std::array<std::string_view, 32> keys;
    std::size_t key_count = 0;
    if (at < props.size() && props[at] == '}') {
        ++at;
    } else {
        while (true) {
            std::string_view key;
            if (!json_text::read_plain_string(props, at, key)) return false;
            if (key_count == keys.size() || std::find(keys.begin(), keys.begin() + key_count, key) != keys.begin() + key_count) {
                return false;
            }
            keys[key_count++] = key;
            json_text::skip_space(props, at);
            if (at >= props.size() || props[at] != ':') return false;
            ++at;
            json_text::skip_space(props, at);
            const std::size_t value = at;
            if (!json_text::skip_value(props, at)) return false;
            if (!is_hidden_extra(layer, key, ranked, added)) {
                if (!first) out += ',';
                first = false;
                out += '"';
                out += key;
                out += "\":";
                out.append(props.data() + value, at - value);
            }
            json_text::skip_space(props, at);
            if (at < props.size() && props[at] == ',') {
                ++at;
                json_text::skip_space(props, at);
                continue;
            }
            if (at < props.size() && props[at] == '}') {
                ++at;
                break;
            }
            return false;
        }
    }
    json_text::skip_space(props, at);
    return at == props.size();
}

void append_extras(std::string& out, bool& first, const Layer& layer, std::string_view props,
                   const RankedFeature* ranked, const json* added) {
    const std::size_t mark = out.size();
    const bool was_first = first;
    if (append_extras_raw(out, first, layer, props, ranked, added)) return;
    out.resize(mark);
    first = was_first;
    append_extras_parsed(out, first, layer, props, ranked, added);
}

void append_column(std::string& out, const Column& column, const geo::Statement& stmt, int index) {
    switch (stmt.column_type(index)) {
        case SQLITE_NULL: out += "null"; break;
        case SQLITE_INTEGER:
            if (column.type == ColumnType::boolean) {
                out += stmt.column_int64(index) != 0 ? "true" : "false";
            } else {
                json_text::append_integer(out, stmt.column_int64(index));
            }
            break;
        case SQLITE_FLOAT: json_text::append_double(out, stmt.column_double(index)); break;
        default: json_text::append_string(out, stmt.column_text(index)); break;
    }
}

void append_computed(std::string& out, bool& first, const RankedFeature* ranked, const json* added) {
    if (ranked && !std::isnan(ranked->distance_km)) {
        append_key(out, first, "distance_km");
        json_text::append_double(out, ranked->distance_km);
    }
    if (ranked && !std::isnan(ranked->along_km)) {
        append_key(out, first, "along_km");
        json_text::append_double(out, ranked->along_km);
    }
    if (added && added->is_object()) {
        for (const auto& [key, value] : added->items()) {
            append_key(out, first, key);
            out += value.dump(-1, ' ', false, json::error_handler_t::replace);
        }
    }
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

std::string feature_select_sql(const Layer& layer) {
    std::string sql = "SELECT t.fid, t.id, ";
    for (const auto& c : layer.columns) sql += "t." + c.name + ", ";
    return sql + "t.props, t.geom FROM " + layer.name + " t WHERE 1=1";
}

FeatureWriter::FeatureWriter(geo::Database& db, const Layer& layer) : m_db(db), m_layer(layer) {
    for (const auto& c : layer.columns) m_keys.push_back("\"" + c.name + "\":");  // plain identifiers
}

void FeatureWriter::append(std::string& out, const geo::Statement& stmt, const RankedFeature* ranked,
                           const json* added) {
    out += R"({"type":"Feature","id":)";
    json_text::append_string(out, stmt.column_text(1));
    out += R"(,"geometry":)";
    const int props = 2 + static_cast<int>(m_layer.columns.size());
    append_geometry(out, stmt, props + 1);
    out += R"(,"properties":{)";
    bool first = true;
    int index = 2;
    for (std::size_t i = 0; i < m_keys.size(); ++i, ++index) {
        const Column& c = m_layer.columns[i];
        if (is_added(c.name, ranked, added)) continue;
        if (!first) out += ',';
        first = false;
        out += m_keys[i];
        append_column(out, c, stmt, index);
    }
    if (!stmt.is_null(props)) append_extras(out, first, m_layer, stmt.column_text(props), ranked, added);
    append_computed(out, first, ranked, added);
    out += "}}";
}

void FeatureWriter::append_geometry(std::string& out, const geo::Statement& stmt, int column) {
    if (stmt.is_null(column)) {
        out += "null";
        return;
    }
    const std::string_view blob = stmt.column_blob(column);
    if (append_geojson_geometry(out, blob)) return;
    // AsGeoJSON(geom, 6): coordinates rounded to 6 decimals (about 0.1 m), no bbox, no CRS member.
    if (!m_as_geojson) m_as_geojson = m_db.prepare("SELECT AsGeoJSON(?, 6, 0)");
    m_as_geojson->reset();
    m_as_geojson->bind_blob(1, blob.data(), blob.size());
    const bool row = m_as_geojson->step();
    out += !row || m_as_geojson->is_null(0) ? std::string_view("null") : m_as_geojson->column_text(0);
}

Condition& Condition::operator+=(const Condition& other) {
    sql += other.sql;
    params.insert(params.end(), other.params.begin(), other.params.end());
    return *this;
}

FeatureCursor::FeatureCursor(geo::Database& db, const Layer& layer, const FeatureQuery& query)
    : m_writer(db, layer), m_stmt([&] {
          geo::register_geodesy_functions(db);  // CQL2 S_DWITHIN calls geodesic_km
          std::vector<SqlValue> params;
          std::string sql = feature_select_sql(layer) + filter_sql(layer, query.filter, params) + query.where.sql;
          params.insert(params.end(), query.where.params.begin(), query.where.params.end());
          if (query.after_fid) {
              sql += " AND t.fid > ?";
              params.emplace_back(*query.after_fid);
          }
          sql += " ORDER BY t.fid LIMIT ? OFFSET ?";
          auto stmt = db.prepare(sql);
          const int next = bind_all(stmt, params);
          stmt.bind(next, query.limit).bind(next + 1, query.offset);
          return stmt;
      }()) {}

FeatureCursor::FeatureCursor(geo::Database& db, const Layer& layer, std::vector<RankedFeature> ranked)
    : m_writer(db, layer), m_stmt(db.prepare(feature_select_sql(layer) + " AND t.fid = ?")), m_ranked(std::move(ranked)),
      m_by_fid(true) {}

bool FeatureCursor::next(std::string& out) {
    if (!m_by_fid) {
        if (!m_stmt.step()) return false;
        m_writer.append(out, m_stmt);
        m_last_fid = m_stmt.column_int64(0);
        return true;
    }
    while (m_next_ranked < m_ranked.size()) {
        const auto& feature = m_ranked[m_next_ranked++];
        m_stmt.reset();
        m_stmt.bind(1, feature.fid);
        if (m_stmt.step()) {
            m_writer.append(out, m_stmt, &feature);
            m_last_fid = feature.fid;
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
    auto stmt = db.prepare(feature_select_sql(layer) + " AND t.id = ?");
    stmt.bind(1, id);
    if (!stmt.step()) throw not_found_error("no feature '" + id + "' in " + layer.name);
    std::string out;
    FeatureWriter(db, layer).append(out, stmt, nullptr, &computed);
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
