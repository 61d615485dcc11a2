#include "api/ogc_api.hpp"

#include "geo/error.hpp"

#include <algorithm>

namespace sitmap::server {

namespace {

using nlohmann::json;

const char* crs84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

json link(const std::string& href, const char* rel, const char* type, const std::string& title) {
    return {{"href", href}, {"rel", rel}, {"type", type}, {"title", title}};
}

json column_schema(const layers::Column& c) {
    json schema;
    switch (c.type) {
        case layers::ColumnType::integer: schema = {{"type", "integer"}}; break;
        case layers::ColumnType::real: schema = {{"type", "number"}}; break;
        case layers::ColumnType::boolean: schema = {{"type", "boolean"}}; break;
        case layers::ColumnType::date: schema = {{"type", "string"}, {"format", "date"}}; break;
        case layers::ColumnType::datetime: schema = {{"type", "string"}, {"format", "date-time"}}; break;
        default: schema = {{"type", "string"}};
    }
    if (!c.allowed.empty()) schema["enum"] = c.allowed;
    if (!c.description.empty()) schema["description"] = c.description;
    return schema;
}

json parameter(const std::string& name, const std::string& description, json schema, const char* in = "query",
               bool required = false) {
    json p = {{"name", name}, {"in", in}, {"description", description}, {"required", required || std::string(in) == "path"},
              {"schema", std::move(schema)}};
    if (std::string(in) == "query") {
        p["style"] = "form";
        p["explode"] = false;
    }
    return p;
}

json ref(const std::string& name) { return {{"$ref", "#/components/parameters/" + name}}; }

// The parameters of items shared by every collection (components/parameters).
json common_parameters() {
    const json number = {{"type", "number"}};
    const json text = {{"type", "string"}};
    return {
        {"f", parameter("f", "Format: json (GeoJSON) or html", {{"type", "string"}, {"enum", {"json", "html"}}})},
        {"bbox", parameter("bbox", "min_lon,min_lat,max_lon,max_lat in WGS84 (CRS84)",
                           {{"type", "array"}, {"minItems", 4}, {"maxItems", 4}, {"items", number}})},
        {"datetime", parameter("datetime", "An instant or an interval start/end with open ends '..' (RFC 3339); "
                                           "incidents by occurred_at, bases by their open period", text)},
        {"limit", parameter("limit", "Features per page; a larger value than the maximum is taken as the maximum",
                            {{"type", "integer"}, {"minimum", 1}, {"maximum", items_max_limit},
                             {"default", items_default_limit}})},
        {"offset", parameter("offset", "Features to skip (the next and prev links carry it)",
                             {{"type", "integer"}, {"minimum", 0}, {"default", 0}})},
        {"filter", parameter("filter", "CQL2 text filter on the queryables", text)},
        {"filter-lang", parameter("filter-lang", "Only cql2-text", {{"type", "string"}, {"enum", {"cql2-text"}}})},
        {"filter-crs", parameter("filter-crs", "Only CRS84", {{"type", "string"}, {"enum", {crs84}}})},
        {"from", parameter("from", "Incidents on or after this date or date-time", text)},
        {"to", parameter("to", "Incidents on or before this date (the whole day) or date-time", text)},
        {"near_base", parameter("near_base", "Point layers: within radius_km of this base (id or unique name); "
                                             "adds distance_km, nearest first", text)},
        {"radius_km", parameter("radius_km", "With near_base: the radius in km (geodesic, WGS84)",
                                {{"type", "number"}, {"exclusiveMinimum", 0}, {"maximum", 20000}})},
        {"within", parameter("within", "cercle:{id} or region:{id}", text)},
        {"along_route", parameter("along_route", "Point layers: within buffer_km of this route; adds along_km "
                                                 "(from the route's start) and distance_km, ordered along the route",
                                  text)},
        {"buffer_km", parameter("buffer_km", "With along_route: the buffer in km (default 5)",
                                {{"type", "number"}, {"exclusiveMinimum", 0}, {"maximum", 500}, {"default", 5}})},
        {"nearest_to", parameter("nearest_to", "Point layers: lon,lat; the k nearest features with distance_km", text)},
        {"k", parameter("k", "With nearest_to: how many (default 5)",
                        {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}, {"default", 5}})},
        {"collectionId", parameter("collectionId", "A collection",
                                   [] {
                                       json names = json::array();
                                       for (const auto& l : layers::all_layers()) names.push_back(l.name);
                                       return json{{"type", "string"}, {"enum", names}};
                                   }(),
                                   "path")},
        {"featureId", parameter("featureId", "A feature's id", text, "path")},
        {"nearest_base", parameter("nearest_base", "Incidents: add the nearest base and its distance",
                                   {{"type", "boolean"}})},
    };
}

const std::vector<std::string>& spatial_parameters() {
    static const std::vector<std::string> names = {"near_base", "radius_km", "along_route", "buffer_km",
                                                   "nearest_to", "k"};
    return names;
}

json response(const char* description, const char* type) {
    return {{"description", description}, {"content", {{type, {{"schema", {{"type", "object"}}}}}}}};
}

json errors() {
    return {{"400", response("Bad request: {\"error\", \"message\"}", "application/json")},
            {"401", response("A token is needed (missing, unknown or revoked): WWW-Authenticate: Bearer", "application/json")},
            {"403", response("The token's role does not allow this", "application/json")},
            {"404", response("Not found: {\"error\", \"message\"}", "application/json")}};
}

/// A write operation of OGC API - Features Part 4 (editor role).
json write_operation(const std::string& summary, json parameters, const char* status, const char* body_type) {
    json responses = errors();
    responses[status] = std::string(status) == "204" ? json{{"description", "Deleted"}}
                                                     : response("The feature as stored", "application/geo+json");
    if (std::string(status) == "201") responses["409"] = response("A feature with this id exists", "application/json");
    responses["405"] = response("Regions and cercles are imported, not written", "application/json");
    json op = {{"summary", summary},
               {"parameters", std::move(parameters)},
               {"responses", responses},
               {"security", {{{"bearer", json::array()}}, {{"access_token", json::array()}}}}};
    if (body_type) {
        responses["415"] = response("Wrong Content-Type", "application/json");
        op["responses"] = responses;
        op["requestBody"] = {{"required", true},
                             {"content", {{body_type, {{"schema", {{"$ref", "https://geojson.org/schema/Feature.json"}}}}}}}};
    }
    return op;
}

json operation(const std::string& summary, json parameters, const char* type = "application/json") {
    json responses = errors();
    responses["200"] = response("OK", type);
    return {{"get", {{"summary", summary}, {"parameters", std::move(parameters)}, {"responses", responses}}}};
}

json items_parameter_refs(const layers::Layer* layer) {
    json refs = json::array({ref("f"), ref("bbox"), ref("datetime"), ref("limit"), ref("offset"), ref("filter"),
                             ref("filter-lang"), ref("filter-crs"), ref("within")});
    if (layer == nullptr || layer->name == "incidents") refs.insert(refs.end(), {ref("from"), ref("to")});
    if (layer == nullptr || layer->geometry == layers::GeometryKind::point) {
        for (const auto& name : spatial_parameters()) refs.push_back(ref(name));
    }
    if (layer != nullptr) {
        for (const auto& c : layer->columns) {
            refs.push_back(parameter(c.name, "Equal to this value (comma-separated: any of)", column_schema(c)));
        }
    }
    return refs;
}

} // namespace

