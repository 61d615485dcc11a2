#include "api/handlers.hpp"

#include "geo/error.hpp"
#include "geo/tile.hpp"
#include "layers/tiles.hpp"
#include "api/auth.hpp"
#include "http/compression.hpp"
#include "http/json_error.hpp"
#include "api/tile_cache.hpp"
#include "http/workers.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace sitmap::server {

namespace {

using nlohmann::json;

constexpr int tile_min_zoom = 0;
constexpr int tile_max_zoom = 16;
constexpr const char* mvt_type = "application/vnd.mapbox-vector-tile";
// Tiles change when data changes: clients keep them but ask again (a 304 when nothing changed).
constexpr const char* tile_cache_control = "no-cache";

json layer_fields(const layers::Layer& layer) {
    json fields = json::object();
    fields["id"] = "String";
    for (const auto& c : layer.columns) {
        fields[c.name] = c.type == layers::ColumnType::integer || c.type == layers::ColumnType::real ? "Number"
                         : c.type == layers::ColumnType::boolean                                       ? "Boolean"
                                                                                                       : "String";
    }
    if (layer.name == "incidents") {  // clusters at low zoom (layers/tiles.hpp)
        fields["cluster"] = "Boolean";
        fields["point_count"] = "Number";
        for (const auto& type : layer.column("type")->allowed) fields["count_" + type] = "Number";
    }
    return fields;
}

/// The extent of every layer in lon/lat, from the R*Trees.
std::array<double, 4> data_bounds(geo::Database& db) {
    std::array<double, 4> bounds{180, 90, -180, -90};
    for (const auto& layer : layers::all_layers()) {
        auto stmt = db.prepare("SELECT min(xmin), min(ymin), max(xmax), max(ymax) FROM idx_" + layer.name + "_geom");
        if (stmt.step() && !stmt.is_null(0)) {
            bounds[0] = std::min(bounds[0], stmt.column_double(0));
            bounds[1] = std::min(bounds[1], stmt.column_double(1));
            bounds[2] = std::max(bounds[2], stmt.column_double(2));
            bounds[3] = std::max(bounds[3], stmt.column_double(3));
        }
    }
    if (bounds[0] > bounds[2]) return {-180, -85.0511, 180, 85.0511};
    return bounds;
}

/// `cluster=true|false` (default true). Throws sitmap::input_error for anything else.
bool cluster_from(const Query& query) {
    const auto value = query.get("cluster").value_or("true");
    if (value == "true" || value == "1") return true;
    if (value == "false" || value == "0") return false;
    throw input_error("cluster: expected true or false, got '" + value + "'");
}

/// The query string the tile URLs of a TileJSON carry: the tile parameters of the request.
std::string tile_query(const Query& query) {
    std::string out;
    for (const char* name : {"from", "to", "type", "target", "status", "cluster"}) {
        if (const auto value = query.get(name)) {
            out += (out.empty() ? "?" : "&") + std::string(name) + "=";
            for (const char c : *value) {  // percent-encode all but unreserved characters and ',' ':'
                if (std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-._~,:", c)) {
                    out += c;
                } else {
                    char escaped[4];
                    std::snprintf(escaped, sizeof escaped, "%%%02X", static_cast<unsigned char>(c));
                    out += escaped;
                }
            }
        }
    }
    return out;
}

json tilejson(const ServerConfig& config, const RouteContext& ctx, const std::vector<const layers::Layer*>& list,
              const std::string& path) {
    filter_from(ctx.query, false);  // a bad filter is a 400 here rather than on every tile
    cluster_from(ctx.query);
    auto bounds = data_bounds(connection(config));
    json vector_layers = json::array();
    for (const auto* layer : list) {
        vector_layers.push_back({{"id", layer->name},
                                 {"description", layer->description},
                                 {"minzoom", tile_min_zoom},
                                 {"maxzoom", tile_max_zoom},
                                 {"fields", layer_fields(*layer)}});
    }
    return {{"tilejson", "3.0.0"},
            {"name", "sitmap"},
            {"tiles", {base_url(config, ctx.request) + path + "/{z}/{x}/{y}.mvt" + tile_query(ctx.query)}},
            {"vector_layers", vector_layers},
            {"minzoom", tile_min_zoom},
            {"maxzoom", tile_max_zoom},
            {"bounds", bounds},
            {"center", {(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 5}},
            {"attribution", "Boundaries: approximate (Natural Earth outline) unless official ones were imported; "
                            "incidents of the default dataset are synthetic"}};
}

/// True when the If-None-Match header names `etag` (or is *).
bool matches(std::string_view if_none_match, const std::string& etag) {
    return !etag.empty() && (if_none_match == "*" || if_none_match.find(etag) != std::string_view::npos);
}

/// What a tile's response depends on besides the tile: copied from the request, which a
/// response completed by another request's build may no longer reach.
struct TileAsk {
    bool gzip = false;
    std::string if_none_match;
    std::string what;  // "GET /tiles/...", for the log of a failed build
};

Response tile_answer(const CachedTile& cached, const std::shared_ptr<const CachedTile>& owner, const TileAsk& ask,
                     bool hit) {
    const bool send_gzip = ask.gzip && !cached.gzip.empty();
    const std::string& etag = send_gzip ? cached.gzip_etag : cached.etag;
    SharedResponse response{http::status::ok, 11};
    if (cached.bytes.empty()) {
        response.result(http::status::no_content);
    } else if (matches(ask.if_none_match, etag)) {
        response.result(http::status::not_modified);
    } else {
        response.set(http::field::content_type, mvt_type);
        // The body shares the cached tile (it lives as long as either holds it): no copy.
        response.body() = std::shared_ptr<const std::string>(owner, send_gzip ? &cached.gzip : &cached.bytes);
        if (send_gzip) response.set(http::field::content_encoding, "gzip");
    }
    if (!cached.bytes.empty()) response.set(http::field::etag, etag);
    response.set(http::field::cache_control, tile_cache_control);
    response.set(http::field::vary, "Accept-Encoding");
    response.set("X-Sitmap-Cache", hit ? "hit" : "miss");
    return response;
}

Response tile_failed(const std::exception_ptr& error, const TileAsk& ask) {
    try {
        std::rethrow_exception(error);
    } catch (const TileCache::Refused& refused) {
        return overloaded(refused.what());
    } catch (...) {
        return error_response(std::current_exception(), ask.what);
    }
}

/// Looks the tile up on this thread (cheap work); a miss is built on a tile worker, or waits
/// for the build of the same tile in progress without holding a thread.
void tile_response(const ServerConfig& config, TileCache& cache, const RouteContext& ctx,
                   const std::vector<const layers::Layer*>& list, Respond respond) {
    const auto tile = geo::TileId::make(parse_integer(ctx.param("z"), "z"), parse_integer(ctx.param("x"), "x"),
                                        parse_integer(ctx.param("y"), "y"));
    if (tile.z > tile_max_zoom) {
        throw input_error("zoom " + std::to_string(tile.z) + " is beyond the deepest zoom served (" +
                          std::to_string(tile_max_zoom) + ")");
    }
    const layers::Filter filter = filter_from(ctx.query, false);
    layers::TileOptions options;
    options.buffer = config.tile_buffer;
    options.cluster = cluster_from(ctx.query);
    options.clusters = config.clusters.get();

    cache.sync(connection(config));
    const std::int64_t sequence = cache.sequence();
    std::string key;
    std::vector<std::string> names;
    for (const auto* layer : list) {
        key += layer->name + ",";
        names.push_back(layer->name);
    }
    key += "/" + tile.to_string() + "?" + filter.key() + (options.cluster ? "&cluster" : "");
    TileAsk ask{accepts_gzip(ctx.request), std::string(to_std(ctx.request[http::field::if_none_match])),
                "GET " + std::string(ctx.path)};
    // Clusters read one cell beyond the tile, other features the buffer: invalidate over the wider.
    const double margin = std::max<double>(options.buffer, options.cluster ? options.cluster_cell : 0);
    // Compressed now only for a client that takes gzip; the cache compresses what it keeps after
    // the answer has gone (TileCache::find_or_build).
    auto build = [config, tile, list, filter, options, sequence, compress = ask.gzip] {
        // The connection of the worker that builds: the tile reads the data as it is then. The
        // incident index first applies the changes this request's cache lookup has seen.
        auto& db = connection(config);
        config.incident_index->sync(db, sequence);
        return CachedTile::make(layers::build_tile(db, tile, list, filter, options, config.incident_index.get()),
                                compress);
    };
    auto done = [ask = std::move(ask), respond = std::move(respond)](TileCache::Result result) {
        respond(result.error ? tile_failed(result.error, ask) : tile_answer(*result.tile, result.tile, ask, result.hit));
    };
    cache.find_or_build(key, std::move(names), geo::tile_bounds_lonlat(tile, margin, options.extent), sequence,
                        std::move(build), std::move(done),
                        [&ctx](std::function<void()> job) { return ctx.run_on(Work::tiles, std::move(job)); });
}

} // namespace

void register_tile_routes(Router& router, const ServerConfig& config) {
    auto cache = std::make_shared<TileCache>(config.tile_cache_bytes);
    // The combined tile and its TileJSON hold the layers the caller may read (the cache key names them).
    // TileJSON reads the extent of every layer (a scan of the R*Trees): tile work, on the map's way in.
    router.get("/tiles.json", [config](const RouteContext& ctx) -> Response {
        const auto principal = require_read(config, ctx);
        return json_response(http::status::ok, tilejson(config, ctx, readable(config, principal, every_layer()), "/tiles"));
    }, Work::tiles);
    router.get("/tiles/{layer}.json", [config](const RouteContext& ctx) -> Response {
        const auto& layer = layers::find_layer(ctx.param("layer"));
        require_read(config, ctx, layer.name);
        return json_response(http::status::ok, tilejson(config, ctx, {&layer}, "/tiles/" + layer.name));
    }, Work::tiles);
    // Cheap: the cache is looked up at once; a miss goes on to the tile workers (tile_response).
    router.add_async(http::verb::get, "/tiles/{z}/{x}/{y}.mvt", [config, cache](const RouteContext& ctx, Respond respond) {
        const auto principal = require_read(config, ctx);
        tile_response(config, *cache, ctx, readable(config, principal, every_layer()), std::move(respond));
    }, Work::cheap);
    router.add_async(http::verb::get, "/tiles/{layer}/{z}/{x}/{y}.mvt", [config, cache](const RouteContext& ctx, Respond respond) {
        require_read(config, ctx, ctx.param("layer"));
        tile_response(config, *cache, ctx, {&layers::find_layer(ctx.param("layer"))}, std::move(respond));
    }, Work::cheap);
}

} // namespace sitmap::server
