#pragma once
/// Who is asking: API tokens from the request, roles, and which layers a caller may read.
///
/// A token comes as `Authorization: Bearer <token>` or, for clients that cannot set headers
/// (EventSource, tile URLs), as `?access_token=<token>`. Tokens are never logged: the access log
/// drops the query string, and no error message quotes a token.

#include "layers/tokens.hpp"
#include "api/request_helpers.hpp"
#include "http/router.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sitmap::server {

/// The holder of a valid token.
struct Principal {
    std::string token_id;
    std::string name;
    layers::Role role = layers::Role::viewer;
};

/// The caller's principal, or nullopt when the request carries no token. Throws
/// sitmap::unauthorized_error (401) when it carries one that is malformed, unknown or revoked.
std::optional<Principal> authenticate(const ServerConfig& config, const Request& request, const Query& query);

/// Throws unauthorized_error (401) without a principal, forbidden_error (403) when its role is below `role`.
void require_role(const std::optional<Principal>& principal, layers::Role role);

/// True when the caller may read `layer`: tokens may read every layer; anonymous callers when
/// reading is public and the layer is not private. An empty `layer` asks about reading at all.
bool can_read(const ServerConfig& config, const std::optional<Principal>& principal, std::string_view layer);

/// The layers a request reads through its parameters besides the one it asks for: bases for
/// near_base= and nearest_base=true, routes for along_route=, cercles or regions for
/// within=cercle:|region: and for group_by=/by= cercle|region (base: bases).
std::vector<std::string_view> referenced_layers(const Query& query);

/// For a read route: authenticates and throws unauthorized_error when the caller may not read
/// `layer` (or, with an empty `layer`, anything), or any of the layers its parameters read
/// (referenced_layers), so a private layer is not read through another. Returns the principal.
std::optional<Principal> require_read(const ServerConfig& config, const RouteContext& ctx, std::string_view layer = {});

/// The layers of `list` the caller may read, in order (the combined tile and TileJSON omit the others).
std::vector<const layers::Layer*> readable(const ServerConfig& config, const std::optional<Principal>& principal,
                                           const std::vector<const layers::Layer*>& list);

} // namespace sitmap::server
