// The tile service over loopback: TileJSON, status codes, ETag/304, gzip, and the cache, which
// must drop exactly the tiles an import (another process) touches.

#include "geo/tile.hpp"
#include "layers/demo.hpp"
#include "layers/schema.hpp"
#include "http/compression.hpp"
#include "api/handlers.hpp"
#include "http/listener.hpp"
#include "http_client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <unistd.h>

using namespace sitmap::server;
using sitmap::test::HttpClient;
namespace fs = std::filesystem;

namespace {

/// A database with the default dataset in a fresh temporary directory, removed at the end.
struct TempDatabase {
    fs::path dir;
    std::string path;

    explicit TempDatabase(const std::string& name) {
        dir = fs::temp_directory_path() / ("sitmap_tiles_http_" + name + "_" + std::to_string(::getpid()));
        fs::remove_all(dir);
        fs::create_directories(dir);
        path = (dir / "map.sqlite").string();
        auto db = sitmap::layers::open_database(path, sitmap::geo::Database::Mode::create);
        sitmap::layers::import_default_dataset(db);
    }
    ~TempDatabase() { fs::remove_all(dir); }
};

/// The real routes on 127.0.0.1 and a free port, in a thread.
struct TileServer {
    Router router;
    std::unique_ptr<Server> server;
    std::future<void> done;

    explicit TileServer(ServerConfig config) {
        spdlog::set_level(spdlog::level::warn);
        const char* source = std::getenv("SITMAP_SOURCE_DIR");
        config.web_root = fs::path(source ? source : ".") / "web";
        register_routes(router, config);
        ServerOptions options;
        options.handle_signals = false;
        server = std::make_unique<Server>(router, "127.0.0.1", 0, 2, options);
        done = std::async(std::launch::async, [this] { server->run(); });
    }
    ~TileServer() {
        server->stop();
        done.wait();
    }
    unsigned short port() const { return server->port(); }
};

ServerConfig config_for(const TempDatabase& db) {
    ServerConfig config;
    config.database = db.path;
    return config;
}

std::string tile_path(const sitmap::geo::TileId& t, const std::string& query = "") {
    return "/tiles/" + t.to_string() + ".mvt" + query;
}

/// Runs the sitmap binary; returns its exit status.
int run_sitmap(const std::string& arguments) {
    const char* binary = std::getenv("SITMAP_BINARY");
    REQUIRE(binary != nullptr);
    return std::system((std::string(binary) + " " + arguments + " > /dev/null").c_str());
}

} // namespace

TEST_CASE("tiles http: TileJSON lists fields, bounds, center and absolute URLs under the public URL", "[http][db]") {
    TempDatabase db("tilejson");
    auto config = config_for(db);
    config.public_url = "https://maps.example.org/sitmap";
    TileServer running(config);
    HttpClient client(running.port());

    auto all = client.get("/tiles.json?type=ambush,ied_detonated&cluster=false");
    REQUIRE(all.result() == http::status::ok);
    const auto json = nlohmann::json::parse(all.body());
    CHECK(json["tilejson"] == "3.0.0");
    CHECK(json["tiles"][0] ==
          "https://maps.example.org/sitmap/tiles/{z}/{x}/{y}.mvt?type=ambush,ied_detonated&cluster=false");
    CHECK(json["vector_layers"].size() == 5);
    CHECK(json["minzoom"] == 0);
    CHECK(json["maxzoom"] == 16);
    const auto bounds = json["bounds"];
    CHECK(bounds[0].get<double>() < -11.0);  // Mali: about -12.3 .. 4.3 E, 10.1 .. 25.0 N
    CHECK(bounds[2].get<double>() > 4.0);
    CHECK(bounds[1].get<double>() < 10.5);
    CHECK(bounds[3].get<double>() > 24.5);
    CHECK(json["center"][0].get<double>() == Approx((bounds[0].get<double>() + bounds[2].get<double>()) / 2));

    auto one = nlohmann::json::parse(client.get("/tiles/incidents.json").body());
    CHECK(one["tiles"][0] == "https://maps.example.org/sitmap/tiles/incidents/{z}/{x}/{y}.mvt");
    REQUIRE(one["vector_layers"].size() == 1);
    const auto fields = one["vector_layers"][0]["fields"];
    CHECK(fields["fatalities"] == "Number");
    CHECK(fields["type"] == "String");
    CHECK(fields["synthetic"] == "Boolean");
    CHECK(fields["point_count"] == "Number");
    CHECK(fields["count_ied_detonated"] == "Number");

    CHECK(client.get("/tiles.json?type=nonsense").result() == http::status::bad_request);
    CHECK(client.get("/tiles/nothing.json").result() == http::status::not_found);
}

