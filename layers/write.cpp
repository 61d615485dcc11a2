#include "layers/write.hpp"

#include "geo/error.hpp"
#include "geo/geos.hpp"
#include "layers/changes.hpp"
#include "layers/features.hpp"
#include "layers/import.hpp"
#include "layers/values.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>

namespace sitmap::layers {

namespace {

using nlohmann::json;

/// Refuses JSON nested deeper than max_json_depth before anything recursive (parse, merge_patch,
/// dump) sees it: a megabyte of '[' would otherwise exhaust the stack.
void check_depth(std::string_view text) {
    int depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_json_depth) {
                throw input_error("body: JSON nested deeper than " + std::to_string(max_json_depth) + " levels");
            }
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
}

json parse_json(std::string_view text, const char* what) {
    check_depth(text);
    json value = json::parse(text, nullptr, false);
    if (value.is_discarded()) throw input_error(std::string(what) + ": not valid JSON");
    return value;
}

std::string allowed_list(const std::vector<std::string>& allowed) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return list;
}

/// GeoJSON coordinates to ISO WKB (little-endian), checked as they are read.
class GeometryReader {
public:
    explicit GeometryReader(std::array<double, 4>& bbox) : m_bbox(bbox) {
        m_bbox = {180, 90, -180, -90};
    }

    std::string point(const json& position, const std::string& path) {
        std::string wkb = header(1);
        add_position(wkb, position, path);
        return wkb;
    }

    std::string line(const json& positions, const std::string& path) {
        if (!positions.is_array() || positions.size() < 2) throw input_error(path + ": a line needs 2 or more positions");
        std::string wkb = header(2);
        add_positions(wkb, positions, path);
        return wkb;
    }

    std::string polygon(const json& rings, const std::string& path) {
        if (!rings.is_array() || rings.empty()) throw input_error(path + ": a polygon needs one or more rings");
        std::string wkb = header(3);
        add_count(wkb, rings.size());
        for (std::size_t r = 0; r < rings.size(); ++r) {
            const std::string ring_path = path + "[" + std::to_string(r) + "]";
            const json& ring = rings[r];
            if (!ring.is_array() || ring.size() < 4 || ring.front() != ring.back()) {
                throw input_error(ring_path + ": a ring needs 4 or more positions, the last equal to the first");
            }
            add_positions(wkb, ring, ring_path);
        }
        return wkb;
    }

    /// A multi-geometry (type 5 or 6) of the parts made by `part` from each element.
    template <typename Part>
    std::string multi(std::uint32_t type, const json& parts, const std::string& path, Part part) {
        if (!parts.is_array() || parts.empty()) throw input_error(path + ": expected one or more parts");
        std::string wkb = header(type);
        add_count(wkb, parts.size());
        for (std::size_t i = 0; i < parts.size(); ++i) wkb += part(parts[i], path + "[" + std::to_string(i) + "]");
        return wkb;
    }

private:
    static std::string header(std::uint32_t type) {
        std::string wkb(1, '\1');
        wkb.append(reinterpret_cast<const char*>(&type), 4);
        return wkb;
    }

    static void add_count(std::string& wkb, std::size_t count) {
        const auto n = static_cast<std::uint32_t>(count);
        wkb.append(reinterpret_cast<const char*>(&n), 4);
    }

    void add_positions(std::string& wkb, const json& positions, const std::string& path) {
        if (!positions.is_array()) throw input_error(path + ": expected an array of positions");
        add_count(wkb, positions.size());
        for (std::size_t i = 0; i < positions.size(); ++i) {
            add_position(wkb, positions[i], path + "[" + std::to_string(i) + "]");
        }
    }

    void add_position(std::string& wkb, const json& position, const std::string& path) {
        if (!position.is_array() || position.size() < 2 || position.size() > 3 || !position[0].is_number() ||
            !position[1].is_number()) {
            throw input_error(path + ": expected a position [lon, lat]");
        }
        if (++m_vertices > max_vertices) {
            throw input_error("geometry: more than " + std::to_string(max_vertices) + " positions");
        }
        const double lon = position[0].get<double>();
        const double lat = position[1].get<double>();
        if (!std::isfinite(lon) || !std::isfinite(lat) || lon < write_extent[0] || lon > write_extent[2] ||
            lat < write_extent[1] || lat > write_extent[3]) {
            throw input_error(path + ": [" + position[0].dump() + ", " + position[1].dump() +
                              "] is outside Mali and its surroundings (lon " + std::to_string(write_extent[0]) + " to " +
                              std::to_string(write_extent[2]) + ", lat " + std::to_string(write_extent[1]) + " to " +
                              std::to_string(write_extent[3]) + "); positions are [lon, lat] in WGS84 degrees");
        }
        wkb.append(reinterpret_cast<const char*>(&lon), 8);
        wkb.append(reinterpret_cast<const char*>(&lat), 8);
        m_bbox = {std::min(m_bbox[0], lon), std::min(m_bbox[1], lat), std::max(m_bbox[2], lon), std::max(m_bbox[3], lat)};
    }

