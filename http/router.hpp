#pragma once
/// The router: a pure function from a request to a response, testable without sockets.

#include "http/http.hpp"
#include "http/query.hpp"
#include "http/work.hpp"

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sitmap::server {

/// What a handler gets: the request, the captures of its route pattern and the parsed query.
struct RouteContext {
    const Request& request;
    /// The path of the target, still percent-encoded, without the query string.
    std::string_view path;
    /// The captures of the route pattern by name, percent-decoded ("{layer}" -> "bases").
    std::map<std::string, std::string, std::less<>> params;
    /// The query string, decoded.
    Query query;

    /// Where run_on() hands work: the server's workers; none when the router is called directly.
    const Schedule* schedule = nullptr;

    /// The capture `name`. Throws sitmap::internal_error if the route has no such capture
    /// (a mistake in the handler, hence a 500).
    const std::string& param(std::string_view name) const;

    /// Runs `job` on a worker of `work`'s lane (at once on this thread when there are no
    /// workers, or for Work::io); false when that lane's queue is full: answer overloaded().
    bool run_on(Work work, Job job) const;
};

/// A route handler. It may throw: sitmap::input_error becomes 400, sitmap::not_found_error 404,
/// anything else 500 (see json_error.hpp).
using Handler = std::function<Response(const RouteContext&)>;

/// Delivers the response to a request, from any thread; only the first call counts.
using Respond = std::function<void(Response)>;

/// A handler that may answer later: it calls `respond` once, now or from another thread (a
/// Respond dropped without being called answers 500). It may throw before responding, as a
/// Handler does. The context lives only during the call: what later work needs of it must be
/// copied (the request itself lives until the response is sent).
using AsyncHandler = std::function<void(const RouteContext&, Respond)>;

/// Routes requests by method and path pattern.
///
/// A pattern is a path whose segments mix literals and `{name}` captures, e.g.
/// "/tiles/{layer}/{z}/{x}/{y}.mvt", "/collections/{id}/items", "/fonts/{stack}/{start}-{end}.pbf".
/// A capture matches one or more characters inside one segment (never a '/'); two captures
/// must be separated by a literal. When several routes match a path, the one with the most
/// literal characters wins, then the first registered.
///
/// handle() answers: the route's response; 405 with Allow when the path matches only routes of
/// other methods; the fallback (static files) for a GET or HEAD no route matches; 404 otherwise.
/// HEAD is served by a GET route (the body is dropped, the headers kept). OPTIONS on a path that
/// routes match answers 204 with Allow (and, for an allowed origin, the CORS preflight headers).
/// Every exception is
/// caught in handle() and mapped once (json_error.hpp).
///
/// Each route declares the kind of its work (work.hpp): Work::heavy unless told otherwise, the
/// safe guess for work of unknown cost. The server asks work_of() on the I/O thread and runs
/// the route where its kind belongs (server/workers.hpp). handle() also compresses JSON, GeoJSON,
/// CSV and HTML answers when the client accepts gzip (compress_response, compression.hpp), and
/// sets the HTTP version, keep-alive and Content-Length of the response; a streamed response to
/// an HTTP/1.0 client is collected into one body, since HTTP/1.0 has no chunked encoding.
class Router {
public:
    /// Registers `handler` for `method` and `pattern`, its work of kind `work`.
    /// Throws std::invalid_argument on a malformed pattern (no leading '/', unbalanced braces,
    /// adjacent captures, a repeated capture name).
    void add(http::verb method, std::string_view pattern, Handler handler, Work work = Work::heavy);

    /// Registers a handler that may answer later (see AsyncHandler). Throws as add() does.
    void add_async(http::verb method, std::string_view pattern, AsyncHandler handler, Work work);

    /// Registers a GET route (which also answers HEAD).
    void get(std::string_view pattern, Handler handler, Work work = Work::heavy)
    {
        add(http::verb::get, pattern, std::move(handler), work);
    }

    /// Registers a POST route.
    void post(std::string_view pattern, Handler handler, Work work = Work::heavy)
    {
        add(http::verb::post, pattern, std::move(handler), work);
    }

    /// The handler of GET and HEAD requests that match no route (typically StaticFiles).
    void set_fallback(Handler handler, Work work = Work::cheap);

    /// The origins ("https://map.example.org", or "*" for any) whose browser pages may read the
    /// responses (CORS). None by default: no Access-Control-* header is ever sent. Throws
    /// sitmap::input_error for an origin that is not scheme://host[:port] or "*".
    void set_cors_origins(std::vector<std::string> origins);

    /// Answers a request. Never throws. Called by several server threads at once, so
    /// handlers must be safe to run concurrently; routes must all be added before serving.
    /// `route_label`, when given, receives the pattern of the route that answered, "(static)" for
    /// the fallback or "(none)" when no route did: a label for metrics, never the path.
    /// Waits for an asynchronous handler's answer (for tests and tools; the server uses
    /// handle_async()).
    Response handle(const Request& request, std::string* route_label = nullptr) const noexcept;

    /// Answers a request through `respond`, called once, now or later from another thread, with
    /// the response finished as handle()'s is. `schedule`: where the handler's follow-up work
    /// runs (RouteContext::run_on); `request` must live until `respond` is called. Never throws.
    void handle_async(const Request& request, Respond respond, const Schedule* schedule = nullptr,
                      std::string* route_label = nullptr) const noexcept;

    /// The kind of work answering `request` is: its route's, the fallback's for a static file,
    /// Work::io when no handler runs (404, 405, OPTIONS, a malformed target). Cheap: matching
    /// only. `route_label` as in handle().
    Work work_of(const Request& request, std::string* route_label = nullptr) const noexcept;

private:
    struct Token {
        bool capture = false;
        std::string text;  // the literal, or the capture's name
    };
    using Segment = std::vector<Token>;
    struct Route {
        http::verb method;
        std::string pattern;
        std::vector<Segment> segments;
        std::size_t literal_chars = 0;
        AsyncHandler handler;
        Work work = Work::heavy;
    };
    struct Match;  // router.cpp

    static bool match(const Route& route, const std::vector<std::string_view>& parts,
                      std::vector<std::pair<std::string_view, std::string_view>>& captures);
    Match find(const Request& request) const;
    void dispatch(const Request& request, const Respond& respond, const Schedule* schedule,
                  std::string* route_label) const;
    void add_cors(Response& response, const Request& request) const;
    Response complete(Response response, const Request& request) const noexcept;

    std::vector<Route> m_routes;
    AsyncHandler m_fallback;
    Work m_fallback_work = Work::cheap;
    std::vector<std::string> m_cors_origins;
};

} // namespace sitmap::server
