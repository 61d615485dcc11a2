#include "server/handlers.hpp"

#include "geo/error.hpp"
#include "geo/tile.hpp"
#include "layers/features.hpp"
#include "layers/schema.hpp"
#include "layers/tiles.hpp"
#include "server/json_error.hpp"
#include "server/static_files.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <memory>
#include <unordered_map>

namespace sitmap::server {

namespace {

using nlohmann::json;

constexpr int tile_min_zoom = 0;
constexpr int tile_max_zoom = 16;
constexpr std::int64_t items_default_limit = 100;
constexpr std::int64_t items_max_limit = 10000;

/// One read-only connection per server thread (SQLite connections are not shared between threads).
geo::Database& connection(const std::string& path) {
    thread_local std::unordered_map<std::string, std::unique_ptr<geo::Database>> connections;
    auto& slot = connections[path];
    if (!slot) slot = std::make_unique<geo::Database>(layers::open_database(path, geo::Database::Mode::read_only));
    return *slot;
}

long long parse_integer(const std::string& text, const char* what) {
    long long value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
        throw input_error(std::string(what) + ": '" + text + "' is not a whole number");
    }
    return value;
}

layers::Filter filter_from(const Query& query, bool with_bbox) {
    return layers::parse_filter(with_bbox ? query.get("bbox").value_or("") : "", query.get("from").value_or(""),
                                query.get("to").value_or(""), query.get("type").value_or(""),
                                query.get("target").value_or(""));
}

std::string base_url(const ServerConfig& config, const Request& request) {
    if (!config.public_url.empty()) return config.public_url;
    const auto host = request[http::field::host];
    return "http://" + (host.empty() ? std::string("127.0.0.1") : std::string(host));
}

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
    auto bounds = data_bounds(connection(config.database));
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
            {"attribution", "Boundaries: Natural Earth (approximate cells) or as imported; incidents of the default dataset are synthetic"}};
}

std::vector<const layers::Layer*> every_layer() {
    std::vector<const layers::Layer*> list;
    for (const auto& layer : layers::all_layers()) list.push_back(&layer);
    return list;
}

Response tile_response(const ServerConfig& config, const RouteContext& ctx, const std::vector<const layers::Layer*>& list) {
    const auto tile = geo::TileId::make(parse_integer(ctx.param("z"), "z"), parse_integer(ctx.param("x"), "x"),
                                        parse_integer(ctx.param("y"), "y"));
    if (tile.z > tile_max_zoom) {
        throw input_error("zoom " + std::to_string(tile.z) + " is beyond the deepest zoom served (" +
                          std::to_string(tile_max_zoom) + ")");
    }
    const layers::Filter filter = filter_from(ctx.query, false);
    std::string bytes = layers::build_tile(connection(config.database), tile, list, filter);
    if (bytes.empty()) {
        StringResponse empty{http::status::no_content, 11};
        empty.set(http::field::cache_control, "no-cache");
        return empty;
    }
    auto response = make_response(http::status::ok, std::move(bytes), "application/vnd.mapbox-vector-tile");
    response.set(http::field::cache_control, "no-cache");
    return response;
}

Response items_response(const ServerConfig& config, const RouteContext& ctx) {
    const auto& layer = layers::find_layer(ctx.param("layer"));
    layers::FeatureQuery query;
    query.filter = filter_from(ctx.query, true);
    if (auto limit = ctx.query.get("limit")) {
        query.limit = parse_integer(*limit, "limit");
        if (query.limit < 1 || query.limit > items_max_limit) {
            throw input_error("limit: expected 1 to " + std::to_string(items_max_limit));
        }
    } else {
        query.limit = items_default_limit;
    }
    if (auto offset = ctx.query.get("offset")) {
        query.offset = parse_integer(*offset, "offset");
        if (query.offset < 0) throw input_error("offset: expected 0 or more");
    }
    auto& db = connection(config.database);
    const std::int64_t matched = layers::count_features(db, layer, query.filter);
    std::string body = R"({"type":"FeatureCollection","features":[)";
    bool first = true;
    const std::int64_t returned = layers::write_features(db, layer, query, [&](std::string_view feature) {
        if (!first) body += ',';
        first = false;
        body += feature;
    });
    body += R"(],"numberMatched":)" + std::to_string(matched) + R"(,"numberReturned":)" + std::to_string(returned) + "}";
    auto response = make_response(http::status::ok, std::move(body), "application/geo+json");
    response.set(http::field::cache_control, "no-cache");
    return response;
}

json collection_json(const ServerConfig& config, const Request& request, const layers::Layer& layer) {
    const std::string base = base_url(config, request);
    return {{"id", layer.name},
            {"title", layer.title},
            {"description", layer.description},
            {"itemType", "feature"},
            {"links",
             {{{"href", base + "/collections/" + layer.name + "/items"}, {"rel", "items"}, {"type", "application/geo+json"}},
              {{"href", base + "/tiles/" + layer.name + ".json"}, {"rel", "tiles"}, {"type", "application/json"}}}}};
}

} // namespace

void register_routes(Router& router, const ServerConfig& config) {
    // Fail at start, not at the first request, when the database is not there.
    connection(config.database);

    router.get("/healthz", [config](const RouteContext&) -> Response {
        auto& db = connection(config.database);
        return json_response(http::status::ok, {{"status", "ok"}, {"schema_version", layers::stored_schema_version(db)}});
    });
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
    router.get("/collections", [config](const RouteContext& ctx) -> Response {
        json collections = json::array();
        for (const auto& layer : layers::all_layers()) collections.push_back(collection_json(config, ctx.request, layer));
        return json_response(http::status::ok, {{"collections", collections}});
    });
    router.get("/collections/{layer}", [config](const RouteContext& ctx) -> Response {
        return json_response(http::status::ok,
                             collection_json(config, ctx.request, layers::find_layer(ctx.param("layer"))));
    });
    router.get("/collections/{layer}/items", [config](const RouteContext& ctx) { return items_response(config, ctx); });

    auto files = std::make_shared<StaticFiles>(config.web_root);
    const auto maplibre = config.node_modules / "maplibre-gl" / "dist";
    if (std::filesystem::is_directory(maplibre)) files->mount("/vendor/maplibre-gl/", maplibre);
    router.set_fallback([files](const RouteContext& ctx) -> Response { return files->serve(ctx.request); });
}

} // namespace sitmap::server