    std::array<double, 4>& m_bbox;
    std::size_t m_vertices = 0;
};

void read_geometry(const Layer& layer, const json& geometry, FeatureInput& input) {
    if (!geometry.is_object()) throw input_error("geometry: expected a GeoJSON geometry object");
    const auto type_it = geometry.find("type");
    const std::string type = type_it != geometry.end() && type_it->is_string() ? type_it->get<std::string>() : "";
    const auto coordinates = geometry.find("coordinates");
    const char* expected = layer.geometry == GeometryKind::point  ? "Point"
                           : layer.geometry == GeometryKind::line ? "LineString or MultiLineString"
                                                                  : "Polygon or MultiPolygon";
    const bool fits = layer.geometry == GeometryKind::point  ? type == "Point"
                      : layer.geometry == GeometryKind::line ? type == "LineString" || type == "MultiLineString"
                                                             : type == "Polygon" || type == "MultiPolygon";
    if (!fits) {
        throw input_error("geometry.type: " + layer.name + " takes " + expected + ", not '" +
                          (type.empty() ? geometry.value("type", json()).dump() : type) + "'");
    }
    if (coordinates == geometry.end()) throw input_error("geometry.coordinates: missing");
    GeometryReader reader(input.bbox);
    const std::string path = "geometry.coordinates";
    auto line = [&](const json& part, const std::string& p) { return reader.line(part, p); };
    auto polygon = [&](const json& part, const std::string& p) { return reader.polygon(part, p); };
    if (type == "Point") {
        input.wkb = reader.point(*coordinates, path);
        return;
    }
    if (type == "LineString") input.wkb = reader.multi(5, json::array({*coordinates}), path, line);
    if (type == "MultiLineString") input.wkb = reader.multi(5, *coordinates, path, line);
    if (type == "Polygon") input.wkb = reader.multi(6, json::array({*coordinates}), path, polygon);
    if (type == "MultiPolygon") input.wkb = reader.multi(6, *coordinates, path, polygon);
    if (!geo::Geometry::from_wkb(input.wkb).is_valid()) {
        throw input_error("geometry: not a valid " + type + " (repeated positions only, or a self-intersecting ring)");
    }
}

/// One property value for `column`, typed and normalised.
json read_value(const Column& column, const json& value) {
    const std::string path = "properties." + column.name;
    if (value.is_null()) {
        if (column.required) throw input_error(path + ": required, not null");
        return nullptr;
    }
    auto text = [&]() -> std::string {
        if (!value.is_string()) throw input_error(path + ": expected a string, got " + value.dump());
        const auto& s = value.get_ref<const std::string&>();
        if (s.size() > max_text_chars) {
            throw input_error(path + ": longer than " + std::to_string(max_text_chars) + " bytes");
        }
        return s;
    };
    switch (column.type) {
        case ColumnType::integer: {
            const bool whole = value.is_number_integer() ||
                               (value.is_number_float() && std::floor(value.get<double>()) == value.get<double>() &&
                                std::abs(value.get<double>()) < 1e15);
            if (!whole || value.get<double>() < 0) throw input_error(path + ": expected a whole number >= 0");
            return value.get<std::int64_t>();
        }
        case ColumnType::real:
            if (!value.is_number()) throw input_error(path + ": expected a number");
            return value.get<double>();
        case ColumnType::boolean:
            if (value.is_boolean()) return value.get<bool>() ? 1 : 0;
            if (value.is_number_integer() && (value == 0 || value == 1)) return value.get<int>();
            throw input_error(path + ": expected true or false");
        case ColumnType::date:
            if (auto date = normalise_date(text())) return *date;
            throw input_error(path + ": expected a date (YYYY-MM-DD)");
        case ColumnType::datetime:
            if (auto datetime = normalise_datetime(text())) return *datetime;
            throw input_error(path + ": expected an ISO 8601 date-time (2024-05-01T10:30:00Z)");
        case ColumnType::text: break;
    }
    std::string s = text();
    if (!column.allowed.empty()) {
        const std::string token = normalise_token(s);
        if (std::find(column.allowed.begin(), column.allowed.end(), token) == column.allowed.end()) {
            throw input_error(path + ": unknown value '" + s + "' (one of: " + allowed_list(column.allowed) + ")");
        }
        return token;
    }
    if (column.required && trim(s).empty()) throw input_error(path + ": required, not empty");
    return s;
}

