#include "server/handlers.hpp"

#include "geo/error.hpp"
#include "layers/features.hpp"
#include "server/json_error.hpp"

#include <nlohmann/json.hpp>

namespace sitmap::server {

namespace {

using nlohmann::json;

constexpr std::int64_t items_default_limit = 100;
constexpr std::int64_t items_max_limit = 10000;

Response items_response(const ServerConfig& config, const RouteContext& ctx) {
    const auto& layer = layers::find_layer(ctx.param("layer"));
    layers::FeatureQuery query;
    query.filter = filter_from(ctx.query, true);
    query.limit = items_default_limit;
    if (auto limit = ctx.query.get("limit")) {
        query.limit = parse_integer(*limit, "limit");
        if (query.limit < 1 || query.limit > items_max_limit) {
            throw input_error("limit: expected 1 to " + std::to_string(items_max_limit));
        }
    }
    if (auto offset = ctx.query.get("offset")) {
        query.offset = parse_integer(*offset, "offset");
        if (query.offset < 0) throw input_error("offset: expected 0 or more");
    }
    auto& db = connection(config);
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

void register_feature_routes(Router& router, const ServerConfig& config) {
    router.get("/collections", [config](const RouteContext& ctx) -> Response {
        json collections = json::array();
        for (const auto& layer : layers::all_layers()) collections.push_back(collection_json(config, ctx.request, layer));
        return json_response(http::status::ok, {{"collections", collections}});
    });
    router.get("/collections/{layer}", [config](const RouteContext& ctx) -> Response {
        return json_response(http::status::ok, collection_json(config, ctx.request, layers::find_layer(ctx.param("layer"))));
    });
    router.get("/collections/{layer}/items", [config](const RouteContext& ctx) { return items_response(config, ctx); });
}

} // namespace sitmap::server
