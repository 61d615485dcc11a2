// The serving path over loopback (issue 20): I/O threads only read and write, routes run on
// workers in the lane of their kind of work, a full lane answers 503 at once, work whose client
// has gone is dropped, and misses for a tile being built wait without a thread. The slow work is
// deterministic: handlers and builders that block on a gate the test opens.

#include "http/listener.hpp"
#include "http/metrics.hpp"
#include "http/router.hpp"
#include "api/tile_cache.hpp"
#include "http_client.hpp"
#include "support/sitmap_process.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

using namespace sitmap::server;
using sitmap::test::HttpClient;
using namespace std::chrono_literals;

namespace {

/// Closed until open(); whoever waits on it blocks until then.
class Gate {
public:
    void open()
    {
        const std::lock_guard lock{m_mutex};
        if (!m_open) {
            m_open = true;
            m_promise.set_value();
        }
    }
    void wait() const { m_opened.wait(); }

private:
    std::mutex m_mutex;
    bool m_open = false;
    std::promise<void> m_promise;
    std::shared_future<void> m_opened = m_promise.get_future().share();
};

/// A count that threads raise and the test waits for.
class Tally {
public:
    void add()
    {
        const std::lock_guard lock{m_mutex};
        ++m_count;
        m_changed.notify_all();
    }
    int value() const
    {
        const std::lock_guard lock{m_mutex};
        return m_count;
    }
    /// True once the count reaches `n`, false if it has not within `limit`.
    bool reaches(int n, std::chrono::milliseconds limit = 5s) const
    {
        std::unique_lock lock{m_mutex};
        return m_changed.wait_for(lock, limit, [&] { return m_count >= n; });
    }

private:
    mutable std::mutex m_mutex;
    mutable std::condition_variable m_changed;
    int m_count = 0;
};

/// True once `condition()` holds, false if it does not within `limit`: for the server's state
/// that only a metric shows (the client gone, a job queued).
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = 5s)
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

std::uint64_t clients_gone()
{
    return metrics::counter("sitmap_http_clients_gone_total").value();
}

std::int64_t queued(const char* lane)
{
    return metrics::gauge("sitmap_work_queued", {{"lane", lane}}).value();
}

Response text(std::string body)
{
    return make_response(http::status::ok, std::move(body), "text/plain");
}

/// A stream's producer state: counts its calls, blocks on the gate at the second, and tells
/// when it is destroyed (the session freed it).
struct Producer {
    Gate& gate;
    Tally& calls;
    std::promise<void> freed;
    ~Producer() { freed.set_value(); }

    bool next(std::string& chunk)
    {
        calls.add();
        if (calls.value() >= 2) gate.wait();
        chunk = calls.value() == 1 ? "first|" : std::string(64 * 1024, 'x');
        return true;  // endless: only the client going away ends it
    }
};

/// An in-process server with slow routes of each kind, run on two I/O threads.
struct GatedServer {
    Gate gate;
    Tally entered;    // slow handlers and tile builds started
    Tally counted;    // /count handlers run
    Tally calls;      // producer calls
    std::future<void> producer_freed;
    TileCache cache{1 << 20};
    Router router;
    std::unique_ptr<Server> server;
    std::future<void> done;

    explicit GatedServer(WorkerOptions workers)
    {
        spdlog::set_level(spdlog::level::warn);
        add_routes();
        ServerOptions options;
        options.handle_signals = false;
        options.workers = workers;
        server = std::make_unique<Server>(router, "127.0.0.1", 0, 2, options);
        done = std::async(std::launch::async, [this] { server->run(); });
    }
    ~GatedServer()
    {
        gate.open();
        server->stop();
        done.wait();
    }
    GatedServer(const GatedServer&) = delete;
    GatedServer& operator=(const GatedServer&) = delete;

    unsigned short port() const { return server->port(); }