std::string read_id(const json& id) {
    if (id.is_number_integer()) return id.dump();
    if (!id.is_string()) throw input_error("id: expected a string or a whole number");
    const auto& s = id.get_ref<const std::string&>();
    if (s.empty() || s.size() > max_id_chars) {
        throw input_error("id: expected 1 to " + std::to_string(max_id_chars) + " characters");
    }
    if (std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
        throw input_error("id: control characters are not allowed");
    }
    return s;
}

FeatureInput read_feature(const Layer& layer, const json& feature) {
    if (!feature.is_object() || feature.value("type", json()) != "Feature") {
        throw input_error("type: expected a GeoJSON Feature ({\"type\": \"Feature\", \"geometry\": ..., \"properties\": ...})");
    }
    FeatureInput input;
    if (auto id = feature.find("id"); id != feature.end() && !id->is_null()) input.id = read_id(*id);
    const auto geometry = feature.find("geometry");
    if (geometry == feature.end() || geometry->is_null()) throw input_error("geometry: required");
    read_geometry(layer, *geometry, input);
    const auto properties = feature.find("properties");
    if (properties != feature.end() && !properties->is_null() && !properties->is_object()) {
        throw input_error("properties: expected an object");
    }
    if (properties != feature.end() && properties->is_object()) {
        for (const auto& [key, value] : properties->items()) {
            const Column* column = layer.column(key);
            if (key == "id" || (column && column->derived)) continue;  // what a GET returned: not the client's
            if (column) {
                input.values[key] = read_value(*column, value);
            } else {
                if (key.size() > max_id_chars) throw input_error("properties: a name longer than " + std::to_string(max_id_chars) + " bytes");
                input.extra[key] = value;
            }
        }
    }
    for (const auto& c : layer.columns) {
        if (c.required && c.default_value.empty() && !c.derived && !input.values.contains(c.name)) {
            throw input_error("properties." + c.name + ": required");
        }
    }
    if (input.extra.dump(-1, ' ', false, json::error_handler_t::replace).size() > max_extra_bytes) {
        throw input_error("properties: the attributes beyond the layer's columns exceed " +
                          std::to_string(max_extra_bytes) + " bytes");
    }
    return input;
}

/// A stored feature: its row and its GeoJSON.
struct Stored {
    std::int64_t fid = 0;
    json feature;
    std::array<double, 4> bbox{};
};

std::optional<Stored> find_stored(geo::Database& db, const Layer& layer, const std::string& id) {
    auto stmt = db.prepare("SELECT t.fid, i.xmin, i.ymin, i.xmax, i.ymax FROM " + layer.name + " t JOIN idx_" +
                           layer.name + "_geom i ON i.pkid = t.fid WHERE t.id = ?");
    stmt.bind(1, id);
    if (!stmt.step()) return std::nullopt;
    return Stored{stmt.column_int64(0), json::parse(feature_by_id(db, layer, id)),
                  {stmt.column_double(1), stmt.column_double(2), stmt.column_double(3), stmt.column_double(4)}};
}

Stored require_stored(geo::Database& db, const Layer& layer, const std::string& id) {
    auto stored = find_stored(db, layer, id);
    if (!stored) throw not_found_error("no feature '" + id + "' in " + layer.name);
    return std::move(*stored);
}

void check_writable(const Layer& layer) {
    if (!writable(layer)) throw input_error(layer.name + " are imported, not written through the API");
}

std::string new_id(const Layer& layer) {
    std::random_device random;
    char text[32];
    std::snprintf(text, sizeof text, "%08x%08x", random(), random());
    return layer.name + "-" + text;
}

void bind_json(geo::Statement& stmt, int index, const json& value) {
    if (value.is_null()) stmt.bind_null(index);
    else if (value.is_string()) stmt.bind(index, value.get_ref<const std::string&>());
    else if (value.is_boolean()) stmt.bind(index, value.get<bool>() ? 1 : 0);
    else if (value.is_number_integer()) stmt.bind(index, value.get<std::int64_t>());
    else stmt.bind(index, value.get<double>());
}

