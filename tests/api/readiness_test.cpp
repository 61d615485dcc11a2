// /readyz: 503 with Retry-After while start-up work is under way, 200 once it is done; through the
// router with tasks begun by hand, and over loopback against the real `sitmap serve`, which
// simplifies the borders in the background at start. /healthz answers 200 all along.

#include "http/readiness.hpp"

#include "http_client.hpp"
#include "http/router.hpp"
#include "support/sitmap_process.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <thread>

using namespace sitmap::server;
using sitmap::test::HttpClient;
using sitmap::test::run_sitmap;
using sitmap::test::ServeProcess;
using sitmap::test::TempDir;

namespace {

StringResponse readyz(const Router& router) {
    Request request{http::verb::get, "/readyz", 11};
    return std::get<StringResponse>(router.handle(request));
}

} // namespace

TEST_CASE("readiness: /readyz is 503 with Retry-After while a task is under way, 200 after", "[http]") {
    auto readiness = std::make_shared<Readiness>();
    Router router;
    register_readiness_route(router, readiness);
    CHECK(readyz(router).result() == http::status::ok);
    CHECK(nlohmann::json::parse(readyz(router).body()) == nlohmann::json{{"status", "ready"}});
    {
        std::optional<Readiness::Task> borders = Readiness::begin(readiness, "simplified borders");
        const auto other = Readiness::begin(readiness, "something else");
        auto starting = readyz(router);
        CHECK(starting.result() == http::status::service_unavailable);
        CHECK(starting[http::field::retry_after] == "1");
        const auto body = nlohmann::json::parse(starting.body());
        CHECK(body["status"] == "starting");
        CHECK(body["waiting_for"] == nlohmann::json::array({"simplified borders", "something else"}));

        borders.reset();
        CHECK(nlohmann::json::parse(readyz(router).body())["waiting_for"] == nlohmann::json::array({"something else"}));
    }
    CHECK(readyz(router).result() == http::status::ok);
}

TEST_CASE("readiness: a moved task is marked done once, by its last owner", "[http]") {
    auto readiness = std::make_shared<Readiness>();
    auto task = Readiness::begin(readiness, "borders");
    {
        const auto moved = std::move(task);
        CHECK(readiness->pending().size() == 1);
    }
    CHECK(readiness->pending().empty());
}

TEST_CASE("readiness: sitmap serve becomes ready after start, and is alive throughout", "[http][db][slow]") {
    TempDir dir;
    const auto db = dir.file("map.sqlite");
    REQUIRE(run_sitmap({"demo", "--db", db}).exit_code == 0);
    ServeProcess server(db);
    HttpClient client{server.port()};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    bool ready = false;
    while (!ready && std::chrono::steady_clock::now() < deadline) {
        CHECK(client.get("/healthz").result() == http::status::ok);
        const auto answer = client.get("/readyz");
        const auto body = nlohmann::json::parse(answer.body());
        ready = answer.result() == http::status::ok;
        if (ready) {
            CHECK(body == nlohmann::json{{"status", "ready"}});
        } else {
            INFO(answer.result_int() << " " << answer.body());
            REQUIRE(answer.result() == http::status::service_unavailable);
            CHECK(body["status"] == "starting");
            CHECK(answer[http::field::retry_after] == "1");
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    CHECK(ready);
}
