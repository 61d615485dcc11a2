// The server under hostile input, over loopback against the real `sitmap serve`: malformed HTTP,
// oversized headers and bodies, bad parameters, SQL injection, path traversal, unknown methods.
// Never a 5xx, always a JSON error on 4xx, the server still answers afterwards and the database is
// unchanged. Also: /metrics, the access log (no query strings), slow clients, CORS, overload.

#include "geo/sqlite.hpp"
#include "layers/layer.hpp"
#include "http/listener.hpp"
#include "http/metrics.hpp"
#include "http/router.hpp"
#include "http_client.hpp"
#include "sitmap_process.hpp"
#include "write_fixture.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <vector>

using sitmap::test::HttpClient;
using sitmap::test::run_sitmap;
using sitmap::test::ServeProcess;
using sitmap::test::TempDir;
namespace http = boost::beast::http;
namespace net = boost::asio;

namespace {

/// What must not change, whatever a client sends: the tables, every row of every layer and of
/// the change log, and SQLite's own verdict.
struct Fingerprint {
    std::map<std::string, std::int64_t> rows;  // by table
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    std::string integrity;

    bool operator==(const Fingerprint& other) const { return rows == other.rows && hash == other.hash; }
};

void mix(std::uint64_t& hash, std::string_view bytes)
{
    for (const char c : bytes) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001b3ULL;
    }
    hash ^= 0xff;  // field separator
    hash *= 0x100000001b3ULL;
}

Fingerprint fingerprint(const std::string& path)
{
    auto db = sitmap::geo::Database::open(path, sitmap::geo::Database::Mode::read_only);
    Fingerprint print;
    auto schema = db.prepare("SELECT type, name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name");
    while (schema.step()) {
        for (int i = 0; i < 3; ++i) {
            mix(print.hash, schema.column_text(i));
        }
    }
    std::vector<std::string> tables{"sitmap_changes", "sitmap_audit"};
    for (const auto& layer : sitmap::layers::all_layers()) {
        tables.push_back(layer.name);
    }
    for (const auto& table : tables) {
        auto rows = db.prepare("SELECT * FROM " + table + " ORDER BY rowid");
        std::int64_t count = 0;
        while (rows.step()) {
            ++count;
            for (int i = 0; i < rows.column_count(); ++i) {
                mix(print.hash, rows.column_blob(i));
            }
        }
        print.rows[table] = count;
    }
    auto check = db.prepare("PRAGMA integrity_check");
    while (check.step()) {
        print.integrity += std::string(check.column_text(0));
    }
    return print;
}

/// A database with the default dataset, made by the real `sitmap demo`.
std::string demo_database(const TempDir& dir)
{
    const auto db = dir.file("map.sqlite");
    const auto demo = run_sitmap({"demo", "--db", db});
    INFO(demo.output);
    REQUIRE(demo.exit_code == 0);
    return db;
}

/// The real server on a demo database, with the database's fingerprint taken before.
struct HostileServer {
    TempDir dir;
    std::string db = demo_database(dir);
    std::string log = dir.file("server.log");
    Fingerprint before = fingerprint(db);
    ServeProcess server;

    /// The server's output (access log included) goes to `log`, in the test's directory.
    explicit HostileServer(std::vector<std::string> extra = {})
        : server(db, std::move(extra), log)
    {
        REQUIRE(before.integrity == "ok");
        REQUIRE(before.rows.at("incidents") > 0);
    }

    HttpClient client() const { return HttpClient(server.port()); }

    /// The server still answers, and the database is as it was.
    void check_unharmed() const
    {
        auto health = client().get("/healthz");
        CHECK(health.result() == http::status::ok);
        const auto after = fingerprint(db);
        CHECK(after.integrity == "ok");
        CHECK(after.rows == before.rows);
        CHECK(after.hash == before.hash);
    }
};

/// A 4xx (or `expected`) with a JSON body naming the error and explaining it.
void check_json_error(const HttpClient::Response& response, const std::string& what)
{
    INFO(what << " -> " << response.result_int() << " " << response.body().substr(0, 300));
    CHECK(response.result_int() >= 400);
    CHECK(response.result_int() < 500);
    CHECK(response[http::field::content_type] == "application/json");
    const auto body = nlohmann::json::parse(response.body(), nullptr, false);
    REQUIRE(body.is_object());
    CHECK(body.value("error", "").size() > 0);
    CHECK(body.value("message", "").size() > 0);
    // Never SQL text or a database's complaint.
    // (The client's own input may be quoted back; what it did not send may not.)
    for (const auto* leak : {"no such", "syntax error", "SQLITE_", "sqlite3_", "near \"", "constraint failed"}) {
        CHECK(response.body().find(leak) == std::string::npos);
    }
}

