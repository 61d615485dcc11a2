#include "layers/filter.hpp"

#include "geo/error.hpp"
#include "layers/values.hpp"

#include <algorithm>
#include <cmath>

namespace sitmap::layers {

namespace {

std::vector<std::string> enum_list(const std::string& text, const char* column, const char* parameter) {
    std::vector<std::string> values;
    if (text.empty()) return values;
    const Column* c = find_layer("incidents").column(column);
    for (const auto& part : split_list(text)) {
        const std::string token = normalise_token(part);
        if (std::find(c->allowed.begin(), c->allowed.end(), token) == c->allowed.end()) {
            std::string allowed;
            for (const auto& a : c->allowed) allowed += (allowed.empty() ? "" : ", ") + a;
            throw input_error(std::string(parameter) + ": unknown value '" + part + "' (one or more of: " + allowed + ")");
        }
        values.push_back(token);
    }
    return values;
}

} // namespace

std::string Filter::key() const {
    std::string k = "from=" + from.value_or("") + "&to=" + to.value_or("") + "&type=";
    for (const auto& t : types) k += t + ",";
    k += "&target=";
    for (const auto& t : targets) k += t + ",";
    if (!statuses.empty()) k += "&status=";  // absent when unset: the keys of before stay the same
    for (const auto& t : statuses) k += t + ",";
    return k;
}

Filter parse_filter(const std::string& bbox, const std::string& from, const std::string& to,
                    const std::string& types, const std::string& targets, const std::string& statuses) {
    Filter filter;
    if (!bbox.empty()) {
        const auto parts = split_list(bbox);
        if (parts.size() != 4) {
            throw input_error("bbox: expected four numbers min_lon,min_lat,max_lon,max_lat, got '" + bbox + "'");
        }
        std::array<double, 4> box{};
        for (std::size_t i = 0; i < 4; ++i) {
            char* end = nullptr;
            box[i] = std::strtod(parts[i].c_str(), &end);
            if (parts[i].empty() || *end != '\0' || !std::isfinite(box[i])) {
                throw input_error("bbox: '" + parts[i] + "' is not a number");
            }
        }
        if (box[0] < -180 || box[2] > 180 || box[1] < -90 || box[3] > 90 || box[0] > box[2] || box[1] > box[3]) {
            throw input_error("bbox: expected -180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90");
        }
        filter.bbox = box;
    }
    if (!from.empty()) {
        filter.from = normalise_datetime(from);
        if (!filter.from) throw input_error("from: '" + from + "' is not a date (YYYY-MM-DD) or ISO 8601 date-time");
    }
    if (!to.empty()) {
        filter.to = normalise_datetime(to);
        if (!filter.to) throw input_error("to: '" + to + "' is not a date (YYYY-MM-DD) or ISO 8601 date-time");
        if (trim(to).size() == 10) filter.to = filter.to->substr(0, 10) + "T23:59:59Z";  // the whole day
    }
    if (filter.from && filter.to && *filter.from > *filter.to) throw input_error("from is after to");
    filter.types = enum_list(types, "type", "type");
    filter.targets = enum_list(targets, "target", "target");
    filter.statuses = enum_list(statuses, "status", "status");
    return filter;
}

std::string filter_sql(const Layer& layer, const Filter& filter, std::vector<SqlValue>& params) {
    std::string sql;
    if (filter.bbox) {
        const auto& b = *filter.bbox;
        sql += " AND t.fid IN (SELECT pkid FROM idx_" + layer.name +
               "_geom WHERE xmin <= ? AND xmax >= ? AND ymin <= ? AND ymax >= ?)";
        for (double v : {b[2], b[0], b[3], b[1]}) params.emplace_back(v);
    }
    if (layer.name != "incidents") return sql;
    if (filter.from) {
        sql += " AND t.occurred_at >= ?";
        params.push_back(*filter.from);
    }
    if (filter.to) {
        sql += " AND t.occurred_at <= ?";
        params.push_back(*filter.to);
    }
    auto in_list = [&](const char* column, const std::vector<std::string>& values) {
        if (values.empty()) return;
        sql += std::string(" AND t.") + column + " IN (";
        for (std::size_t i = 0; i < values.size(); ++i) {
            sql += i ? ",?" : "?";
            params.push_back(values[i]);
        }
        sql += ")";
    };
    in_list("type", filter.types);
    in_list("target", filter.targets);
    in_list("status", filter.statuses);
    return sql;
}

int bind_all(geo::Statement& stmt, const std::vector<SqlValue>& params, int first) {
    for (const auto& p : params) {
        std::visit([&](const auto& value) { stmt.bind(first, value); }, p);
        ++first;
    }
    return first;
}

} // namespace sitmap::layers
