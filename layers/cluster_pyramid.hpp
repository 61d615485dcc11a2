#pragma once
/// The incidents' cluster cells at every clustered zoom, held in memory and kept current from the
/// change log, so that a clustered tile of the whole data (no filter) reads at most a few hundred
/// cells instead of every incident under it: at zoom 5 a tile over Mali holds most of a million.
///
/// The cells are those of build_tile (layers/tiles.hpp): squares of `cells_per_tile` per tile side
/// on the zoom's global grid. A cell of zoom z is the union of four of zoom z + 1, so only the
/// finest zoom (cluster_below_zoom - 1) is counted from the data; every coarser one is summed
/// from the one below. A change (its box, from the change log) recounts the finest cells the box
/// meets, through the R*Tree, then sums their ancestors again.

#include "geo/sqlite.hpp"
#include "layers/layer.hpp"
#include "layers/tiles.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

namespace sitmap::layers {

class ClusterPyramid {
public:
    /// Cells per tile side (4096 tile units / 128 units a cell, TileOptions' defaults).
    static constexpr std::int64_t cells_per_tile = 32;
    /// The incident types a cell counts apart (the layer's allowed types; more throws).
    static constexpr std::size_t max_types = 16;

    struct Cell {
        /// Sum of the members' positions in the finest zoom's global tile units (4096 a tile).
        double sum_x = 0;
        double sum_y = 0;
        std::int64_t count = 0;
        std::int64_t fid = 0;  ///< the member, when there is exactly one
        std::array<std::int32_t, max_types> by_type{};
    };

    /// For the incidents layer (`layer`, whose column "type" lists the types).
    explicit ClusterPyramid(const Layer& layer);

    /// Brings the cells up to the data `db` sees: counts them all on the first call, then applies
    /// the changes logged since the last call. Thread-safe.
    void sync(geo::Database& db);

    /// Calls `visit(column, row, cell)` for every occupied cell of zoom `z` (< cluster_below_zoom)
    /// whose global column and row lie in [first_column, last_column] x [first_row, last_row].
    /// The mean position of a cell in zoom z's global tile units is sum / count / 2^(finest - z).
    void for_each_cell(int z, std::int64_t first_column, std::int64_t last_column, std::int64_t first_row,
                       std::int64_t last_row,
                       const std::function<void(std::int64_t column, std::int64_t row, const Cell&)>& visit) const;

    /// The zoom whose cells are counted from the data; coarser ones are sums.
    static constexpr int finest_zoom = cluster_below_zoom - 1;

private:
    using Level = std::unordered_map<std::uint64_t, Cell>;

    void count_all(geo::Database& db);
    void recount(geo::Database& db, const std::array<double, 4>& box);
    void add_point(Level& level, std::int64_t fid, std::string_view type, std::string_view blob) const;
    void sum_parents(int z, std::int64_t first_column, std::int64_t last_column, std::int64_t first_row,
                     std::int64_t last_row);

    const Layer& m_layer;
    const std::vector<std::string>& m_types;  // the layer's type values, a cell's by_type order
    std::vector<Level> m_levels;  // by zoom
    std::int64_t m_sequence = -1;  // the last change applied; -1 before the first count
    mutable std::shared_mutex m_mutex;
};

} // namespace sitmap::layers
