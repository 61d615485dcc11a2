#include "api/write_routes.hpp"

#include "geo/error.hpp"
#include "layers/schema.hpp"
#include "layers/write.hpp"
#include "api/auth.hpp"
#include "http/json_error.hpp"
#include "api/ogc_api.hpp"

#include <cctype>
#include <memory>
#include <mutex>

namespace sitmap::server {

namespace {

/// The one writable connection. SQLite takes one writer at a time anyway; the mutex makes the
/// server's writes queue here rather than retry on SQLITE_BUSY, and keeps the connection on one
/// thread at a time (connections are not shared between threads otherwise).
struct Writer {
    explicit Writer(geo::Database database) : db(std::move(database)) {}
    std::mutex mutex;
    geo::Database db;
};

/// The layer of the route, or a 405 when it is not written through the API (regions, cercles).
const layers::Layer* writable_layer(const RouteContext& ctx, std::optional<Response>& refusal, const char* allow) {
    const auto& layer = layers::find_layer(ctx.param("layer"));
    if (layers::writable(layer)) return &layer;
    auto response = json_error(http::status::method_not_allowed, "method_not_allowed",
                               layer.name + " are imported (sitmap import), not written through the API");
    response.set(http::field::allow, allow);
    refusal = std::move(response);
    return nullptr;
}

/// True when the request's Content-Type (without parameters, any case) is one of `types`.
bool content_type_is(const Request& request, std::initializer_list<std::string_view> types) {
    std::string media(to_std(request[http::field::content_type]));
    media = media.substr(0, media.find(';'));
    while (!media.empty() && media.back() == ' ') media.pop_back();
    for (auto& c : media) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return std::find(types.begin(), types.end(), media) != types.end();
}

StringResponse unsupported(std::string_view expected) {
    return json_error(http::status::unsupported_media_type, "unsupported_media_type",
                      "Content-Type: expected " + std::string(expected));
}

layers::Actor actor_of(const std::optional<Principal>& principal) { return {principal->name, principal->role}; }

StringResponse feature_response(http::status status, const std::string& feature) {
    return make_response(status, feature, "application/geo+json");
}

} // namespace

void register_write_routes(Router& router, const ServerConfig& config) {
    auto writer = std::make_shared<Writer>(layers::open_database(config.database, geo::Database::Mode::read_write));
    // An acknowledged write is on disk: a power cut after the 201 does not lose it.
    writer->db.exec("PRAGMA synchronous=FULL");
    constexpr const char* collection_allow = "GET, HEAD, OPTIONS";
    constexpr const char* item_allow = "GET, HEAD, OPTIONS";
    constexpr const char* feature_types = "application/geo+json or application/json";

    router.add(http::verb::post, "/collections/{layer}/items", [config, writer](const RouteContext& ctx) -> Response {
        std::optional<Response> refusal;
        const auto* layer = writable_layer(ctx, refusal, collection_allow);
        if (!layer) return std::move(*refusal);
        const auto principal = authenticate(config, ctx.request, ctx.query);
        require_role(principal, layers::Role::editor);
        if (!content_type_is(ctx.request, {"application/geo+json", "application/json"})) return unsupported(feature_types);
        const auto input = layers::parse_feature(*layer, ctx.request.body());
        std::string stored;
        {
            std::lock_guard lock(writer->mutex);
            stored = layers::create_feature(writer->db, *layer, input, actor_of(principal));
        }
        const std::string id = nlohmann::json::parse(stored)["id"];
        auto response = feature_response(http::status::created, stored);
        response.set(http::field::location,
                     base_url(config, ctx.request) + "/collections/" + layer->name + "/items/" + percent_encode(id));
        return response;
    });

    auto item_write = [config, writer](http::verb method) {
        return [config, writer, method](const RouteContext& ctx) -> Response {
            std::optional<Response> refusal;
            const auto* layer = writable_layer(ctx, refusal, item_allow);
            if (!layer) return std::move(*refusal);
            const auto principal = authenticate(config, ctx.request, ctx.query);
            require_role(principal, layers::Role::editor);
            const std::string& id = ctx.param("id");
            if (method == http::verb::delete_) {
                std::lock_guard lock(writer->mutex);
                layers::delete_feature(writer->db, *layer, id, actor_of(principal));
                return StringResponse{http::status::no_content, 11};
            }
            if (method == http::verb::put) {
                if (!content_type_is(ctx.request, {"application/geo+json", "application/json"})) return unsupported(feature_types);
                const auto input = layers::parse_feature(*layer, ctx.request.body());
                std::lock_guard lock(writer->mutex);
                return feature_response(http::status::ok,
                                        layers::replace_feature(writer->db, *layer, id, input, actor_of(principal)));
            }
            if (!content_type_is(ctx.request, {"application/merge-patch+json", "application/json", "application/geo+json"})) {
                return unsupported("application/merge-patch+json");
            }
            std::lock_guard lock(writer->mutex);
            return feature_response(http::status::ok, layers::update_feature(writer->db, *layer, id, ctx.request.body(),
                                                                             actor_of(principal)));
        };
    };
    router.add(http::verb::put, "/collections/{layer}/items/{id}", item_write(http::verb::put));
    router.add(http::verb::patch, "/collections/{layer}/items/{id}", item_write(http::verb::patch));
    router.add(http::verb::delete_, "/collections/{layer}/items/{id}", item_write(http::verb::delete_));

    router.get("/audit", [config](const RouteContext& ctx) -> Response {
        require_role(authenticate(config, ctx.request, ctx.query), layers::Role::admin);
        check_parameters(ctx.query, {"layer", "feature_id", "limit"});
        layers::AuditQuery query;
        if (auto layer = ctx.query.get("layer")) {
            try {
                query.layer = layers::find_layer(*layer).name;
            } catch (const not_found_error& e) {
                throw input_error(std::string("layer: ") + e.what());
            }
        }
        query.feature_id = ctx.query.get("feature_id").value_or("");
        if (auto limit = ctx.query.get("limit")) {
            query.limit = parse_integer(*limit, "limit");
            if (query.limit < 1 || query.limit > 1000) throw input_error("limit: expected 1 to 1000");
        }
        auto response = json_response(http::status::ok, {{"entries", layers::audit_log(connection(config), query)}});
        response.set(http::field::cache_control, "no-store");
        return response;
    });
}

} // namespace sitmap::server
