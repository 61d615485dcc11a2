#include "api/handlers.hpp"

#include "layers/schema.hpp"
#include "api/events.hpp"
#include "http/json_error.hpp"
#include "http/metrics.hpp"
#include "http/static_files.hpp"
#include "api/write_routes.hpp"

#include <memory>

namespace sitmap::server {

void register_routes(Router& router, const ServerConfig& config) {
    register_write_routes(router, config);  // first: its writable connection migrates an older database
    connection(config);  // fail at start, not at the first request, when the database is not there

    router.get("/healthz", [config](const RouteContext&) -> Response {
        return json_response(http::status::ok,
                             {{"status", "ok"}, {"schema_version", layers::stored_schema_version(connection(config))}});
    }, Work::cheap);
    register_readiness_route(router, config.readiness);
    metrics::register_route(router);
    register_tile_routes(router, config);
    register_feature_routes(router, config);
    register_export_routes(router, config);
    register_event_routes(router, config);

    auto files = std::make_shared<StaticFiles>(config.web_root);
    const auto maplibre = config.node_modules / "maplibre-gl" / "dist";
    if (std::filesystem::is_directory(maplibre)) files->mount("/vendor/maplibre-gl/", maplibre);
    if (std::filesystem::is_directory(config.node_modules / "mgrs" / "dist")) files->mount("/vendor/mgrs/", config.node_modules / "mgrs" / "dist");
    // Files are read from disk on each request: cheap work, not the I/O thread's.
    router.set_fallback([files](const RouteContext& ctx) -> Response { return files->serve(ctx.request); }, Work::cheap);
}

} // namespace sitmap::server
