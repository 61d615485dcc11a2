#include "http/session.hpp"

#include "geo/sqlite.hpp"
#include "http/json_error.hpp"
#include "http/metrics.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <cerrno>
#include <exception>
#include <thread>
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

Session::Session(tcp::socket&& socket, const Router& router, Workers& workers, const SessionLimits& limits,
                 std::shared_ptr<SessionRegistry> registry)
    : m_stream(std::move(socket)),
      m_router(router),
      m_workers(workers),
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
    m_open = true;
    ++m_request_id;
    m_request = {};
    m_started = std::chrono::steady_clock::now();
    m_body_bytes = 0;
    m_route = "(none)";
    if (read_failed(ec)) {
        return;
    }
    m_request = m_parser->release();
    m_log_method = std::string(m_request.method_string());
    m_log_path = std::string(target_path(m_request.target()));
    if (!m_registry->begin_request(m_limits.max_requests)) {
        reject_overloaded("the server is answering " + std::to_string(m_limits.max_requests) +
                              " requests already; retry in a second", "1");
        return;
    }
    m_counted = true;
    dispatch();
}

// Answers a failed read (true) or lets the request through (false).
bool Session::read_failed(beast::error_code ec)
{
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
        m_open = false;
        do_close();
    } else if (ec == http::error::header_limit) {
        reject(http::status::request_header_fields_too_large, "header_too_large",
               "the request header is larger than " + std::to_string(m_limits.header_limit) + " bytes");
    } else if (ec == http::error::body_limit) {
        reject(http::status::payload_too_large, "payload_too_large",
               "the request body is larger than " + std::to_string(m_limits.body_limit) + " bytes");
    } else if (ec && ec.category() == http::make_error_code(http::error::bad_target).category()) {
        reject(http::status::bad_request, "bad_request", "malformed HTTP request: " + ec.message());
    } else if (ec) {
        m_open = false;
        do_close();  // reset by the peer and the like
    }
    return static_cast<bool>(ec) || m_stopping;
}

// The request goes where its kind of work runs; the strand goes back to waiting.
void Session::dispatch()
{
    m_work = m_router.work_of(m_request, &m_route);
    if (m_work == Work::io) {
        answer(m_router.handle(m_request));
        return;
    }
    if (!m_workers.submit(m_work, [self = shared_from_this()] { self->run_handler(); })) {
        const auto lane = std::string(work_name(m_work));
        reject_overloaded("the server's queue of " + lane + " requests is full (" +
                              std::to_string(m_workers.queue_limit(m_work)) + " waiting); retry in a second",
                          "1");
        return;
    }
    watch_client();
}

// On a worker.
void Session::run_handler()
{
    auto self = shared_from_this();
    if (m_client_gone) {
        net::post(m_stream.get_executor(), [self] { self->on_response(std::nullopt, 0); });
        return;
    }
    const double db_before = geo::step_seconds();
    const auto thread = std::this_thread::get_id();
    m_router.handle_async(
        m_request,
        [self, db_before, thread](Response response) {
            // Time in SQLite is per thread: a response completed by another thread's work
            // (a tile another request built) took none of this one's.
            const double db = std::this_thread::get_id() == thread ? geo::step_seconds() - db_before : 0;
            net::post(self->m_stream.get_executor(), [self, db, response = std::move(response)]() mutable {
                self->on_response(std::move(response), db);
            });
        },
        &m_workers.schedule());
}

void Session::on_response(std::optional<Response> response, double db_seconds)
{
    m_db_seconds += db_seconds;
    if (!response || m_client_gone) {
        stop_request(499);  // nginx's "client closed request": nobody is left to answer
        return;
    }
    answer(std::move(*response));
}

void Session::answer(Response response)
{
    const auto* streamed = std::get_if<StreamedResponse>(&response);
    if (streamed != nullptr && streamed->poll_interval.count() > 0) {
        // A long-lived stream is bounded by max_streams, not by max_requests.
        m_counted = false;
        m_registry->end_request();
        if (!m_registry->begin_stream(m_limits.max_streams)) {
            reject_overloaded("the server has " + std::to_string(m_limits.max_streams) +
                                  " event streams open already; retry later", "5");
            return;
        }
        m_stream_slot = true;
    }
    send(std::move(response));
}

// 503 with Retry-After, labelled "(overloaded)" in the metrics and the access log.
void Session::reject_overloaded(const std::string& message, std::string_view retry_after_seconds)
{
    m_route = "(overloaded)";
    reject(overloaded(message, retry_after_seconds));
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
        stop_request(m_streamed->header.result_int());
        return;
    }
    produce_chunk();
}

// The next chunk is made on a worker of the request's lane, behind the work queued there
// already, so a long body shares the workers with other requests.
void Session::produce_chunk()
{
    if (m_client_gone) {
        stop_request(m_streamed->header.result_int());
        return;
    }
    if (m_streamed->poll_interval.count() > 0 && m_stopping) {
        write_last_chunk();  // the server shuts down: end the stream properly
        return;
    }
    watch_client();
    m_workers.resume(m_work, [self = shared_from_this()] { self->run_producer(); });
}

