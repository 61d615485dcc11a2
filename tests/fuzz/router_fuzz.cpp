// libFuzzer target: whole GET requests through the real routes on the default dataset, as the
// server answers them (Router::handle, every handler, SQLite). The first byte picks a route
// prefix, the rest (printable ASCII, as an HTTP parser lets through) completes the target.
// Any 5xx, crash or sanitizer report is a bug: bad input must get a 4xx.

#include "layers/demo.hpp"
#include "layers/schema.hpp"
#include "api/handlers.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

namespace {

using namespace sitmap;

struct Served {
    std::filesystem::path dir;
    server::ServerConfig config;
    server::Router router;
};

Served& served()
{
    static Served* instance = [] {
        auto* s = new Served;  // lives for the whole run: the fuzzer exits without unwinding
        std::string pattern = (std::filesystem::temp_directory_path() / "sitmap-fuzz-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) {
            std::abort();
        }
        s->dir = pattern;
        s->config.database = (s->dir / "map.sqlite").string();
        {
            auto db = layers::open_database(s->config.database, geo::Database::Mode::create);
            layers::import_default_dataset(db);
        }
        s->config.web_root = SITMAP_SOURCE_WEB_DIR;
        s->config.node_modules = SITMAP_SOURCE_NODE_MODULES;
        server::register_routes(s->router, s->config);
        std::atexit([] {
            std::error_code ec;
            std::filesystem::remove_all(served().dir, ec);
        });
        return s;
    }();
    return *instance;
}

constexpr std::array prefixes = {
    "/collections/incidents/items?", "/collections/bases/items?", "/collections/routes/items?",
    "/collections/cercles/items?",   "/collections/incidents/items/", "/tiles/",
    "/tiles/incidents/",             "/stats/incidents?",         "/stats/coverage?",
    "/stats/counts?",                "/routes/",                   "/collections/",
    "/export/incidents.geojson?",    "/",
};

} // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/)
{
    spdlog::set_level(spdlog::level::off);
    served();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) {
        return 0;
    }
    std::string target = prefixes[data[0] % prefixes.size()];
    for (std::size_t i = 1; i < size && target.size() < 2048; ++i) {
        if (data[i] > 0x20 && data[i] < 0x7f) {
            target += static_cast<char>(data[i]);
        }
    }
    if (target.starts_with("/events")) {
        return 0;  // endless by design
    }
    server::Request request{server::http::verb::get, target, 11};
    request.set(server::http::field::host, "127.0.0.1");
    auto response = served().router.handle(request);
    if (auto* streamed = std::get_if<server::StreamedResponse>(&response)) {
        // The body of a stream is made as it is sent: make some of it.
        std::string chunk;
        for (int i = 0; i < 64 && streamed->poll_interval.count() == 0; ++i) {
            chunk.clear();
            if (!streamed->next_chunk || !streamed->next_chunk(chunk)) {
                break;
            }
        }
    }
    const auto status = server::header_of(response).result_int();
    if (status >= 500) {
        std::fprintf(stderr, "GET %s answered %u\n", target.c_str(), status);
        std::abort();
    }
    return 0;
}