TEST_CASE("tiles http: a bad z/x/y is a 400 with a JSON reason, an empty tile a 204 without body", "[http][db]") {
    TempDatabase db("status");
    TileServer running(config_for(db));
    HttpClient client(running.port());
    for (const char* bad : {"/tiles/3/8/0.mvt", "/tiles/3/0/8.mvt", "/tiles/17/0/0.mvt", "/tiles/-1/0/0.mvt",
                            "/tiles/a/0/0.mvt", "/tiles/bases/2/4/1.mvt", "/tiles/5/15/14.mvt?cluster=maybe",
                            "/tiles/5/15/14.mvt?from=yesterday", "/tiles/5/15/14.mvt?target=tourists"}) {
        INFO(bad);
        auto response = client.get(bad);
        CHECK(response.result() == http::status::bad_request);
        CHECK(response[http::field::content_type] == "application/json");
        const auto body = nlohmann::json::parse(response.body());
        CHECK(body.contains("error"));
        CHECK_FALSE(body["message"].get<std::string>().empty());
    }
    CHECK(client.get("/tiles/nothing/5/15/14.mvt").result() == http::status::not_found);

    auto empty = client.get("/tiles/6/0/63.mvt");  // the south-west corner of the world
    CHECK(empty.result() == http::status::no_content);
    CHECK(empty.body().empty());
    CHECK(client.get("/tiles/16/65535/65535.mvt").result() == http::status::no_content);
    auto zero = client.get("/tiles/0/0/0.mvt");
    CHECK(zero.result() == http::status::ok);
    CHECK(zero[http::field::content_type] == "application/vnd.mapbox-vector-tile");
}

