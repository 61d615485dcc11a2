// The tile cache under a stream of writes: a tile built while a change came in is kept unless
// that change touches it. Two real connections to a SpatiaLite file: a writer recording changes
// (as the write API does) and the reader the cache watches.

#include "server/tile_cache.hpp"

#include "layers/changes.hpp"
#include "layers/schema.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

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
