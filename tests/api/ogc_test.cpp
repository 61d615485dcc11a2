// OGC API - Features over loopback: landing page, conformance, OpenAPI, collections, items
// with paging and filters, queryables, HTML, situational queries and hostile parameters.

#include "ogc_fixture.hpp"
#include "http_client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <set>

using nlohmann::json;
using namespace sitmap::test;
namespace http = boost::beast::http;

TEST_CASE("ogc: the landing page is JSON for API clients and the web map for browsers", "[http][db]") {
    OgcServer server;
    HttpClient client{server.port()};
    auto api = client.request(http::verb::get, "/", {{http::field::accept, "application/json"}});
    CHECK(api[http::field::content_type] == "application/json");
    const auto landing = json::parse(api.body());
    CHECK(path_of(link(landing, "conformance")) == "/conformance");
    CHECK(path_of(link(landing, "service-desc")) == "/api");
    CHECK(path_of(link(landing, "data")) == "/collections");
    CHECK(get_json(client, "/?f=json")["title"] == "sitmap");
    CHECK(get_json(client, "/ogc")["links"].size() == landing["links"].size());

    auto browser = client.request(http::verb::get, "/", {{http::field::accept, "text/html,application/xhtml+xml,*/*;q=0.8"}});
    CHECK(browser[http::field::content_type].starts_with("text/html"));
    CHECK(browser.body().find("maplibre") != std::string::npos);
    CHECK(client.get("/")[http::field::content_type].starts_with("text/html"));

    auto html = client.get("/ogc?f=html");
    CHECK(html[http::field::content_type] == "text/html; charset=utf-8");
    CHECK(html.body().find("<a href=\"http://127.0.0.1/conformance\">") != std::string::npos);
}

