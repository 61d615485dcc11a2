// The write API and access control over loopback against the real `sitmap serve`, with tokens
// made by the real `sitmap token` commands.

#include "geo/sqlite.hpp"
#include "layers/schema.hpp"
#include "write_fixture.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace sitmap::test;
using nlohmann::json;

namespace {

std::int64_t scalar(const std::string& path, const std::string& sql) {
    auto db = sitmap::layers::open_database(path, sitmap::geo::Database::Mode::read_only);
    auto stmt = db.prepare(sql);
    REQUIRE(stmt.step());
    return stmt.column_int64(0);
}

json body_of(const HttpClient::Response& response) {
    INFO(response.result_int() << " " << response.body().substr(0, 400));
    auto parsed = json::parse(response.body(), nullptr, false);
    REQUIRE_FALSE(parsed.is_discarded());
    return parsed;
}

struct Tokens {
    std::string viewer, editor, verifier, other_verifier, admin;
};

Tokens make_tokens(const std::string& db) {
    return {make_token(db, "viewer", "Analyst"), make_token(db, "editor", "JOC Gao"),
            make_token(db, "verifier", "JOC Gao"), make_token(db, "verifier", "Sector East G2"),
            make_token(db, "admin", "Mission IT")};
}

} // namespace

TEST_CASE("write API: create, read back, verify by a second person, patch, replace, delete, audit", "[http][db]") {
    TempDir dir;
    const auto db = make_demo_database(dir);
    const auto t = make_tokens(db);
    ServeProcess server(db);
    const auto port = server.port();
    const auto incident = new_incident("JOC-2024-001");

    // Anonymous and viewer may not write; the reply says why, and asks for a token.
    auto anonymous = send(port, http::verb::post, "/collections/incidents/items", "", incident.dump());
    CHECK(anonymous.result() == http::status::unauthorized);
    CHECK(anonymous[http::field::www_authenticate] == "Bearer");
    CHECK(body_of(anonymous)["error"] == "unauthorized");
    CHECK(send(port, http::verb::post, "/collections/incidents/items", t.viewer, incident.dump()).result() ==
          http::status::forbidden);
    CHECK(send(port, http::verb::post, "/collections/incidents/items", "sm_000000000000_" + std::string(43, 'a'),
               incident.dump()).result() == http::status::unauthorized);

    auto created = send(port, http::verb::post, "/collections/incidents/items", t.editor, incident.dump());
    REQUIRE(created.result() == http::status::created);
    CHECK(created[http::field::location] ==
          "http://127.0.0.1/collections/incidents/items/JOC-2024-001");
    CHECK(created[http::field::content_type] == "application/geo+json");
    const auto stored = body_of(created);
    CHECK(stored["properties"]["status"] == "reported");
    CHECK(stored["properties"]["reported_by"] == "JOC Gao");
    CHECK_FALSE(stored["properties"]["cercle_id"].is_null());
    auto read_back = body_of(HttpClient(port).get("/collections/incidents/items/JOC-2024-001"));
    read_back.erase("links");
    CHECK(read_back == stored);
    CHECK(send(port, http::verb::post, "/collections/incidents/items", t.editor, incident.dump()).result() ==
          http::status::conflict);

    // status= on items and stats: the new incident is the only one reported.
    auto reported = body_of(HttpClient(port).get("/collections/incidents/items?status=reported"));
    CHECK(reported["numberMatched"] == 1);
    const auto all = scalar(db, "SELECT count(*) FROM incidents");
    CHECK(body_of(HttpClient(port).get("/collections/incidents/items?status=verified&limit=1"))["numberMatched"] == all - 1);
    auto counts = body_of(HttpClient(port).get("/stats/incidents?group_by=type&status=reported"));
    REQUIRE(counts["rows"].size() == 1);
    CHECK(counts["rows"][0]["type"] == "ambush");
    CHECK(HttpClient(port).get("/collections/incidents/items?status=maybe").result() == http::status::bad_request);

    // Verification: not by an editor, not by the reporter, by another verifier.
    const std::string verify = R"({"properties":{"status":"verified"}})";
    const std::string item = "/collections/incidents/items/JOC-2024-001";
    CHECK(send(port, http::verb::patch, item, t.editor, verify, "application/merge-patch+json").result() ==
          http::status::forbidden);
    auto own = send(port, http::verb::patch, item, t.verifier, verify, "application/merge-patch+json");
    CHECK(own.result() == http::status::forbidden);
    CHECK(body_of(own)["error"] == "forbidden");
    auto verified = send(port, http::verb::patch, item, t.other_verifier, verify, "application/merge-patch+json");
    REQUIRE(verified.result() == http::status::ok);
    CHECK(body_of(verified)["properties"]["status"] == "verified");
    CHECK(body_of(verified)["properties"]["verified_by"] == "Sector East G2");
    CHECK(body_of(HttpClient(port).get("/collections/incidents/items?status=reported"))["numberMatched"] == 0);

    // Replace, with the status kept, and a wrong Content-Type refused.
    auto replacement = new_incident("JOC-2024-001", -3.99, 16.77);
    replacement["properties"]["fatalities"] = 1;
    CHECK(send(port, http::verb::put, item, t.editor, replacement.dump(), "text/plain").result() ==
          http::status::unsupported_media_type);
    auto replaced = send(port, http::verb::put, item, t.editor, replacement.dump());
    REQUIRE(replaced.result() == http::status::ok);
    CHECK(body_of(replaced)["properties"]["fatalities"] == 1);
    CHECK(body_of(replaced)["properties"]["status"] == "verified");

    auto deleted = send(port, http::verb::delete_, item, t.editor);
    CHECK(deleted.result() == http::status::no_content);
    CHECK(HttpClient(port).get(item).result() == http::status::not_found);
    CHECK(send(port, http::verb::delete_, item, t.editor).result() == http::status::not_found);

    // The audit log: admin only, newest first, before and after.
    CHECK(send(port, http::verb::get, "/audit", t.editor).result() == http::status::forbidden);
    CHECK(HttpClient(port).get("/audit").result() == http::status::unauthorized);
    auto audit = send(port, http::verb::get, "/audit?layer=incidents&feature_id=JOC-2024-001", t.admin);
    REQUIRE(audit.result() == http::status::ok);
    const auto entries = body_of(audit)["entries"];
    REQUIRE(entries.size() == 4);
    CHECK(entries[0]["action"] == "delete");
    CHECK(entries[1]["action"] == "replace");
    CHECK(entries[2]["action"] == "verify");
    CHECK(entries[2]["actor"] == "Sector East G2");
    CHECK(entries[3]["action"] == "create");
    CHECK(entries[3]["after"] == stored);
    CHECK(send(port, http::verb::get, "/audit?limit=0", t.admin).result() == http::status::bad_request);

    // A revoked token no longer writes.
    const auto id = t.editor.substr(3, 12);
    REQUIRE(run_sitmap({"token", "revoke", "--db", db, id}).exit_code == 0);
    CHECK(send(port, http::verb::post, "/collections/incidents/items", t.editor, new_incident("JOC-2").dump()).result() ==
          http::status::unauthorized);
}

