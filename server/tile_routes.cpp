#include "server/handlers.hpp"

#include "geo/error.hpp"
#include "geo/tile.hpp"
#include "layers/tiles.hpp"
#include "server/json_error.hpp"

#include <nlohmann/json.hpp>

namespace sitmap::server {

namespace {

using nlohmann::json;

constexpr int tile_min_zoom = 0;
constexpr int tile_max_zoom = 16;

json layer_fields(const layers::Layer& layer) {
    json fields = json::object();
    for (const auto& c : layer.columns) {
        fields[c.name] = c.type == layers::ColumnType::integer || c.type == layers::ColumnType::real ? "Number"
                         : c.type == layers::ColumnType::boolean                                       ? "Boolean"
                                                                                                       : "String";
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

json tilejson(const ServerConfig& config, const Request& request, const std::vector<const layers::Layer*>& list,
              const std::string& path) {
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
            {"tiles", {base_url(config, request) + path + "/{z}/{x}/{y}.mvt"}},
            {"vector_layers", vector_layers},
            {"minzoom", tile_min_zoom},
            {"maxzoom", tile_max_zoom},
            {"bounds", bounds},
            {"center", {(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 5}},
            {"attribution", "Boundaries: approximate (Natural Earth outline) unless official ones were imported; "
                            "incidents of the default dataset are synthetic"}};
}

Response tile_response(const ServerConfig& config, const RouteContext& ctx,
                       const std::vector<const layers::Layer*>& list) {
    const auto tile = geo::TileId::make(parse_integer(ctx.param("z"), "z"), parse_integer(ctx.param("x"), "x"),
                                        parse_integer(ctx.param("y"), "y"));
    if (tile.z > tile_max_zoom) {
        throw input_error("zoom " + std::to_string(tile.z) + " is beyond the deepest zoom served (" +
                          std::to_string(tile_max_zoom) + ")");
    }
    const layers::Filter filter = filter_from(ctx.query, false);
    std::string bytes = layers::build_tile(connection(config), tile, list, filter);
    if (bytes.empty()) {
        StringResponse empty{http::status::no_content, 11};
        empty.set(http::field::cache_control, "no-cache");
        return empty;
    }
    auto response = make_response(http::status::ok, std::move(bytes), "application/vnd.mapbox-vector-tile");
    response.set(http::field::cache_control, "no-cache");
    return response;
}

} // namespace

void register_tile_routes(Router& router, const ServerConfig& config) {
    router.get("/tiles.json", [config](const RouteContext& ctx) -> Response {
        return json_response(http::status::ok, tilejson(config, ctx.request, every_layer(), "/tiles"));
    });
    router.get("/tiles/{layer}.json", [config](const RouteContext& ctx) -> Response {
        const auto& layer = layers::find_layer(ctx.param("layer"));
        return json_response(http::status::ok, tilejson(config, ctx.request, {&layer}, "/tiles/" + layer.name));
    });
    router.get("/tiles/{z}/{x}/{y}.mvt",
               [config](const RouteContext& ctx) { return tile_response(config, ctx, every_layer()); });
    router.get("/tiles/{layer}/{z}/{x}/{y}.mvt", [config](const RouteContext& ctx) {
        return tile_response(config, ctx, {&layers::find_layer(ctx.param("layer"))});
    });
}

} // namespace sitmap::server
