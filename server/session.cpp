#include "server/session.hpp"

#include "geo/sqlite.hpp"
#include "server/json_error.hpp"
#include "server/metrics.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <cerrno>
#include <exception>
#include <vector>

namespace sitmap::server {

bool SessionRegistry::add(const std::shared_ptr<Session>& session)
{
    const std::lock_guard lock{m_mutex};
    if (m_closing) {
        return false;
    }
    m_sessions.emplace(session.get(), session);
    return true;
}

void SessionRegistry::remove(const Session* session) noexcept
{
    const std::lock_guard lock{m_mutex};
    m_sessions.erase(session);
}

void SessionRegistry::close_all()
{
    std::vector<std::shared_ptr<Session>> live;
    {
        const std::lock_guard lock{m_mutex};
        m_closing = true;
        for (const auto& [key, weak] : m_sessions) {
            if (auto session = weak.lock()) {
                live.push_back(std::move(session));
            }
        }
    }
    // Outside the lock: a session released here may run its destructor, which locks.
    for (const auto& session : live) {
        session->close();
    }
}

std::size_t SessionRegistry::size() const
{
    const std::lock_guard lock{m_mutex};
    return m_sessions.size();
}

namespace {

// 503 with Retry-After (seconds) and a JSON reason: the server is full, the client may come back.
StringResponse overloaded(const std::string& message, const char* retry_after) {
    auto response = json_error(http::status::service_unavailable, "overloaded", message);
    response.set(http::field::retry_after, retry_after);
    return response;
}

// Takes one of `max` places (0: no limit) without a lock; false when none is left.
bool take_place(std::atomic<std::size_t>& taken, std::size_t max) noexcept
{
    auto current = taken.load();
    do {
        if (max != 0 && current >= max) {
            return false;
        }
    } while (!taken.compare_exchange_weak(current, current + 1));
    return true;
}

} // namespace

bool SessionRegistry::begin_request(std::size_t max) noexcept
{
    return take_place(m_requests, max);
}

void SessionRegistry::end_request() noexcept
{
    m_requests.fetch_sub(1);
}

bool SessionRegistry::begin_stream(std::size_t max) noexcept
{
    return take_place(m_streams, max);
}

void SessionRegistry::end_stream() noexcept
{
    m_streams.fetch_sub(1);
}

Session::Session(tcp::socket&& socket, const Router& router, const SessionLimits& limits,
                 std::shared_ptr<SessionRegistry> registry)
    : m_stream(std::move(socket)),
      m_router(router),
      m_limits(limits),
      m_registry(std::move(registry)),
      m_poll_timer(m_stream.get_executor())
{
    beast::error_code ec;
    const auto remote = m_stream.socket().remote_endpoint(ec);
    m_client = ec ? "-" : remote.address().to_string();
}

Session::~Session()
{
    if (m_counted) {
        m_registry->end_request();  // the io_context stopped with the response unfinished
    }
    if (m_stream_slot) {
        m_registry->end_stream();
    }
    m_registry->remove(this);
}

void Session::run()
{
    net::dispatch(m_stream.get_executor(), beast::bind_front_handler(&Session::do_read, shared_from_this()));
}

void Session::close()
{
    net::post(m_stream.get_executor(), [self = shared_from_this()] {
        self->m_stopping = true;
        if (!self->m_busy) {
            // Waiting for a request: cancel the read; its handler ends the session.
            beast::error_code ec;
            self->m_stream.socket().shutdown(tcp::socket::shutdown_both, ec);
            self->m_stream.close();
        } else {
            self->m_poll_timer.cancel();  // a long-lived stream ends at its next turn
        }
    });
}

void Session::do_read()
{
    m_busy = false;
    if (m_stopping) {
        do_close();
        return;
    }
    m_parser.emplace();
    m_parser->header_limit(m_limits.header_limit);
    m_parser->body_limit(m_limits.body_limit);
    m_stream.expires_after(m_limits.read_timeout);
    http::async_read(m_stream, m_buffer, *m_parser, beast::bind_front_handler(&Session::on_read, shared_from_this()));
}

void Session::on_read(beast::error_code ec, std::size_t /*bytes*/)
{
    m_busy = true;
    m_request = {};
    m_started = std::chrono::steady_clock::now();
    m_body_bytes = 0;
    m_route = "(none)";
    if (ec) {
        // The request line may have been read before the failure.
        const auto& partial = m_parser->get();
        m_log_method = partial.method_string().empty() ? "-" : std::string(partial.method_string());
        m_log_path = partial.target().empty() ? "-" : std::string(target_path(partial.target()));
    }
    if (ec == beast::error::timeout) {
        // Idle keep-alive connections and slow senders alike: counted, not logged one by one.
        static auto& timeouts = metrics::counter("sitmap_http_read_timeouts_total", {},
                                                 "Connections closed because a request did not arrive in time");
        timeouts.inc();
    }
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
        m_stopping) {
        do_close();
        return;
    }
    if (ec == http::error::header_limit) {
        reject(http::status::request_header_fields_too_large, "header_too_large",
               "the request header is larger than " + std::to_string(m_limits.header_limit) + " bytes");
        return;
    }
    if (ec == http::error::body_limit) {
        reject(http::status::payload_too_large, "payload_too_large",
               "the request body is larger than " + std::to_string(m_limits.body_limit) + " bytes");
        return;
    }
    if (ec && ec.category() == http::make_error_code(http::error::bad_target).category()) {
        reject(http::status::bad_request, "bad_request", "malformed HTTP request: " + ec.message());
        return;
    }
    if (ec) {
        do_close();  // reset by the peer and the like
        return;
    }