TEST_CASE("write API: bases and routes are written, regions and cercles refused with 405", "[http][db]") {
    TempDir dir;
    const auto db = make_demo_database(dir);
    const auto editor = make_token(db, "editor", "GIS cell");
    ServeProcess server(db);
    const json base = {{"type", "Feature"},
                       {"id", "TOB-Tessit"},
                       {"geometry", {{"type", "Point"}, {"coordinates", {0.97, 15.99}}}},
                       {"properties", {{"name", "TOB Tessit"}, {"kind", "temporary_operating_base"}, {"opened", "2024-03-01"}}}};
    CHECK(send(server.port(), http::verb::post, "/collections/bases/items", editor, base.dump()).result() ==
          http::status::created);
    const json route = {{"type", "Feature"},
                        {"geometry", {{"type", "LineString"}, {"coordinates", {{-0.04, 16.27}, {0.35, 15.9}, {0.5, 15.66}}}}},
                        {"properties", {{"name", "Gao - Ansongo (new)"}}}};
    auto created = send(server.port(), http::verb::post, "/collections/routes/items", editor, route.dump(), "application/json");
    REQUIRE(created.result() == http::status::created);
    CHECK(body_of(created)["geometry"]["type"] == "MultiLineString");
    const std::string location(created[http::field::location]);
    CHECK(HttpClient(server.port()).get(location.substr(location.find("/collections"))).result() == http::status::ok);

    for (const char* layer : {"regions", "cercles"}) {
        auto refused = send(server.port(), http::verb::post, std::string("/collections/") + layer + "/items", editor, base.dump());
        CHECK(refused.result() == http::status::method_not_allowed);
        CHECK(std::string(refused[http::field::allow]).find("GET") != std::string::npos);
        CHECK(send(server.port(), http::verb::delete_, std::string("/collections/") + layer + "/items/x", editor).result() ==
              http::status::method_not_allowed);
    }
    CHECK(scalar(db, "SELECT count(*) FROM sitmap_audit") == 2);
    CHECK(scalar(db, "SELECT count(*) FROM sitmap_changes WHERE action = 'create'") == 2);
}

