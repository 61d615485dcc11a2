#pragma once
/// Server-Sent Events: GET /events tells connected maps of every committed change.
///
/// Each change of the change log (layers/changes.hpp), whoever wrote it (the write API, an
/// import by another process), is sent as
///
///     id: <seq>
///     event: change
///     data: {"seq":12,"layer":"incidents","action":"create","id":"<feature id or null>","bbox":[w,s,e,n]}
///
/// A comment line ": keep-alive" goes out when nothing was sent for `keep_alive`, so proxies
/// keep the connection and a vanished client is noticed. `Last-Event-ID` (header, as
/// EventSource sends on reconnecting) or `?since=<seq>` resumes after that change; without
/// either the stream starts with the next change. Events of layers the caller may not read
/// (auth.hpp: --read-access, --private-layer; the token may come as ?access_token=, since
/// EventSource sets no header) are not sent. The caller is authenticated when the stream opens,
/// and a stream opened with a token looks the token up again every `token_check`: once it is
/// revoked (or gone), the stream sends
///
///     event: revoked
///     data: {"error":"unauthorized","message":"..."}
///
/// and ends, so a reconnect has to present a valid token (or none, where reading is public).

#include "api/request_helpers.hpp"
#include "http/router.hpp"

#include <chrono>

namespace sitmap::server {

/// How often an event stream looks for changes, and how often it proves it is alive.
struct EventOptions {
    std::chrono::milliseconds poll_interval{250};
    std::chrono::milliseconds keep_alive{15000};
    /// How often a stream opened with a token checks that the token is still valid.
    std::chrono::milliseconds token_check{1000};
};

/// Registers GET /events. The stream holds no server thread while it waits (see
/// StreamedResponse::poll_interval) and counts against SessionLimits::max_streams. The streams
/// share one reader of the change log (change_feed.hpp), which reads it at most once per
/// poll_interval whatever the number of streams.
void register_event_routes(Router& router, const ServerConfig& config, EventOptions options = {});

} // namespace sitmap::server
