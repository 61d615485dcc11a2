#include "http/listener.hpp"

#include "geo/error.hpp"
#include "http/json_error.hpp"
#include "http/router.hpp"
#include "http_client.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace sitmap::server;
using sitmap::test::HttpClient;

namespace {

// The body the /stream route sends: chunk i is i+1 copies of a letter, plus a separator.
std::string expected_stream(int chunks)
{
    std::string all;
    for (int i = 0; i < chunks; ++i) {
        all.append(static_cast<std::size_t>(i + 1), static_cast<char>('a' + i % 26));
        all += '|';
    }
    return all;
}

Router test_router(std::atomic<int>& hits)
{
    Router router;
    router.get("/hello/{name}", [&hits](const RouteContext& c) {
        ++hits;
        auto body = "hello " + c.param("name");
        if (auto times = c.query.get("times")) {
            body += " x" + *times;
        }
        return Response{make_response(http::status::ok, body, "text/plain; charset=utf-8")};
    });
    router.get("/stream", [](const RouteContext& c) {
        const int chunks = std::stoi(c.query.get("chunks").value_or("500"));
        auto next = std::make_shared<int>(0);
        return Response{make_streamed_response(http::status::ok, "text/plain", [next, chunks](std::string& chunk) {
            if (*next == chunks) {
                return false;
            }
            const int i = (*next)++;
            if (i % 7 == 3) {
                return true;  // an empty chunk: skipped, not the end
            }
            chunk.append(static_cast<std::size_t>(i + 1), static_cast<char>('a' + i % 26));
            chunk += '|';
            return true;
        })};
    });
    router.get("/broken-stream", [](const RouteContext&) {
        auto next = std::make_shared<int>(0);
        return Response{make_streamed_response(http::status::ok, "text/plain", [next](std::string& chunk) -> bool {
            if ((*next)++ == 3) {
                throw std::runtime_error("the database went away");
            }
            chunk = std::string(1000, 'x');
            return true;
        })};
    });
    router.post("/echo", [](const RouteContext& c) {
        return Response{make_response(http::status::ok, c.request.body(), "application/octet-stream")};
    });
    router.get("/fail", [](const RouteContext&) -> Response { throw sitmap::internal_error("SELECT * FROM secret"); });
    return router;
}

// A server on 127.0.0.1, a free port, run in a thread; stopped and joined at the end.
struct RunningServer {
    std::atomic<int> hits{0};
    Router router;
    Server server;
    std::future<void> done;

    explicit RunningServer(ServerOptions options = test_options(), unsigned threads = 2)
        : router(test_router(hits)), server(router, "127.0.0.1", 0, threads, options)
    {
        done = std::async(std::launch::async, [this] { server.run(); });
    }
    ~RunningServer()
    {
        server.stop();
        done.wait();
    }
    RunningServer(const RunningServer&) = delete;
    RunningServer& operator=(const RunningServer&) = delete;

    static ServerOptions test_options()
    {
        spdlog::set_level(spdlog::level::warn);
        ServerOptions options;
        options.handle_signals = false;
        options.limits.read_timeout = std::chrono::seconds(5);
        return options;
    }
};

} // namespace

TEST_CASE("loopback: two requests on one keep-alive connection", "[http]")
{
    RunningServer running;
    REQUIRE(running.server.port() != 0);
    HttpClient client{running.server.port()};

    auto first = client.get("/hello/world?times=2");
    CHECK(first.result() == http::status::ok);
    CHECK(first.body() == "hello world x2");
    CHECK(first.keep_alive());

    auto second = client.get("/hello/Tombouctou%20Nord");
    CHECK(second.result() == http::status::ok);
    CHECK(second.body() == "hello Tombouctou Nord");
    CHECK(running.hits == 2);

    auto missing = client.get("/nowhere");
    CHECK(missing.result() == http::status::not_found);
    CHECK(missing[http::field::content_type] == "application/json");
    CHECK(nlohmann::json::parse(missing.body())["error"] == "not_found");

    auto failed = client.get("/fail");
    CHECK(failed.result() == http::status::internal_server_error);
    CHECK(failed.body().find("SELECT") == std::string::npos);

    // Still the same connection after error responses.
    CHECK(client.get("/hello/again").body() == "hello again");
}

