// Crash safety of writes: `sitmap serve` killed with SIGKILL in the middle of a stream of POSTs.
// After a restart every acknowledged (201) write is there, every stored write is whole (its row,
// its R*Tree entry, its audit entry and its change record), and PRAGMA integrity_check passes.

#include "geo/sqlite.hpp"
#include "layers/schema.hpp"
#include "write_fixture.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <mutex>
#include <set>
#include <thread>

using namespace sitmap::test;

TEST_CASE("crash safety: kill -9 during a stream of writes loses no acknowledged write, leaves none half-done",
          "[http][db][slow]") {
    TempDir dir;
    const auto db = make_demo_database(dir);
    const auto editor = make_token(db, "editor", "JOC Gao");
    std::set<std::string> acknowledged;
    std::mutex acknowledged_mutex;
    std::atomic<bool> stop{false};
    {
        ServeProcess server(db, {}, dir.file("server.log"));
        std::vector<std::thread> writers;
        for (int w = 0; w < 2; ++w) {
            writers.emplace_back([&, w] {
                try {
                    HttpClient client(server.port());
                    for (int i = 0; !stop; ++i) {
                        const std::string id = "CRASH-" + std::to_string(w) + "-" + std::to_string(i);
                        http::request<http::string_body> request{http::verb::post, "/collections/incidents/items", 11};
                        request.set(http::field::authorization, "Bearer " + editor);
                        request.set(http::field::content_type, "application/geo+json");
                        request.body() = new_incident(id, -0.04 + 0.001 * i, 16.27).dump();
                        if (client.send(std::move(request)).result() == http::status::created) {
                            std::lock_guard lock(acknowledged_mutex);
                            acknowledged.insert(id);
                        }
                    }
                } catch (const std::exception&) {
                    // The server died under us: what was acknowledged so far is what counts.
                }
            });
        }
        for (int i = 0; i < 600; ++i) {  // until a good number of writes are acknowledged
            {
                std::lock_guard lock(acknowledged_mutex);
                if (acknowledged.size() >= 40) break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        REQUIRE(kill(server.pid(), SIGKILL) == 0);
        stop = true;
        for (auto& t : writers) t.join();
        server.stop();
    }
    INFO(acknowledged.size() << " writes acknowledged before the kill");
    REQUIRE(acknowledged.size() >= 40);

    ServeProcess restarted(db);  // starts on the database as the crash left it
    {
        auto conn = sitmap::layers::open_database(db, sitmap::geo::Database::Mode::read_only);
        auto integrity = conn.prepare("PRAGMA integrity_check");
        REQUIRE(integrity.step());
        CHECK(integrity.column_text(0) == "ok");
        auto count = [&](const std::string& sql) {
            auto stmt = conn.prepare(sql);
            REQUIRE(stmt.step());
            return stmt.column_int64(0);
        };
        const auto stored = count("SELECT count(*) FROM incidents WHERE id LIKE 'CRASH-%'");
        CHECK(stored >= static_cast<std::int64_t>(acknowledged.size()));  // the last ones may have lost only their reply
        CHECK(count("SELECT count(*) FROM incidents i JOIN idx_incidents_geom r ON r.pkid = i.fid WHERE i.id LIKE 'CRASH-%'") == stored);
        CHECK(count("SELECT count(*) FROM sitmap_audit WHERE action = 'create' AND feature_id LIKE 'CRASH-%'") == stored);
        CHECK(count("SELECT count(*) FROM sitmap_changes WHERE action = 'create' AND feature_id LIKE 'CRASH-%'") == stored);
        CHECK(count("SELECT count(*) FROM sitmap_audit a LEFT JOIN incidents i ON i.id = a.feature_id "
                    "WHERE a.feature_id LIKE 'CRASH-%' AND i.fid IS NULL") == 0);
        auto exists = conn.prepare("SELECT status FROM incidents WHERE id = ?");
        for (const auto& id : acknowledged) {
            INFO(id);
            exists.reset();
            exists.bind(1, id);
            REQUIRE(exists.step());
            CHECK(exists.column_text(0) == "reported");
        }
    }
    for (const auto& id : {*acknowledged.begin(), *acknowledged.rbegin()}) {
        CHECK(HttpClient(restarted.port()).get("/collections/incidents/items/" + id).result() == http::status::ok);
    }
    CHECK(send(restarted.port(), http::verb::post, "/collections/incidents/items", editor,
               new_incident("AFTER-RESTART").dump()).result() == http::status::created);
}