TEST_CASE("ogc: conformance, OpenAPI with the limits, collections with extents", "[http][db]") {
    OgcServer server;
    HttpClient client{server.port()};
    const auto classes = get_json(client, "/conformance")["conformsTo"];
    CHECK(std::find(classes.begin(), classes.end(), "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core") !=
          classes.end());

    auto api_response = client.get("/api");
    CHECK(api_response[http::field::content_type] == "application/vnd.oai.openapi+json;version=3.0");
    const auto api = json::parse(api_response.body());
    CHECK(api["openapi"] == "3.0.3");
    const auto limit = api["components"]["parameters"]["limit"]["schema"];
    CHECK(limit["default"] == 100);
    CHECK(limit["maximum"] == 10000);
    CHECK(api["paths"]["/readyz"]["get"]["responses"].contains("503"));
    for (const char* path : {"/collections/{collectionId}/items", "/collections/{collectionId}/items/{featureId}",
                             "/collections/{collectionId}/queryables", "/routes/{routeId}/profile", "/stats/coverage",
                             "/stats/incidents", "/stats/counts", "/conformance", "/api", "/", "/healthz", "/readyz"}) {
        INFO(path);
        CHECK(api["paths"].contains(path));
    }
    // Every $ref points at a declared parameter.
    for (const auto& [path, item] : api["paths"].items()) {
        for (const auto& p : item["get"]["parameters"]) {
            if (p.contains("$ref")) {
                const std::string name = p["$ref"].get<std::string>().substr(std::string("#/components/parameters/").size());
                INFO(path << " " << name);
                CHECK(api["components"]["parameters"].contains(name));
            }
        }
    }

    const auto collections = get_json(client, "/collections")["collections"];
    CHECK(collections.size() == 5);
    const auto incidents = get_json(client, "/collections/incidents");
    CHECK(incidents["extent"]["temporal"]["interval"][0][0] == "2013-01-06T05:45:00Z");
    const auto bbox = incidents["extent"]["spatial"]["bbox"][0];
    CHECK(bbox[0].get<double>() < -8);
    CHECK(bbox[3].get<double>() > 20);
    CHECK(incidents["crs"][0] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84");

    const auto queryables = get_json(client, "/collections/incidents/queryables");
    CHECK(queryables["properties"]["type"]["enum"].size() == 7);
    CHECK(queryables["properties"]["occurred_at"]["format"] == "date-time");
    CHECK(get_json(client, "/collections/nowhere", http::status::not_found)["error"] == "not_found");
}

TEST_CASE("ogc: items page through every incident with next links", "[http][db]") {
    OgcServer server;
    HttpClient client{server.port()};
    std::set<std::string> ids;
    std::string target = "/collections/incidents/items?limit=700&type=ambush,ied_detonated";
    int pages = 0;
    std::int64_t matched = -1;
    while (!target.empty()) {
        const auto page = get_json(client, target);
        matched = page["numberMatched"];
        CHECK(page["numberReturned"] == page["features"].size());
        for (const auto& f : page["features"]) ids.insert(f["id"].get<std::string>());
        const auto next = link(page, "next");
        target = next.empty() ? "" : path_of(next);
        if (pages > 0) CHECK(!link(page, "prev").empty());
        REQUIRE(++pages < 20);
    }
    CHECK(matched == count(server, "SELECT count(*) FROM incidents WHERE type IN ('ambush', 'ied_detonated')"));
    CHECK(static_cast<std::int64_t>(ids.size()) == matched);
    CHECK(pages == (matched + 699) / 700);
}

TEST_CASE("ogc: a large page is streamed in chunks and complete", "[http][db]") {
    OgcServer server;
    HttpClient client{server.port()};
    auto response = client.get("/collections/incidents/items?limit=5000");
    CHECK(response.chunked());
    const auto page = json::parse(response.body());
    CHECK(page["numberReturned"] == 3000);
    CHECK(page["features"].size() == 3000);
    CHECK(link(page, "next").empty());
}

TEST_CASE("ogc: bbox, datetime and property filters select what SQL selects", "[http][db]") {
    OgcServer server;
    HttpClient client{server.port()};
    auto matched = [&](const std::string& query) {
        return get_json(client, "/collections/incidents/items?limit=1&" + query)["numberMatched"].get<std::int64_t>();
    };
    CHECK(matched("bbox=-1,15,1,17") == count(server, "SELECT count(*) FROM incidents WHERE X(geom) BETWEEN -1 AND 1 "
                                                      "AND Y(geom) BETWEEN 15 AND 17"));
    CHECK(matched("datetime=2020-07-01/2020-12-23&type=ied_detonated,ied_neutralized") == 98);
    CHECK(matched("datetime=2020-07-01T00:00:00Z/..") ==
          count(server, "SELECT count(*) FROM incidents WHERE occurred_at >= '2020-07-01T00:00:00Z'"));
    CHECK(matched("datetime=../2014-01-01T00:00:00Z") ==
          count(server, "SELECT count(*) FROM incidents WHERE occurred_at <= '2014-01-01T00:00:00Z'"));
    CHECK(matched("datetime=2020-07-01") ==
          count(server, "SELECT count(*) FROM incidents WHERE substr(occurred_at, 1, 10) = '2020-07-01'"));
    CHECK(matched("region_id=ML07&target=un_mission") ==
          count(server, "SELECT count(*) FROM incidents WHERE region_id = 'ML07' AND target = 'un_mission'"));
    CHECK(matched("within=cercle:ML0703") == count(server, "SELECT count(*) FROM incidents WHERE cercle_id = 'ML0703'"));
    CHECK(matched("filter=" + std::string("fatalities%20%3E%203%20AND%20type%20IN%20('ambush')")) ==
          count(server, "SELECT count(*) FROM incidents WHERE fatalities > 3 AND type = 'ambush'"));
    const auto bases = get_json(client, "/collections/bases/items?kind=sector_hq");
    CHECK(bases["numberMatched"] == count(server, "SELECT count(*) FROM bases WHERE kind = 'sector_hq'"));
}

TEST_CASE("ogc: situational queries over HTTP", "[http][db]") {
    OgcServer server;
    HttpClient client{server.port()};
    const auto near = get_json(client, "/collections/incidents/items?near_base=BASE-002&radius_km=25&limit=10000");
    double previous = 0;
    for (const auto& f : near["features"]) {
        const double d = f["properties"]["distance_km"];
        CHECK(d <= 25);
        CHECK(d >= previous);
        previous = d;
    }
    CHECK(near["numberMatched"] == near["features"].size());
    const auto along = get_json(client, "/collections/incidents/items?along_route=ROUTE-01&buffer_km=3&limit=5");
    CHECK(along["features"][0]["properties"].contains("along_km"));
    const auto nearest = get_json(client, "/collections/bases/items?nearest_to=-0.04,16.27&k=3");
    REQUIRE(nearest["features"].size() == 3);
    CHECK(nearest["features"][0]["id"] == "BASE-002");
    const auto item = get_json(client, "/collections/incidents/items/INC-000001?nearest_base=true");
    CHECK(item["properties"]["nearest_base"]["distance_km"].get<double>() > 0);
    const auto profile = get_json(client, "/routes/ROUTE-01/profile?segment_km=10&from=2020-01-01");
    CHECK(profile["segments"].size() >= 10);
    const auto lines = get_json(client, "/routes/ROUTE-01/profile?segment_km=10&f=geojson");
    CHECK(lines["features"][0]["geometry"]["type"] == "MultiLineString");
    const auto coverage = get_json(client, "/stats/coverage?radius_km=50&limit=5");
    CHECK(coverage["incidents"] == 3000);
    CHECK(coverage["uncovered"]["features"].size() == 5);
    const auto counts = get_json(client, "/stats/counts?by=region&from=2020-07-01&to=2020-12-23&type=ied_detonated,ied_neutralized");
    std::int64_t total = 0;
    for (const auto& row : counts["rows"]) total += row["count"].get<std::int64_t>();
    CHECK(total == 98);
    auto csv = client.get("/stats/incidents?group_by=target,type&from=2020-07-01&to=2020-12-23&type=ied_detonated,"
                          "ied_neutralized&f=csv");
    CHECK(csv[http::field::content_type] == "text/csv; charset=utf-8");
    CHECK(csv.body().find("un_mission,ied_neutralized,19\r\n") != std::string::npos);
    CHECK(csv.body().find("un_mission,ied_detonated,20\r\n") != std::string::npos);
}

TEST_CASE("ogc: hostile parameters get 400 or 404 with a JSON reason, never 500", "[http][db]") {
    OgcServer server;
    HttpClient client{server.port()};
    const std::vector<std::pair<std::string, http::status>> cases = {
        {"/collections/incidents/items?bbox=1,2,3", http::status::bad_request},
        {"/collections/incidents/items?bbox=-1,15,1,200", http::status::bad_request},
        {"/collections/incidents/items?bbox=a,b,c,d", http::status::bad_request},
        {"/collections/incidents/items?datetime=yesterday", http::status::bad_request},
        {"/collections/incidents/items?datetime=2020-07-01/2020-01-01", http::status::bad_request},
        {"/collections/incidents/items?datetime=2020-07-01/2020-08-01/2020-09-01", http::status::bad_request},
        {"/collections/incidents/items?limit=-1", http::status::bad_request},
        {"/collections/incidents/items?limit=0", http::status::bad_request},
        {"/collections/incidents/items?limit=ten", http::status::bad_request},
        {"/collections/incidents/items?offset=-5", http::status::bad_request},
        {"/collections/incidents/items?colour=red", http::status::bad_request},
        {"/collections/incidents/items?type=bombing", http::status::bad_request},
        {"/collections/incidents/items?fatalities=many", http::status::bad_request},
        {"/collections/incidents/items?filter=type%3D'x'%20OR%201%3D1%20--", http::status::bad_request},
        {"/collections/incidents/items?filter=type%3B%20DROP%20TABLE%20incidents", http::status::bad_request},
        {"/collections/incidents/items?filter=description%3D'%27%20OR%20%271%27%3D%271'&filter-lang=cql2-json",
         http::status::bad_request},
        {"/collections/incidents/items?near_base=BASE-002", http::status::bad_request},
        {"/collections/incidents/items?near_base=BASE-002&radius_km=-3", http::status::bad_request},
        {"/collections/incidents/items?near_base=BASE-002&radius_km=NaN", http::status::bad_request},
        {"/collections/incidents/items?near_base=atlantis&radius_km=3", http::status::not_found},
        {"/collections/incidents/items?nearest_to=1000,1000", http::status::bad_request},
        {"/collections/incidents/items?along_route=ROUTE-99", http::status::not_found},
        {"/collections/incidents/items?within=cercle:ZZ", http::status::not_found},
        {"/collections/cercles/items?near_base=BASE-002&radius_km=10", http::status::bad_request},
        {"/collections/nowhere/items", http::status::not_found},
        {"/collections/incidents/items/INC-999999", http::status::not_found},
        {"/collections/incidents/items?f=xml", http::status::bad_request},
        {"/routes/ROUTE-01/profile?segment_km=0", http::status::bad_request},
        {"/routes/ROUTE-99/profile", http::status::not_found},
        {"/stats/coverage?radius_km=1e999", http::status::bad_request},
        {"/stats/incidents?group_by=colour", http::status::bad_request},
        {"/stats/counts?by=country", http::status::bad_request},
    };
    for (const auto& [target, status] : cases) {
        auto response = client.get(target);
        INFO(target << " -> " << response.result_int() << " " << response.body());
        CHECK(response.result() == status);
        CHECK(response[http::field::content_type] == "application/json");
        const auto body = json::parse(response.body());
        CHECK(body.contains("error"));
        CHECK(body.contains("message"));
    }
    CHECK(count(server, "SELECT count(*) FROM incidents") == 3000);
}

TEST_CASE("ogc: HTML pages escape every value they show", "[http][db]") {
    OgcServer server([](sitmap::geo::Database& db) {
        db.exec("UPDATE incidents SET description = '<script>alert(\"x\")</script>' WHERE id = 'INC-000001'");
    });
    HttpClient client{server.port()};
    auto page = client.get("/collections/incidents/items?f=html&limit=3");
    CHECK(page[http::field::content_type] == "text/html; charset=utf-8");
    CHECK(page.body().find("<script>") == std::string::npos);
    CHECK(page.body().find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") != std::string::npos);
    auto item = client.get("/collections/incidents/items/INC-000001?f=html");
    CHECK(item.body().find("<script>") == std::string::npos);
    // A hostile id is echoed in the 404 message as JSON, never as HTML.
    auto missing = client.get("/collections/incidents/items/%3Cscript%3E?f=html");
    CHECK(missing.result() == http::status::not_found);
    CHECK(missing[http::field::content_type] == "application/json");
}