TEST_CASE("loopback: a streamed response arrives chunked and intact", "[http]")
{
    RunningServer running;
    HttpClient client{running.server.port()};

    auto response = client.get("/stream?chunks=600");
    CHECK(response.result() == http::status::ok);
    CHECK(response.chunked());
    CHECK(response[http::field::content_type] == "text/plain");

    std::string expected;
    for (int i = 0; i < 600; ++i) {
        if (i % 7 != 3) {
            expected.append(static_cast<std::size_t>(i + 1), static_cast<char>('a' + i % 26));
            expected += '|';
        }
    }
    CHECK(response.body().size() == expected.size());
    CHECK(response.body() == expected);

    // The connection is ready for the next request.
    CHECK(client.get("/hello/after-stream").body() == "hello after-stream");

    // HEAD of a streamed route: headers only.
    auto head = client.request(http::verb::head, "/stream");
    CHECK(head.result() == http::status::ok);
    CHECK(head.body().empty());
    CHECK(head.chunked());
    CHECK(client.get("/hello/after-head").body() == "hello after-head");

    head = client.request(http::verb::head, "/hello/head");
    CHECK(head.result() == http::status::ok);
    CHECK(head[http::field::content_length] == "10");
    CHECK(head.body().empty());
    CHECK(client.get("/hello/after-head-2").body() == "hello after-head-2");
    CHECK(expected_stream(2) == "a|bb|");
}

TEST_CASE("loopback: an HTTP/1.0 client gets a streamed body with Content-Length", "[http]")
{
    RunningServer running;
    HttpClient client{running.server.port()};
    client.write_raw("GET /stream?chunks=3 HTTP/1.0\r\nHost: x\r\n\r\n");
    auto response = client.read();
    CHECK(response.version() == 10);
    CHECK_FALSE(response.chunked());
    CHECK(response.body() == "a|bb|ccc|");
    CHECK(response[http::field::content_length] == "9");
    CHECK(client.wait_for_close() == boost::asio::error::eof);
}

TEST_CASE("loopback: a failing stream is cut short, never completed", "[http]")
{
    RunningServer running;
    HttpClient client{running.server.port()};
    CHECK_THROWS_AS(client.get("/broken-stream"), boost::system::system_error);
    // The server itself is fine.
    HttpClient other{running.server.port()};
    CHECK(other.get("/hello/still-up").result() == http::status::ok);
}

TEST_CASE("loopback: a malformed request gets 400 and the server keeps running", "[http]")
{
    RunningServer running;
    {
        HttpClient client{running.server.port()};
        client.write_raw("THIS IS NOT HTTP\r\n\r\n");
        auto response = client.read();
        CHECK(response.result() == http::status::bad_request);
        CHECK(nlohmann::json::parse(response.body())["error"] == "bad_request");
        CHECK_FALSE(response.keep_alive());
        CHECK(client.wait_for_close() == boost::asio::error::eof);
    }
    {
        HttpClient client{running.server.port()};
        client.write_raw("GET /hello/x HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n");
        CHECK(client.read().result() == http::status::bad_request);
    }
    {
        HttpClient client{running.server.port()};
        CHECK(client.get("/hello/after-garbage").body() == "hello after-garbage");
    }
}

TEST_CASE("loopback: an oversized header is refused", "[http]")
{
    RunningServer running;
    HttpClient client{running.server.port()};
    const std::string huge(20 * 1024, 'x');
    http::status status{};
    try {
        auto response = client.request(http::verb::get, "/hello/big", {{http::field::user_agent, huge}});
        status = response.result();
    } catch (const boost::system::system_error&) {
        status = http::status::unknown;  // the server closed the connection first: also a refusal
    }
    CHECK((status == http::status::request_header_fields_too_large || status == http::status::unknown));
    CHECK(running.hits == 0);

    HttpClient other{running.server.port()};
    CHECK(other.get("/hello/small").result() == http::status::ok);
}

