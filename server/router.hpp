#pragma once
/// The router: a pure function from a request to a response, testable without sockets.

#include "server/http.hpp"
#include "server/query.hpp"

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

    /// The capture `name`. Throws sitmap::internal_error if the route has no such capture
    /// (a mistake in the handler, hence a 500).
    const std::string& param(std::string_view name) const;
};

/// A route handler. It may throw: sitmap::input_error becomes 400, sitmap::not_found_error 404,
/// anything else 500 (see json_error.hpp).
using Handler = std::function<Response(const RouteContext&)>;

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
/// caught in handle() and mapped once (json_error.hpp). handle() also compresses JSON, GeoJSON,
/// CSV and HTML answers when the client accepts gzip (compress_response, compression.hpp), and
/// sets the HTTP version, keep-alive and Content-Length of the response; a streamed response to
/// an HTTP/1.0 client is collected into one body, since HTTP/1.0 has no chunked encoding.
class Router {
public:
    /// Registers `handler` for `method` and `pattern`.
    /// Throws std::invalid_argument on a malformed pattern (no leading '/', unbalanced braces,
    /// adjacent captures, a repeated capture name).
    void add(http::verb method, std::string_view pattern, Handler handler);

    /// Registers a GET route (which also answers HEAD).
    void get(std::string_view pattern, Handler handler) { add(http::verb::get, pattern, std::move(handler)); }

    /// Registers a POST route.
    void post(std::string_view pattern, Handler handler) { add(http::verb::post, pattern, std::move(handler)); }

    /// The handler of GET and HEAD requests that match no route (typically StaticFiles).
    void set_fallback(Handler handler) { m_fallback = std::move(handler); }

    /// The origins ("https://map.example.org", or "*" for any) whose browser pages may read the
    /// responses (CORS). None by default: no Access-Control-* header is ever sent. Throws
    /// sitmap::input_error for an origin that is not scheme://host[:port] or "*".
    void set_cors_origins(std::vector<std::string> origins);

    /// Answers a request. Never throws. Called by several server threads at once, so
    /// handlers must be safe to run concurrently; routes must all be added before serving.
    /// `route_label`, when given, receives the pattern of the route that answered, "(static)" for
    /// the fallback or "(none)" when no route did: a label for metrics, never the path.
    Response handle(const Request& request, std::string* route_label = nullptr) const noexcept;

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
        Handler handler;
    };

    static bool match(const Route& route, const std::vector<std::string_view>& parts,
                      std::vector<std::pair<std::string_view, std::string_view>>& captures);
    Response dispatch(const Request& request, std::string* route_label) const;
    void add_cors(Response& response, const Request& request) const;

    std::vector<Route> m_routes;
    Handler m_fallback;
    std::vector<std::string> m_cors_origins;
};

} // namespace sitmap::server
