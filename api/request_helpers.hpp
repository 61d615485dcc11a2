#pragma once
/// What the route handlers share: the server's configuration, a database connection per thread,
/// and the parsing of common request parameters.

#include "geo/sqlite.hpp"
#include "layers/cluster_pyramid.hpp"
#include "layers/filter.hpp"
#include "layers/incident_index.hpp"
#include "layers/layer.hpp"
#include "http/http.hpp"
#include "http/query.hpp"
#include "http/readiness.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace sitmap::server {

/// What the handlers need to know about this server.
struct ServerConfig {
    std::string database;                 ///< the SpatiaLite file, opened read-only per thread
    std::filesystem::path web_root;       ///< the web map (index.html, app.js, fonts/)
    std::filesystem::path node_modules;   ///< where maplibre-gl/dist is found
    std::string public_url;               ///< base of absolute URLs ("http://127.0.0.1:8080"); from Host when empty
    std::size_t tile_cache_bytes = std::size_t{256} << 20U;  ///< tile cache budget (0: no cache)
    std::uint32_t tile_buffer = 64;       ///< tile units (of 4096) kept around each tile
    /// Reading needs a viewer token (`--read-access token`); static files, /healthz, /readyz and
    /// the landing page stay public.
    bool read_needs_token = false;
    /// Layers anonymous readers may not see (`--private-layer`).
    std::vector<std::string> private_layers;
    /// The start-up work still under way, for /readyz; shared by every copy of the configuration.
    /// Nothing is pending unless `sitmap serve` begins a task (Readiness::begin).
    std::shared_ptr<Readiness> readiness = std::make_shared<Readiness>();
    /// The incidents in memory for tiles, shared by every copy of the configuration. Tiles read
    /// SQLite until it is built (`sitmap serve` builds it in the background at start-up).
    std::shared_ptr<layers::IncidentIndex> incident_index = std::make_shared<layers::IncidentIndex>();
    /// The incidents' cluster cells (layers/cluster_pyramid.hpp), counted at start-up or by the
    /// first clustered tile, then kept current from the change log; shared by every copy.
    std::shared_ptr<layers::ClusterPyramid> clusters =
        std::make_shared<layers::ClusterPyramid>(layers::find_layer("incidents"));
};

/// This thread's read-only connection to the database (SQLite connections are not shared
/// between threads; each server thread opens its own on first use and keeps it).
geo::Database& connection(const ServerConfig& config);

/// A whole number from a request parameter; throws sitmap::input_error naming `what`.
long long parse_integer(const std::string& text, const char* what);

/// bbox (when `with_bbox`), from, to, type, target and status from the query.
layers::Filter filter_from(const Query& query, bool with_bbox);

/// The base of absolute URLs: the configured public URL, or http://{Host}.
std::string base_url(const ServerConfig& config, const Request& request);

/// Every layer, in drawing order.
std::vector<const layers::Layer*> every_layer();

} // namespace sitmap::server
