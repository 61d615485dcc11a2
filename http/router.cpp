#include "http/router.hpp"

#include "geo/error.hpp"
#include "http/compression.hpp"
#include "http/json_error.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <future>
#include <memory>
#include <set>
#include <stdexcept>
#include <utility>

namespace sitmap::server {

namespace {

std::vector<std::string_view> split_path(std::string_view path)
{
    // path starts with '/'; "/a/b" -> {"a", "b"}, "/" -> {""}, "/a/" -> {"a", ""}
    std::vector<std::string_view> parts;
    std::size_t start = 1;
    while (true) {
        const auto slash = path.find('/', start);
        if (slash == std::string_view::npos) {
            parts.push_back(path.substr(start));
            break;
        }
        parts.push_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    return parts;
}

using Captures = std::vector<std::pair<std::string_view, std::string_view>>;

template <class Tokens>
bool match_segment(const Tokens& tokens, std::size_t ti, std::string_view part, std::size_t pos, Captures& captures)
{
    if (ti == tokens.size()) {
        return pos == part.size();
    }
    const auto& token = tokens[ti];
    if (!token.capture) {
        if (part.substr(pos, token.text.size()) != token.text) {
            return false;
        }
        return match_segment(tokens, ti + 1, part, pos + token.text.size(), captures);
    }
    if (pos >= part.size()) {
        return false;  // a capture is never empty
    }
    if (ti + 1 == tokens.size()) {
        captures.emplace_back(token.text, part.substr(pos));
        return true;
    }
    // The next token is a literal (adjacent captures are refused when the route is added):
    // try each place it occurs, shortest capture first.
    const std::string& next = tokens[ti + 1].text;
    for (auto at = part.find(next, pos + 1); at != std::string_view::npos; at = part.find(next, at + 1)) {
        const auto mark = captures.size();
        captures.emplace_back(token.text, part.substr(pos, at - pos));
        if (match_segment(tokens, ti + 1, part, at, captures)) {
            return true;
        }
        captures.resize(mark);
    }
    return false;
}

std::string describe(const Request& request)
{
    const auto method = request.method_string();
    return std::string(method.data(), method.size()) + " " + std::string(target_path(request.target()));
}

// Version, keep-alive, Content-Length and HEAD: the parts of a response no handler should
// have to think about.
Response finish(Response response, const Request& request)
{
    const bool head = request.method() == http::verb::head;
    bool length_unknown = false;  // the HEAD of a streamed body: no Content-Length to announce
    if (auto* streamed = std::get_if<StreamedResponse>(&response)) {
        if (head || request.version() < 11) {
            StringResponse whole{std::move(streamed->header.base())};
            if (!head) {
                std::string chunk;
                while (true) {
                    chunk.clear();
                    if (!streamed->next_chunk || !streamed->next_chunk(chunk)) {
                        break;
                    }
                    whole.body() += chunk;
                }
            }
            whole.erase(http::field::content_length);
            // HEAD announces what GET would send (chunked to HTTP/1.1, read until the close to
            // HTTP/1.0, which has no chunked encoding); the session writes the header alone.
            whole.chunked(head && request.version() >= 11);
            length_unknown = head;
            response = std::move(whole);
        } else {
            streamed->header.erase(http::field::content_length);
            streamed->header.chunked(true);
        }
    }
    if (auto* whole = std::get_if<StringResponse>(&response)) {
        if (!length_unknown) {
            whole->prepare_payload();
        }
        if (head) {
            whole->body().clear();  // Content-Length stays that of the GET
        }
    }
    if (auto* streamed = std::get_if<StreamedResponse>(&response)) {
        streamed->header.version(request.version());
        streamed->header.keep_alive(request.keep_alive());
    } else if (auto* shared = std::get_if<SharedResponse>(&response)) {
        shared->prepare_payload();  // a HEAD keeps the body: the session sends the header alone
        shared->version(request.version());
        shared->keep_alive(request.keep_alive());
    } else {
        auto& whole = std::get<StringResponse>(response);
        whole.version(request.version());
        whole.keep_alive(request.keep_alive());
    }
    return response;
}

AsyncHandler as_async(Handler handler)
{
    return [handler = std::move(handler)](const RouteContext& context, const Respond& respond) {
        respond(handler(context));
    };
}

} // namespace

bool RouteContext::run_on(Work work, Job job) const
{
    if (schedule == nullptr || !*schedule || work == Work::io) {
        job();
        return true;
    }
    return (*schedule)(work, std::move(job));
}

const std::string& RouteContext::param(std::string_view name) const
{
    const auto found = params.find(name);
    if (found == params.end()) {
        throw internal_error("the route has no parameter '" + std::string(name) + "'");
    }
    return found->second;
}

void Router::add(http::verb method, std::string_view pattern, Handler handler, Work work)
{
    add_async(method, pattern, as_async(std::move(handler)), work);
}

void Router::set_fallback(Handler handler, Work work)
{
    m_fallback = handler ? as_async(std::move(handler)) : AsyncHandler{};
    m_fallback_work = work;
}

void Router::add_async(http::verb method, std::string_view pattern, AsyncHandler handler, Work work)
{
    if (pattern.empty() || pattern.front() != '/') {
        throw std::invalid_argument("route pattern '" + std::string(pattern) + "' does not start with '/'");
    }
    Route route{method, std::string(pattern), {}, 0, std::move(handler), work};
    std::set<std::string, std::less<>> names;
    for (const auto part : split_path(pattern)) {
        Segment segment;
        std::size_t pos = 0;
        while (pos < part.size()) {
            if (part[pos] == '{') {
                const auto close = part.find('}', pos);
                const auto name = close == std::string_view::npos ? std::string_view{} : part.substr(pos + 1, close - pos - 1);
                if (name.empty() || name.find('{') != std::string_view::npos) {
                    throw std::invalid_argument("route pattern '" + route.pattern + "' has a malformed capture");
                }
                if (!segment.empty() && segment.back().capture) {
                    throw std::invalid_argument("route pattern '" + route.pattern + "' has two adjacent captures");
                }
                if (!names.emplace(name).second) {
                    throw std::invalid_argument("route pattern '" + route.pattern + "' repeats the capture '" +
                                                std::string(name) + "'");
                }
                segment.push_back({true, std::string(name)});
                pos = close + 1;
            } else {
                auto end = part.find('{', pos);
                if (end == std::string_view::npos) {
                    end = part.size();
                }
                const auto literal = part.substr(pos, end - pos);
                if (literal.find('}') != std::string_view::npos) {
                    throw std::invalid_argument("route pattern '" + route.pattern + "' has an unbalanced '}'");
                }
                segment.push_back({false, std::string(literal)});
                route.literal_chars += literal.size();
                pos = end;
            }
        }
        route.segments.push_back(std::move(segment));
    }
    m_routes.push_back(std::move(route));
}

bool Router::match(const Route& route, const std::vector<std::string_view>& parts, Captures& captures)
{
    if (route.segments.size() != parts.size()) {
        return false;
    }
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (!match_segment(route.segments[i], 0, parts[i], 0, captures)) {
            return false;
        }
    }
    return true;
}

struct Router::Match {
    std::string_view path;
    const Route* route = nullptr;
    Captures captures;
    std::set<std::string> allowed;  // the methods of the routes that match the path
    bool fallback = false;          // the fallback answers (no route matches the path)
};

Router::Match Router::find(const Request& request) const
{
    const std::string_view target{request.target().data(), request.target().size()};
    Match found;
    found.path = target_path(target);
    if (found.path.empty() || found.path.front() != '/') {
        throw input_error("the request target must be a path starting with '/'");
    }
    const auto parts = split_path(found.path);
    const auto method = request.method();
    for (const auto& route : m_routes) {
        Captures captures;
        if (!match(route, parts, captures)) {
            continue;
        }
        const auto name = http::to_string(route.method);
        found.allowed.emplace(name.data(), name.size());
        if (route.method == http::verb::get) {
            found.allowed.emplace("HEAD");
        }
        const bool serves = route.method == method || (method == http::verb::head && route.method == http::verb::get);
        if (!serves) {
            continue;
        }
        // Prefer the more literal route; for HEAD, an explicit HEAD route over a GET one.
        const auto* best = found.route;
        const bool better = best == nullptr || route.literal_chars > best->literal_chars ||
                            (route.literal_chars == best->literal_chars && route.method == method &&
                             best->method != method);
        if (better) {
            found.route = &route;
            found.captures = std::move(captures);
        }
    }
    found.fallback = found.route == nullptr && m_fallback && found.allowed.empty() &&
                     (method == http::verb::get || method == http::verb::head);
    return found;
}

void Router::dispatch(const Request& request, const Respond& respond, const Schedule* schedule,
                      std::string* route_label) const
{
    const std::string_view target{request.target().data(), request.target().size()};
    auto found = find(request);
    if (route_label != nullptr) {
        *route_label = found.route != nullptr ? found.route->pattern : found.fallback ? "(static)" : "(none)";
    }
    if (found.route != nullptr || found.fallback) {
        RouteContext context{request, found.path, {}, Query::parse(target_query(target)), schedule};
        for (const auto& [name, raw] : found.captures) {
            context.params.emplace(std::string(name), percent_decode(raw));
        }
        (found.route != nullptr ? found.route->handler : m_fallback)(context, respond);
        return;
    }
    if (found.allowed.empty()) {
        throw not_found_error("no resource at " + std::string(found.path));
    }
    found.allowed.emplace("OPTIONS");
    std::string allow;
    for (const auto& name : found.allowed) {
        allow += allow.empty() ? name : ", " + name;
    }
    if (request.method() == http::verb::options) {
        StringResponse response{http::status::no_content, 11};
        response.set(http::field::allow, allow);
        respond(std::move(response));
        return;
    }
    auto response = json_error(http::status::method_not_allowed, "method_not_allowed",
                               describe(request) + " is not allowed; allowed: " + allow);
    response.set(http::field::allow, allow);
    respond(std::move(response));
}

void Router::set_cors_origins(std::vector<std::string> origins)
{
    for (const auto& origin : origins) {
        const auto scheme_end = origin.find("://");
        const auto scheme = origin.substr(0, scheme_end == std::string::npos ? 0 : scheme_end);
        const auto host = scheme_end == std::string::npos ? std::string{} : origin.substr(scheme_end + 3);
        const bool host_ok = !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == ':' ||
                   c == '[' || c == ']';
        });
        if (origin != "*" && !((scheme == "http" || scheme == "https") && host_ok)) {
            throw input_error("CORS origin '" + origin +
                              "' is not scheme://host[:port] (like https://map.example.org) or '*'");
        }
    }
    m_cors_origins = std::move(origins);
}

