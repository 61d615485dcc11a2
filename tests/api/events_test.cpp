// GET /events over loopback against the real `sitmap serve`: changes written by another
// process (`sitmap import`) arrive as Server-Sent Events, streams resume, are bounded by
// --max-streams and hold no server thread.

#include "http_client.hpp"
#include "support/sitmap_process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using sitmap::test::HttpClient;
using sitmap::test::run_sitmap;
using sitmap::test::ServeProcess;
using sitmap::test::TempDir;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;

namespace {

/// An event-stream client: sends GET and reads the chunked body as it grows. Like a browser's
/// EventSource it accepts gzip, which the server must not apply to an event stream.
class SseClient {
public:
    explicit SseClient(unsigned short port, const std::string& target = "/events",
                       const std::string& last_event_id = {})
        : m_stream(m_ioc)
    {
        m_stream.connect({net::ip::make_address("127.0.0.1"), port});
        http::request<http::empty_body> request{http::verb::get, target, 11};
        request.set(http::field::host, "127.0.0.1");
        request.set(http::field::accept, "text/event-stream");
        request.set(http::field::accept_encoding, "gzip, deflate, br");
        if (!last_event_id.empty()) request.set("Last-Event-ID", last_event_id);
        http::write(m_stream, request);
        m_parser.body_limit(16 * 1024 * 1024);
        // The header; the body follows as events are committed.
        run_for(std::chrono::seconds(5), [&] { return m_parser.is_header_done(); });
    }

    unsigned status() const { return m_parser.get().result_int(); }
    const http::response<http::string_body>& response() const { return m_parser.get(); }
    const std::string& body() const { return m_parser.get().body(); }
    /// True once the server has ended the chunked body.
    bool ended() const { return m_parser.is_done(); }

    /// Reads until `done()` or the time is up; returns done().
    template <typename Done>
    bool run_for(std::chrono::milliseconds limit, Done done)
    {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done() && !m_parser.is_done() && !m_failed) {
            const auto left = deadline - std::chrono::steady_clock::now();
            if (left <= std::chrono::milliseconds(0)) break;
            m_stream.expires_after(left);
            http::async_read_some(m_stream, m_buffer, m_parser, [&](beast::error_code ec, std::size_t) {
                if (ec && ec != beast::error::timeout) m_failed = true;
            });
            m_ioc.restart();
            m_ioc.run();
        }
        return done();
    }

    /// The data of each "change" event received so far, parsed.
    std::vector<nlohmann::json> events() const
    {
        std::vector<nlohmann::json> all;
        const std::string marker = "event: change\ndata: ";
        for (auto at = body().find(marker); at != std::string::npos; at = body().find(marker, at + 1)) {
            const auto start = at + marker.size();
            const auto end = body().find('\n', start);
            if (end == std::string::npos) break;
            all.push_back(nlohmann::json::parse(body().substr(start, end - start)));
        }
        return all;
    }

    void close()
    {
        beast::error_code ec;
        m_stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
        m_stream.close();
    }

private:
    net::io_context m_ioc;
    beast::tcp_stream m_stream;
    beast::flat_buffer m_buffer;
    http::response_parser<http::string_body> m_parser;
    bool m_failed = false;
};

struct EventsFixture {
    TempDir dir;
    std::string db = dir.file("map.sqlite");
    std::string csv = dir.file("new.csv");

    EventsFixture()
    {
        REQUIRE(run_sitmap({"demo", "--db", db}).exit_code == 0);
        std::ofstream out(csv);
        out << "id,occurred_at,type,target,fatalities,injuries,description,source,synthetic,lon,lat\n"
               "live-1,2024-05-01T08:00:00Z,ied_detonated,un_mission,1,2,IED near Gao,test,1,0.05,16.27\n"
               "live-2,2024-05-02T09:30:00Z,attack_on_civilians,civilians,0,1,Attack near Gao,test,1,0.10,16.30\n";
    }

    /// Appends `csv` with ids made unique by `suffix`; returns when the import has committed.
    void import_incidents(const std::string& suffix)
    {
        const auto path = dir.file("new-" + suffix + ".csv");
        std::ifstream in(csv);
        std::ofstream out(path);
        std::string line;
        std::getline(in, line);
        out << line << "\n";
        while (std::getline(in, line)) {
            const auto comma = line.find(',');
            out << line.substr(0, comma) << "-" << suffix << line.substr(comma) << "\n";
        }
        out.close();
        const auto result = run_sitmap({"import", "--db", db, "--layer", "incidents", "--mode", "append", path});
        INFO(result.output);
        REQUIRE(result.exit_code == 0);
    }

