#pragma once
/// The lines and polygons of a layer simplified for one zoom, kept in memory and shared by every
/// thread: built on first use from the whole layer (polygons together, so neighbours keep the
/// same border: geo/simplify.hpp), dropped when the change log (layers/changes.hpp) shows a
/// change to the layer.

#include "geo/sqlite.hpp"
#include "layers/layer.hpp"

#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <unordered_map>

namespace sitmap::layers {

/// From this zoom on, tiles carry the geometry as stored (a screen pixel is then a few metres).
inline constexpr int simplify_below_zoom = 13;

/// The Douglas-Peucker tolerance at zoom z, EPSG:3857 metres: one screen pixel of a 512-pixel
/// tile (8 units of a 4096 extent), which is how MapLibre draws tiles.
double simplify_tolerance(int zoom);

/// One layer simplified for one zoom: fid -> (multi)line or (multi)polygon as ISO WKB in
/// EPSG:3857 metres. A feature left out (a polygon that was not valid, or of which nothing was
/// left) is drawn from its stored geometry.
struct SimplifiedLayer {
    std::unordered_map<std::int64_t, std::string> wkb;
};

/// The lines or polygons of `layer` (not a point layer) simplified for zoom `zoom`
/// (< simplify_below_zoom), from the cache when the layer has not changed since it was built.
/// Thread-safe; the result stays valid as long as it is held. Costs one query on the change log
/// when cached. Throws sitmap::error when the layer cannot be read.
std::shared_ptr<const SimplifiedLayer> simplified_layer(geo::Database& db, const Layer& layer, int zoom);

/// Builds (into the cache simplified_layer reads) every line and polygon layer for every zoom
/// below simplify_below_zoom, lowest zoom first, so that the first tile of a zoom does not pay
/// for it; a server runs it in the background at start. Returns early once `stop` is requested.
/// Throws sitmap::error when a layer cannot be read.
void prepare_simplified_layers(geo::Database& db, std::stop_token stop);

} // namespace sitmap::layers
