#include "layers/cluster_pyramid.hpp"

#include "geo/error.hpp"
#include "geo/tile.hpp"
#include "layers/changes.hpp"
#include "layers/features.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>

namespace sitmap::layers {

namespace {

constexpr std::int64_t finest_side = (std::int64_t{1} << ClusterPyramid::finest_zoom) * ClusterPyramid::cells_per_tile;
constexpr double finest_units = static_cast<double>(std::int64_t{1} << ClusterPyramid::finest_zoom) * 4096.0;
constexpr double cell_units = 4096.0 / ClusterPyramid::cells_per_tile;
/// Above this many finest cells, a change is applied by counting everything again.
constexpr std::int64_t recount_limit = 1 << 16;

std::uint64_t cell_key(std::int64_t column, std::int64_t row) {
    return (static_cast<std::uint64_t>(row) << 32U) | static_cast<std::uint64_t>(column);
}

/// A position in the finest zoom's global tile units (x to the east, y to the south).
std::array<double, 2> finest_position(const geo::LonLat& p) {
    const geo::Mercator m = geo::lonlat_to_mercator(p.lon, p.lat);
    const double world = 2 * geo::mercator_half_size;
    return {(m.x + geo::mercator_half_size) / world * finest_units, (geo::mercator_half_size - m.y) / world * finest_units};
}

std::int64_t finest_cell(double units) {
    return std::clamp(static_cast<std::int64_t>(std::floor(units / cell_units)), std::int64_t{0}, finest_side - 1);
}

void add_cell(ClusterPyramid::Cell& into, const ClusterPyramid::Cell& cell) {
    if (cell.count == 0) return;
    into.fid = into.count == 0 ? cell.fid : 0;
    into.count += cell.count;
    into.sum_x += cell.sum_x;
    into.sum_y += cell.sum_y;
    for (std::size_t t = 0; t < into.by_type.size(); ++t) into.by_type[t] += cell.by_type[t];
}

} // namespace

namespace {

const std::vector<std::string>& type_values(const Layer& layer) {
    const Column* type = layer.column("type");
    if (type == nullptr || type->allowed.size() > ClusterPyramid::max_types) {
        throw internal_error("cluster cells: layer " + layer.name + " needs a type column of at most " +
                             std::to_string(ClusterPyramid::max_types) + " values");
    }
    return type->allowed;
}

} // namespace

ClusterPyramid::ClusterPyramid(const Layer& layer)
    : m_layer(layer), m_types(type_values(layer)), m_levels(finest_zoom + 1) {}

void ClusterPyramid::add_point(Level& level, std::int64_t fid, std::string_view type, std::string_view blob) const {
    const auto found = std::find(m_types.begin(), m_types.end(), type);
    if (found == m_types.end()) throw internal_error("incidents: unknown type '" + std::string(type) + "'");
    const auto [x, y] = finest_position(point_from_blob(blob));
    Cell& cell = level[cell_key(finest_cell(x), finest_cell(y))];
    cell.fid = cell.count == 0 ? fid : 0;
    ++cell.count;
    cell.sum_x += x;
    cell.sum_y += y;
    ++cell.by_type[static_cast<std::size_t>(found - m_types.begin())];
}

void ClusterPyramid::count_all(geo::Database& db) {
    for (auto& level : m_levels) level.clear();
    // One pass over the covering index (fid, type, position): no table row is read.
    auto scan = db.prepare("SELECT t.fid, t.type, t.geom FROM " + m_layer.name +
                           " t INDEXED BY incidents_points WHERE t.geom IS NOT NULL");
    Level& finest = m_levels[finest_zoom];
    while (scan.step()) add_point(finest, scan.column_int64(0), scan.column_text(1), scan.column_blob(2));
    for (int z = finest_zoom - 1; z >= 0; --z) {
        for (const auto& [key, cell] : m_levels[static_cast<std::size_t>(z + 1)]) {
            const auto column = static_cast<std::int64_t>(key & 0xffffffffU);
            const auto row = static_cast<std::int64_t>(key >> 32U);
            add_cell(m_levels[static_cast<std::size_t>(z)][cell_key(column / 2, row / 2)], cell);
        }
    }
}

void ClusterPyramid::sum_parents(int z, std::int64_t first_column, std::int64_t last_column, std::int64_t first_row,
                                 std::int64_t last_row) {
    Level& level = m_levels[static_cast<std::size_t>(z)];
    const Level& children = m_levels[static_cast<std::size_t>(z + 1)];
    for (std::int64_t row = first_row; row <= last_row; ++row) {
        for (std::int64_t column = first_column; column <= last_column; ++column) {
            Cell sum;
            for (const auto& [dx, dy] : {std::pair{0, 0}, {1, 0}, {0, 1}, {1, 1}}) {
                const auto child = children.find(cell_key(column * 2 + dx, row * 2 + dy));
                if (child != children.end()) add_cell(sum, child->second);
            }
            if (sum.count == 0) {
                level.erase(cell_key(column, row));
            } else {
                level[cell_key(column, row)] = sum;
            }
        }
    }
}

void ClusterPyramid::recount(geo::Database& db, const std::array<double, 4>& box) {
    const auto low = finest_position({box[0], box[3]});   // north-west corner
    const auto high = finest_position({box[2], box[1]});  // south-east corner
    std::int64_t first_column = finest_cell(low[0]), last_column = finest_cell(high[0]);
    std::int64_t first_row = finest_cell(low[1]), last_row = finest_cell(high[1]);
    if ((last_column - first_column + 1) * (last_row - first_row + 1) > recount_limit) {
        count_all(db);
        return;
    }
    Level& finest = m_levels[finest_zoom];
    for (std::int64_t row = first_row; row <= last_row; ++row) {
        for (std::int64_t column = first_column; column <= last_column; ++column) finest.erase(cell_key(column, row));
    }
    // The cells' own box, through the R*Tree; points it returns outside the cells (its float32
    // boxes are rounded outwards) are left out.
    const double world = 2 * geo::mercator_half_size;
    const auto lonlat = [&](std::int64_t column, std::int64_t row) {
        return geo::mercator_to_lonlat(static_cast<double>(column) * cell_units / finest_units * world - geo::mercator_half_size,
                                       geo::mercator_half_size - static_cast<double>(row) * cell_units / finest_units * world);
    };
    const geo::LonLat north_west = lonlat(first_column, first_row);
    const geo::LonLat south_east = lonlat(last_column + 1, last_row + 1);
    Level counted;
    auto stmt = db.prepare("SELECT t.fid, t.type, t.geom FROM idx_" + m_layer.name + "_geom r CROSS JOIN " + m_layer.name +
                           " t ON t.fid = r.pkid WHERE r.xmin <= ? AND r.xmax >= ? AND r.ymin <= ? AND r.ymax >= ?"
                           " AND t.geom IS NOT NULL");
    stmt.bind(1, south_east.lon).bind(2, north_west.lon).bind(3, north_west.lat).bind(4, south_east.lat);
    while (stmt.step()) add_point(counted, stmt.column_int64(0), stmt.column_text(1), stmt.column_blob(2));
    for (auto& [key, cell] : counted) {
        const auto column = static_cast<std::int64_t>(key & 0xffffffffU);
        const auto row = static_cast<std::int64_t>(key >> 32U);
        if (column >= first_column && column <= last_column && row >= first_row && row <= last_row) finest[key] = cell;
    }
    for (int z = finest_zoom - 1; z >= 0; --z) {
        first_column /= 2, last_column /= 2, first_row /= 2, last_row /= 2;
        sum_parents(z, first_column, last_column, first_row, last_row);
    }
}

void ClusterPyramid::sync(geo::Database& db) {
    {
        std::shared_lock read(m_mutex);
        if (m_sequence >= 0 && last_change(db) <= m_sequence) return;
    }
    std::unique_lock write(m_mutex);
    if (m_sequence < 0) {
        m_sequence = last_change(db);
        count_all(db);
        return;
    }
    for (const auto& change : changes_since(db, m_sequence)) {
        if (change.layer == m_layer.name) recount(db, change.bbox);
        m_sequence = change.sequence;
    }
}

void ClusterPyramid::for_each_cell(int z, std::int64_t first_column, std::int64_t last_column, std::int64_t first_row,
                                   std::int64_t last_row,
                                   const std::function<void(std::int64_t, std::int64_t, const Cell&)>& visit) const {
    std::shared_lock read(m_mutex);
    const Level& level = m_levels.at(static_cast<std::size_t>(z));
    for (std::int64_t row = first_row; row <= last_row; ++row) {
        for (std::int64_t column = first_column; column <= last_column; ++column) {
            const auto found = level.find(cell_key(column, row));
            if (found != level.end()) visit(column, row, found->second);
        }
    }
}

} // namespace sitmap::layers
