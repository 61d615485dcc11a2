// The tile cache under a stream of writes: a tile built while a change came in is kept unless
// that change touches it. Two real connections to a SpatiaLite file: a writer recording changes
// (as the write API does) and the reader the cache watches.

#include "api/tile_cache.hpp"

#include "http/metrics.hpp"

#include "layers/changes.hpp"
#include "layers/schema.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using sitmap::geo::BBox;
using sitmap::geo::Database;
using sitmap::server::CachedTile;
using sitmap::server::TileCache;

TEST_CASE("tile cache: a tile built across a change elsewhere is kept, one the change touches is not", "[db]") {
    sitmap::test::TempDir dir;
    auto writer = sitmap::layers::open_database(dir.file("map.sqlite"), Database::Mode::create);
    auto reader = sitmap::layers::open_database(dir.file("map.sqlite"), Database::Mode::read_only);
    TileCache cache(1 << 20);
    cache.sync(reader);
    const BBox gao{-0.5, 16.0, 0.5, 16.5};
    const auto tile = CachedTile::make("not really a tile");

    // Built from the state at `before`; meanwhile an incident is reported at Kidal.
    auto before = cache.sequence();
    sitmap::layers::record_change(writer, "incidents", {1.40, 18.40, 1.41, 18.41}, "create", "kidal-1");
    cache.sync(reader);
    REQUIRE(cache.sequence() > before);
    cache.insert("gao", {"incidents"}, gao, tile, before);
    CHECK(cache.find("gao") != nullptr);

    // Meanwhile a base is added inside the tile: a tile of incidents only is kept, one with bases is not.
    before = cache.sequence();
    sitmap::layers::record_change(writer, "bases", {0.0, 16.2, 0.0, 16.2}, "create", "base-1");
    cache.sync(reader);
    cache.insert("gao incidents", {"incidents"}, gao, tile, before);
    cache.insert("gao bases", {"incidents", "bases"}, gao, tile, before);
    CHECK(cache.find("gao incidents") != nullptr);
    CHECK(cache.find("gao bases") == nullptr);

    // Meanwhile an incident inside the tile: the tile may be stale and is not kept.
    before = cache.sequence();
    sitmap::layers::record_change(writer, "incidents", {0.05, 16.27, 0.05, 16.27}, "create", "gao-1");
    cache.sync(reader);
    cache.insert("gao again", {"incidents"}, gao, tile, before);
    CHECK(cache.find("gao again") == nullptr);

    SECTION("a tile older than the changes the cache remembers is not kept") {
        before = cache.sequence();
        for (int i = 0; i < 300; ++i) {
            sitmap::layers::record_change(writer, "incidents", {1.40, 18.40, 1.41, 18.41}, "create", "far");
            cache.sync(reader);
        }
        cache.insert("too old", {"incidents"}, gao, tile, before);
        CHECK(cache.find("too old") == nullptr);
        cache.insert("recent", {"incidents"}, gao, tile, cache.sequence());
        CHECK(cache.find("recent") != nullptr);
    }
}