/// Inserts (fid 0) or rewrites (fid of the row) one row from `values` (every column's value).
void write_row(geo::Database& db, const Layer& layer, std::int64_t fid, const std::string& id, const json& values,
               const FeatureInput& input) {
    std::string sql;
    if (fid == 0) {
        sql = "INSERT INTO " + layer.name + " (id, " + layer.column_list() + ", props, geom) VALUES (?";
        for (std::size_t i = 0; i < layer.columns.size(); ++i) sql += ", ?";
        sql += ", ?, GeomFromWKB(?, 4326))";
    } else {
        sql = "UPDATE " + layer.name + " SET id = ?";
        for (const auto& c : layer.columns) sql += ", " + c.name + " = ?";
        sql += ", props = ?, geom = GeomFromWKB(?, 4326) WHERE fid = ?";
    }
    auto stmt = db.prepare(sql);
    int p = 1;
    stmt.bind(p++, id);
    for (const auto& c : layer.columns) bind_json(stmt, p++, values.value(c.name, json()));
    if (input.extra.empty()) {
        stmt.bind_null(p++);
    } else {
        stmt.bind(p++, input.extra.dump(-1, ' ', false, json::error_handler_t::replace));
    }
    stmt.bind_blob(p++, input.wkb.data(), input.wkb.size());
    if (fid != 0) stmt.bind(p, fid);
    stmt.run();
}

/// Every column's value for the row: the input's, the defaults, and what sitmap derives itself
/// (an incident's cercle and region, who reported and verified it). Returns the audit action.
std::string row_values(geo::Database& db, const Layer& layer, const FeatureInput& input, const Stored* before,
                       const Actor& actor, const std::string& action, json& values) {
    values = json::object();
    for (const auto& c : layer.columns) {
        if (c.derived) continue;
        if (input.values.contains(c.name)) values[c.name] = input.values[c.name];
        else if (!c.default_value.empty()) values[c.name] = c.default_value;
        else values[c.name] = nullptr;
    }
    if (layer.name != "incidents") return action;
    const auto [cercle, region] = boundaries_at(db, input.bbox[0], input.bbox[1]);
    values["cercle_id"] = cercle ? json(*cercle) : json();
    values["region_id"] = region ? json(*region) : json();
    if (!before) {  // reported through the API: someone else verifies it
        values["status"] = "reported";
        values["reported_by"] = actor.name;
        values["verified_by"] = nullptr;
        return action;
    }
    const json& old = before->feature["properties"];
    values["reported_by"] = old.value("reported_by", json());
    values["verified_by"] = old.value("verified_by", json());
    const json old_status = old.value("status", json("verified"));
    if (!input.values.contains("status")) {
        values["status"] = old_status;
        return action;
    }
    if (values["status"] == old_status) return action;
    if (actor.role < Role::verifier) {
        throw forbidden_error("properties.status: only a verifier may change the status of an incident (this token is " +
                              std::string(role_name(actor.role)) + ")");
    }
    if (old.value("reported_by", json()) == actor.name) {
        throw forbidden_error("properties.status: '" + actor.name +
                              "' reported this incident; a second person must verify or reject it");
    }
    values["verified_by"] = actor.name;
    return "verify";
}

void audit(geo::Database& db, const Actor& actor, const std::string& action, const Layer& layer,
           const std::string& id, const Stored* before, const std::string* after) {
    auto stmt = db.prepare("INSERT INTO sitmap_audit (at, actor, action, layer, feature_id, before, after) "
                           "VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?, ?, ?, ?, ?, ?)");
    stmt.bind(1, actor.name).bind(2, action).bind(3, layer.name).bind(4, id);
    if (before) stmt.bind(5, before->feature.dump(-1, ' ', false, json::error_handler_t::replace));
    else stmt.bind_null(5);
    if (after) stmt.bind(6, *after);
    else stmt.bind_null(6);
    stmt.run();
}

std::array<double, 4> united(const std::array<double, 4>& a, const std::array<double, 4>& b) {
    std::optional<std::array<double, 4>> box = a;
    extend(box, b);
    return *box;
}

