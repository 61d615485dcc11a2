#pragma once
/// The listening side of the server: Listener accepts connections, Server owns the io_context,
/// its threads, the signal handling and the shutdown.

#include "http/router.hpp"
#include "http/session.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

namespace sitmap::server {

/// Accepts connections on one endpoint and starts a Session on its own strand for each.
/// Accept errors are logged and retried after a short pause; nothing is thrown once running.
class Listener : public std::enable_shared_from_this<Listener> {
public:
    /// Opens, binds and listens. Throws sitmap::input_error if the endpoint cannot be used
    /// (address in use, permission denied), with the endpoint and the reason.
    Listener(net::io_context& ioc, const tcp::endpoint& endpoint, const Router& router, Workers& workers,
             const SessionLimits& limits, std::shared_ptr<SessionRegistry> registry);

    /// Starts accepting.
    void run();

    /// Thread-safe: closes the acceptor; no connection is accepted afterwards.
    void stop();

    /// The bound endpoint (with the port the system chose if 0 was asked for).
    tcp::endpoint local_endpoint() const { return m_endpoint; }

private:
    void do_accept();
    void on_accept(beast::error_code ec, tcp::socket socket);

    net::io_context& m_ioc;
    tcp::acceptor m_acceptor;
    net::steady_timer m_retry;
    tcp::endpoint m_endpoint;
    const Router& m_router;
    Workers& m_workers;
    SessionLimits m_limits;
    std::shared_ptr<SessionRegistry> m_registry;
};

/// Options of a Server beyond address, port and threads.
struct ServerOptions {
    SessionLimits limits;
    /// The workers that answer requests off the I/O threads, and their queues.
    WorkerOptions workers;
    /// Stop on SIGINT and SIGTERM (turn off in tests that run a server in a thread).
    bool handle_signals = true;
    /// How long stop() lets responses in progress finish before cutting them off.
    std::chrono::steady_clock::duration shutdown_grace = std::chrono::seconds(5);
};

/// An HTTP/1.1 server answering every request through `router`: `threads` I/O threads read and
/// write the sockets, ServerOptions::workers answer the requests (server/workers.hpp).
///
///     Server server{router, "127.0.0.1", 0, 2, options};  // port 0: the system picks one
///     std::thread t{[&] { server.run(); }};
///     ... server.port() ...
///     server.stop();
///     t.join();
///
/// The router must outlive the server and must not change while it runs.
class Server {
public:
    /// Binds the listening socket at once, so port() is known before run().
    /// Throws sitmap::input_error for an invalid address or an endpoint that cannot be bound.
    Server(const Router& router, const std::string& address, unsigned short port, unsigned threads = 1,
           ServerOptions options = {});
    ~Server();

    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Serves on `threads` I/O threads (the caller's included) until stop() or a signal; then
    /// closes idle connections, lets responses in progress finish (up to shutdown_grace),
    /// stops the workers and returns. Call once.
    void run();

    /// Thread-safe and idempotent: begins the shutdown; run() returns when it is done.
    void stop();

    /// The port listened on.
    unsigned short port() const noexcept { return m_port; }

private:
    void begin_shutdown();
    void wait_for_sessions(std::chrono::steady_clock::time_point deadline);

    unsigned m_threads;
    ServerOptions m_options;
    net::io_context m_ioc;
    Workers m_workers;  // after m_ioc: its jobs post to the sessions' strands, so it stops first
    std::shared_ptr<SessionRegistry> m_registry;
    std::shared_ptr<Listener> m_listener;
    net::signal_set m_signals;
    net::steady_timer m_shutdown_timer;
    std::atomic<bool> m_stopping{false};
    unsigned short m_port = 0;
};

} // namespace sitmap::server