namespace {

/// Runs `askers` threads that each call find_or_build for the key "gao" at `sequence` with
/// `build`, all started before the first build ends; returns what each got (null on an exception).
std::vector<std::shared_ptr<const CachedTile>> ask_together(TileCache& cache, int askers, std::int64_t sequence,
                                                            const TileCache::Builder& build,
                                                            std::atomic<int>& started, std::atomic<int>& failed) {
    std::vector<std::shared_ptr<const CachedTile>> got(static_cast<std::size_t>(askers));
    std::vector<std::thread> threads;
    for (int i = 0; i < askers; ++i) {
        threads.emplace_back([&, i] {
            ++started;
            try {
                got[static_cast<std::size_t>(i)] = cache.find_or_build("gao", {"incidents"}, BBox{-0.5, 16.0, 0.5, 16.5},
                                                                       sequence, build);
            } catch (const std::runtime_error&) {
                ++failed;
            }
        });
    }
    for (auto& t : threads) t.join();
    return got;
}

/// A slow build that counts itself and lasts until every asker has started (and a little more,
/// for them to reach the cache), as a heavy low-zoom tile would.
TileCache::Builder slow_build(std::atomic<int>& builds, const std::atomic<int>& started, int askers, bool fail) {
    return [&builds, &started, askers, fail] {
        ++builds;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (started < askers && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        if (fail) throw std::runtime_error("the database went away");
        return CachedTile::make("a heavy tile");
    };
}

} // namespace

TEST_CASE("tile cache: concurrent misses for the same tile build it once and share it", "[slow]") {
    constexpr int askers = 8;
    TileCache cache(0);  // nothing is kept: only the sharing can spare the builds
    std::atomic<int> builds{0}, started{0}, failed{0};
    const auto got = ask_together(cache, askers, 7, slow_build(builds, started, askers, false), started, failed);
    CHECK(builds == 1);
    CHECK(failed == 0);
    for (const auto& tile : got) {
        REQUIRE(tile != nullptr);
        CHECK(tile == got.front());
        CHECK(tile->bytes == "a heavy tile");
    }
    CHECK(cache.stats().builds == 1);
    CHECK(cache.stats().shared == askers - 1);

    SECTION("once built, the next miss builds again (the cache keeps nothing here)") {
        std::atomic<int> again{0};
        cache.find_or_build("gao", {"incidents"}, BBox{-0.5, 16.0, 0.5, 16.5}, 7, [&] {
            ++again;
            return CachedTile::make("rebuilt");
        });
        CHECK(again == 1);
    }
}

TEST_CASE("tile cache: a build from an older state of the data is not shared with a newer one", "[slow]") {
    TileCache cache(0);
    std::atomic<int> builds{0}, started{0}, failed{0};
    std::thread older([&] {
        ++started;
        cache.find_or_build("gao", {"incidents"}, BBox{-0.5, 16.0, 0.5, 16.5}, 7, slow_build(builds, started, 2, false));
    });
    while (builds == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ++started;
    cache.find_or_build("gao", {"incidents"}, BBox{-0.5, 16.0, 0.5, 16.5}, 8, [&] {
        ++builds;
        return CachedTile::make("newer");
    });
    older.join();
    CHECK(builds == 2);
    CHECK(cache.stats().shared == 0);
}

TEST_CASE("tile cache: a shared build that fails fails for every asker, and the next one tries again", "[slow]") {
    constexpr int askers = 4;
    TileCache cache(1 << 20);
    std::atomic<int> builds{0}, started{0}, failed{0};
    const auto got = ask_together(cache, askers, 7, slow_build(builds, started, askers, true), started, failed);
    CHECK(builds == 1);
    CHECK(failed == askers);
    const auto tile = cache.find_or_build("gao", {"incidents"}, BBox{-0.5, 16.0, 0.5, 16.5}, 7,
                                          [] { return CachedTile::make("fine now"); });
    CHECK(tile->bytes == "fine now");
    CHECK(cache.find("gao") == tile);
}

TEST_CASE("tile cache: the bytes and entries gauges follow inserts, evictions and the cache's end", "[db]") {
    namespace metrics = sitmap::server::metrics;
    auto& bytes = metrics::gauge("sitmap_tile_cache_bytes");
    auto& entries = metrics::gauge("sitmap_tile_cache_entries");
    const auto bytes_before = bytes.value();
    const auto entries_before = entries.value();
    {
        sitmap::test::TempDir dir;
        auto reader = sitmap::layers::open_database(dir.file("map.sqlite"), Database::Mode::create);
        TileCache cache(4096);
        cache.sync(reader);
        const BBox gao{-0.5, 16.0, 0.5, 16.5};
        for (int i = 0; i < 10; ++i) {  // 10 tiles of 1,000 bytes into 4,096: the oldest are evicted
            cache.insert("tile " + std::to_string(i), {"incidents"}, gao,
                         CachedTile::make(std::string(1000, static_cast<char>('a' + i)), false), cache.sequence());
        }
        const auto stats = cache.stats();
        REQUIRE(stats.evicted > 0);
        CHECK(stats.entries < 10);
        CHECK(bytes.value() - bytes_before == static_cast<std::int64_t>(stats.bytes));
        CHECK(entries.value() - entries_before == static_cast<std::int64_t>(stats.entries));
        CHECK(stats.bytes <= 4096);
    }
    CHECK(bytes.value() == bytes_before);
    CHECK(entries.value() == entries_before);
}

TEST_CASE("tile cache: a tile built raw is answered raw, then kept compressed for the next asker", "[db]") {
    sitmap::test::TempDir dir;
    auto writer = sitmap::layers::open_database(dir.file("map.sqlite"), Database::Mode::create);
    TileCache cache(1 << 20);
    cache.sync(writer);
    const std::string bytes(4096, 'x');
    std::shared_ptr<const CachedTile> answered;
    cache.find_or_build(
        "raw", {"incidents"}, BBox{0, 0, 1, 1}, cache.sequence(), [&] { return CachedTile::make(bytes, false); },
        [&](TileCache::Result result) { answered = result.tile; },
        [](std::function<void()> job) {
            job();
            return true;
        });
    REQUIRE(answered);
    CHECK(answered->gzip.empty());  // the answer did not wait for a compression it does not use
    const auto kept = cache.find("raw");
    REQUIRE(kept);
    CHECK(kept->bytes == bytes);
    CHECK_FALSE(kept->gzip.empty());
    CHECK(kept->gzip.size() < bytes.size());
    CHECK(kept->etag == answered->etag);
}
