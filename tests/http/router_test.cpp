#include "http/router.hpp"

#include "geo/error.hpp"
#include "http/json_error.hpp"
#include "http/query.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

using namespace sitmap::server;

namespace {

Request make_request(http::verb method, std::string_view target, unsigned version = 11)
{
    Request request{method, beast::string_view{target.data(), target.size()}, version};
    request.set(http::field::host, "localhost");
    return request;
}

StringResponse as_string(Response response)
{
    REQUIRE(std::holds_alternative<StringResponse>(response));
    return std::get<StringResponse>(std::move(response));
}

StringResponse call(const Router& router, http::verb method, std::string_view target)
{
    return as_string(router.handle(make_request(method, target)));
}

nlohmann::json body_json(const StringResponse& response)
{
    CHECK(response[http::field::content_type] == "application/json");
    return nlohmann::json::parse(response.body());
}

// Echoes the captures and the query, so tests can see what the router passed on.
Response echo(const RouteContext& context)
{
    nlohmann::json body = nlohmann::json::object();
    for (const auto& [name, value] : context.params) {
        body["params"][name] = value;
    }
    for (const auto& [key, value] : context.query.items()) {
        body["query"][key].push_back(value);
    }
    return json_response(http::status::ok, body);
}

Router tile_router()
{
    Router router;
    router.get("/tiles/{z}/{x}/{y}.mvt", echo);
    router.get("/tiles/{layer}/{z}/{x}/{y}.mvt", echo);
    router.get("/tiles.json", echo);
    router.get("/collections/{id}/items", echo);
    router.get("/fonts/{stack}/{start}-{end}.pbf", echo);
    router.get("/", echo);
    return router;
}

} // namespace

TEST_CASE("router: captures segments and a capture followed by a suffix", "[http]")
{
    const auto router = tile_router();

    auto response = call(router, http::verb::get, "/tiles/bases/7/63/60.mvt");
    REQUIRE(response.result() == http::status::ok);
    auto body = body_json(response);
    CHECK(body["params"]["layer"] == "bases");
    CHECK(body["params"]["z"] == "7");
    CHECK(body["params"]["x"] == "63");
    CHECK(body["params"]["y"] == "60");

    body = body_json(call(router, http::verb::get, "/tiles/7/63/60.mvt"));
    CHECK(body["params"].size() == 3);
    CHECK(body["params"]["y"] == "60");

    body = body_json(call(router, http::verb::get, "/collections/incidents/items?bbox=-5,10,5,20&limit=3"));
    CHECK(body["params"]["id"] == "incidents");
    CHECK(body["query"]["bbox"][0] == "-5,10,5,20");
    CHECK(body["query"]["limit"][0] == "3");
}

TEST_CASE("router: two captures in one segment split at the literal between them", "[http]")
{
    const auto router = tile_router();
    const auto body = body_json(call(router, http::verb::get, "/fonts/Noto%20Sans%20Regular/256-511.pbf"));
    CHECK(body["params"]["stack"] == "Noto Sans Regular");
    CHECK(body["params"]["start"] == "256");
    CHECK(body["params"]["end"] == "511");
}

TEST_CASE("router: a capture never matches an empty string or a missing suffix", "[http]")
{
    const auto router = tile_router();
    CHECK(call(router, http::verb::get, "/tiles/7/63/.mvt").result() == http::status::not_found);
    CHECK(call(router, http::verb::get, "/tiles/7/63/60.png").result() == http::status::not_found);
    CHECK(call(router, http::verb::get, "/tiles/7/63/60").result() == http::status::not_found);
    CHECK(call(router, http::verb::get, "/tiles/7/63/60.mvt/").result() == http::status::not_found);
    CHECK(call(router, http::verb::get, "/collections//items").result() == http::status::not_found);
}

TEST_CASE("router: the literal route wins over a capture", "[http]")
{
    Router router;
    router.get("/collections/{id}", [](const RouteContext& c) {
        return Response{make_response(http::status::ok, "capture:" + c.param("id"), "text/plain")};
    });
    router.get("/collections/all", [](const RouteContext&) {
        return Response{make_response(http::status::ok, "literal", "text/plain")};
    });
    CHECK(call(router, http::verb::get, "/collections/all").body() == "literal");
    CHECK(call(router, http::verb::get, "/collections/bases").body() == "capture:bases");
}

