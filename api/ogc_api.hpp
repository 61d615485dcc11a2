#pragma once
/// The documents of OGC API - Features (Part 1 Core, Part 3 filtering): landing page,
/// conformance, the OpenAPI 3.0 description of every endpoint of sitmap, collections and
/// queryables. The routes that serve them are in feature_routes.cpp and ogc_situational.cpp.
///
/// The landing page is at /ogc, and at / for clients that ask for JSON (Accept: application/json
/// or ?f=json); a browser asking for / gets the web map.

#include "geo/sqlite.hpp"
#include "layers/layer.hpp"
#include "api/request_helpers.hpp"
#include "http/router.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace sitmap::server {

/// The page size of /collections/{id}/items when `limit` is absent, and the largest accepted.
constexpr std::int64_t items_default_limit = 100;
constexpr std::int64_t items_max_limit = 10000;

/// The landing page: links to itself, the API definition, conformance and the collections.
nlohmann::json landing_page(const std::string& base);

/// The conformance classes sitmap implements.
nlohmann::json conformance();

/// The OpenAPI 3.0 document of every endpoint and parameter of sitmap.
nlohmann::json openapi_document(const std::string& base);

/// A collection's description: extent (spatial from the R*Tree, temporal for incidents and
/// bases), CRS, links.
nlohmann::json collection_json(geo::Database& db, const std::string& base, const layers::Layer& layer);

/// The JSON Schema of the layer's filterable properties (/collections/{id}/queryables).
nlohmann::json queryables_json(const std::string& base, const layers::Layer& layer);

/// The query parameters /collections/{id}/items declares for `layer` (any other is a 400).
std::vector<std::string> items_parameters(const layers::Layer& layer);

/// /routes/{id}/profile, /stats/coverage, /stats/incidents, /stats/counts (ogc_situational.cpp).
void register_situational_routes(Router& router, const ServerConfig& config);

/// Throws sitmap::input_error naming the unknown parameter and the declared ones when the
/// query holds a parameter not in `declared` (access_token, read by auth.hpp, is always accepted).
void check_parameters(const Query& query, const std::vector<std::string>& declared);

} // namespace sitmap::server