TEST_CASE("tiles http: strong ETags, 304 on If-None-Match, gzip when accepted, cache hits", "[http][db]") {
    TempDatabase db("etag");
    TileServer running(config_for(db));
    HttpClient client(running.port());
    const auto gao = tile_path(sitmap::geo::lonlat_to_tile(-0.04, 16.27, 9));

    auto first = client.get(gao);
    REQUIRE(first.result() == http::status::ok);
    CHECK(first["X-Sitmap-Cache"] == "miss");
    CHECK(first[http::field::cache_control] == "no-cache");
    CHECK(first[http::field::content_encoding].empty());
    const std::string etag(first[http::field::etag]);
    CHECK(etag.size() > 2);
    CHECK(etag.front() == '"');  // strong: not W/

    auto second = client.get(gao);
    CHECK(second["X-Sitmap-Cache"] == "hit");
    CHECK(second.body() == first.body());
    CHECK(std::string(second[http::field::etag]) == etag);

    auto revalidated = client.request(http::verb::get, gao, {{http::field::if_none_match, etag}});
    CHECK(revalidated.result() == http::status::not_modified);
    CHECK(revalidated.body().empty());

    // The cache compresses a tile built raw after its answer has gone: until that copy is in,
    // a client that takes gzip is answered from the raw one.
    auto zipped = client.request(http::verb::get, gao, {{http::field::accept_encoding, "gzip, deflate, br"}});
    for (int i = 0; i < 100 && zipped[http::field::content_encoding].empty(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        zipped = client.request(http::verb::get, gao, {{http::field::accept_encoding, "gzip, deflate, br"}});
    }
    REQUIRE(zipped.result() == http::status::ok);
    CHECK(zipped[http::field::content_encoding] == "gzip");
    CHECK(zipped.body().size() < first.body().size());
    CHECK(gzip_decompress(zipped.body()) == first.body());
    const std::string gzip_etag(zipped[http::field::etag]);
    CHECK(gzip_etag != etag);
    auto zipped_again = client.request(http::verb::get, gao,
                                       {{http::field::accept_encoding, "gzip"}, {http::field::if_none_match, gzip_etag}});
    CHECK(zipped_again.result() == http::status::not_modified);
    CHECK(client.request(http::verb::get, gao, {{http::field::accept_encoding, "gzip;q=0"}})[http::field::content_encoding]
              .empty());

    // Filters and clustering are part of the key; unfiltered tiles stay cached.
    auto filtered = client.get(gao + "?type=ambush&cluster=false");
    CHECK(filtered["X-Sitmap-Cache"] == "miss");
    CHECK(filtered.body() != first.body());
    CHECK(client.get(gao + "?type=ambush&cluster=false")["X-Sitmap-Cache"] == "hit");
    CHECK(client.get(gao)["X-Sitmap-Cache"] == "hit");
}

TEST_CASE("tiles http: a cache of 0 MB serves every tile fresh", "[http][db]") {
    TempDatabase db("nocache");
    auto config = config_for(db);
    config.tile_cache_bytes = 0;
    TileServer running(config);
    HttpClient client(running.port());
    const auto tile = tile_path(sitmap::geo::lonlat_to_tile(-4.2, 14.5, 8));
    const auto first = client.get(tile);
    const auto second = client.get(tile);
    CHECK(first["X-Sitmap-Cache"] == "miss");
    CHECK(second["X-Sitmap-Cache"] == "miss");
    CHECK(first.body() == second.body());
    CHECK(first[http::field::content_encoding].empty());
    // Compressed only for a client that takes gzip (nothing is kept), with its own ETag.
    const auto zipped = client.request(http::verb::get, tile, {{http::field::accept_encoding, "gzip"}});
    CHECK(zipped[http::field::content_encoding] == "gzip");
    CHECK(gzip_decompress(zipped.body()) == first.body());
    CHECK(zipped[http::field::etag] != first[http::field::etag]);
}

TEST_CASE("tiles http: an import by another process invalidates exactly the tiles it touches", "[http][db][slow]") {
    TempDatabase db("invalidate");
    TileServer running(config_for(db));
    HttpClient client(running.port());
    // A new incident near Ménaka (2.40 E, 15.92 N); Mopti is far away.
    const auto menaka = sitmap::geo::lonlat_to_tile(2.40, 15.92, 12);
    const auto menaka_low = tile_path(sitmap::geo::lonlat_to_tile(2.40, 15.92, 5));
    const auto mopti = tile_path(sitmap::geo::lonlat_to_tile(-4.2, 14.5, 12));
    const auto mopti_incidents = "/tiles/incidents/" + sitmap::geo::lonlat_to_tile(-4.2, 14.5, 10).to_string() + ".mvt";
    const auto menaka_bases = "/tiles/bases/" + menaka.to_string() + ".mvt";

    for (const auto& path : {tile_path(menaka), menaka_low, mopti, mopti_incidents, menaka_bases}) {
        INFO(path);
        CHECK(client.get(path)["X-Sitmap-Cache"] == "miss");
        CHECK(client.get(path)["X-Sitmap-Cache"] == "hit");
    }
    const auto before = client.get(tile_path(menaka));
    CHECK(before.body().find("INC-CACHE-TEST") == std::string::npos);

    const auto csv = fs::path(db.dir) / "new.csv";
    std::ofstream(csv) << "id,occurred_at,type,target,fatalities,injuries,description,source,synthetic,lon,lat\n"
                          "INC-CACHE-TEST,2024-05-01T10:00:00Z,ambush,un_mission,1,2,cache test,test,1,2.40,15.92\n";
    REQUIRE(run_sitmap("import --db " + db.path + " --layer incidents --mode append " + csv.string()) == 0);

    const auto after = client.get(tile_path(menaka));
    CHECK(after["X-Sitmap-Cache"] == "miss");
    CHECK(after.body().find("INC-CACHE-TEST") != std::string::npos);
    CHECK(std::string(after[http::field::etag]) != std::string(before[http::field::etag]));
    CHECK(client.get(menaka_low)["X-Sitmap-Cache"] == "miss");      // the cluster there counts it
    CHECK(client.get(mopti)["X-Sitmap-Cache"] == "hit");            // elsewhere
    CHECK(client.get(mopti_incidents)["X-Sitmap-Cache"] == "hit");  // elsewhere
    CHECK(client.get(menaka_bases)["X-Sitmap-Cache"] == "hit");     // another layer
    CHECK(client.get(tile_path(menaka))["X-Sitmap-Cache"] == "hit");
}