    /// GET `target` on a connection of its own, in a thread.
    std::future<HttpClient::Response> get_async(std::string target)
    {
        return std::async(std::launch::async, [this, target] { return HttpClient(port()).get(target); });
    }

private:
    void add_routes()
    {
        router.get("/healthz", [](const RouteContext&) { return text("ok"); }, Work::cheap);
        router.get("/slow", [this](const RouteContext&) {
            entered.add();
            gate.wait();
            return text("slow done");
        });
        router.get("/count", [this](const RouteContext&) {
            counted.add();
            return text("counted");
        });
        router.get("/stream", [this](const RouteContext&) -> Response {
            auto producer = std::shared_ptr<Producer>(new Producer{gate, calls, {}});
            producer_freed = producer->freed.get_future();
            return make_streamed_response(http::status::ok, "text/plain",
                                          [producer](std::string& chunk) { return producer->next(chunk); });
        });
        router.add_async(http::verb::get, "/tile", [this](const RouteContext& ctx, Respond respond) {
            cache.find_or_build(
                "gao", {"incidents"}, {-0.5, 16.0, 0.5, 16.5}, 0,
                [this] {
                    entered.add();
                    gate.wait();
                    return CachedTile::make("a heavy tile", false);
                },
                [respond](TileCache::Result result) { respond(text(result.tile ? result.tile->bytes : "failed")); },
                [&ctx](Job job) { return ctx.run_on(Work::tiles, std::move(job)); });
        }, Work::cheap);
    }
};

/// Milliseconds a GET of `target` on a new connection takes, and its status.
std::pair<long, unsigned> timed_get(unsigned short port, const std::string& target)
{
    const auto started = std::chrono::steady_clock::now();
    const auto response = HttpClient(port, 5s).get(target);
    const auto elapsed = std::chrono::steady_clock::now() - started;
    return {static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()),
            response.result_int()};
}

