#include "api/auth.hpp"

#include "geo/error.hpp"
#include "layers/values.hpp"

#include <algorithm>

namespace sitmap::server {

std::optional<Principal> authenticate(const ServerConfig& config, const Request& request, const Query& query) {
    std::string token;
    const auto header = to_std(request[http::field::authorization]);
    if (!header.empty()) {
        constexpr std::string_view scheme = "Bearer ";
        if (header.size() <= scheme.size() || !std::equal(scheme.begin(), scheme.end(), header.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
            })) {
            throw unauthorized_error("Authorization: expected 'Bearer <token>'");
        }
        token = header.substr(scheme.size());
    } else if (auto value = query.get("access_token")) {
        token = *value;
    } else {
        return std::nullopt;
    }
    const auto info = layers::verify_token(connection(config), token);
    if (!info) throw unauthorized_error("the token is not valid (unknown, revoked or mistyped)");
    return Principal{info->id, info->name, info->role};
}

void require_role(const std::optional<Principal>& principal, layers::Role role) {
    if (!principal) {
        throw unauthorized_error("this needs a token with the " + std::string(layers::role_name(role)) +
                                 " role (Authorization: Bearer <token>)");
    }
    if (principal->role < role) {
        throw forbidden_error("this needs the " + std::string(layers::role_name(role)) + " role; the token of '" +
                              principal->name + "' has the " + std::string(layers::role_name(principal->role)) + " role");
    }
}

bool can_read(const ServerConfig& config, const std::optional<Principal>& principal, std::string_view layer) {
    if (principal) return true;
    if (config.read_needs_token) return false;
    return std::find(config.private_layers.begin(), config.private_layers.end(), layer) == config.private_layers.end();
}

std::vector<std::string_view> referenced_layers(const Query& query) {
    std::vector<std::string_view> read;
    if (query.has("near_base")) read.push_back("bases");
    if (auto nearest = query.get("nearest_base"); nearest && *nearest != "false") read.push_back("bases");
    if (query.has("along_route")) read.push_back("routes");
    if (auto within = query.get("within")) {
        if (within->starts_with("cercle:")) read.push_back("cercles");
        if (within->starts_with("region:")) read.push_back("regions");
    }
    for (const char* key : {"group_by", "by"}) {
        for (const auto& value : query.get_all(key)) {
            for (const auto& group : layers::split_list(value)) {
                if (group == "base") read.push_back("bases");
                if (group == "cercle") read.push_back("cercles");
                if (group == "region") read.push_back("regions");
            }
        }
    }
    return read;
}

std::optional<Principal> require_read(const ServerConfig& config, const RouteContext& ctx, std::string_view layer) {
    auto principal = authenticate(config, ctx.request, ctx.query);
    if (!can_read(config, principal, layer)) {
        throw unauthorized_error(layer.empty() || config.read_needs_token
                                     ? "reading this server needs a token (Authorization: Bearer <token>)"
                                     : "reading " + std::string(layer) + " needs a token (Authorization: Bearer <token>)");
    }
    for (const auto referenced : referenced_layers(ctx.query)) {
        if (!can_read(config, principal, referenced)) {
            throw unauthorized_error("this request reads " + std::string(referenced) + " (through its parameters), and reading " +
                                     std::string(referenced) + " needs a token (Authorization: Bearer <token>)");
        }
    }
    return principal;
}

std::vector<const layers::Layer*> readable(const ServerConfig& config, const std::optional<Principal>& principal,
                                           const std::vector<const layers::Layer*>& list) {
    std::vector<const layers::Layer*> kept;
    for (const auto* layer : list) {
        if (can_read(config, principal, layer->name)) kept.push_back(layer);
    }
    return kept;
}

} // namespace sitmap::server
