#pragma once
/// Building Mapbox Vector Tiles from the layers: query by the tile's box (R*Tree), take lines and
/// polygons simplified for the zoom (layers/simplified.hpp: neighbours simplified together keep
/// one border), clip to the tile plus buffer with GEOS, round every vertex to the tile grid (so
/// shared borders stay identical on both sides), repair what rounding made invalid, encode.
/// Incidents are clustered at low zoom.

#include "geo/mvt.hpp"
#include "geo/sqlite.hpp"
#include "geo/tile.hpp"
#include "layers/filter.hpp"
#include "layers/layer.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace sitmap::layers {

/// Below this zoom, incidents are clustered (when TileOptions::cluster is set); from this zoom on,
/// every incident is its own feature.
inline constexpr int cluster_below_zoom = 9;

/// Cluster features have ids from this value on (2^52 + row * 2^24 + column of their cell in the
/// zoom's global grid), so they never collide with the fid of an incident.
inline constexpr std::uint64_t cluster_id_base = std::uint64_t{1} << 52;

class ClusterPyramid;

struct TileOptions {
    std::uint32_t extent = 4096;
    std::uint32_t buffer = 64;          ///< tile units around the tile that features are kept in
    bool cluster = true;                ///< cluster incidents below cluster_below_zoom
    bool simplify = true;               ///< simplify lines and polygons below simplify_below_zoom
    std::uint32_t cluster_cell = 128;   ///< side of a cluster cell, tile units (must divide extent)
    /// The cluster cells of all incidents, kept in memory (layers/cluster_pyramid.hpp): clustered
    /// tiles without a filter read them instead of the incidents. Brought up to date (sync) by
    /// the build. Null: every clustered tile reads the incidents.
    ClusterPyramid* clusters = nullptr;
};

/// Where build_tile may take a point layer's features from instead of SQLite: an in-memory index
/// (layers/incident_index.hpp), or another backend's own. It answers what build_tile's SQLite path
/// answers for unclustered points: the same features with the same properties (in its own order).
class TilePointSource {
public:
    virtual ~TilePointSource() = default;

    /// Adds to `out` every feature of `layer` in the tile plus `options.buffer` that matches the
    /// filter's attributes, as build_tile does. False (and nothing added) when this source cannot
    /// answer for the layer (another layer, or not built yet): the caller then reads SQLite.
    virtual bool add_points(geo::mvt::LayerBuilder& out, const geo::TileId& tile, const Layer& layer,
                            const Filter& filter, const TileOptions& options) const = 0;
};

/// The MVT 2.1 bytes of one tile holding the given layers (a tile layer per layer, in the order
/// given). An empty string when no feature falls in the tile. The filter's time/type/target apply
/// to incidents; its bbox is ignored (the tile is the box).
///
/// Features: id = the row's fid (stable integer); properties = the text `id` and the layer's
/// columns, typed (numbers as numbers, booleans as booleans, NULLs left out). Lines and polygons
/// are simplified to a screen pixel below simplify_below_zoom unless options.simplify is off
/// (polygons of a layer together, so their shared borders stay shared), clipped to the tile plus
/// `buffer`, with their vertices rounded to the integer grid (valid, no cracks between neighbours).
/// Points are kept when they lie in the tile plus `buffer`.
///
/// Clusters (incidents, zoom < cluster_below_zoom, options.cluster): the incidents are grouped by
/// cells of `cluster_cell` tile units aligned on the zoom's global grid; a cell holding one
/// incident gives that incident as above; a cell holding more gives one point at the mean position
/// of its members with properties cluster=true, point_count, and count_<type> for every type met.
/// A cell is complete in every tile that shows it (its members are read beyond the buffer), so
/// neighbouring tiles draw the same cluster at the same place.
/// Unclustered points come from `points` when it answers for their layer, else from `db`.
/// Throws sitmap::input_error for an invalid tile.
std::string build_tile(geo::Database& db, const geo::TileId& tile, const std::vector<const Layer*>& layers,
                       const Filter& filter, const TileOptions& options = {},
                       const TilePointSource* points = nullptr);

} // namespace sitmap::layers