TEST_CASE("router: unknown path gives a JSON 404", "[http]")
{
    const auto router = tile_router();
    const auto response = call(router, http::verb::get, "/nothing/here");
    CHECK(response.result() == http::status::not_found);
    const auto body = body_json(response);
    CHECK(body["error"] == "not_found");
    CHECK(body["message"].get<std::string>().find("/nothing/here") != std::string::npos);
}

TEST_CASE("router: wrong method gives 405 with an Allow header", "[http]")
{
    auto router = tile_router();
    router.post("/collections/{id}/items", echo);
    auto response = call(router, http::verb::delete_, "/collections/bases/items");
    CHECK(response.result() == http::status::method_not_allowed);
    CHECK(response[http::field::allow] == "GET, HEAD, OPTIONS, POST");
    CHECK(body_json(response)["error"] == "method_not_allowed");

    response = call(router, http::verb::post, "/tiles.json");
    CHECK(response.result() == http::status::method_not_allowed);
    CHECK(response[http::field::allow] == "GET, HEAD, OPTIONS");

    // The POST route itself is reachable.
    CHECK(call(router, http::verb::post, "/collections/bases/items").result() == http::status::ok);
}

TEST_CASE("router: OPTIONS answers 204 with Allow, and CORS headers only for listed origins", "[http]")
{
    auto router = tile_router();
    auto response = call(router, http::verb::options, "/tiles.json");
    CHECK(response.result() == http::status::no_content);
    CHECK(response[http::field::allow] == "GET, HEAD, OPTIONS");
    CHECK(response.find(http::field::access_control_allow_origin) == response.end());
    CHECK(call(router, http::verb::options, "/nothing/here").result() == http::status::not_found);

    std::string route;
    router.handle(make_request(http::verb::get, "/tiles.json?secret=1"), &route);
    CHECK(route == "/tiles.json");
    router.handle(make_request(http::verb::get, "/nothing/here"), &route);
    CHECK(route == "(none)");

    CHECK_THROWS_AS(router.set_cors_origins({"map.example.org"}), sitmap::input_error);
    CHECK_THROWS_AS(router.set_cors_origins({"https://map.example.org/path"}), sitmap::input_error);
    router.set_cors_origins({"https://map.example.org"});
    auto request = make_request(http::verb::options, "/tiles.json");
    request.set(http::field::origin, "https://map.example.org");
    request.set(http::field::access_control_request_method, "GET");
    response = as_string(router.handle(request));
    CHECK(response[http::field::access_control_allow_origin] == "https://map.example.org");
    CHECK(response[http::field::access_control_allow_methods] == "GET, HEAD, OPTIONS");
    CHECK(response[http::field::vary] == "Origin");
    request.set(http::field::origin, "https://other.example.org");
    response = as_string(router.handle(request));
    CHECK(response.find(http::field::access_control_allow_origin) == response.end());
}

TEST_CASE("router: HEAD is answered by the GET route without a body", "[http]")
{
    Router router;
    int calls = 0;
    router.get("/thing", [&](const RouteContext&) {
        ++calls;
        return Response{make_response(http::status::ok, "twelve bytes", "text/plain")};
    });
    const auto get = call(router, http::verb::get, "/thing");
    const auto head = call(router, http::verb::head, "/thing");
    CHECK(calls == 2);
    CHECK(get.body() == "twelve bytes");
    CHECK(head.result() == http::status::ok);
    CHECK(head.body().empty());
    CHECK(head[http::field::content_length] == "12");
    CHECK(head[http::field::content_type] == "text/plain");
}

