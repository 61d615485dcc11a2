// numberMatched and paging on a layer larger than the count bound: 12,000 more incidents packed
// in a small box, so a bbox given with other filters holds more than the 2,000 features that counting may read.
// numberMatched is then left out except on the last page, and paging stays exact: over HTTP, and
// with GDAL's OAPIF driver, which must then read the pages to count.

#include "http_client.hpp"
#include "ogc_fixture.hpp"

#include <catch2/catch.hpp>
#include <gdal.h>
#include <nlohmann/json.hpp>
#include <ogr_api.h>

#include <set>

using nlohmann::json;
using namespace sitmap::test;
namespace http = boost::beast::http;

namespace {

constexpr const char* box = "bbox=-2.1,19.9,-1.4,20.6";  // holds the 12,000 added incidents
constexpr const char* in_box = "X(geom) BETWEEN -2.1 AND -1.4 AND Y(geom) BETWEEN 19.9 AND 20.6";

void add_packed_incidents(sitmap::geo::Database& db) {
    db.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000) "
            "INSERT INTO incidents (id, occurred_at, type, target, geom) "
            "SELECT printf('PACKED-%05d', i), printf('2021-%02d-%02dT12:00:00Z', 1 + i % 12, 1 + i % 28), "
            "CASE i % 3 WHEN 0 THEN 'ambush' ELSE 'other' END, 'civilians', "
            "MakePoint(-2 + (i % 100) / 200.0, 20 + (i / 100) / 240.0, 4326) FROM n");
}

/// How many incidents match `where`, read from the served database.
std::int64_t count_where(const OgcServer& server, const std::string& where) {
    return count(server, "SELECT count(*) FROM incidents WHERE " + where);
}

} // namespace

TEST_CASE("items: numberMatched is left out when counting would read too many rows, never wrong", "[http][db]") {
    OgcServer server(add_packed_incidents);
    HttpClient client{server.port()};
    const std::string items = "/collections/incidents/items?";
    const std::string ambush = std::string(in_box) + " AND type = 'ambush'";
    REQUIRE(count_where(server, in_box) >= 12000);

    // A bbox alone is counted from the spatial index; filters alone from the covering indexes.
    CHECK(get_json(client, items + box + "&limit=10")["numberMatched"] == count_where(server, in_box));
    CHECK(get_json(client, items + "type=ambush&limit=10")["numberMatched"] == count_where(server, "type = 'ambush'"));
    // A bbox with a filter: more than 2,000 features in the box to read, so no count...
    const auto first = get_json(client, items + box + "&type=ambush&limit=10");
    CHECK(!first.contains("numberMatched"));
    CHECK(first["numberReturned"] == 10);
    CHECK(!link(first, "next").empty());
    // ... but a box of fewer features is counted, filter and all.
    CHECK(get_json(client, items + "bbox=-2.1,19.9,-1.4,20.03&type=ambush&limit=10")["numberMatched"] ==
          count_where(server, "X(geom) BETWEEN -2.1 AND -1.4 AND Y(geom) BETWEEN 19.9 AND 20.03 AND type = 'ambush'"));

    // The last page knows the count: its offset plus what it returns, also when the page is just full.
    const std::int64_t total = count_where(server, ambush);
    const auto exact = get_json(client, items + box + "&type=ambush&limit=" + std::to_string(total));
    CHECK(exact["numberMatched"] == total);
    CHECK(exact["numberReturned"] == total);
    CHECK(link(exact, "next").empty());
    const auto one_short = get_json(client, items + box + "&type=ambush&limit=" + std::to_string(total - 1));
    CHECK(!one_short.contains("numberMatched"));
    CHECK(!link(one_short, "next").empty());
    const auto last = get_json(client, path_of(link(one_short, "next")));
    CHECK(last["numberReturned"] == 1);
    CHECK(last["numberMatched"] == total);
    CHECK(link(last, "next").empty());

    // Past the end: nothing returned, no next page, and no count to give.
    const auto beyond = get_json(client, items + box + "&type=ambush&offset=100000&limit=10");
    CHECK(beyond["features"].empty());
    CHECK(link(beyond, "next").empty());
    CHECK(!link(beyond, "prev").empty());
    CHECK(!beyond.contains("numberMatched"));
}