    m_request = m_parser->release();
    m_log_method = std::string(m_request.method_string());
    m_log_path = std::string(target_path(m_request.target()));
    if (!m_registry->begin_request(m_limits.max_requests)) {
        m_route = "(overloaded)";
        reject(overloaded("the server is answering " + std::to_string(m_limits.max_requests) +
                              " requests already; retry in a second", "1"));
        return;
    }
    m_counted = true;
    const double db_before = geo::step_seconds();
    auto response = m_router.handle(m_request, &m_route);
    m_db_seconds += geo::step_seconds() - db_before;
    const auto* streamed = std::get_if<StreamedResponse>(&response);
    if (streamed != nullptr && streamed->poll_interval.count() > 0) {
        // A long-lived stream is bounded by max_streams, not by max_requests.
        m_counted = false;
        m_registry->end_request();
        if (!m_registry->begin_stream(m_limits.max_streams)) {
            m_route = "(overloaded)";
            reject(overloaded("the server has " + std::to_string(m_limits.max_streams) +
                                  " event streams open already; retry later", "5"));
            return;
        }
        m_stream_slot = true;
    }
    send(std::move(response));
}

void Session::reject(http::status status, std::string_view code, std::string_view message)
{
    m_route = "(rejected)";
    reject(json_error(status, code, message));
}

void Session::reject(StringResponse response)
{
    response.keep_alive(false);
    response.prepare_payload();
    send(std::move(response));
}

void Session::send(Response response)
{
    m_stream.expires_after(m_limits.write_timeout);
    if (auto* whole = std::get_if<StringResponse>(&response)) {
        // One kind of whole response to write: the string moves into a shared one, uncopied.
        SharedResponse shared{std::move(whole->base()), std::make_shared<const std::string>(std::move(whole->body()))};
        response = std::move(shared);
    }
    if (auto* whole = std::get_if<SharedResponse>(&response)) {
        m_response.emplace(std::move(*whole));
        m_body_bytes = SharedBody::size(m_response->body());
        if (m_request.method() == http::verb::head) {
            // The header says what GET would send (Content-Length or chunked); no body follows.
            m_header_only.emplace(*m_response);
            http::async_write_header(m_stream, *m_header_only,
                                     beast::bind_front_handler(&Session::on_write, shared_from_this()));
            return;
        }
        http::async_write(m_stream, *m_response, beast::bind_front_handler(&Session::on_write, shared_from_this()));
        return;
    }
    m_streamed.emplace(std::move(std::get<StreamedResponse>(response)));
    m_serializer.emplace(m_streamed->header);
    http::async_write_header(m_stream, *m_serializer,
                             beast::bind_front_handler(&Session::on_stream_header, shared_from_this()));
}

void Session::on_write(beast::error_code ec, std::size_t /*bytes*/)
{
    finish_request(m_response->result_int());
    const bool need_eof = m_response->need_eof();
    m_header_only.reset();
    m_response.reset();
    if (ec) {
        do_close();
        return;
    }
    after_response(need_eof);
}

void Session::on_stream_header(beast::error_code ec, std::size_t /*bytes*/)
{
    if (ec) {
        finish_request(m_streamed->header.result_int());
        do_close();
        return;
    }
    write_next_chunk();
}

