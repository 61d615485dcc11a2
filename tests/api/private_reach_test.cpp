// A private layer (--private-layer) is not readable through another endpoint either: the
// parameters and statistics that read bases, routes, cercles or regions answer anonymous callers
// 401 when that layer is private, and token holders as before. Over loopback, real server.

#include "write_fixture.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

using namespace sitmap::test;

namespace {

/// The id (and name) of the first feature of `layer`, read with a token.
nlohmann::json first_feature(unsigned short port, const std::string& layer, const std::string& token) {
    const auto response = send(port, http::verb::get, "/collections/" + layer + "/items?limit=1", token);
    REQUIRE(response.result() == http::status::ok);
    const auto body = nlohmann::json::parse(response.body());
    REQUIRE(body["features"].size() == 1);
    return body["features"][0];
}

/// Anonymous: 401 with a JSON reason naming the private layer, and nothing of `secret` in the body.
/// With the viewer token: 200, and `secret` (what the private layer would give away) in the body.
void check_both_sides(unsigned short port, const std::string& target, const std::string& token,
                      const std::string& layer, const std::string& secret = {}) {
    INFO(target);
    const auto anonymous = HttpClient(port).get(target);
    CHECK(anonymous.result() == http::status::unauthorized);
    const auto reason = nlohmann::json::parse(anonymous.body());
    CHECK(reason["error"] == "unauthorized");
    CHECK(reason["message"].get<std::string>().find(layer) != std::string::npos);
    if (!secret.empty()) CHECK(anonymous.body().find(secret) == std::string::npos);

    const auto holder = send(port, http::verb::get, target, token);
    CHECK(holder.result() == http::status::ok);
    if (!secret.empty()) CHECK(holder.body().find(secret) != std::string::npos);
}

} // namespace

TEST_CASE("private layers: bases, when private, are not read through incidents or statistics", "[http][db]") {
    TempDir dir;
    const auto db = make_demo_database(dir);
    const auto viewer = make_token(db, "viewer", "JOC");
    ServeProcess server(db, {"--private-layer", "bases"});
    const auto port = server.port();
    const std::string base_id = first_feature(port, "bases", viewer)["id"];
    const std::string incident_id = first_feature(port, "incidents", viewer)["id"];

    check_both_sides(port, "/collections/incidents/items/" + incident_id + "?nearest_base=true", viewer, "bases",
                     "\"nearest_base\"");
    check_both_sides(port, "/collections/incidents/items?near_base=" + base_id + "&radius_km=100&limit=5", viewer,
                     "bases");
    check_both_sides(port, "/stats/incidents?group_by=base", viewer, "bases");
    check_both_sides(port, "/stats/incidents?group_by=type,base", viewer, "bases");
    check_both_sides(port, "/stats/coverage?radius_km=50&limit=1", viewer, "bases");

    // What reads no base stays public.
    CHECK(HttpClient(port).get("/collections/incidents/items/" + incident_id).result() == http::status::ok);
    CHECK(HttpClient(port).get("/collections/incidents/items/" + incident_id + "?nearest_base=false").result() ==
          http::status::ok);
    CHECK(HttpClient(port).get("/stats/incidents?group_by=type").result() == http::status::ok);
    CHECK(HttpClient(port).get("/stats/counts?by=cercle").result() == http::status::ok);
}

TEST_CASE("private layers: routes, cercles and regions, when private, are not read through incidents or statistics",
          "[http][db]") {
    TempDir dir;
    const auto db = make_demo_database(dir);
    const auto viewer = make_token(db, "viewer", "JOC");
    ServeProcess server(db, {"--private-layer", "routes", "--private-layer", "cercles", "--private-layer", "regions"});
    const auto port = server.port();
    const auto route = first_feature(port, "routes", viewer);
    const std::string route_id = route["id"];
    const std::string route_name = route["properties"]["name"];
    const std::string cercle_id = first_feature(port, "cercles", viewer)["id"];
    const std::string region_id = first_feature(port, "regions", viewer)["id"];
    const std::string base_id = first_feature(port, "bases", viewer)["id"];

    check_both_sides(port, "/collections/incidents/items?along_route=" + route_id + "&limit=5", viewer, "routes");
    check_both_sides(port, "/routes/" + route_id + "/profile", viewer, "routes", route_name);
    check_both_sides(port, "/collections/incidents/items?within=cercle:" + cercle_id + "&limit=5", viewer, "cercles");
    check_both_sides(port, "/collections/bases/items?within=region:" + region_id, viewer, "regions");
    check_both_sides(port, "/stats/incidents?group_by=cercle", viewer, "cercles");
    check_both_sides(port, "/stats/incidents?group_by=region&group_by=type", viewer, "regions");
    check_both_sides(port, "/stats/counts?by=cercle", viewer, "cercles");
    check_both_sides(port, "/stats/counts?by=region", viewer, "regions");
    check_both_sides(port, "/stats/coverage?radius_km=50&limit=1", viewer, "cercles");

    // Bases stay public, and so does what reads only them and the incidents.
    CHECK(HttpClient(port).get("/collections/incidents/items?near_base=" + base_id + "&radius_km=50&limit=5").result() ==
          http::status::ok);
    CHECK(HttpClient(port).get("/stats/incidents?group_by=base,type").result() == http::status::ok);
}