    /// A new token with `role`, as `sitmap token create` prints it.
    std::string create_token(const std::string& role, const std::string& name)
    {
        const auto created = run_sitmap({"token", "create", "--db", db, "--role", role, "--name", name});
        REQUIRE(created.exit_code == 0);
        std::string token;
        for (std::size_t at = created.output.find("sm_"); at != std::string::npos && token.empty();
             at = created.output.find("sm_", at + 1)) {
            token = created.output.substr(at, created.output.find('\n', at) - at);
        }
        REQUIRE(!token.empty());
        return token;
    }
};

} // namespace

TEST_CASE("events: an import by another process reaches an open stream within 2 seconds", "[http][db][slow]") {
    EventsFixture f;
    ServeProcess server(f.db);
    SseClient client(server.port());
    REQUIRE(client.status() == 200);
    CHECK(client.response()[http::field::content_type].starts_with("text/event-stream"));
    CHECK(client.response()[http::field::cache_control] == "no-store");
    CHECK(client.response().count(http::field::content_encoding) == 0);  // events are read as they come
    CHECK(client.events().empty());  // the stream starts with the next change, not the history

    f.import_incidents("a");
    const auto committed = std::chrono::steady_clock::now();
    REQUIRE(client.run_for(std::chrono::seconds(2), [&] { return !client.events().empty(); }));
    CHECK(std::chrono::steady_clock::now() - committed < std::chrono::seconds(2));
    const auto event = client.events().front();
    CHECK(event["layer"] == "incidents");
    CHECK(event["action"] == "import");
    CHECK(event["id"].is_null());
    REQUIRE(event["bbox"].size() == 4);
    CHECK(event["bbox"][0].get<double>() == Approx(0.05));
    CHECK(event["bbox"][3].get<double>() == Approx(16.30));
    CHECK(client.body().find("id: " + std::to_string(event["seq"].get<long long>()) + "\nevent: change\n") !=
          std::string::npos);
}

TEST_CASE("events: Last-Event-ID and since resume after the change they name", "[http][db][slow]") {
    EventsFixture f;
    ServeProcess server(f.db);
    long long first = 0;
    {
        SseClient client(server.port());
        f.import_incidents("a");
        REQUIRE(client.run_for(std::chrono::seconds(2), [&] { return !client.events().empty(); }));
        first = client.events().front()["seq"].get<long long>();
    }
    f.import_incidents("b");  // while no client listens

    SseClient by_header(server.port(), "/events", std::to_string(first));
    REQUIRE(by_header.status() == 200);
    REQUIRE(by_header.run_for(std::chrono::seconds(2), [&] { return !by_header.events().empty(); }));
    CHECK(by_header.events().front()["seq"].get<long long>() > first);  // the missed one, not the seen one

    SseClient by_query(server.port(), "/events?since=" + std::to_string(first - 1));
    REQUIRE(by_query.run_for(std::chrono::seconds(2), [&] { return by_query.events().size() >= 2; }));
    CHECK(by_query.events()[0]["seq"].get<long long>() == first);

    for (const std::string bad : {"/events?since=-1", "/events?since=abc", "/events?since=1e3"}) {
        HttpClient http_client(server.port());
        const auto response = http_client.get(bad);
        INFO(bad);
        CHECK(response.result_int() == 400);
        CHECK(nlohmann::json::parse(response.body())["error"] == "bad_request");
    }
}

TEST_CASE("events: beyond --max-streams a stream gets 503, and a closed client frees its place", "[http][db][slow]") {
    EventsFixture f;
    ServeProcess server(f.db, {"--max-streams", "2"});
    auto a = std::make_unique<SseClient>(server.port());
    SseClient b(server.port());
    REQUIRE(a->status() == 200);
    REQUIRE(b.status() == 200);
    {
        HttpClient refused(server.port());
        const auto response = refused.get("/events");
        CHECK(response.result_int() == 503);
        CHECK(response[http::field::retry_after] == "5");
    }
    // Ordinary requests are not streams: they still pass.
    CHECK(HttpClient(server.port()).get("/healthz").result_int() == 200);

    a->close();
    a.reset();
    // The session sees the close at once (it watches the socket), not at the next keep-alive.
    bool admitted = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    std::unique_ptr<SseClient> c;
    while (!admitted && std::chrono::steady_clock::now() < deadline) {
        c = std::make_unique<SseClient>(server.port());
        admitted = c->status() == 200;
        if (!admitted) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(admitted);
}

TEST_CASE("events: a hundred idle streams do not hold up ordinary requests on two threads", "[http][db][slow]") {
    EventsFixture f;
    ServeProcess server(f.db, {"--max-requests", "8"});  // --threads 2 (ServeProcess)
    std::vector<std::unique_ptr<SseClient>> streams;
    for (int i = 0; i < 100; ++i) {
        streams.push_back(std::make_unique<SseClient>(server.port()));
        REQUIRE(streams.back()->status() == 200);
    }
    // Open streams neither hold a thread nor count against --max-requests.
    HttpClient client(server.port(), std::chrono::seconds(2));
    for (int i = 0; i < 20; ++i) {
        const auto started = std::chrono::steady_clock::now();
        CHECK(client.get("/collections/bases/items?limit=5").result_int() == 200);
        CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(500));
    }
    // And every stream still gets the next change.
    f.import_incidents("a");
    for (auto& stream : streams) {
        CHECK(stream->run_for(std::chrono::seconds(2), [&] { return !stream->events().empty(); }));
    }
}

