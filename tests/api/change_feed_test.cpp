// The change feed: one read of the change log serves every event stream asking within an
// interval; a stream resuming from before what the feed keeps reads the log itself.

#include "api/change_feed.hpp"

#include "layers/changes.hpp"
#include "layers/schema.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

using sitmap::geo::Database;
using sitmap::server::ChangeFeed;
using namespace std::chrono_literals;

namespace {

sitmap::server::ServerConfig config_for(const std::string& path)
{
    sitmap::server::ServerConfig config;
    config.database = path;
    return config;
}

void record(Database& writer, const std::string& id)
{
    sitmap::layers::record_change(writer, "incidents", {0.05, 16.27, 0.05, 16.27}, "create", id);
}

} // namespace

TEST_CASE("change feed: streams asking within an interval share one read of the change log", "[db]")
{
    sitmap::test::TempDir dir;
    auto writer = sitmap::layers::open_database(dir.file("map.sqlite"), Database::Mode::create);
    ChangeFeed feed(config_for(dir.file("map.sqlite")), 1h);  // never due again: one read only
    const auto start = sitmap::layers::last_change(writer);
    for (int stream = 0; stream < 100; ++stream) {
        CHECK(feed.since(start).empty());
    }
    CHECK(feed.reads() == 1);

    ChangeFeed fast(config_for(dir.file("map.sqlite")), 50ms);
    CHECK(fast.since(start).empty());
    record(writer, "gao-1");
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    std::vector<sitmap::layers::Change> seen;
    while (seen.empty() && std::chrono::steady_clock::now() < deadline) {
        seen = fast.since(start);  // a read when 50 ms have passed since the last one
        std::this_thread::sleep_for(5ms);
    }
    REQUIRE(seen.size() == 1);
    CHECK(seen.front().feature_id == "gao-1");
    CHECK(fast.since(seen.front().sequence).empty());
    CHECK(fast.reads() >= 2);
}

TEST_CASE("change feed: a stream resuming from before the changes kept reads them from the log", "[db]")
{
    sitmap::test::TempDir dir;
    auto writer = sitmap::layers::open_database(dir.file("map.sqlite"), Database::Mode::create);
    const auto start = sitmap::layers::last_change(writer);
    ChangeFeed feed(config_for(dir.file("map.sqlite")), 0ms, 2);  // due at every call, keeps two
    CHECK(feed.since(start).empty());
    for (int i = 0; i < 5; ++i) record(writer, "gao-" + std::to_string(i));

    const auto newest = feed.since(start + 3);  // within the two kept
    REQUIRE(newest.size() == 2);
    CHECK(newest.back().feature_id == "gao-4");
    const auto all = feed.since(start);  // older: from the log
    REQUIRE(all.size() == 5);
    CHECK(all.front().feature_id == "gao-0");
}