void Router::add_cors(Response& response, const Request& request) const
{
    if (m_cors_origins.empty()) {
        return;
    }
    auto& header = header_of(response);
    // Caches must keep the answers to different origins apart.
    const auto vary = to_std(header[http::field::vary]);
    header.set(http::field::vary, vary.empty() ? std::string("Origin") : std::string(vary) + ", Origin");
    const auto origin = to_std(request[http::field::origin]);
    if (origin.empty()) {
        return;
    }
    const bool any = std::find(m_cors_origins.begin(), m_cors_origins.end(), "*") != m_cors_origins.end();
    if (!any && std::find(m_cors_origins.begin(), m_cors_origins.end(), origin) == m_cors_origins.end()) {
        return;  // no header: the browser keeps the response from the page
    }
    header.set(http::field::access_control_allow_origin, any ? std::string("*") : std::string(origin));
    header.set(http::field::access_control_expose_headers, "ETag, Retry-After");
    if (request.method() == http::verb::options &&
        !request[http::field::access_control_request_method].empty()) {
        const auto allow = to_std(header[http::field::allow]);
        header.set(http::field::access_control_allow_methods, allow.empty() ? std::string("GET, HEAD") : std::string(allow));
        header.set(http::field::access_control_allow_headers, "Authorization, Content-Type, If-None-Match");
        header.set(http::field::access_control_max_age, "600");
    }
}

