#pragma once
/// Building Mapbox Vector Tiles from the layers: query by the tile's box (R*Tree), clip with GEOS,
/// snap to the tile grid (which keeps polygons valid and shared borders identical), encode.

#include "geo/sqlite.hpp"
#include "geo/tile.hpp"
#include "layers/filter.hpp"
#include "layers/layer.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace sitmap::layers {

struct TileOptions {
    std::uint32_t extent = 4096;
    std::uint32_t buffer = 64;  ///< tile units around the tile that features are kept in
};

/// The MVT 2.1 bytes of one tile holding the given layers (a tile layer per layer, features with
/// their fid as id and the layer's columns as typed properties). An empty string when no
/// feature falls in the tile. The filter's time/type/target apply to incidents.
std::string build_tile(geo::Database& db, const geo::TileId& tile, const std::vector<const Layer*>& layers,
                       const Filter& filter, const TileOptions& options = {});

} // namespace sitmap::layers
