// gzip on the fly over loopback, on the default dataset: every JSON, GeoJSON and CSV answer of a
// representative list, asked for with and without Accept-Encoding, is the same body, compressed
// when the client accepts gzip; a streamed page is compressed as it streams.

#include "http_client.hpp"
#include "ogc_fixture.hpp"
#include "http/compression.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <regex>
#include <set>
#include <string>
#include <vector>

using nlohmann::json;
using namespace sitmap::test;
using sitmap::server::gzip_decompress;
namespace http = boost::beast::http;

namespace {

HttpClient::Response get_with(HttpClient& client, const std::string& target, const std::string& accept_encoding,
                              const std::string& accept = "*/*") {
    if (accept_encoding.empty()) return client.request(http::verb::get, target, {{http::field::accept, accept}});
    return client.request(http::verb::get, target,
                          {{http::field::accept, accept}, {http::field::accept_encoding, accept_encoding}});
}

// Items pages carry the time they were made; two requests may fall in different seconds.
std::string without_timestamp(const std::string& body) {
    static const std::regex stamp(R"("timeStamp":"[^"]*")");
    return std::regex_replace(body, stamp, R"("timeStamp":"")");
}

struct Endpoint {
    std::string target;
    bool large;  // at least gzip_min_body_bytes: compressed when the client accepts gzip
    std::string accept = "*/*";
};

} // namespace

TEST_CASE("gzip: every JSON, GeoJSON and CSV answer is the same body, gzipped when accepted", "[http][db]") {
    OgcServer server;
    HttpClient client{server.port()};
    const auto first = get_json(client, "/collections/incidents/items?limit=1");
    const std::string one_id = first["features"][0]["id"];
    const std::vector<Endpoint> endpoints = {
        {"/", false, "application/json"},  // the landing page is under 1 KB
        {"/collections", true},
        {"/collections/incidents", true},
        {"/collections/incidents/queryables", true},
        {"/collections/incidents/items?limit=1000", true},
        {"/collections/incidents/items?limit=5000", true},  // streamed
        {"/collections/incidents/items/" + one_id, false},
        {"/collections/incidents/items?near_base=BASE-002&radius_km=50", true},
        {"/stats/incidents?group_by=cercle,type&f=csv", true},
        {"/stats/counts?by=cercle", true},
        {"/api", true},
        {"/tiles.json", true},
        {"/export/bases.geojson", true},  // streamed attachment
        {"/collections/incidents/items?limit=20&f=html", true},
    };
    for (const auto& endpoint : endpoints) {
        INFO(endpoint.target);
        const auto plain = get_with(client, endpoint.target, "", endpoint.accept);
        const auto zipped = get_with(client, endpoint.target, "gzip, deflate", endpoint.accept);
        REQUIRE(plain.result() == http::status::ok);
        REQUIRE(zipped.result() == http::status::ok);
        CHECK(plain.count(http::field::content_encoding) == 0);
        CHECK(plain[http::field::vary] == "Accept-Encoding");
        CHECK(zipped[http::field::vary] == "Accept-Encoding");
        CHECK(zipped[http::field::content_type] == plain[http::field::content_type]);
        CHECK((plain.body().size() >= sitmap::server::gzip_min_body_bytes) == endpoint.large);
        if (endpoint.large) {
            REQUIRE(zipped[http::field::content_encoding] == "gzip");
            CHECK(without_timestamp(gzip_decompress(zipped.body())) == without_timestamp(plain.body()));
            CHECK(zipped.body().size() < plain.body().size());
        } else {
            CHECK(zipped.count(http::field::content_encoding) == 0);
            CHECK(zipped.body() == plain.body());
        }
    }
}

TEST_CASE("gzip: a 1,000-incident page shrinks several times, and q=0 or identity get it as it is", "[http][db]") {
    OgcServer server;
    HttpClient client{server.port()};
    const std::string page = "/collections/incidents/items?limit=1000";
    const auto plain = get_with(client, page, "");
    const auto zipped = get_with(client, page, "gzip");
    INFO(plain.body().size() << " bytes, gzipped " << zipped.body().size());
    CHECK(zipped.body().size() * 5 < plain.body().size());
    CHECK(zipped[http::field::content_length] == std::to_string(zipped.body().size()));
    for (const std::string refused : {"gzip;q=0", "identity", "*;q=0", "br"}) {
        INFO(refused);
        const auto response = get_with(client, page, refused);
        CHECK(response.count(http::field::content_encoding) == 0);
        CHECK(without_timestamp(response.body()) == without_timestamp(plain.body()));
    }
}

TEST_CASE("gzip: a streamed page is compressed as it streams and holds every feature", "[http][db]") {
    OgcServer server;
    HttpClient client{server.port()};
    const auto response = get_with(client, "/collections/incidents/items?limit=5000", "gzip");
    REQUIRE(response.result() == http::status::ok);
    CHECK(response.chunked());
    CHECK(response.count(http::field::content_length) == 0);
    REQUIRE(response[http::field::content_encoding] == "gzip");
    const auto page = json::parse(gzip_decompress(response.body()));
    CHECK(page["type"] == "FeatureCollection");
    const auto incidents = count(server, "SELECT count(*) FROM incidents");
    CHECK(page["numberReturned"] == incidents);
    std::set<std::string> ids;
    for (const auto& feature : page["features"]) ids.insert(feature["id"].get<std::string>());
    CHECK(static_cast<std::int64_t>(ids.size()) == incidents);
    CHECK(response.body().size() * 5 < json(page).dump().size());
}

TEST_CASE("gzip: errors go out uncompressed, even long ones to a client that accepts gzip", "[http][db]") {
    OgcServer server;
    HttpClient client{server.port()};
    const std::string long_name(2000, 'x');  // the 400 names the unknown parameter
    const std::string long_error = "/collections/incidents/items?" + long_name + "=1";
    for (const std::string& target : {long_error, std::string("/collections/nowhere")}) {
        INFO(target);
        const auto response = get_with(client, target, "gzip");
        CHECK(response.result_int() / 100 == 4);
        CHECK(response.count(http::field::content_encoding) == 0);
        CHECK(json::parse(response.body()).contains("error"));
    }
    // Long enough that it would be compressed, were it not an error.
    CHECK(get_with(client, long_error, "").body().size() >= sitmap::server::gzip_min_body_bytes);
}