/// GET `target` on a fresh connection: never a 5xx; a 4xx has a JSON error body.
HttpClient::Response get_safely(const HostileServer& s, const std::string& target)
{
    auto response = s.client().get(target);
    INFO("GET " << target << " -> " << response.result_int() << " " << response.body().substr(0, 300));
    CHECK(response.result_int() < 500);
    if (response.result_int() >= 400) {
        check_json_error(response, "GET " + target);
    }
    return response;
}

/// GET `target` must be refused with a 4xx JSON error.
void expect_refused(const HostileServer& s, const std::string& target)
{
    auto response = s.client().get(target);
    check_json_error(response, "GET " + target);
}

/// Writes `bytes` on a fresh connection and reads the answer, which must be a 4xx JSON error.
HttpClient::Response raw_refused(const HostileServer& s, const std::string& bytes, const std::string& what)
{
    auto client = s.client();
    client.write_raw(bytes);
    auto response = client.read();
    check_json_error(response, what);
    return response;
}

const std::vector<std::string> injections = {
    "'%20OR%201=1--",
    "x'%20OR%20'1'='1",
    "ambush');DROP%20TABLE%20incidents;--",
    "1;DELETE%20FROM%20incidents",
    "%22;%20ATTACH%20DATABASE%20'/tmp/pwned.sqlite'%20AS%20p;--",
    "1)%20UNION%20SELECT%20sqlite_version(),2,3--",
    "%27%3B%20UPDATE%20bases%20SET%20name%3D%27x%27%3B--",
};

// Read by a browser page on its own origin, or by a "curl" with no Origin at all.
bool has_cors(const HttpClient::Response& response)
{
    return response.find(http::field::access_control_allow_origin) != response.end();
}