json landing_page(const std::string& base) {
    return {{"title", "sitmap"},
            {"description", "Situational-awareness map server: OGC API - Features on SpatiaLite"},
            {"links",
             {link(base + "/ogc", "self", "application/json", "This document"),
              link(base + "/ogc?f=html", "alternate", "text/html", "This document as HTML"),
              link(base + "/api", "service-desc", "application/vnd.oai.openapi+json;version=3.0", "The API definition"),
              link(base + "/conformance", "conformance", "application/json", "Conformance classes"),
              link(base + "/collections", "data", "application/json", "The collections"),
              link(base + "/tiles.json", "tiles", "application/json", "Vector tiles (TileJSON)"),
              link(base + "/", "alternate", "text/html", "The web map")}}};
}

json conformance() {
    return {{"conformsTo",
             {"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
              "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
              "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
              "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
              "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
              "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
              "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
              "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
              "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
              "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
              "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
              "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions"}}};
}

json openapi_document(const std::string& base) {
    json paths = json::object();
    paths["/"] = operation("Landing page (JSON with Accept: application/json or f=json; else the web map)",
                           json::array({ref("f")}));
    paths["/ogc"] = operation("Landing page", json::array({ref("f")}));
    paths["/api"] = operation("This OpenAPI document", json::array(), "application/vnd.oai.openapi+json;version=3.0");
    paths["/conformance"] = operation("Conformance classes", json::array({ref("f")}));
    paths["/collections"] = operation("The collections", json::array({ref("f")}));
    paths["/collections/{collectionId}"] =
        operation("A collection: extent, CRS, links", json::array({ref("collectionId"), ref("f")}));
    json items = items_parameter_refs(nullptr);
    items.insert(items.begin(), ref("collectionId"));
    paths["/collections/{collectionId}/items"] = operation("Features (GeoJSON), paged", items, "application/geo+json");
    paths["/collections/{collectionId}/items/{featureId}"] =
        operation("One feature", json::array({ref("collectionId"), ref("featureId"), ref("f"), ref("nearest_base")}),
                  "application/geo+json");
    paths["/collections/{collectionId}/queryables"] =
        operation("The filterable properties (JSON Schema)", json::array({ref("collectionId"), ref("f")}),
                  "application/schema+json");
    for (const auto& layer : layers::all_layers()) {
        paths["/collections/" + layer.name + "/items"] =
            operation(layer.title + " (GeoJSON), paged", items_parameter_refs(&layer), "application/geo+json");
    }
    const json window = json::array({ref("from"), ref("to"), parameter("type", "Incident types, comma-separated",
                                                                       {{"type", "string"}}),
                                     parameter("target", "Incident targets, comma-separated", {{"type", "string"}}),
                                     parameter("status", "Incident statuses, comma-separated: reported, verified, rejected",
                                               {{"type", "string"}})});
    json profile = window;
    profile.push_back(parameter("routeId", "A route", {{"type", "string"}}, "path"));
    profile.push_back(parameter("segment_km", "Length of each stretch (default 10)",
                                {{"type", "number"}, {"minimum", 0.5}, {"maximum", 1000}, {"default", 10}}));
    profile.push_back(parameter("buffer_km", "Incidents within this distance of the route (default 5)",
                                {{"type", "number"}, {"exclusiveMinimum", 0}, {"maximum", 500}, {"default", 5}}));
    profile.push_back(parameter("f", "json (stretches) or geojson (stretches as lines)",
                                {{"type", "string"}, {"enum", {"json", "geojson", "html"}}}));
    paths["/routes/{routeId}/profile"] = operation("Route risk profile: incidents per stretch, by type", profile);
    json coverage = window;
    coverage.push_back(parameter("radius_km", "Reach of a base in km (default 50)",
                                 {{"type", "number"}, {"exclusiveMinimum", 0}, {"maximum", 20000}, {"default", 50}}));
    coverage.push_back(ref("within"));
    coverage.push_back(parameter("limit", "Uncovered incidents listed (default 1000)",
                                 {{"type", "integer"}, {"minimum", 0}, {"maximum", items_max_limit}, {"default", 1000}}));
    coverage.push_back(parameter("f", "json or html", {{"type", "string"}, {"enum", {"json", "html"}}}));
    paths["/stats/coverage"] =
        operation("Incidents per cercle within radius_km of a base open that day, and beyond; uncovered as GeoJSON",
                  coverage);
    json stats = window;
    stats.push_back(parameter("group_by", "region, cercle, type, target, year, month, base (nearest open base) (comma-separated)",
                              {{"type", "string"}}));
    stats.push_back(ref("within"));
    stats.push_back(ref("filter"));
    stats.push_back(ref("filter-lang"));
    stats.push_back(parameter("f", "json, csv or html", {{"type", "string"}, {"enum", {"json", "csv", "html"}}}));
    paths["/stats/incidents"] = operation("Incident counts by group", stats);
    json counts = window;
    counts.push_back(parameter("by", "cercle or region", {{"type", "string"}, {"enum", {"cercle", "region"}}}, "query",
                               true));
    counts.push_back(parameter("f", "json, csv or html", {{"type", "string"}, {"enum", {"json", "csv", "html"}}}));
    paths["/stats/counts"] = operation("Incident counts per cercle or per region", counts);
    paths["/tiles.json"] = operation("TileJSON of every layer", json::array());
    paths["/tiles/{z}/{x}/{y}.mvt"] = operation("A vector tile of every layer", window,
                                                "application/vnd.mapbox-vector-tile");
    paths["/healthz"] = operation("Health: the server is alive (always 200)", json::array());
    paths["/readyz"] = operation("Readiness: 200 {\"status\": \"ready\"} once the start-up work is done", json::array());
    paths["/readyz"]["get"]["responses"]["503"] =
        response("Still starting: {\"status\": \"starting\", \"waiting_for\": [...]}, with Retry-After",
                 "application/json");
    const json layer_param = parameter("layer", "regions, cercles, routes, bases or incidents", {{"type", "string"}}, "path");
    json tile = window;
    tile.push_back(parameter("cluster", "false: every incident its own feature (default true: clusters below zoom 9)",
                             {{"type", "boolean"}, {"default", true}}));
    tile.push_back(layer_param);
    paths["/tiles/{layer}/{z}/{x}/{y}.mvt"] = operation("A vector tile of one layer", tile, "application/vnd.mapbox-vector-tile");
    paths["/tiles/{layer}.json"] = operation("TileJSON of one layer", json::array({layer_param}));
    json export_params = window;
    export_params.push_back(ref("bbox"));
    export_params.push_back(layer_param);
    paths["/export/{layer}.geojson"] = operation("A whole layer as one GeoJSON file (streamed)", export_params,
                                                 "application/geo+json");
    paths["/metrics"] = operation("Prometheus metrics", json::array(), "text/plain");
    const json collection = json::array({ref("collectionId")});
    const json item = json::array({ref("collectionId"), ref("featureId")});
    paths["/collections/{collectionId}/items"]["post"] = write_operation(
        "Create a feature (incidents, bases, routes; editor role). Incidents start 'reported'. 201 with Location",
        collection, "201", "application/geo+json");
    paths["/collections/{collectionId}/items/{featureId}"]["put"] =
        write_operation("Replace a feature (editor role)", item, "200", "application/geo+json");
    paths["/collections/{collectionId}/items/{featureId}"]["patch"] = write_operation(
        "Change a feature with an RFC 7396 merge patch of properties and geometry (editor role); an incident's "
        "status only by a verifier who did not report it",
        item, "200", "application/merge-patch+json");
    paths["/collections/{collectionId}/items/{featureId}"]["delete"] =
        write_operation("Delete a feature (editor role)", item, "204", nullptr);
    json audit = operation("The audit log, newest first: who changed what, before and after (admin role)",
                           json::array({parameter("layer", "Only this layer", {{"type", "string"}}),
                                        parameter("feature_id", "Only this feature", {{"type", "string"}}),
                                        parameter("limit", "Entries (default 100)",
                                                  {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}, {"default", 100}})}));
    audit["get"]["security"] = {{{"bearer", json::array()}}};
    paths["/audit"] = audit;
    paths["/events"] = operation(
        "Server-Sent Events: one 'change' event per committed change (id: seq; data: {seq, layer, action, id, "
        "bbox}), ': keep-alive' every 15 s; resumes after the Last-Event-ID header or since",
        json::array({parameter("since", "Resume after this change sequence number", {{"type", "integer"}, {"minimum", 0}}),
                     parameter("Last-Event-ID", "Resume after this change (sent by EventSource)",
                               {{"type", "integer"}, {"minimum", 0}}, "header")}),
        "text/event-stream");
    return {{"openapi", "3.0.3"},
            {"info", {{"title", "sitmap"}, {"version", "0.1.0"},
                      {"description", "OGC API - Features and situational queries on SpatiaLite"}}},
            {"servers", {{{"url", base}}}},
            {"paths", paths},
            // Reading is public unless the server runs with --read-access token or --private-layer.
            {"security", {json::object(), {{"bearer", json::array()}}, {{"access_token", json::array()}}}},
            {"components",
             {{"parameters", common_parameters()},
              {"securitySchemes",
               {{"bearer", {{"type", "http"}, {"scheme", "bearer"}, {"description", "sm_<id>_<secret>, from `sitmap token create`"}}},
                {"access_token",
                 {{"type", "apiKey"}, {"in", "query"}, {"name", "access_token"},
                  {"description", "The same token, for clients that cannot set headers (EventSource, tile URLs)"}}}}}}}};
}