TEST_CASE("items: next links page through a large match set exactly once each", "[http][db]") {
    OgcServer server(add_packed_incidents);
    HttpClient client{server.port()};
    const std::int64_t total = count_where(server, std::string(in_box) + " AND type = 'other'");
    std::set<std::string> ids;
    std::int64_t returned = 0, pages = 0;
    std::string target = "/collections/incidents/items?" + std::string(box) + "&type=other&limit=1500";
    while (!target.empty()) {
        const auto page = get_json(client, target);
        returned += page["numberReturned"].get<std::int64_t>();
        for (const auto& f : page["features"]) ids.insert(f["id"].get<std::string>());
        target = link(page, "next").empty() ? "" : path_of(link(page, "next"));
        CHECK(page.contains("numberMatched") == target.empty());  // only the last page counts
        if (target.empty()) CHECK(page["numberMatched"] == total);
        REQUIRE(++pages <= 10);
    }
    CHECK(returned == total);
    CHECK(static_cast<std::int64_t>(ids.size()) == total);
    CHECK(pages == (total + 1499) / 1500);
}

TEST_CASE("oapif: GDAL reads and counts a bbox and filter that the server does not count", "[http][db][gdal]") {
    OgcServer server(add_packed_incidents);
    GDALAllRegister();
    const std::string url = "OAPIF:http://127.0.0.1:" + std::to_string(server.port());
    const char* options[] = {"PAGE_SIZE=2000", nullptr};
    auto* dataset = GDALOpenEx(url.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, nullptr, options, nullptr);
    REQUIRE(dataset);
    OGRLayerH incidents = GDALDatasetGetLayerByName(dataset, "incidents");
    REQUIRE(incidents);
    OGR_L_SetSpatialFilterRect(incidents, -2.1, 19.9, -1.4, 20.6);
    OGR_L_SetAttributeFilter(incidents, "type = 'ambush'");
    const std::int64_t expected = count_where(server, std::string(in_box) + " AND type = 'ambush'");
    CHECK(OGR_L_GetFeatureCount(incidents, 1) == expected);
    std::set<std::string> ids;
    const int id_field = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(incidents), "id");
    OGR_L_ResetReading(incidents);
    while (OGRFeatureH feature = OGR_L_GetNextFeature(incidents)) {
        ids.insert(OGR_F_GetFieldAsString(feature, id_field));
        OGR_F_Destroy(feature);
    }
    CHECK(static_cast<std::int64_t>(ids.size()) == expected);
    GDALClose(dataset);
}

TEST_CASE("items: a limit above the maximum is taken as the maximum, and the next link carries it", "[http][db]") {
    OgcServer server(add_packed_incidents);
    HttpClient client{server.port()};
    const std::int64_t total = count(server, "SELECT count(*) FROM incidents");
    REQUIRE(total > 10000);  // more than one page of the maximum
    const auto limit_of = [](const std::string& href) {
        const auto at = href.find("limit=");
        return at == std::string::npos ? std::string() : href.substr(at + 6, href.find('&', at) - at - 6);
    };
    for (const std::string limit : {"10001", "1000000", "99999999999999999999999"}) {
        INFO("limit=" << limit);
        const auto page = get_json(client, "/collections/incidents/items?limit=" + limit);
        CHECK(page["numberReturned"] == 10000);
        CHECK(page["features"].size() == 10000);
        const auto next = link(page, "next");
        REQUIRE(!next.empty());
        CHECK(limit_of(next) == "10000");
        const auto rest = get_json(client, path_of(next));
        CHECK(rest["numberReturned"] == total - 10000);
        CHECK(link(rest, "next").empty());
        CHECK(limit_of(link(rest, "prev")) == "10000");
    }
    for (const std::string limit : {"0", "-1", "abc", "", "1e3", "-99999999999999999999999"}) {
        INFO("limit=" << limit);
        const auto refused = get_json(client, "/collections/incidents/items?limit=" + limit, http::status::bad_request);
        CHECK(refused["message"].get<std::string>().find("limit") != std::string::npos);
    }
}