/// Replaces the row of `before` with `input` in one transaction: the row, the audit, the change.
std::string rewrite(geo::Database& db, const Layer& layer, const std::string& id, const FeatureInput& input,
                    const Stored& before, const Actor& actor, const std::string& action) {
    if (!input.id.empty() && input.id != id) {
        throw input_error("id: the feature's id '" + input.id + "' differs from the one in the URL ('" + id + "')");
    }
    json values;
    const std::string audit_action = row_values(db, layer, input, &before, actor, action, values);
    write_row(db, layer, before.fid, id, values, input);
    const std::string after = feature_by_id(db, layer, id);
    audit(db, actor, audit_action, layer, id, &before, &after);
    record_change(db, layer.name, united(before.bbox, input.bbox), action, id);
    return after;
}

} // namespace

bool writable(const Layer& layer) {
    return layer.name == "incidents" || layer.name == "bases" || layer.name == "routes";
}

FeatureInput parse_feature(const Layer& layer, std::string_view geojson) {
    return read_feature(layer, parse_json(geojson, "body"));
}

std::string create_feature(geo::Database& db, const Layer& layer, const FeatureInput& input, const Actor& actor) {
    check_writable(layer);
    geo::Transaction tx(db);
    const std::string id = input.id.empty() ? new_id(layer) : input.id;
    if (find_stored(db, layer, id)) {
        throw conflict_error("a feature '" + id + "' exists in " + layer.name + " (PUT or PATCH its URL to change it)");
    }
    json values;
    row_values(db, layer, input, nullptr, actor, "create", values);
    write_row(db, layer, 0, id, values, input);
    const std::string after = feature_by_id(db, layer, id);
    audit(db, actor, "create", layer, id, nullptr, &after);
    record_change(db, layer.name, input.bbox, "create", id);
    tx.commit();
    return after;
}

std::string replace_feature(geo::Database& db, const Layer& layer, const std::string& id, const FeatureInput& input,
                            const Actor& actor) {
    check_writable(layer);
    geo::Transaction tx(db);
    const Stored before = require_stored(db, layer, id);
    std::string after = rewrite(db, layer, id, input, before, actor, "replace");
    tx.commit();
    return after;
}

std::string update_feature(geo::Database& db, const Layer& layer, const std::string& id, std::string_view patch,
                           const Actor& actor) {
    check_writable(layer);
    const json merge = parse_json(patch, "body");
    if (!merge.is_object()) throw input_error("body: a merge patch is a JSON object ({\"properties\": {...}})");
    for (const auto& [key, value] : merge.items()) {
        if (key != "properties" && key != "geometry" && key != "id" && key != "type") {
            throw input_error(key + ": a merge patch may change properties and geometry only");
        }
    }
    geo::Transaction tx(db);
    const Stored before = require_stored(db, layer, id);
    json merged = before.feature;
    merged.merge_patch(merge);
    const FeatureInput input = read_feature(layer, merged);
    std::string after = rewrite(db, layer, id, input, before, actor, "update");
    tx.commit();
    return after;
}

void delete_feature(geo::Database& db, const Layer& layer, const std::string& id, const Actor& actor) {
    check_writable(layer);
    geo::Transaction tx(db);
    const Stored before = require_stored(db, layer, id);
    auto stmt = db.prepare("DELETE FROM " + layer.name + " WHERE fid = ?");
    stmt.bind(1, before.fid).run();
    audit(db, actor, "delete", layer, id, &before, nullptr);
    record_change(db, layer.name, before.bbox, "delete", id);
    tx.commit();
}

json audit_log(geo::Database& db, const AuditQuery& query) {
    auto stmt = db.prepare("SELECT seq, at, actor, action, layer, feature_id, before, after FROM sitmap_audit "
                           "WHERE (?1 = '' OR layer = ?1) AND (?2 = '' OR feature_id = ?2) ORDER BY seq DESC LIMIT ?3");
    stmt.bind(1, query.layer).bind(2, query.feature_id).bind(3, query.limit);
    json entries = json::array();
    auto feature = [&](int column) { return stmt.is_null(column) ? json() : json::parse(stmt.column_text(column)); };
    while (stmt.step()) {
        entries.push_back({{"seq", stmt.column_int64(0)},
                           {"at", std::string(stmt.column_text(1))},
                           {"actor", std::string(stmt.column_text(2))},
                           {"action", std::string(stmt.column_text(3))},
                           {"layer", std::string(stmt.column_text(4))},
                           {"feature_id", std::string(stmt.column_text(5))},
                           {"before", feature(6)},
                           {"after", feature(7)}});
    }
    return entries;
}

} // namespace sitmap::layers
