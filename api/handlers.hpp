#pragma once
/// The routes of sitmap. Each group lives in its own file and registers itself here.

#include "api/request_helpers.hpp"
#include "http/router.hpp"

namespace sitmap::server {

/// Registers every route on `router`. Throws sitmap::error when the database cannot be opened
/// or the web root is missing, so `sitmap serve` fails at start rather than on the first request.
void register_routes(Router& router, const ServerConfig& config);

/// /tiles.json, /tiles/{layer}.json, /tiles/{z}/{x}/{y}.mvt, /tiles/{layer}/{z}/{x}/{y}.mvt (tile_routes.cpp)
void register_tile_routes(Router& router, const ServerConfig& config);

/// OGC API – Features, the situational queries and statistics (feature_routes.cpp, ogc_*.cpp)
void register_feature_routes(Router& router, const ServerConfig& config);

/// /export/{layer}.geojson: a layer as a GeoJSON attachment, filtered, streamed (export_routes.cpp)
void register_export_routes(Router& router, const ServerConfig& config);

} // namespace sitmap::server
