#pragma once
/// HTTP types shared by the router, the handlers and the sessions (Boost.Beast 1.74).
///
/// A handler turns a `Request` into a `Response`. A `Response` is a whole body in memory
/// (`StringResponse`), a header plus a producer of chunks (`StreamedResponse`) that the session
/// sends with chunked transfer encoding, so a large body never has to be held at once, or a whole
/// body shared with a cache (`SharedResponse`), sent without a copy.

#include <boost/beast/http.hpp>

#include <boost/optional.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sitmap::server {

namespace beast = boost::beast;
namespace http = boost::beast::http;

/// A parsed request; the body (if any) is held in memory, bounded by the session's body limit.
using Request = http::request<http::string_body>;

/// An ordinary response with its whole body in memory.
using StringResponse = http::response<http::string_body>;

/// Produces the next chunk of a streamed body: fills `chunk` (cleared before each call) and
/// returns true, or returns false when the body is complete (then `chunk` is ignored).
/// An empty chunk with `true` is skipped. It is called on the connection's strand, one call at a
/// time, after the header has been sent; if it throws, the connection is closed without the final
/// chunk, so the client sees a truncated body rather than a wrong one.
using ChunkProducer = std::function<bool(std::string& chunk)>;

/// A body held in a shared, immutable string and sent as it is: a response from a cache goes out
/// without its bytes being copied. Null is an empty body. For responses only (it has no reader).
struct SharedBody {
    using value_type = std::shared_ptr<const std::string>;

    /// The body's length in bytes, for Content-Length.
    static std::uint64_t size(const value_type& body) noexcept { return body ? body->size() : 0; }

    /// Beast's BodyWriter: the whole body as one buffer.
    class writer {
    public:
        using const_buffers_type = boost::asio::const_buffer;

        template <bool isRequest, class Fields>
        writer(const http::header<isRequest, Fields>& /*header*/, const value_type& body) : m_body(body) {}

        void init(beast::error_code& ec) { ec = {}; }

        boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& ec)
        {
            ec = {};
            if (!m_body || m_body->empty()) {
                return boost::none;
            }
            return std::make_pair(const_buffers_type{m_body->data(), m_body->size()}, false);
        }

    private:
        const value_type& m_body;
    };
};

/// A response whose body is shared (SharedBody), e.g. a cached tile.
using SharedResponse = http::response<SharedBody>;

/// A response whose body is produced piece by piece and sent with `Transfer-Encoding: chunked`.
/// The header is used as given (status, Content-Type, ...); the session sets chunked itself.
struct StreamedResponse {
    http::response<http::empty_body> header;
    ChunkProducer next_chunk;
    /// Zero for an ordinary body. Non-zero makes this a long-lived stream (Server-Sent Events):
    /// an empty chunk with `true` then means "nothing now", and the session waits this long on a
    /// timer, holding no thread, before asking again. Such a stream counts against
    /// SessionLimits::max_streams instead of max_requests, the write timeout covers its writes
    /// but not its waits, and it ends (without the final chunk) when the client goes away, or
    /// (with it) when the server shuts down. HTTP/1.0 cannot carry it: the handler must refuse.
    std::chrono::milliseconds poll_interval{0};
};

/// What a handler returns.
using Response = std::variant<StringResponse, StreamedResponse, SharedResponse>;

/// The header (status and fields) of either kind of response.
inline http::response_header<>& header_of(Response& response)
{
    if (auto* streamed = std::get_if<StreamedResponse>(&response)) {
        return streamed->header.base();
    }
    if (auto* shared = std::get_if<SharedResponse>(&response)) {
        return shared->base();
    }
    return std::get<StringResponse>(response).base();
}

/// The header (status and fields) of either kind of response.
inline const http::response_header<>& header_of(const Response& response)
{
    if (const auto* streamed = std::get_if<StreamedResponse>(&response)) {
        return streamed->header.base();
    }
    if (const auto* shared = std::get_if<SharedResponse>(&response)) {
        return shared->base();
    }
    return std::get<StringResponse>(response).base();
}

/// A Beast string view as a standard one.
inline std::string_view to_std(beast::string_view text) noexcept
{
    return {text.data(), text.size()};
}

/// A response with a body in memory and its Content-Type; Content-Length is set by the router.
inline StringResponse make_response(http::status status, std::string body, std::string_view content_type)
{
    StringResponse response{status, 11};
    response.set(http::field::content_type, beast::string_view{content_type.data(), content_type.size()});
    response.body() = std::move(body);
    return response;
}

/// A streamed response: `next_chunk` is called until it returns false (see ChunkProducer).
inline StreamedResponse make_streamed_response(http::status status, std::string_view content_type,
                                               ChunkProducer next_chunk)
{
    StreamedResponse response;
    response.header.result(status);
    response.header.version(11);
    response.header.set(http::field::content_type, beast::string_view{content_type.data(), content_type.size()});
    response.next_chunk = std::move(next_chunk);
    return response;
}

/// The path of a request target, without the query string (still percent-encoded).
inline std::string_view target_path(std::string_view target)
{
    return target.substr(0, target.find('?'));
}

/// The path of a request target, without the query string (still percent-encoded).
inline std::string_view target_path(beast::string_view target)
{
    return target_path(to_std(target));
}

/// The query string of a request target, without the '?' (empty if there is none).
inline std::string_view target_query(std::string_view target)
{
    const auto question = target.find('?');
    return question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
}

} // namespace sitmap::server