TEST_CASE("loopback: a body over the limit gets 413, one under it is echoed", "[http]")
{
    auto options = RunningServer::test_options();
    options.limits.body_limit = 64 * 1024;
    RunningServer running{options};
    {
        HttpClient client{running.server.port()};
        http::request<http::string_body> request{http::verb::post, "/echo", 11};
        request.body() = std::string(1000, 'b');
        auto response = client.send(std::move(request));
        CHECK(response.result() == http::status::ok);
        CHECK(response.body() == std::string(1000, 'b'));
    }
    {
        HttpClient client{running.server.port()};
        // Only the header is sent: the server refuses on the declared length.
        client.write_raw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
        CHECK(client.read().result() == http::status::payload_too_large);
    }
}

TEST_CASE("loopback: an idle connection is closed after the read timeout", "[http]")
{
    auto options = RunningServer::test_options();
    options.limits.read_timeout = std::chrono::milliseconds(300);
    RunningServer running{options};
    HttpClient client{running.server.port(), std::chrono::seconds(5)};
    const auto start = std::chrono::steady_clock::now();
    const auto ec = client.wait_for_close();
    const auto waited = std::chrono::steady_clock::now() - start;
    CHECK(ec != boost::beast::error::timeout);  // the server closed, not our own deadline
    CHECK(waited >= std::chrono::milliseconds(250));
    CHECK(waited < std::chrono::seconds(4));
}

TEST_CASE("loopback: concurrent clients on several threads", "[http]")
{
    RunningServer running{RunningServer::test_options(), 3};
    std::vector<std::future<int>> clients;
    for (int c = 0; c < 6; ++c) {
        clients.push_back(std::async(std::launch::async, [&running, c] {
            HttpClient client{running.server.port()};
            int ok = 0;
            for (int i = 0; i < 25; ++i) {
                const auto name = std::to_string(c) + "-" + std::to_string(i);
                auto response = client.get("/hello/" + name);
                ok += response.body() == "hello " + name ? 1 : 0;
                if (i % 10 == 0) {
                    ok += client.get("/stream?chunks=50").body().size() > 1000 ? 0 : -100;
                }
            }
            return ok;
        }));
    }
    for (auto& client : clients) {
        CHECK(client.get() == 25);
    }
    CHECK(running.hits == 6 * 25);
}

TEST_CASE("loopback: stop() closes idle keep-alive connections and run() returns", "[http]")
{
    std::atomic<int> hits{0};
    const auto router = test_router(hits);
    auto options = RunningServer::test_options();
    options.limits.read_timeout = std::chrono::seconds(30);  // longer than the test may take
    Server server{router, "127.0.0.1", 0, 2, options};
    auto done = std::async(std::launch::async, [&server] { server.run(); });

    HttpClient client{server.port()};
    CHECK(client.get("/hello/before-stop").result() == http::status::ok);

    const auto start = std::chrono::steady_clock::now();
    server.stop();
    server.stop();  // idempotent
    REQUIRE(done.wait_for(std::chrono::seconds(3)) == std::future_status::ready);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
    const auto ec = client.wait_for_close();
    CHECK(ec != boost::beast::error::timeout);

    // Nothing listens any more.
    CHECK_THROWS_AS(HttpClient(server.port(), std::chrono::seconds(2)), boost::system::system_error);
}

TEST_CASE("loopback: a port in use and a bad address are input errors", "[http]")
{
    RunningServer running;
    std::atomic<int> hits{0};
    const auto router = test_router(hits);
    CHECK_THROWS_AS(Server(router, "127.0.0.1", running.server.port(), 1, RunningServer::test_options()),
                    sitmap::input_error);
    CHECK_THROWS_AS(Server(router, "not-an-address", 0, 1, RunningServer::test_options()), sitmap::input_error);
}