TEST_CASE("router: exceptions map to 400, 404 and a generic 500", "[http]")
{
    Router router;
    router.get("/bad", [](const RouteContext&) -> Response { throw sitmap::input_error("z must be 0..22, got 99"); });
    router.get("/missing", [](const RouteContext&) -> Response { throw sitmap::not_found_error("no layer 'x'"); });
    router.get("/internal", [](const RouteContext&) -> Response {
        throw sitmap::internal_error("SELECT secret FROM t: database is locked");
    });
    router.get("/std", [](const RouteContext&) -> Response { throw std::runtime_error("vector::_M_range_check"); });
    router.get("/int", [](const RouteContext&) -> Response { throw 42; });
    router.get("/param", [](const RouteContext& c) -> Response {
        return make_response(http::status::ok, c.param("nope"), "text/plain");
    });

    auto response = call(router, http::verb::get, "/bad");
    CHECK(response.result() == http::status::bad_request);
    auto body = body_json(response);
    CHECK(body["error"] == "bad_request");
    CHECK(body["message"] == "z must be 0..22, got 99");

    response = call(router, http::verb::get, "/missing");
    CHECK(response.result() == http::status::not_found);
    CHECK(body_json(response)["message"] == "no layer 'x'");

    for (const auto* target : {"/internal", "/std", "/int", "/param"}) {
        INFO(target);
        response = call(router, http::verb::get, target);
        CHECK(response.result() == http::status::internal_server_error);
        body = body_json(response);
        CHECK(body["error"] == "internal_error");
        CHECK(response.body().find("SELECT") == std::string::npos);
        CHECK(response.body().find("locked") == std::string::npos);
        CHECK(response.body().find("range_check") == std::string::npos);
    }
}

TEST_CASE("router: a malformed capture or query is a 400, not a handler call", "[http]")
{
    Router router;
    int calls = 0;
    router.get("/collections/{id}/items", [&](const RouteContext&) {
        ++calls;
        return Response{make_response(http::status::ok, "", "text/plain")};
    });
    CHECK(call(router, http::verb::get, "/collections/ba%zzses/items").result() == http::status::bad_request);
    CHECK(call(router, http::verb::get, "/collections/bases/items?limit=%2").result() == http::status::bad_request);
    CHECK(call(router, http::verb::get, "/collections/bases/items?x=%00").result() == http::status::bad_request);
    CHECK(calls == 0);
}

TEST_CASE("router: responses carry version, keep-alive and Content-Length", "[http]")
{
    const auto router = tile_router();
    auto request = make_request(http::verb::get, "/tiles.json");
    auto response = as_string(router.handle(request));
    CHECK(response.version() == 11);
    CHECK(response.keep_alive());
    CHECK(response[http::field::content_length] == std::to_string(response.body().size()));

    request.keep_alive(false);
    response = as_string(router.handle(request));
    CHECK_FALSE(response.keep_alive());

    response = as_string(router.handle(make_request(http::verb::get, "/tiles.json", 10)));
    CHECK(response.version() == 10);
    CHECK_FALSE(response.keep_alive());
}

TEST_CASE("router: a streamed response stays streamed for HTTP/1.1 and is collected for 1.0 and HEAD", "[http]")
{
    Router router;
    router.get("/stream", [](const RouteContext&) {
        auto left = std::make_shared<int>(3);
        return Response{make_streamed_response(http::status::ok, "text/plain", [left](std::string& chunk) {
            if (*left == 0) {
                return false;
            }
            chunk = "part" + std::to_string((*left)--) + ";";
            return true;
        })};
    });

    auto response = router.handle(make_request(http::verb::get, "/stream"));
    REQUIRE(std::holds_alternative<StreamedResponse>(response));
    auto& streamed = std::get<StreamedResponse>(response);
    CHECK(streamed.header.chunked());
    std::string all;
    std::string chunk;
    while (streamed.next_chunk(chunk)) {
        all += chunk;
    }
    CHECK(all == "part3;part2;part1;");

    const auto old = as_string(router.handle(make_request(http::verb::get, "/stream", 10)));
    CHECK(old.body() == "part3;part2;part1;");
    CHECK_FALSE(old.chunked());
    CHECK(old[http::field::content_length] == "18");

    const auto head = as_string(router.handle(make_request(http::verb::head, "/stream")));
    CHECK(head.result() == http::status::ok);
    CHECK(head.body().empty());
    CHECK(head[http::field::content_type] == "text/plain");
    CHECK(head.chunked());  // what GET would send
    CHECK_FALSE(head.has_content_length());

    // HTTP/1.0 has no chunked encoding: a HEAD from such a client never announces it.
    const auto old_head = as_string(router.handle(make_request(http::verb::head, "/stream", 10)));
    CHECK(old_head.result() == http::status::ok);
    CHECK(old_head.body().empty());
    CHECK_FALSE(old_head.chunked());
}