// On a worker: the only code touching the producer and m_chunk while it runs.
void Session::run_producer()
{
    const bool long_lived = m_streamed->poll_interval.count() > 0;
    const double db_before = geo::step_seconds();
    auto produced = Produced::skipped;
    std::string error;
    try {
        bool more = true;
        m_chunk.clear();
        // An empty chunk would read as the end of the body: ask again, unless the stream waits.
        while (more && m_chunk.empty() && !m_client_gone) {
            more = m_streamed->next_chunk && m_streamed->next_chunk(m_chunk);
            produced = more ? Produced::chunk : Produced::end;
            if (long_lived) {
                break;
            }
        }
    } catch (const std::exception& e) {
        produced = Produced::failed;
        error = e.what();
    } catch (...) {
        produced = Produced::failed;
        error = "an unknown exception";
    }
    const double db = geo::step_seconds() - db_before;
    net::post(m_stream.get_executor(), [self = shared_from_this(), produced, error = std::move(error), db] {
        self->on_produced(produced, error, db);
    });
}

void Session::on_produced(Produced produced, const std::string& error, double db_seconds)
{
    m_db_seconds += db_seconds;
    const auto status = m_streamed->header.result_int();
    if (produced == Produced::failed) {
        // The status line is gone already: all that is left is to cut the body short.
        spdlog::error("{} {}: streamed response failed after {} bytes: {}", m_log_method, m_log_path, m_body_bytes,
                      error);
        stop_request(status);
    } else if (m_client_gone || produced == Produced::skipped) {
        stop_request(status);
    } else if (produced == Produced::end) {
        write_last_chunk();
    } else if (m_chunk.empty()) {
        wait_for_more();  // a long-lived stream with nothing now
    } else {
        m_body_bytes += m_chunk.size();
        m_stream.expires_after(m_limits.write_timeout);
        net::async_write(m_stream, http::make_chunk(net::buffer(m_chunk)),
                         beast::bind_front_handler(&Session::on_chunk, shared_from_this()));
    }
}

// Between two turns of a long-lived stream no operation is pending on the stream, so its
// write timeout does not run; the timer and the watch on the socket hold the session alive.
void Session::wait_for_more()
{
    watch_client();
    m_poll_timer.expires_after(m_streamed->poll_interval);
    m_poll_timer.async_wait([self = shared_from_this()](beast::error_code) {
        if (self->m_streamed && !self->m_closed) {
            self->produce_chunk();
        }
    });
}

// The client sends nothing while its request is answered (a pipelined request aside):
// readable then means closed (or reset).
void Session::watch_client()
{
    if (m_watching || m_closed) {
        return;
    }
    m_watching = true;
    m_stream.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this(), id = m_request_id](
                                                             beast::error_code ec) { self->on_client_readable(ec, id); });
}

void Session::on_client_readable(beast::error_code ec, std::uint64_t request)
{
    m_watching = false;
    if (m_closed || !m_busy || m_client_gone) {
        return;
    }
    if (request != m_request_id) {
        watch_client();  // the watch of the previous request ended: this one needs its own
        return;
    }
    if (ec == net::error::operation_aborted) {
        return;
    }
    // Readable can be stale: the edge of the request's own bytes, already read, may reach the
    // reactor only now. Peeking tells a closed client (0 bytes: end of stream, or an error) from
    // nothing at all (EAGAIN: watch again).
    char byte = 0;
    const auto peeked = ec ? -1 : ::recv(m_stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    const bool nothing = peeked < 0 && !ec && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    if (nothing) {
        watch_client();
        return;
    }
    if (peeked > 0) {
        // A pipelined request: it waits in the socket for its turn, and a closed client is
        // found by a write failing instead.
        return;
    }
    static auto& gone = metrics::counter("sitmap_http_clients_gone_total", {},
                                         "Clients that closed their connection while their request was in progress "
                                         "(queued, running or streaming): its work is dropped or stopped");
    gone.inc();
    m_client_gone = true;
    // Whatever waits now ends at once and finds the client gone: a write, a stream's timer.
    // A job out on a worker finds it when it comes back.
    beast::error_code ignored;
    m_stream.socket().cancel(ignored);
    m_poll_timer.cancel();
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
        stop_request(m_streamed->header.result_int());
        return;
    }
    produce_chunk();
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
    if (m_watching) {
        beast::error_code ec;
        m_stream.socket().cancel(ec);  // the next request's read must not wake this one's watch
    }
    do_read();
}

// Ends a request that cannot be completed (client gone, write failed, producer failed): what
// the response held (a stream's producer, its database connection) is freed now.
void Session::stop_request(unsigned status)
{
    finish_request(status);
    m_serializer.reset();
    m_streamed.reset();
    m_chunk.clear();
    m_chunk.shrink_to_fit();
    do_close();
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
        m_stream.socket().cancel(ec);  // the watch would hold the session
    }
}

void Session::finish_request(unsigned status)
{
    if (!m_open) {
        return;
    }
    m_open = false;
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
