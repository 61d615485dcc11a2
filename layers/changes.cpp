#include "layers/changes.hpp"

#include <algorithm>

namespace sitmap::layers {

void extend(std::optional<std::array<double, 4>>& box, const std::array<double, 4>& other) {
    if (!box) {
        box = other;
        return;
    }
    auto& b = *box;
    b[0] = std::min(b[0], other[0]);
    b[1] = std::min(b[1], other[1]);
    b[2] = std::max(b[2], other[2]);
    b[3] = std::max(b[3], other[3]);
}

void record_change(geo::Database& db, const std::string& layer, const std::array<double, 4>& bbox,
                   const std::string& action, const std::string& feature_id) {
    auto stmt = db.prepare(
        "INSERT INTO sitmap_changes (layer, min_lon, min_lat, max_lon, max_lat, changed_at, action, feature_id) "
        "VALUES (?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?, ?)");
    stmt.bind(1, layer).bind(2, bbox[0]).bind(3, bbox[1]).bind(4, bbox[2]).bind(5, bbox[3]).bind(6, action);
    if (feature_id.empty()) {
        stmt.bind_null(7);
    } else {
        stmt.bind(7, feature_id);
    }
    stmt.run();
}

std::optional<std::array<double, 4>> layer_extent(geo::Database& db, const std::string& layer) {
    auto stmt = db.prepare("SELECT min(xmin), min(ymin), max(xmax), max(ymax) FROM idx_" + layer + "_geom");
    if (!stmt.step() || stmt.is_null(0)) return std::nullopt;
    return std::array<double, 4>{stmt.column_double(0), stmt.column_double(1), stmt.column_double(2),
                                 stmt.column_double(3)};
}

std::vector<Change> changes_since(geo::Database& db, std::int64_t sequence) {
    auto stmt = db.prepare(
        "SELECT seq, layer, min_lon, min_lat, max_lon, max_lat, action, coalesce(feature_id, '') FROM sitmap_changes "
        "WHERE seq > ? ORDER BY seq");
    stmt.bind(1, sequence);
    std::vector<Change> changes;
    while (stmt.step()) {
        changes.push_back({stmt.column_int64(0), std::string(stmt.column_text(1)),
                           {stmt.column_double(2), stmt.column_double(3), stmt.column_double(4), stmt.column_double(5)},
                           std::string(stmt.column_text(6)), std::string(stmt.column_text(7))});
    }
    return changes;
}

std::int64_t last_change(geo::Database& db) {
    auto stmt = db.prepare("SELECT coalesce(max(seq), 0) FROM sitmap_changes");
    stmt.step();
    return stmt.column_int64(0);
}

} // namespace sitmap::layers