Response Router::complete(Response response, const Request& request) const noexcept
{
    try {
        add_cors(response, request);
        compress_response(response, request);
        return finish(std::move(response), request);
    } catch (...) {
        // A producer failed while being collected for HTTP/1.0 or HEAD, or a handler returned
        // a body that its status forbids (a 304 with content).
        return finish(error_response(std::current_exception(), describe(request)), request);
    }
}

namespace {

// What a handler's Respond holds: it finishes the response and passes it on, once; dropped
// unanswered (a handler that forgot, work dropped at shutdown), it answers 500.
class Responder {
public:
    using Complete = std::function<Response(Response)>;

    Responder(Complete complete, Respond deliver) : m_complete(std::move(complete)), m_deliver(std::move(deliver)) {}
    ~Responder()
    {
        if (m_done.exchange(true)) {
            return;
        }
        try {
            m_deliver(m_complete(json_error(http::status::internal_server_error, "internal_error",
                                            "the request was dropped without an answer")));
        } catch (...) {
            spdlog::error("a request dropped without an answer could not be answered either");
        }
    }
    Responder(const Responder&) = delete;
    Responder& operator=(const Responder&) = delete;

    void operator()(Response response)
    {
        if (!m_done.exchange(true)) {
            m_deliver(m_complete(std::move(response)));
        }
    }

private:
    Complete m_complete;
    Respond m_deliver;
    std::atomic<bool> m_done{false};
};

} // namespace

void Router::handle_async(const Request& request, Respond respond, const Schedule* schedule,
                          std::string* route_label) const noexcept
{
    try {
        auto responder = std::make_shared<Responder>(
            [this, &request](Response response) { return complete(std::move(response), request); }, std::move(respond));
        const Respond once = [responder](Response response) { (*responder)(std::move(response)); };
        try {
            dispatch(request, once, schedule, route_label);
        } catch (...) {
            once(error_response(std::current_exception(), describe(request)));
        }
    } catch (...) {
        spdlog::error("{}: no memory left to answer", describe(request));
    }
}

Response Router::handle(const Request& request, std::string* route_label) const noexcept
{
    std::promise<Response> promise;
    auto answer = promise.get_future();
    handle_async(request, [&promise](Response response) { promise.set_value(std::move(response)); }, nullptr,
                 route_label);
    return answer.get();
}

Work Router::work_of(const Request& request, std::string* route_label) const noexcept
{
    try {
        const auto found = find(request);
        if (route_label != nullptr) {
            *route_label = found.route != nullptr ? found.route->pattern : found.fallback ? "(static)" : "(none)";
        }
        return found.route != nullptr ? found.route->work : found.fallback ? m_fallback_work : Work::io;
    } catch (...) {
        if (route_label != nullptr) {
            *route_label = "(none)";
        }
        return Work::io;  // a malformed target: the answer is a 400, made at once
    }
}

} // namespace sitmap::server
