#include "server/handlers.hpp"

#include "geo/error.hpp"
#include "geo/tile.hpp"
#include "layers/tiles.hpp"
#include "server/auth.hpp"
#include "server/compression.hpp"
#include "server/json_error.hpp"
#include "server/tile_cache.hpp"

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

/// True when If-None-Match names `etag` (or is *).
bool matches(const Request& request, const std::string& etag) {
    const std::string_view header = to_std(request[http::field::if_none_match]);
    return !etag.empty() && (header == "*" || header.find(etag) != std::string_view::npos);
}

Response tile_response(const ServerConfig& config, TileCache& cache, const RouteContext& ctx,
                       const std::vector<const layers::Layer*>& list) {
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

    auto& db = connection(config);
    cache.sync(db);
    const std::int64_t sequence = cache.sequence();
    std::string key;
    std::vector<std::string> names;
    for (const auto* layer : list) {
        key += layer->name + ",";
        names.push_back(layer->name);
    }
    key += "/" + tile.to_string() + "?" + filter.key() + (options.cluster ? "&cluster" : "");
    const bool gzip = accepts_gzip(ctx.request);
    // Clusters read one cell beyond the tile, other features the buffer: invalidate over the wider.
    const double margin = std::max<double>(options.buffer, options.cluster ? options.cluster_cell : 0);
    bool hit = false;
    const auto cached = cache.find_or_build(
        key, std::move(names), geo::tile_bounds_lonlat(tile, margin, options.extent), sequence,
        [&] {
            // Compressed now only when it is kept or asked for: a cold tile served raw is not gzipped.
            return CachedTile::make(layers::build_tile(db, tile, list, filter, options), gzip || cache.budget() > 0);
        },
        &hit);

    const bool send_gzip = gzip && !cached->gzip.empty();
    const std::string& etag = send_gzip ? cached->gzip_etag : cached->etag;
    SharedResponse response{http::status::ok, 11};
    if (cached->bytes.empty()) {
        response.result(http::status::no_content);
    } else if (matches(ctx.request, etag)) {
        response.result(http::status::not_modified);
    } else {
        response.set(http::field::content_type, mvt_type);
        // The body shares the cached tile (it lives as long as either holds it): no copy.
        response.body() = std::shared_ptr<const std::string>(cached, send_gzip ? &cached->gzip : &cached->bytes);
        if (send_gzip) response.set(http::field::content_encoding, "gzip");
    }
    if (!cached->bytes.empty()) response.set(http::field::etag, etag);
    response.set(http::field::cache_control, tile_cache_control);
    response.set(http::field::vary, "Accept-Encoding");
    response.set("X-Sitmap-Cache", hit ? "hit" : "miss");
    return response;
}

} // namespace

void register_tile_routes(Router& router, const ServerConfig& config) {
    auto cache = std::make_shared<TileCache>(config.tile_cache_bytes);
    // The combined tile and its TileJSON hold the layers the caller may read (the cache key names them).
    router.get("/tiles.json", [config](const RouteContext& ctx) -> Response {
        const auto principal = require_read(config, ctx);
        return json_response(http::status::ok, tilejson(config, ctx, readable(config, principal, every_layer()), "/tiles"));
    });
    router.get("/tiles/{layer}.json", [config](const RouteContext& ctx) -> Response {
        const auto& layer = layers::find_layer(ctx.param("layer"));
        require_read(config, ctx, layer.name);
        return json_response(http::status::ok, tilejson(config, ctx, {&layer}, "/tiles/" + layer.name));
    });
    router.get("/tiles/{z}/{x}/{y}.mvt",
               [config, cache](const RouteContext& ctx) {
                   const auto principal = require_read(config, ctx);
                   return tile_response(config, *cache, ctx, readable(config, principal, every_layer()));
               });
    router.get("/tiles/{layer}/{z}/{x}/{y}.mvt", [config, cache](const RouteContext& ctx) {
        require_read(config, ctx, ctx.param("layer"));
        return tile_response(config, *cache, ctx, {&layers::find_layer(ctx.param("layer"))});
    });
}

} // namespace sitmap::server