TEST_CASE("access control: --read-access token needs a viewer token for data, not for the map", "[http][db]") {
    TempDir dir;
    const auto db = make_demo_database(dir);
    const auto viewer = make_token(db, "viewer", "Sector West");
    ServeProcess server(db, {"--read-access", "token"});
    const auto port = server.port();
    for (const char* target : {"/collections", "/collections/incidents/items?limit=1",
                               "/tiles/5/15/14.mvt", "/tiles/incidents/5/15/14.mvt", "/tiles.json",
                               "/export/bases.geojson", "/stats/counts?by=region", "/collections/bases/queryables"}) {
        INFO(target);
        auto refused = HttpClient(port).get(target);
        CHECK(refused.result() == http::status::unauthorized);
        CHECK(refused[http::field::www_authenticate] == "Bearer");
        CHECK(send(port, http::verb::get, target, viewer).result_int() < 300);
    }
    CHECK(HttpClient(port).get("/tiles/5/15/14.mvt?access_token=" + viewer).result_int() < 300);
    CHECK(HttpClient(port).get("/collections?access_token=sm_bad").result() == http::status::unauthorized);
    for (const char* target : {"/healthz", "/", "/index.html", "/api", "/conformance"}) {
        INFO(target);
        CHECK(HttpClient(port).get(target).result() == http::status::ok);
    }
}

TEST_CASE("access control: a private layer is hidden from anonymous readers, tiles included", "[http][db]") {
    TempDir dir;
    const auto db = make_demo_database(dir);
    const auto viewer = make_token(db, "viewer", "JOC");
    ServeProcess server(db, {"--private-layer", "incidents"});
    const auto port = server.port();
    CHECK(HttpClient(port).get("/collections/incidents/items").result() == http::status::unauthorized);
    CHECK(HttpClient(port).get("/tiles/incidents/5/15/14.mvt").result() == http::status::unauthorized);
    CHECK(HttpClient(port).get("/export/incidents.geojson").result() == http::status::unauthorized);
    CHECK(HttpClient(port).get("/stats/counts?by=region").result() == http::status::unauthorized);
    CHECK(HttpClient(port).get("/collections/bases/items?limit=1").result() == http::status::ok);
    CHECK(send(port, http::verb::get, "/collections/incidents/items?limit=1", viewer).result() == http::status::ok);

    auto collections = body_of(HttpClient(port).get("/collections"));
    for (const auto& c : collections["collections"]) CHECK(c["id"] != "incidents");
    auto tilejson = body_of(HttpClient(port).get("/tiles.json"));
    for (const auto& l : tilejson["vector_layers"]) CHECK(l["id"] != "incidents");
    CHECK(body_of(send(port, http::verb::get, "/tiles.json", viewer))["vector_layers"].size() == 5);

    // The combined tile over Mali at z5: anonymous readers get one without the incidents layer,
    // and the cache never hands one reader's tile to the other.
    auto anonymous = HttpClient(port).get("/tiles/5/15/14.mvt");
    auto with_token = send(port, http::verb::get, "/tiles/5/15/14.mvt", viewer);
    auto anonymous_again = HttpClient(port).get("/tiles/5/15/14.mvt");
    REQUIRE(anonymous.result() == http::status::ok);
    REQUIRE(with_token.result() == http::status::ok);
    CHECK(with_token.body().find("incidents") != std::string::npos);
    CHECK(anonymous.body().find("incidents") == std::string::npos);
    CHECK(anonymous_again.body() == anonymous.body());
}

TEST_CASE("token CLI: create, list and revoke; bad input exits 2 with a reason", "[db]") {
    TempDir dir;
    const auto db = make_demo_database(dir);
    const auto token = make_token(db, "editor", "JOC Gao");
    auto list = run_sitmap({"token", "list", "--db", db});
    CHECK(list.exit_code == 0);
    CHECK(list.output.find("JOC Gao") != std::string::npos);
    CHECK(list.output.find(token.substr(3, 12)) != std::string::npos);
    CHECK(list.output.find(token.substr(16)) == std::string::npos);  // the secret is never shown again
    auto bad_role = run_sitmap({"token", "create", "--db", db, "--role", "root", "--name", "x"});
    CHECK(bad_role.exit_code == 2);
    CHECK(bad_role.output.find("unknown role 'root'") != std::string::npos);
    auto unknown = run_sitmap({"token", "revoke", "--db", db, "ffffffffffff"});
    CHECK(unknown.exit_code == 2);
    CHECK(unknown.output.find("no token") != std::string::npos);
    CHECK(run_sitmap({"token", "list", "--db", dir.file("none.sqlite")}).exit_code == 2);
    CHECK(run_sitmap({"token", "revoke", "--db", db, token.substr(3, 12)}).exit_code == 0);
    CHECK(run_sitmap({"token", "list", "--db", db}).output.find("Z  JOC Gao") != std::string::npos);
    CHECK(run_sitmap({"serve", "--db", db, "--read-access", "maybe"}).exit_code == 2);
    CHECK(run_sitmap({"serve", "--db", db, "--private-layer", "secrets"}).exit_code == 2);
}