TEST_CASE("router: the fallback answers GET and HEAD that no route matches", "[http]")
{
    Router router;
    router.get("/api", echo);
    router.set_fallback([](const RouteContext& c) {
        return Response{make_response(http::status::ok, "fallback " + std::string(c.path), "text/plain")};
    });
    CHECK(call(router, http::verb::get, "/index.html").body() == "fallback /index.html");
    CHECK(call(router, http::verb::head, "/index.html").result() == http::status::ok);
    CHECK(call(router, http::verb::post, "/index.html").result() == http::status::not_found);
    CHECK(call(router, http::verb::post, "/api").result() == http::status::method_not_allowed);
}

TEST_CASE("router: malformed patterns are refused when added", "[http]")
{
    Router router;
    CHECK_THROWS_AS(router.get("tiles/{z}", echo), std::invalid_argument);
    CHECK_THROWS_AS(router.get("/tiles/{z", echo), std::invalid_argument);
    CHECK_THROWS_AS(router.get("/tiles/{}", echo), std::invalid_argument);
    CHECK_THROWS_AS(router.get("/tiles/{z}{x}", echo), std::invalid_argument);
    CHECK_THROWS_AS(router.get("/tiles/{z}/{z}", echo), std::invalid_argument);
    CHECK_THROWS_AS(router.get("/tiles/z}", echo), std::invalid_argument);
}

TEST_CASE("query: percent-decoding, '+' as space, repeated keys and keys without values", "[http]")
{
    const auto query = Query::parse("type=ied_detonated&type=ambush&q=Gao+Nord%2C%20centre&flag&empty=&%C3%A9t%C3%A9=1");
    CHECK(query.get_all("type") == std::vector<std::string>{"ied_detonated", "ambush"});
    CHECK(query.get("type") == "ied_detonated");
    CHECK(query.get("q") == "Gao Nord, centre");
    CHECK(query.has("flag"));
    CHECK(query.get("flag") == "");
    CHECK(query.get("empty") == "");
    CHECK(query.get("\xC3\xA9t\xC3\xA9") == "1");
    CHECK_FALSE(query.has("missing"));
    CHECK_FALSE(query.get("missing").has_value());
    CHECK(query.items().size() == 6);
    CHECK(Query::parse("").empty());
    CHECK(Query::parse("&&").empty());
    CHECK(Query::parse("a=%2B").get("a") == "+");
    CHECK(Query::parse("a=b=c").get("a") == "b=c");
}

TEST_CASE("query: invalid encodings are input errors", "[http]")
{
    CHECK_THROWS_AS(Query::parse("a=%"), sitmap::input_error);
    CHECK_THROWS_AS(Query::parse("a=%4"), sitmap::input_error);
    CHECK_THROWS_AS(Query::parse("a=%zz"), sitmap::input_error);
    CHECK_THROWS_AS(Query::parse("a=%00b"), sitmap::input_error);
    CHECK_THROWS_AS(Query::parse("a=%FF%FE"), sitmap::input_error);      // not UTF-8
    CHECK_THROWS_AS(Query::parse("a=%C0%AF"), sitmap::input_error);      // overlong '/'
    CHECK_THROWS_AS(percent_decode("%2"), sitmap::input_error);
    CHECK_THROWS_AS(percent_decode("%ED%A0%80"), sitmap::input_error);  // a surrogate
}

TEST_CASE("query: percent_decode keeps '+' in paths unless asked", "[http]")
{
    CHECK(percent_decode("a+b%20c") == "a+b c");
    CHECK(percent_decode("a+b", true) == "a b");
    CHECK(percent_decode("%2e%2E") == "..");
    CHECK(percent_decode("%252e") == "%2e");
}