TEST_CASE("events: HTTP/1.0 cannot carry the endless stream and gets 505", "[http][db]") {
    EventsFixture f;
    ServeProcess server(f.db);
    HttpClient client(server.port());
    client.write_raw("GET /events HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    const auto response = client.read();
    CHECK(response.result_int() == 505);
    CHECK(nlohmann::json::parse(response.body())["error"] == "http_version_not_supported");
}

TEST_CASE("events: anonymous readers get no events of a private layer, token holders do", "[http][db][slow]") {
    EventsFixture f;
    const std::string token = f.create_token("viewer", "Sector East");
    ServeProcess server(f.db, {"--private-layer", "incidents"});

    SseClient anonymous(server.port());
    SseClient holder(server.port(), "/events?access_token=" + token);
    REQUIRE(anonymous.status() == 200);
    REQUIRE(holder.status() == 200);
    f.import_incidents("a");
    REQUIRE(holder.run_for(std::chrono::seconds(2), [&] { return !holder.events().empty(); }));
    CHECK(holder.events().front()["layer"] == "incidents");
    anonymous.run_for(std::chrono::milliseconds(1000), [] { return false; });
    CHECK(anonymous.events().empty());

    SECTION("with --read-access token, a stream without a token is refused with 401") {
        ServeProcess closed(f.db, {"--read-access", "token"});
        HttpClient client(closed.port());
        const auto response = client.get("/events");
        CHECK(response.result_int() == 401);
        CHECK(SseClient(closed.port(), "/events?access_token=" + token).status() == 200);
        CHECK(SseClient(closed.port(), "/events?access_token=sm_000000000000_nope").status() == 401);
    }
}

TEST_CASE("events: a stream opened with a token ends within seconds of the token being revoked", "[http][db][slow]") {
    const std::vector<std::string> access = GENERATE(std::vector<std::string>{"--private-layer", "incidents"},
                                                     std::vector<std::string>{"--read-access", "token"});
    INFO(access[0] << " " << access[1]);
    EventsFixture f;
    const std::string revoked = f.create_token("viewer", "Sector East");
    const std::string kept = f.create_token("viewer", "Sector West");
    ServeProcess server(f.db, access);
    SseClient doomed(server.port(), "/events?access_token=" + revoked);
    SseClient other(server.port(), "/events?access_token=" + kept);
    REQUIRE(doomed.status() == 200);
    REQUIRE(other.status() == 200);
    f.import_incidents("a");
    REQUIRE(doomed.run_for(std::chrono::seconds(2), [&] { return !doomed.events().empty(); }));

    const auto id = revoked.substr(3, 12);  // sm_<12 hex id>_<secret>
    const auto result = run_sitmap({"token", "revoke", "--db", f.db, id});
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    const auto revoked_at = std::chrono::steady_clock::now();
    // token_check is 1 s and the stream polls every 250 ms: it must be over well within 3 s.
    REQUIRE(doomed.run_for(std::chrono::seconds(3), [&] { return doomed.ended(); }));
    CHECK(std::chrono::steady_clock::now() - revoked_at < std::chrono::seconds(3));
    const auto last = doomed.body().rfind("event: revoked\ndata: ");
    REQUIRE(last != std::string::npos);
    const auto data = doomed.body().substr(last + 21, doomed.body().find('\n', last + 21) - last - 21);
    CHECK(nlohmann::json::parse(data)["error"] == "unauthorized");

    // The stream of a token still valid goes on and gets the next change; the revoked one cannot reconnect.
    f.import_incidents("b");
    CHECK(other.run_for(std::chrono::seconds(2), [&] { return other.events().size() >= 2; }));
    CHECK_FALSE(other.ended());
    CHECK(SseClient(server.port(), "/events?access_token=" + revoked).status() == 401);
}