json collection_json(geo::Database& db, const std::string& base, const layers::Layer& layer) {
    auto box = db.prepare("SELECT min(xmin), min(ymin), max(xmax), max(ymax) FROM idx_" + layer.name + "_geom");
    json spatial = {{"crs", crs84}};
    if (box.step() && !box.is_null(0)) {
        spatial["bbox"] = {{box.column_double(0), box.column_double(1), box.column_double(2), box.column_double(3)}};
    } else {
        spatial["bbox"] = {{-180, -90, 180, 90}};
    }
    json extent = {{"spatial", spatial}};
    const char* temporal = layer.name == "incidents" ? "SELECT min(occurred_at), max(occurred_at) FROM incidents"
                           : layer.name == "bases"   ? "SELECT min(opened), max(closed) FROM bases"
                                                     : nullptr;
    if (temporal) {
        auto stmt = db.prepare(temporal);
        stmt.step();
        auto end = [&](int i) { return stmt.is_null(i) ? json(nullptr) : json(std::string(stmt.column_text(i))); };
        extent["temporal"] = {{"interval", json::array({json::array({end(0), end(1)})})},
                              {"trs", "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}};
    }
    const std::string self = base + "/collections/" + layer.name;
    return {{"id", layer.name},
            {"title", layer.title},
            {"description", layer.description},
            {"itemType", "feature"},
            {"extent", extent},
            {"crs", {crs84}},
            {"storageCrs", crs84},
            {"links",
             {link(self, "self", "application/json", layer.title),
              link(self + "/items", "items", "application/geo+json", layer.title + " as GeoJSON"),
              link(self + "/items?f=html", "items", "text/html", layer.title + " as HTML"),
              link(self + "/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables", "application/schema+json",
                   "Queryables"),
              link(base + "/tiles/" + layer.name + ".json", "tiles", "application/json", "Vector tiles")}}};
}

json queryables_json(const std::string& base, const layers::Layer& layer) {
    json properties = {{"id", {{"type", "string"}, {"description", "The feature's id"}}}};
    for (const auto& c : layer.columns) properties[c.name] = column_schema(c);
    const char* geometry = layer.geometry == layers::GeometryKind::point  ? "Point"
                           : layer.geometry == layers::GeometryKind::line ? "MultiLineString"
                                                                          : "MultiPolygon";
    properties["geometry"] = {{"$ref", std::string("https://geojson.org/schema/") + geometry + ".json"}};
    return {{"$schema", "https://json-schema.org/draft/2020-12/schema"},
            {"$id", base + "/collections/" + layer.name + "/queryables"},
            {"type", "object"},
            {"title", layer.title},
            {"properties", properties},
            {"additionalProperties", false}};
}

std::vector<std::string> items_parameters(const layers::Layer& layer) {
    std::vector<std::string> names = {"f", "bbox", "bbox-crs", "datetime", "limit", "offset", "filter", "filter-lang",
                                      "filter-crs", "within", "id"};
    if (layer.name == "incidents") names.insert(names.end(), {"from", "to"});
    if (layer.geometry == layers::GeometryKind::point) {
        names.insert(names.end(), spatial_parameters().begin(), spatial_parameters().end());
    }
    for (const auto& c : layer.columns) names.push_back(c.name);
    return names;
}

void check_parameters(const Query& query, const std::vector<std::string>& declared) {
    for (const auto& [key, value] : query.items()) {
        if (key == "access_token") continue;  // authentication (auth.hpp), on every route
        if (std::find(declared.begin(), declared.end(), key) == declared.end()) {
            std::string list;
            for (const auto& d : declared) list += (list.empty() ? "" : ", ") + d;
            throw input_error("unknown parameter '" + key + "' (this resource takes: " + list + ")");
        }
    }
}

} // namespace sitmap::server
