#include "api/events.hpp"

#include "geo/error.hpp"
#include "layers/changes.hpp"
#include "layers/tokens.hpp"
#include "api/auth.hpp"
#include "api/change_feed.hpp"
#include "http/json_error.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <memory>
#include <optional>
#include <string>

namespace sitmap::server {

namespace {

std::string event_text(const layers::Change& change)
{
    nlohmann::json bbox = nlohmann::json::array();
    for (const double value : change.bbox) {
        bbox.push_back(std::isfinite(value) ? nlohmann::json(value) : nlohmann::json());
    }
    const nlohmann::json data = {
        {"seq", change.sequence},
        {"layer", change.layer},
        {"action", change.action.empty() ? std::string("import") : change.action},
        {"id", change.feature_id.empty() ? nlohmann::json() : nlohmann::json(change.feature_id)},
        {"bbox", std::move(bbox)},
    };
    return "id: " + std::to_string(change.sequence) + "\nevent: change\ndata: " + data.dump() + "\n\n";
}

// Where a stream starts: after Last-Event-ID, after ?since=, or after the newest change.
std::int64_t start_after(const RouteContext& ctx, geo::Database& db)
{
    const auto header = to_std(ctx.request["Last-Event-ID"]);
    const auto since = ctx.query.get("since");
    const std::string text = !header.empty() ? std::string(header) : since.value_or("");
    if (text.empty()) {
        return layers::last_change(db);
    }
    const auto sequence = parse_integer(text, header.empty() ? "since" : "Last-Event-ID");
    if (sequence < 0) {
        throw input_error(std::string(header.empty() ? "since" : "Last-Event-ID") + ": '" + text +
                          "' is not a change sequence number (0 or more)");
    }
    return sequence;
}

// The state of one stream, touched only on its connection's strand (one call at a time).
struct EventStream {
    ServerConfig config;
    EventOptions options;
    std::shared_ptr<ChangeFeed> feed;  // the server's one reader of the change log
    std::optional<Principal> principal;  // checked when the stream opened
    std::int64_t after = 0;
    bool started = false;
    std::chrono::steady_clock::time_point last_sent = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point token_checked = std::chrono::steady_clock::now();
    bool ended = false;

    // False once the token the stream was opened with is revoked or deleted.
    bool token_still_valid(std::chrono::steady_clock::time_point now)
    {
        if (!principal || now - token_checked < options.token_check) return true;
        token_checked = now;
        return layers::token_active(connection(config), principal->token_id);
    }

    bool next(std::string& chunk)
    {
        const auto now = std::chrono::steady_clock::now();
        if (ended) return false;
        if (!token_still_valid(now)) {
            // Said before closing, so a client knows not to reconnect with the same token.
            ended = true;
            chunk = "event: revoked\ndata: " +
                    nlohmann::json{{"error", "unauthorized"},
                                   {"message", "the token of this stream was revoked; reconnect with a valid token"}}
                        .dump() +
                    "\n\n";
            return true;
        }
        if (!started) {
            started = true;
            chunk = "retry: 1000\n\n";  // EventSource reconnects after a second, well within 2 s
        }
        for (const auto& change : feed->since(after)) {
            after = change.sequence;
            if (can_read(config, principal, change.layer)) {
                chunk += event_text(change);
            }
        }
        if (chunk.empty() && now - last_sent >= options.keep_alive) {
            chunk = ": keep-alive\n\n";
        }
        if (!chunk.empty()) {
            last_sent = now;
        }
        return true;  // an empty chunk: nothing now, ask again after the poll interval
    }
};

} // namespace

void register_event_routes(Router& router, const ServerConfig& config, EventOptions options)
{
    auto feed = std::make_shared<ChangeFeed>(config, options.poll_interval);
    // Cheap: each turn of a stream takes the changes the feed has read already.
    router.get("/events", [config, options, feed](const RouteContext& ctx) -> Response {
        if (ctx.request.version() < 11) {
            return json_error(http::status::http_version_not_supported, "http_version_not_supported",
                              "GET /events is an endless chunked stream: it needs HTTP/1.1");
        }
        auto stream = std::make_shared<EventStream>();
        stream->config = config;
        stream->options = options;
        stream->feed = feed;
        stream->principal = require_read(config, ctx);  // 401 when reading needs a token
        stream->after = start_after(ctx, connection(config));
        auto response = make_streamed_response(http::status::ok, "text/event-stream; charset=utf-8",
                                               [stream](std::string& chunk) { return stream->next(chunk); });
        response.header.set(http::field::cache_control, "no-store");
        response.header.set("X-Accel-Buffering", "no");  // a proxy in front must not hold events back
        response.poll_interval = options.poll_interval;
        return response;
    }, Work::cheap);
}

} // namespace sitmap::server
