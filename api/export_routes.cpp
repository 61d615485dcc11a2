// GET /export/{layer}.geojson?bbox=&from=&to=&type=&target=
// The whole layer (or what the filters keep) as a GeoJSON file to save: Content-Disposition
// attachment, body streamed with chunked encoding, so memory stays flat whatever the size.

#include "api/handlers.hpp"

#include "layers/features.hpp"
#include "layers/schema.hpp"
#include "api/auth.hpp"

#include <memory>
#include <optional>

namespace sitmap::server {

namespace {

constexpr std::size_t chunk_bytes = 64 * 1024;

/// One download: its own read-only connection, so the open statement (and with it one WAL
/// snapshot: an import committing meanwhile is not seen halfway) lives as long as the stream,
/// whichever server thread the session's strand runs the producer on.
struct ExportStream {
    geo::Database db;
    std::optional<layers::FeatureCursor> cursor;
    bool started = false;
    bool first = true;
    bool done = false;

    explicit ExportStream(const std::string& path) : db(layers::open_database(path, geo::Database::Mode::read_only)) {}

    bool next_chunk(std::string& chunk) {
        if (done) return false;
        if (!started) {
            chunk += R"({"type":"FeatureCollection","features":[)";
            started = true;
        }
        while (chunk.size() < chunk_bytes) {
            const std::size_t mark = chunk.size();
            if (!first) chunk += ',';
            if (!cursor->next(chunk)) {
                chunk.resize(mark);
                chunk += "]}\n";
                done = true;
                cursor.reset();  // ends the read transaction now
                break;
            }
            first = false;
        }
        return true;
    }
};

} // namespace

void register_export_routes(Router& router, const ServerConfig& config) {
    router.get("/export/{layer}.geojson", [config](const RouteContext& ctx) -> Response {
        const auto& layer = layers::find_layer(ctx.param("layer"));
        require_read(config, ctx, layer.name);
        layers::FeatureQuery query;
        query.filter = filter_from(ctx.query, true);  // bad parameters: 400 before anything is sent
        query.limit = -1;                              // SQLite: no limit
        auto stream = std::make_shared<ExportStream>(config.database);
        stream->cursor.emplace(stream->db, layer, query);
        auto response = make_streamed_response(http::status::ok, "application/geo+json",
                                                [stream](std::string& chunk) { return stream->next_chunk(chunk); });
        response.header.set(http::field::content_disposition, "attachment; filename=\"" + layer.name + ".geojson\"");
        response.header.set(http::field::cache_control, "no-cache");
        return response;
    });
}

} // namespace sitmap::server
