#pragma once
/// One HTTP/1.1 connection: read a request, answer it through the router, repeat (keep-alive).

#include "http/http.hpp"
#include "http/router.hpp"
#include "http/workers.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace sitmap::server {

namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

/// The limits every connection is held to.
struct SessionLimits {
    /// Time allowed to receive one whole request, idle keep-alive time included.
    std::chrono::steady_clock::duration read_timeout = std::chrono::seconds(30);
    /// Time allowed to send one response, or one chunk of a streamed response.
    std::chrono::steady_clock::duration write_timeout = std::chrono::seconds(30);
    /// Bytes of request line plus header fields; more gets 431 and the connection closed.
    std::uint32_t header_limit = 16 * 1024;
    /// Bytes of request body; more gets 413 and the connection closed.
    std::uint64_t body_limit = 1024 * 1024;
    /// Requests in progress at once over the whole server, from read to response written
    /// (0: no limit). One more gets 503 with Retry-After and the connection closed.
    std::size_t max_requests = 0;
    /// Long-lived streams (StreamedResponse::poll_interval, e.g. GET /events) open at once over
    /// the whole server (0: no limit); they do not count as requests. One more gets 503.
    std::size_t max_streams = 256;
};

class Session;

/// The live sessions of a server, so that a shutdown can close them. Thread-safe.
class SessionRegistry {
public:
    /// Adds a session; returns false (and adds nothing) once close_all() has run.
    bool add(const std::shared_ptr<Session>& session);

    /// Removes a session (from its destructor).
    void remove(const Session* session) noexcept;

    /// Refuses new sessions and asks each live one to close: at once if it waits for a
    /// request, after its current response otherwise.
    void close_all();

    /// The number of live sessions.
    std::size_t size() const;

    /// Counts a request in progress, unless `max` (0: no limit) are already: then returns false.
    bool begin_request(std::size_t max) noexcept;

    /// Ends a request counted by begin_request().
    void end_request() noexcept;

    /// Counts an open long-lived stream, unless `max` (0: no limit) are already open.
    bool begin_stream(std::size_t max) noexcept;

    /// Ends a stream counted by begin_stream().
    void end_stream() noexcept;

private:
    std::atomic<std::size_t> m_requests{0};
    std::atomic<std::size_t> m_streams{0};
    mutable std::mutex m_mutex;
    bool m_closing = false;
    std::unordered_map<const Session*, std::weak_ptr<Session>> m_sessions;
};

/// One connection, served on its own strand (the socket's executor must be a strand).
///
/// Requests are read with a header limit, a body limit and a deadline. The strand only reads
/// and writes: each request goes to the workers' lane of its route's kind of work
/// (Router::work_of, Workers::submit), or is answered at once for Work::io; its response is
/// posted back to the strand and written before the next request is read, so pipelined requests
/// are answered in order. A full lane answers 503 with Retry-After at once. A streamed
/// response's producer runs on a worker too, one chunk per job, each chunk written on the
/// strand, so a slow client holds no worker. While a request is in progress the session
/// watches the socket: a client that closes before a worker takes its request has it dropped
/// unanswered (logged as 499), and a stream whose client closes stops between two chunks, its
/// producer freed and never called again. A malformed request gets 400, too large a header 431, too large a
/// body 413, and the connection is then closed. Network failures are error codes that end the
/// session; nothing is thrown. Beyond SessionLimits::max_requests in progress, a request gets 503
/// with Retry-After. A long-lived stream (StreamedResponse::poll_interval) gives its request
/// place back and takes one of SessionLimits::max_streams instead (503 when none is left); it
/// waits for its producer on a timer and watches the socket, so a client that closes frees the
/// place at once. One access log line (spdlog, info) per response: client, method, path
/// without query (a query may carry a token), status, body bytes, milliseconds; and the same
/// counted in metrics.hpp by route pattern.
class Session : public std::enable_shared_from_this<Session> {
public:
    /// `router` and `workers` must outlive the session.
    Session(tcp::socket&& socket, const Router& router, Workers& workers, const SessionLimits& limits,
            std::shared_ptr<SessionRegistry> registry);
    ~Session();

    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    /// Starts serving; the session keeps itself alive until the connection ends.
    void run();

    /// Thread-safe: closes the connection after the response in progress, or at once if the
    /// session is waiting for a request.
    void close();

private:
    /// What a producer's job brings back to the strand.
    enum class Produced { chunk, end, failed, skipped };

    void do_read();
    void on_read(beast::error_code ec, std::size_t bytes);
    bool read_failed(beast::error_code ec);
    void dispatch();
    void run_handler();
    void on_response(std::optional<Response> response, double db_seconds);
    void answer(Response response);
    void reject(http::status status, std::string_view code, std::string_view message);
    void reject(StringResponse response);
    void reject_overloaded(const std::string& message, std::string_view retry_after_seconds);
    void send(Response response);
    void on_write(beast::error_code ec, std::size_t bytes);
    void on_stream_header(beast::error_code ec, std::size_t bytes);
    void produce_chunk();
    void run_producer();
    void on_produced(Produced produced, const std::string& error, double db_seconds);
    void wait_for_more();
    void watch_client();
    void on_client_readable(beast::error_code ec, std::uint64_t request);
    void write_last_chunk();
    void on_chunk(beast::error_code ec, std::size_t bytes);
    void on_last_chunk(beast::error_code ec, std::size_t bytes);
    void after_response(bool need_eof);
    void stop_request(unsigned status);
    void do_close();
    void finish_request(unsigned status);

    beast::tcp_stream m_stream;
    beast::flat_buffer m_buffer;
    const Router& m_router;
    Workers& m_workers;
    SessionLimits m_limits;
    std::shared_ptr<SessionRegistry> m_registry;
    std::string m_client;

    std::optional<http::request_parser<http::string_body>> m_parser;
    Request m_request;
    std::optional<SharedResponse> m_response;
    std::optional<http::response_serializer<SharedBody>> m_header_only;  // for HEAD
    std::optional<StreamedResponse> m_streamed;
    std::optional<http::response_serializer<http::empty_body>> m_serializer;
    std::string m_chunk;
    net::steady_timer m_poll_timer;  // a long-lived stream's wait for its producer

    // Read by workers too: set on the strand when the client closed during a request.
    std::atomic<bool> m_client_gone{false};

    // Touched only on the strand (m_request, m_streamed and m_chunk also by the one job out on a
    // worker, while the strand leaves them alone).
    bool m_busy = false;      // a request is being answered
    bool m_open = false;      // the request is not logged yet
    Work m_work = Work::io;   // the kind of work of the request, for its chunk jobs
    std::uint64_t m_request_id = 0;  // tells the watch of one request from the next's
    bool m_stopping = false;  // close() was called
    bool m_closed = false;
    std::string m_log_method;
    std::string m_log_path;
    std::string m_route;       // the route pattern, for metrics
    bool m_counted = false;    // this request holds a place in the registry's count
    bool m_stream_slot = false;  // this response holds a place among the long-lived streams
    bool m_watching = false;     // a wait for the client closing is pending
    double m_db_seconds = 0;     // time in SQLite for this request (geo::step_seconds)
    std::size_t m_body_bytes = 0;
    std::chrono::steady_clock::time_point m_started;
};

} // namespace sitmap::server
