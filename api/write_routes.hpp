#pragma once
/// The write side of the API (OGC API – Features Part 4) and the audit log:
/// POST /collections/{layer}/items, PUT, PATCH and DELETE /collections/{layer}/items/{id}
/// (incidents, bases, routes; editor role), GET /audit (admin role).

#include "api/request_helpers.hpp"
#include "http/router.hpp"

namespace sitmap::server {

/// Registers the write routes. Opens the server's one writable connection (migrating an older
/// database), which every write goes through, one at a time. Throws sitmap::error when the
/// database cannot be opened for writing.
void register_write_routes(Router& router, const ServerConfig& config);

} // namespace sitmap::server
