#pragma once
/// The routes of sitmap: tiles, TileJSON, GeoJSON items, collections, health, and the web map.
/// Each handler parses its request, calls layers/, and shapes the HTTP response.

#include "server/router.hpp"

#include <filesystem>
#include <string>

namespace sitmap::server {

/// What the handlers need to know about this server.
struct ServerConfig {
    std::string database;                 ///< the SpatiaLite file, opened read-only per thread
    std::filesystem::path web_root;       ///< the web map (index.html, app.js, fonts/)
    std::filesystem::path node_modules;   ///< where maplibre-gl/dist is found
    std::string public_url;               ///< base of absolute URLs ("http://127.0.0.1:8080"); from Host when empty
};

/// Registers every route on `router`. Throws sitmap::error when the database cannot be opened
/// or the web root is missing, so `sitmap serve` fails at start rather than on the first request.
void register_routes(Router& router, const ServerConfig& config);

} // namespace sitmap::server