void Session::write_next_chunk()
{
    const bool long_lived = m_streamed->poll_interval.count() > 0;
    while (true) {
        if (m_client_gone) {
            finish_request(m_streamed->header.result_int());
            do_close();
            return;
        }
        if (long_lived && m_stopping) {
            write_last_chunk();  // the server shuts down: end the stream properly
            return;
        }
        m_chunk.clear();
        bool more = false;
        const double db_before = geo::step_seconds();
        try {
            more = m_streamed->next_chunk && m_streamed->next_chunk(m_chunk);
        } catch (const std::exception& e) {
            // The status line is gone already: all that is left is to cut the body short.
            spdlog::error("{} {}: streamed response failed after {} bytes: {}", m_log_method, m_log_path,
                          m_body_bytes, e.what());
            finish_request(m_streamed->header.result_int());
            do_close();
            return;
        } catch (...) {
            spdlog::error("{} {}: streamed response failed after {} bytes", m_log_method, m_log_path, m_body_bytes);
            finish_request(m_streamed->header.result_int());
            do_close();
            return;
        }
        m_db_seconds += geo::step_seconds() - db_before;
        if (!more) {
            write_last_chunk();
            return;
        }
        if (!m_chunk.empty()) {
            break;  // an empty chunk would read as the end of the body
        }
        if (long_lived) {
            wait_for_more();
            return;
        }
    }
    m_body_bytes += m_chunk.size();
    m_stream.expires_after(m_limits.write_timeout);
    net::async_write(m_stream, http::make_chunk(net::buffer(m_chunk)),
                     beast::bind_front_handler(&Session::on_chunk, shared_from_this()));
}

// Between two turns of a long-lived stream no operation is pending on the stream, so its
// write timeout does not run; the timer and the watch on the socket hold the session alive.
void Session::wait_for_more()
{
    if (!m_watching) {
        // The client sends nothing more on an event stream: readable means closed (or reset).
        m_watching = true;
        m_stream.socket().async_wait(tcp::socket::wait_read,
                                     beast::bind_front_handler(&Session::on_client_readable, shared_from_this()));
    }
    m_poll_timer.expires_after(m_streamed->poll_interval);
    m_poll_timer.async_wait([self = shared_from_this()](beast::error_code) {
        if (self->m_streamed && !self->m_closed) {
            self->write_next_chunk();
        }
    });
}

void Session::on_client_readable(beast::error_code ec)
{
    m_watching = false;
    if (ec == net::error::operation_aborted || !m_streamed) {
        return;
    }
    // Readable can be stale: the edge of the request's own bytes, already read, may reach the
    // reactor only now. Peeking tells a closed client (0 bytes: end of stream, or an error) from
    // nothing at all (EAGAIN: the next turn watches again).
    char byte = 0;
    const auto peeked = ec ? -1 : ::recv(m_stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    const bool nothing = peeked < 0 && !ec && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    if (peeked == 0 || (peeked < 0 && !nothing)) {
        m_client_gone = true;
        m_poll_timer.cancel();
    }
    // Otherwise the client sent bytes (a pipelined request): they wait in the socket until
    // the stream ends, and a closed client is then found by the next write failing.
}

void Session::write_last_chunk()
{
    m_stream.expires_after(m_limits.write_timeout);
    net::async_write(m_stream, http::make_chunk_last(),
                     beast::bind_front_handler(&Session::on_last_chunk, shared_from_this()));
}

void Session::on_chunk(beast::error_code ec, std::size_t /*bytes*/)
{
    if (ec) {
        finish_request(m_streamed->header.result_int());
        do_close();
        return;
    }
    write_next_chunk();
}

void Session::on_last_chunk(beast::error_code ec, std::size_t /*bytes*/)
{
    finish_request(m_streamed->header.result_int());
    const bool need_eof = m_streamed->header.need_eof();
    m_serializer.reset();
    m_streamed.reset();
    m_chunk.clear();
    m_chunk.shrink_to_fit();
    if (ec) {
        do_close();
        return;
    }
    after_response(need_eof);
}

void Session::after_response(bool need_eof)
{
    if (need_eof || m_stopping) {
        do_close();
        return;
    }
    do_read();
}

void Session::do_close()
{
    if (m_closed) {
        return;
    }
    m_closed = true;
    // Send a FIN; the socket itself closes when the last handler releases the session.
    beast::error_code ec;
    m_stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    m_poll_timer.cancel();
    if (m_watching) {
        m_stream.socket().cancel(ec);  // the watch of a long-lived stream would hold the session
    }
}

void Session::finish_request(unsigned status)
{
    if (m_counted) {
        m_counted = false;
        m_registry->end_request();
    }
    if (m_stream_slot) {
        m_stream_slot = false;
        m_registry->end_stream();
    }
    const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_started).count();
    spdlog::info("{} {} {} {} {}B {:.1f}ms", m_client, m_log_method, m_log_path, status, m_body_bytes,
                 elapsed * 1000);
    metrics::record_request(m_log_method, m_route, status, elapsed, m_db_seconds);
    m_db_seconds = 0;
}

} // namespace sitmap::server