/// A client that sends GET `target` and reads the response until it has seen `seen`; closed
/// when the test says so.
class PartialReader {
public:
    PartialReader(unsigned short port, const std::string& target, const std::string& seen) : m_socket(m_io)
    {
        m_socket.connect({net::ip::make_address("127.0.0.1"), port});
        const timeval timeout{5, 0};
        ::setsockopt(m_socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        net::write(m_socket, net::buffer("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        std::string got;
        char buffer[4096];
        while (got.find(seen) == std::string::npos) {
            got.append(buffer, m_socket.read_some(net::buffer(buffer)));
        }
    }
    void close() { m_socket.close(); }

private:
    net::io_context m_io;
    net::ip::tcp::socket m_socket;
};

} // namespace

TEST_CASE("serving path: /healthz is answered at once while every worker is busy with slow work", "[http]")
{
    GatedServer s({.workers = 2, .heavy_workers = 2});
    std::vector<std::future<HttpClient::Response>> slow;
    for (int i = 0; i < 4; ++i) slow.push_back(s.get_async("/slow"));
    REQUIRE(s.entered.reaches(2));  // both workers hold a slow request; two more wait

    for (int i = 0; i < 5; ++i) {
        const auto [ms, status] = timed_get(s.port(), "/healthz");
        CHECK(status == 200);
        CHECK(ms < 200);
    }
    s.gate.open();
    for (auto& response : slow) CHECK(response.get().body() == "slow done");
}

TEST_CASE("serving path: a full heavy queue answers 503 with Retry-After at once, cheap requests still 200", "[http]")
{
    GatedServer s({.workers = 1, .heavy_queue = 1});
    auto running = s.get_async("/slow");
    REQUIRE(s.entered.reaches(1));
    auto waiting = s.get_async("/slow");
    REQUIRE(eventually([] { return queued("heavy") == 1; }));

    const auto started = std::chrono::steady_clock::now();
    const auto refused = HttpClient(s.port(), 5s).get("/count");
    CHECK(std::chrono::steady_clock::now() - started < 200ms);
    CHECK(refused.result_int() == 503);
    CHECK(refused[http::field::retry_after] == "1");
    CHECK(nlohmann::json::parse(refused.body())["error"] == "overloaded");
    CHECK(s.counted.value() == 0);

    CHECK(timed_get(s.port(), "/healthz").second == 200);
    s.gate.open();
    CHECK(running.get().result_int() == 200);
    CHECK(waiting.get().result_int() == 200);
    CHECK(HttpClient(s.port()).get("/count").result_int() == 200);  // room again
}

TEST_CASE("serving path: a request whose client left before a worker took it is dropped unrun", "[http]")
{
    GatedServer s({.workers = 1});
    auto running = s.get_async("/slow");
    REQUIRE(s.entered.reaches(1));
    const auto gone_before = clients_gone();
    {
        HttpClient leaving(s.port());
        leaving.write_raw("GET /count HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        REQUIRE(eventually([] { return queued("heavy") == 1; }));
    }  // closed while its request waits behind /slow
    REQUIRE(eventually([&] { return clients_gone() == gone_before + 1; }));

    s.gate.open();
    CHECK(running.get().result_int() == 200);
    // Queued after the dropped one: once it is answered, the dropped one has had its turn.
    CHECK(HttpClient(s.port()).get("/count").body() == "counted");
    CHECK(s.counted.value() == 1);
}

TEST_CASE("serving path: a stream whose client left stops between chunks and its producer is freed", "[http]")
{
    GatedServer s({.workers = 1});
    const auto gone_before = clients_gone();
    PartialReader client(s.port(), "/stream", "first|");
    REQUIRE(s.calls.reaches(2));  // the producer is inside its second call, held by the gate
    client.close();
    REQUIRE(eventually([&] { return clients_gone() == gone_before + 1; }));
    s.gate.open();

    REQUIRE(s.producer_freed.valid());
    CHECK(s.producer_freed.wait_for(5s) == std::future_status::ready);
    CHECK(s.calls.value() == 2);  // never called after the client left
    CHECK(timed_get(s.port(), "/count").second == 200);  // and the worker is free again
}

TEST_CASE("serving path: misses for a tile being built wait without holding a thread", "[http]")
{
    constexpr int askers = 6;
    GatedServer s({.workers = 1, .cheap_workers = 1});
    std::vector<std::future<HttpClient::Response>> tiles;
    for (int i = 0; i < askers; ++i) tiles.push_back(s.get_async("/tile"));
    REQUIRE(s.entered.reaches(1));  // the one build runs on the one worker
    REQUIRE(eventually([&] { return s.cache.stats().shared == static_cast<std::uint64_t>(askers - 1); }));

    // Had the waiters blocked, the one cheap thread that looked them up would be stuck too.
    const auto [ms, status] = timed_get(s.port(), "/healthz");
    CHECK(status == 200);
    CHECK(ms < 200);
    s.gate.open();
    for (auto& tile : tiles) CHECK(tile.get().body() == "a heavy tile");
    CHECK(s.cache.stats().builds == 1);
    CHECK(s.entered.value() == 1);
}

TEST_CASE("serving path: a route declares where its work runs", "[http]")
{
    Router router;
    router.get("/healthz", [](const RouteContext&) { return text("ok"); }, Work::cheap);
    router.get("/metrics", [](const RouteContext&) { return text("m"); }, Work::io);
    router.get("/items", [](const RouteContext&) { return text("i"); });
    router.post("/items", [](const RouteContext&) { return text("i"); });
    const auto work = [&](http::verb method, const char* target) {
        std::string label;
        const auto kind = router.work_of(Request{method, target, 11}, &label);
        return std::string(work_name(kind)) + " " + label;
    };
    CHECK(work(http::verb::get, "/healthz") == "cheap /healthz");
    CHECK(work(http::verb::head, "/metrics?x=1") == "io /metrics");
    CHECK(work(http::verb::get, "/items") == "heavy /items");  // undeclared: heavy, the safe guess
    CHECK(work(http::verb::post, "/items") == "heavy /items");
    CHECK(work(http::verb::delete_, "/items") == "io (none)");  // a 405 needs no handler
    CHECK(work(http::verb::get, "/nothing") == "io (none)");
    router.set_fallback([](const RouteContext&) { return text("file"); });
    CHECK(work(http::verb::get, "/nothing") == "cheap (static)");
}

TEST_CASE("serving path: with one worker, concurrent misses of the same real tile and /healthz all complete",
          "[http][db]")
{
    sitmap::test::TempDir dir;
    const auto db = dir.file("map.sqlite");
    REQUIRE(sitmap::test::run_sitmap({"demo", "--db", db}).exit_code == 0);
    sitmap::test::ServeProcess server(db, {"--workers", "1", "--tile-cache-mb", "0"});
    std::vector<std::future<HttpClient::Response>> tiles;
    for (int i = 0; i < 8; ++i) {
        tiles.push_back(std::async(std::launch::async, [&server] {
            return HttpClient(server.port()).get("/tiles/0/0/0.mvt?cluster=false");
        }));
    }
    CHECK(HttpClient(server.port()).get("/healthz").result_int() == 200);
    const auto first = tiles.front().get();
    REQUIRE(first.result_int() == 200);
    for (std::size_t i = 1; i < tiles.size(); ++i) {
        const auto tile = tiles[i].get();
        CHECK(tile.result_int() == 200);
        CHECK(tile[http::field::etag] == first[http::field::etag]);
    }
}
