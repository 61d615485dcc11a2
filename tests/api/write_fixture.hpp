#pragma once
/// Helpers of the write and access-control tests: a demo database made by the real `sitmap demo`,
/// tokens made by the real `sitmap token create`, and requests carrying a token and a body.

#include "http_client.hpp"
#include "sitmap_process.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sstream>
#include <string>

namespace sitmap::test {

/// A database with the default dataset, made by `sitmap demo` in `dir`.
inline std::string make_demo_database(const TempDir& dir, const std::string& name = "map.sqlite") {
    const auto db = dir.file(name);
    const auto demo = run_sitmap({"demo", "--db", db});
    INFO(demo.output);
    REQUIRE(demo.exit_code == 0);
    return db;
}

/// `sitmap token create`: the token, the one output line shaped like one.
inline std::string make_token(const std::string& db, const std::string& role, const std::string& name) {
    const auto created = run_sitmap({"token", "create", "--db", db, "--role", role, "--name", name});
    INFO(created.output);
    REQUIRE(created.exit_code == 0);
    std::istringstream lines(created.output);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind("sm_", 0) == 0) return line;
    }
    FAIL("no token in the output of sitmap token create");
    return {};
}

/// One request on a fresh connection, with a Bearer token (when not empty) and a body.
inline HttpClient::Response send(unsigned short port, http::verb method, const std::string& target,
                                 const std::string& token = {}, const std::string& body = {},
                                 const std::string& content_type = "application/geo+json") {
    http::request<http::string_body> request{method, target, 11};
    if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
    if (!body.empty() || method == http::verb::post || method == http::verb::put || method == http::verb::patch) {
        request.set(http::field::content_type, content_type);
        request.body() = body;
    }
    return HttpClient(port).send(std::move(request));
}

/// A new incident near Gao as a GeoJSON Feature.
inline nlohmann::json new_incident(const std::string& id, double lon = -0.04, double lat = 16.27) {
    return {{"type", "Feature"},
            {"id", id},
            {"geometry", {{"type", "Point"}, {"coordinates", {lon, lat}}}},
            {"properties", {{"occurred_at", "2024-05-01T10:30:00Z"}, {"type", "ambush"}, {"target", "un_mission"}}}};
}

} // namespace sitmap::test