/// Prometheus text: "name{labels}" -> value, comments skipped.
std::map<std::string, double> parse_metrics(const std::string& text)
{
    std::map<std::string, double> series;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        const auto space = line.rfind(' ');
        REQUIRE(space != std::string::npos);
        series[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    return series;
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace

TEST_CASE("hostile input: malformed HTTP gets a JSON 4xx and the server carries on", "[http][db][slow]")
{
    HostileServer s;
    raw_refused(s, "GARBAGE\r\n\r\n", "garbage request line");
    raw_refused(s, "GET / HTTP/9.9\r\nHost: x\r\n\r\n", "unknown HTTP version");
    raw_refused(s, "GET /healthz HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", "header without colon");
    raw_refused(s, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", "negative length");
    raw_refused(s, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                "huge length");
    raw_refused(s, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
                "two lengths");
    raw_refused(s, "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n\r\n",
                "bad chunk size");
    raw_refused(s, std::string("GET /\0x HTTP/1.1\r\nHost: x\r\n\r\n", 27), "NUL in the target");
    raw_refused(s, "GET http://evil.example/healthz HTTP/1.1\r\nHost: x\r\n\r\n", "absolute-form target");
    raw_refused(s, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", "asterisk-form target");
    raw_refused(s, "GET /healthz HTTP/1.1\r\nHost: x\r\n\x01\x02\x03: y\r\n\r\n", "control bytes in a field name");

    // Oversized: a header field longer than the header limit, too many fields, a body too large.
    auto big = raw_refused(s, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n",
                           "header too large");
    CHECK(big.result() == http::status::request_header_fields_too_large);
    std::string many = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 3000; ++i) {
        many += "X-" + std::to_string(i) + ": v\r\n";
    }
    CHECK(raw_refused(s, many + "\r\n", "too many fields").result() == http::status::request_header_fields_too_large);
    auto body = raw_refused(s,
                            "POST /collections/incidents/items HTTP/1.1\r\nHost: x\r\nContent-Type: "
                            "application/geo+json\r\nContent-Length: 50000000\r\n\r\n{\"type\":",
                            "body too large");
    CHECK(body.result() == http::status::payload_too_large);

    // A bad request after a good one on the same connection: the good one is answered first.
    {
        auto client = s.client();
        client.write_raw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n");
        CHECK(client.read().result() == http::status::ok);
        check_json_error(client.read(), "garbage after a good request");
        const auto closed = client.wait_for_close();
        CHECK((closed == http::error::end_of_stream || closed == net::error::connection_reset ||
               closed == net::error::eof));
    }
    s.check_unharmed();
}

TEST_CASE("hostile input: unknown methods, HEAD and OPTIONS", "[http][db]")
{
    HostileServer s;
    for (const std::string method : {"PROPFIND", "TRACE", "DELETE", "BREW", "CONNECT"}) {
        auto client = s.client();
        client.write_raw(method + " /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        const auto response = client.read();
        INFO(method);
        check_json_error(response, method);
        CHECK(response.result() == http::status::method_not_allowed);
        CHECK(std::string(response[http::field::allow]).find("GET") != std::string::npos);
    }
    check_json_error(s.client().request(http::verb::propfind, "/"), "PROPFIND /");
    check_json_error(s.client().request(http::verb::trace, "/collections/incidents/items"), "TRACE items");

    auto head = s.client().request(http::verb::head, "/collections/incidents/items?limit=3");
    CHECK(head.result() == http::status::ok);
    CHECK(head.body().empty());
    auto options = s.client().request(http::verb::options, "/collections/incidents/items");
    CHECK(options.result() == http::status::no_content);
    CHECK(std::string(options[http::field::allow]).find("GET") != std::string::npos);
    CHECK_FALSE(has_cors(options));  // CORS is off unless asked for
    s.check_unharmed();
}

TEST_CASE("hostile input: bad tile coordinates and layers are refused with 400 or 404", "[http][db]")
{
    HostileServer s;
    for (const std::string zxy :
         {"99/0/0", "-1/0/0", "0/-1/0", "0/0/-1", "3/8/0", "3/0/8", "24/16777216/0", "99999999999999999999/0/0",
          "0/99999999999999999999/0", "abc/0/0", "1.5/0/0", "0x1/0/0", "%2B1/0/0", "1e3/0/0", "%20/0/0", "0/0/0%00"}) {
        expect_refused(s, "/tiles/incidents/" + zxy + ".mvt");
        expect_refused(s, "/tiles/" + zxy + ".mvt");
    }
    expect_refused(s, "/tiles/nosuch/0/0/0.mvt");
    expect_refused(s, "/tiles/nosuch.json");
    expect_refused(s, "/tiles/incidents/0/0/0.mvt?type=nosuch");
    expect_refused(s, "/tiles/incidents/0/0/0.mvt?from=yesterday");
    expect_refused(s, "/tiles/incidents/0/0/0.mvt?cluster=maybe");
    // The corner tile of the deepest zoom served is served (empty), not refused.
    CHECK(get_safely(s, "/tiles/incidents/16/65535/65535.mvt").result_int() < 300);
    s.check_unharmed();
}

TEST_CASE("hostile input: bad bbox, datetime and limit on items are refused", "[http][db]")
{
    HostileServer s;
    const std::string items = "/collections/incidents/items?";
    for (const std::string bbox : {"1,2,3", "1,2,3,4,5", "0,200,1,201", "-200,0,1,1", "nan,0,1,1", "0,0,inf,1",
                                    "a,b,c,d", "1e400,0,1,1", "10,10,0,0", "1,,2,3", ",,,", "%00,0,1,1"}) {
        expect_refused(s, items + "bbox=" + bbox);
    }
    for (const std::string datetime :
         {"yesterday", "2024-13-45", "2024-02-30", "2024-01-01/2023-01-01", "2024-01-01/x/y",
          "99999-01-01", "2024-01-01T25:00:00Z"}) {
        expect_refused(s, items + "datetime=" + datetime);
    }
    get_safely(s, items + "datetime=../..");  // open at both ends: everything, or refused
    get_safely(s, items + "datetime=/");
    for (const std::string from : {"notadate", "2024-02-30", "9999999999", "-1"}) {
        expect_refused(s, items + "from=" + from);
        expect_refused(s, items + "to=" + from);
    }
    for (const std::string limit : {"-1", "1000000000000", "abc", "1e3", "", "99999999999999999999999"}) {
        auto response = get_safely(s, items + "limit=" + limit);
        // A huge limit may be clamped (OGC API allows it) but must never return everything at once.
        if (response.result() == http::status::ok) {
            const auto body = nlohmann::json::parse(response.body());
            CHECK(body["features"].size() <= 10000);
        }
    }
    for (const std::string offset : {"-5", "abc", "99999999999999999999999"}) {
        get_safely(s, items + "offset=" + offset);
    }
    expect_refused(s, "/collections/nosuch/items");
    expect_refused(s, "/collections/nosuch");
    expect_refused(s, "/collections/incidents/items/no-such-id");
    expect_refused(s, "/export/nosuch.geojson");
    expect_refused(s, items + "f=exe");
    expect_refused(s, items + "filter=type%20%3D");
    s.check_unharmed();
}

TEST_CASE("hostile input: SQL injection in every parameter and path capture changes nothing", "[http][db][slow]")
{
    HostileServer s;
    const std::vector<std::string> endpoints = {
        "/collections/incidents/items", "/collections/bases/items", "/tiles/incidents/5/15/14.mvt",
        "/stats/incidents",             "/stats/counts",           "/stats/coverage",
        "/export/incidents.geojson",
    };
    const std::vector<std::string> parameters = {"bbox",  "datetime", "from",   "to",          "type",
                                                 "target", "limit",   "offset", "f",           "filter",
                                                 "filter-lang", "sortby", "properties", "nearest_base", "cluster",
                                                 "group_by", "by", "radius_km", "within", "name"};
    for (const auto& endpoint : endpoints) {
        for (const auto& parameter : parameters) {
            for (const auto& injection : injections) {
                get_safely(s, endpoint + "?" + parameter + "=" + injection);
            }
        }
    }
    // An injected type or id must not match anything.
    for (const auto& injection : injections) {
        for (const auto* parameter : {"type", "target", "id"}) {
            auto response = get_safely(s, "/collections/incidents/items?" + std::string(parameter) + "=" + injection);
            if (response.result() == http::status::ok) {
                CHECK(nlohmann::json::parse(response.body())["features"].empty());
            }
        }
        expect_refused(s, "/collections/" + injection + "/items");
        expect_refused(s, "/collections/incidents" + injection + "/items");
        expect_refused(s, "/collections/" + injection);
        expect_refused(s, "/collections/incidents/items/" + injection);
        expect_refused(s, "/collections/bases/items/" + injection + "?nearest_base=true");
        expect_refused(s, "/tiles/" + injection + "/0/0/0.mvt");
        expect_refused(s, "/tiles/incidents/" + injection + "/0/0.mvt");
        expect_refused(s, "/routes/" + injection + "/profile");
        expect_refused(s, "/export/" + injection + ".geojson");
    }
    s.check_unharmed();
}

TEST_CASE("hostile input: invalid, huge and injected GeoJSON writes are refused and change nothing", "[http][db]")
{
    HostileServer s;
    const auto editor = sitmap::test::make_token(s.db, "editor", "hostile");
    const auto port = s.server.port();
    auto refused = [&](http::verb method, const std::string& target, const std::string& body,
                       const std::string& type = "application/geo+json") {
        auto response = sitmap::test::send(port, method, target, editor, body, type);
        check_json_error(response, std::string(http::to_string(method)) + " " + target + " " + body.substr(0, 80));
        return response.result_int();
    };
    const std::string items = "/collections/incidents/items";
    auto incident = sitmap::test::new_incident("H-1");
    auto with = [&](const std::string& pointer, const nlohmann::json& value) {
        auto f = incident;
        f[nlohmann::json::json_pointer(pointer)] = value;
        return f.dump();
    };
    for (const std::string& body :
         {std::string(), std::string("{"), std::string("null"), std::string("[]"), std::string("\"Feature\""),
          std::string(200000, '['), std::string(R"({"type":"Feature","geometry":{"type":"Point","coordinates":[NaN,16]}})"),
          std::string(R"({"type":"Feature","geometry":{"type":"Point","coordinates":[1e999,16]},"properties":{}})"),
          with("/geometry/type", "Polygon"), with("/geometry/coordinates", {-0.04}),
          with("/geometry/coordinates", {-0.04, 16.27, 1, 2}), with("/geometry/coordinates", {"-0.04", "16.27"}),
          with("/geometry/coordinates", {120.0, 16.27}), with("/geometry", nullptr), with("/id", {{"$ne", 1}}),
          with("/id", std::string("a\nb")), with("/properties/fatalities", 1e300), with("/properties/fatalities", -3),
          with("/properties/occurred_at", "2024-02-30"), with("/properties/description", std::string(100000, 'x')),
          with("/properties", nlohmann::json::array())}) {
        CHECK(refused(http::verb::post, items, body) == 400);
    }
    for (const auto& injection : injections) {
        CHECK(refused(http::verb::post, items, with("/properties/type", injection)) == 400);
        CHECK(refused(http::verb::post, items, with("/properties/target", injection)) == 400);
        CHECK(refused(http::verb::post, items, with("/properties/occurred_at", injection)) == 400);
        CHECK(refused(http::verb::post, items, with("/properties/status", injection)) == 400);
        CHECK(refused(http::verb::delete_, items + "/" + injection, "") == 404);
        CHECK(refused(http::verb::patch, items + "/" + injection, R"({"properties":{"fatalities":1}})",
                      "application/merge-patch+json") == 404);
        CHECK(refused(http::verb::post, "/collections/" + injection + "/items", incident.dump()) >= 400);
    }
    // A huge route: more positions than a feature may have.
    nlohmann::json route = {{"type", "Feature"}, {"properties", {{"name", "long"}}},
                            {"geometry", {{"type", "LineString"}, {"coordinates", nlohmann::json::array()}}}};
    for (int i = 0; i < 100010; ++i) route["geometry"]["coordinates"].push_back({-1, 15});
    CHECK(refused(http::verb::post, "/collections/routes/items", route.dump()) == 400);
    CHECK(refused(http::verb::post, items, incident.dump(), "text/csv") == 415);
    CHECK(refused(http::verb::post, items, incident.dump(), "") == 415);
    CHECK(refused(http::verb::patch, items + "/x", "[1,2]", "application/merge-patch+json") == 400);
    CHECK(refused(http::verb::propfind, items + "/x", "") == 405);
    CHECK(refused(http::verb::post, "/collections/regions/items", incident.dump()) == 405);
    CHECK(refused(http::verb::put, "/collections/cercles/items/x", incident.dump()) == 405);
    CHECK(sitmap::test::send(port, http::verb::post, items, "", incident.dump()).result() == http::status::unauthorized);
    s.check_unharmed();
}

TEST_CASE("hostile input: no static path escapes web/", "[http][db]")
{
    HostileServer s;
    for (const std::string path :
         {"/../../../../etc/passwd", "/..%2f..%2f..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
          "/%2E%2E%2F%2E%2E%2FCMakeLists.txt", "/%252e%252e/%252e%252e/CMakeLists.txt", "/..%252f..%252fCMakeLists.txt",
          "/index.html%00.png", "/%00", "/..\\..\\CMakeLists.txt", "/%5c..%5c..%5cCMakeLists.txt",
          "/vendor/maplibre-gl/..%2f..%2f..%2fpackage.json", "/vendor/maplibre-gl/%2e%2e/%2e%2e/%2e%2e/package.json",
          "/.git/config", "/%2egit/config", "/fonts/..%2f..%2fCMakeLists.txt", "/%c0%ae%c0%ae/CMakeLists.txt",
          "/./../CMakeLists.txt", "/%", "/%zz", "//etc/passwd"}) {
        auto response = s.client().get(path);
        INFO(path << " -> " << response.result_int());
        check_json_error(response, "GET " + path);
        CHECK(response.body().find("root:") == std::string::npos);
        CHECK(response.body().find("cmake_minimum_required") == std::string::npos);
    }
    CHECK(s.client().get("/").result() == http::status::ok);  // the map itself is still served
    s.check_unharmed();
}

TEST_CASE("metrics: requests counted by route pattern and status, latency histogram cumulative", "[http][db]")
{
    HostileServer s;
    auto before = parse_metrics(s.client().get("/metrics").body());
    const std::string healthz = R"(sitmap_http_requests_total{method="GET",route="/healthz",status="200"})";
    const std::string items = R"(sitmap_http_requests_total{method="GET",route="/collections/{layer}/items",status="200"})";
    for (int i = 0; i < 3; ++i) {
        CHECK(s.client().get("/healthz").result() == http::status::ok);
    }
    CHECK(s.client().get("/collections/incidents/items?limit=2&filter=id%3D%27SECRET-TOKEN-42%27").result() ==
          http::status::ok);
    CHECK(s.client().get("/collections/incidents/items?bbox=SECRET-TOKEN-42").result() == http::status::bad_request);
    CHECK(s.client().get("/tiles/incidents/4/7/7.mvt").result_int() < 300);
    CHECK(s.client().get("/tiles/incidents/4/7/7.mvt").result_int() < 300);
    CHECK(s.client().get("/nosuch-SECRET-TOKEN-42").result() == http::status::not_found);

    // A request is counted once its response is written, which may be a moment after the client
    // has read it (and, each request on a connection of its own, after later ones): wait for each.
    const std::string last = R"~(sitmap_http_requests_total{method="GET",route="(static)",status="404"})~";
    const std::string refused = R"(sitmap_http_requests_total{method="GET",route="/collections/{layer}/items",status="400"})";
    const std::array<std::string, 3> awaited{items, refused, last};
    const auto counted = [&](const std::string& text) {
        return std::all_of(awaited.begin(), awaited.end(),
                           [&](const std::string& key) { return text.find(key) != std::string::npos; });
    };
    auto response = s.client().get("/metrics");
    for (int i = 0; i < 100 && !counted(response.body()); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        response = s.client().get("/metrics");
    }
    CHECK(response.result() == http::status::ok);
    CHECK(std::string(response[http::field::content_type]).rfind("text/plain; version=0.0.4", 0) == 0);
    const auto& text = response.body();
    INFO(text);
    CHECK(text.find("SECRET") == std::string::npos);
    CHECK(text.find("/collections/incidents") == std::string::npos);  // patterns only, never paths
    CHECK(text.find('?') == std::string::npos);
    CHECK(text.find("# TYPE sitmap_http_requests_total counter") != std::string::npos);
    CHECK(text.find("# TYPE sitmap_http_request_duration_seconds histogram") != std::string::npos);

    const auto after = parse_metrics(text);
    CHECK(after.at(healthz) - (before.count(healthz) ? before.at(healthz) : 0) >= 3);
    CHECK(after.at(items) >= 1);
    CHECK(after.count(refused));
    CHECK(after.count(last));
    CHECK(after.at("sitmap_tile_cache_hits_total") >= 1);
    CHECK(after.at("sitmap_tile_cache_misses_total") >= 1);
    // The gauges: the tile served twice is held; the process's memory and SQLite's are read.
    CHECK(text.find("# TYPE sitmap_tile_cache_bytes gauge") != std::string::npos);
    CHECK(after.at("sitmap_tile_cache_entries") >= 1);
    CHECK(after.at("sitmap_tile_cache_bytes") > after.at("sitmap_tile_cache_entries"));
    CHECK(text.find("# TYPE process_resident_memory_bytes gauge") != std::string::npos);
    CHECK(after.at("process_resident_memory_bytes") > 4 << 20);
    CHECK(after.at("process_resident_anonymous_bytes") > 0);
    CHECK(after.at("process_resident_anonymous_bytes") < after.at("process_resident_memory_bytes"));
    CHECK(after.at("sitmap_sqlite_memory_bytes") > 0);

    // Every histogram: buckets never decrease, +Inf equals _count.
    int histograms = 0;
    for (const auto& [series, value] : after) {
        const auto inf = series.find(",le=\"+Inf\"}");
        if (inf == std::string::npos && series.find("{le=\"+Inf\"}") == std::string::npos) {
            continue;
        }
        ++histograms;
        const auto name_end = series.find("_bucket{");
        const auto labels = series.substr(name_end + 8, inf == std::string::npos ? 0 : inf - name_end - 8);
        const auto name = series.substr(0, name_end);
        const auto count_key = name + "_count" + (labels.empty() ? "" : "{" + labels + "}");
        REQUIRE(after.count(count_key));
        CHECK(after.at(count_key) == value);
        // The text lists the buckets in the order of their bounds.
        std::istringstream in(text);
        std::string line;
        double previous = 0;
        const auto prefix = name + "_bucket{" + labels + (labels.empty() ? "le=" : ",le=");
        while (std::getline(in, line)) {
            if (line.rfind(prefix, 0) == 0) {
                const double bucket = std::stod(line.substr(line.rfind(' ') + 1));
                CHECK(bucket >= previous);
                previous = bucket;
            }
        }
        CHECK(previous == value);
    }
    CHECK(histograms >= 3);  // /metrics, /healthz, items, tiles...
}

TEST_CASE("metrics: the registry refuses malformed names and counts from many threads", "[http]")
{
    namespace metrics = sitmap::server::metrics;
    CHECK_THROWS_AS(metrics::counter("bad name"), std::invalid_argument);
    CHECK_THROWS_AS(metrics::counter("ok_total", {{"bad-label", "x"}}), std::invalid_argument);
    metrics::histogram("test_histogram_seconds");
    CHECK_THROWS_AS(metrics::counter("test_histogram_seconds"), std::invalid_argument);

    auto& counter = metrics::counter("test_threads_total", {{"kind", "a\"b\\c\nd"}});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([] {
            for (int i = 0; i < 10000; ++i) {
                sitmap::server::metrics::counter("test_threads_total", {{"kind", "a\"b\\c\nd"}}).inc();
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    CHECK(counter.value() == 40000);
    CHECK(metrics::render().find(R"(test_threads_total{kind="a\"b\\c\nd"} 40000)") != std::string::npos);

    auto& gauge = metrics::gauge("test_held_bytes");
    gauge.add(10);
    gauge.add(-3);
    CHECK(gauge.value() == 7);
    CHECK_THROWS_AS(metrics::gauge("test_threads_total"), std::invalid_argument);  // a counter already
    CHECK_THROWS_AS(metrics::counter("test_held_bytes"), std::invalid_argument);
    const auto text = metrics::render();
    CHECK(text.find("# TYPE test_held_bytes gauge\ntest_held_bytes 7\n") != std::string::npos);
    gauge.set(-2);
    CHECK(metrics::render().find("\ntest_held_bytes -2\n") != std::string::npos);
}

TEST_CASE("access log: one line per request, never a query string", "[http][db]")
{
    std::string text;
    {
        HostileServer s;
        CHECK(s.client().get("/collections/incidents/items?limit=1&filter=id%3D%27SECRET-TOKEN-42%27").result() ==
              http::status::ok);
        CHECK(s.client().get("/collections/incidents/items?token=SECRET-TOKEN-42").result() ==
              http::status::bad_request);
        CHECK(s.client().get("/collections/incidents/items?bbox=SECRET-TOKEN-42").result() ==
              http::status::bad_request);
        CHECK(s.client().get("/nosuch?api_key=SECRET-TOKEN-42").result() == http::status::not_found);
        auto client = s.client();
        client.write_raw("GARBAGE /x?token=SECRET-TOKEN-42 HTTP/1.1\r\nHost: x\r\n\r\n");
        client.read();
        CHECK(s.server.stop() == 0);
        text = read_file(s.log);
    }
    INFO(text);
    CHECK(text.find("GET /collections/incidents/items 200") != std::string::npos);
    CHECK(text.find("GET /collections/incidents/items 400") != std::string::npos);
    CHECK(text.find("GET /nosuch 404") != std::string::npos);
    CHECK(text.find("SECRET") == std::string::npos);
    CHECK(text.find("token") == std::string::npos);
}

TEST_CASE("slow clients: a slowloris and an idle connection are cut off at the read deadline", "[http][db][slow]")
{
    HostileServer s({"--read-timeout", "2"});
    net::io_context io;
    const net::ip::tcp::endpoint endpoint{net::ip::make_address("127.0.0.1"), s.server.port()};
    net::ip::tcp::socket slow(io), idle(io);
    slow.connect(endpoint);
    idle.connect(endpoint);
    const auto closed = [](net::ip::tcp::socket& socket) {
        char byte = 0;
        const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    };

    const std::string request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + std::string(100, 'a');
    const auto started = std::chrono::steady_clock::now();
    std::optional<double> slow_closed_after, idle_closed_after;
    for (std::size_t i = 0; i < request.size() && !slow_closed_after; ++i) {
        boost::system::error_code ec;
        net::write(slow, net::buffer(&request[i], 1), ec);
        // Another client is served at once meanwhile.
        const auto t0 = std::chrono::steady_clock::now();
        CHECK(s.client().get("/healthz").result() == http::status::ok);
        CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(500));
        std::this_thread::sleep_for(std::chrono::seconds(1));
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        if (ec || closed(slow)) {
            slow_closed_after = elapsed;
        }
        if (!idle_closed_after && closed(idle)) {
            idle_closed_after = elapsed;
        }
        if (elapsed > 10) {
            break;
        }
    }
    REQUIRE(slow_closed_after);
    REQUIRE(idle_closed_after);
    CHECK(*slow_closed_after >= 1.5);
    CHECK(*slow_closed_after < 4);
    CHECK(*idle_closed_after >= 1.5);
    CHECK(*idle_closed_after < 4);
    const auto counted = parse_metrics(s.client().get("/metrics").body());
    CHECK(counted.at("sitmap_http_read_timeouts_total") >= 2);
    s.check_unharmed();
}

TEST_CASE("CORS: off by default, only the listed origins when configured", "[http][db]")
{
    HostileServer s({"--cors-origin", "https://map.example.org", "--cors-origin", "http://localhost:3000"});
    const auto get = [&](const std::string& target, const std::string& origin) {
        return s.client().request(http::verb::get, target, {{http::field::origin, origin}});
    };
    auto allowed = get("/collections/incidents/items?limit=1", "https://map.example.org");
    CHECK(allowed.result() == http::status::ok);
    CHECK(allowed[http::field::access_control_allow_origin] == "https://map.example.org");
    CHECK(std::string(allowed[http::field::vary]).find("Origin") != std::string::npos);
    CHECK(get("/healthz", "http://localhost:3000")[http::field::access_control_allow_origin] ==
          "http://localhost:3000");
    CHECK_FALSE(has_cors(get("/healthz", "https://evil.example")));
    CHECK_FALSE(has_cors(get("/healthz", "https://map.example.org.evil.example")));
    CHECK_FALSE(has_cors(get("/healthz", "null")));
    // Errors carry the header too, so the page can read why.
    CHECK(has_cors(get("/collections/nosuch/items", "https://map.example.org")));

    auto preflight = s.client().request(http::verb::options, "/collections/incidents/items",
                                        {{http::field::origin, "https://map.example.org"},
                                         {http::field::access_control_request_method, "GET"}});
    CHECK(preflight.result() == http::status::no_content);
    CHECK(preflight[http::field::access_control_allow_origin] == "https://map.example.org");
    CHECK(std::string(preflight[http::field::access_control_allow_methods]).find("GET") != std::string::npos);

    HostileServer plain;
    CHECK_FALSE(has_cors(plain.client().request(http::verb::get, "/healthz",
                                                {{http::field::origin, "https://map.example.org"}})));

    const auto bad = run_sitmap({"serve", "--db", s.db, "--port", "0", "--cors-origin", "map.example.org"});
    CHECK(bad.exit_code == 2);
    CHECK(bad.output.find("map.example.org") != std::string::npos);
}

TEST_CASE("overload: beyond the requests in progress allowed, 503 with Retry-After and a JSON body", "[http]")
{
    using namespace sitmap::server;
    spdlog::set_level(spdlog::level::warn);
    std::promise<void> entered;
    std::promise<void> release;
    auto released = release.get_future().share();
    std::atomic<bool> first{true};
    Router router;
    router.get("/slow", [&](const RouteContext&) -> Response {
        if (first.exchange(false)) {
            entered.set_value();
            released.wait();
        }
        return make_response(http::status::ok, "done", "text/plain");
    });
    router.get("/fast", [](const RouteContext&) -> Response {
        return make_response(http::status::ok, "fast", "text/plain");
    });
    ServerOptions options;
    options.handle_signals = false;
    options.limits.max_requests = 1;
    Server server(router, "127.0.0.1", 0, 2, options);
    auto running = std::async(std::launch::async, [&] { server.run(); });

    auto slow = std::async(std::launch::async, [&] { return HttpClient(server.port()).get("/slow"); });
    REQUIRE(entered.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready);

    auto busy = HttpClient(server.port()).get("/fast");
    CHECK(busy.result() == http::status::service_unavailable);
    CHECK(busy[http::field::retry_after] == "1");
    CHECK(busy[http::field::content_type] == "application/json");
    const auto reason = nlohmann::json::parse(busy.body());
    CHECK(reason["error"] == "overloaded");
    CHECK(reason["message"].get<std::string>().size() > 0);

    release.set_value();
    CHECK(slow.get().body() == "done");
    // The place is given back once the response is written, which may be a moment after the
    // client has read it.
    auto status = http::status::service_unavailable;
    for (int i = 0; i < 100 && status == http::status::service_unavailable; ++i) {
        status = HttpClient(server.port()).get("/fast").result();
        if (status == http::status::service_unavailable) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    CHECK(status == http::status::ok);
    server.stop();
    running.get();
}
