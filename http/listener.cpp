#include "http/listener.hpp"

#include "geo/error.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <spdlog/spdlog.h>

#include <csignal>
#include <thread>
#include <vector>

namespace sitmap::server {

namespace {

std::string to_string(const tcp::endpoint& endpoint)
{
    return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

} // namespace

Listener::Listener(net::io_context& ioc, const tcp::endpoint& endpoint, const Router& router, Workers& workers,
                   const SessionLimits& limits, std::shared_ptr<SessionRegistry> registry)
    : m_ioc(ioc),
      m_acceptor(net::make_strand(ioc)),
      m_retry(m_acceptor.get_executor()),
      m_router(router),
      m_workers(workers),
      m_limits(limits),
      m_registry(std::move(registry))
{
    beast::error_code ec;
    const auto fail = [&](const char* what) {
        throw input_error("cannot listen on " + to_string(endpoint) + ": " + what + ": " + ec.message());
    };
    m_acceptor.open(endpoint.protocol(), ec);
    if (ec) {
        fail("open");
    }
    m_acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (ec) {
        fail("set_option");
    }
    m_acceptor.bind(endpoint, ec);
    if (ec) {
        fail("bind");
    }
    m_acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
        fail("listen");
    }
    m_endpoint = m_acceptor.local_endpoint(ec);
    if (ec) {
        fail("local_endpoint");
    }
}

void Listener::run()
{
    net::dispatch(m_acceptor.get_executor(), beast::bind_front_handler(&Listener::do_accept, shared_from_this()));
}

void Listener::stop()
{
    net::post(m_acceptor.get_executor(), [self = shared_from_this()] {
        beast::error_code ec;
        self->m_acceptor.close(ec);
        self->m_retry.cancel();
    });
}

void Listener::do_accept()
{
    if (!m_acceptor.is_open()) {
        return;
    }
    // Each connection gets its own strand.
    m_acceptor.async_accept(net::make_strand(m_ioc),
                            beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
}

void Listener::on_accept(beast::error_code ec, tcp::socket socket)
{
    if (ec == net::error::operation_aborted || !m_acceptor.is_open()) {
        return;
    }
    if (ec) {
        // Out of file descriptors and the like: pause rather than spin.
        spdlog::warn("accept on {}: {}", to_string(m_endpoint), ec.message());
        m_retry.expires_after(std::chrono::milliseconds(100));
        m_retry.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
            if (!wait_ec) {
                self->do_accept();
            }
        });
        return;
    }
    auto session = std::make_shared<Session>(std::move(socket), m_router, m_workers, m_limits, m_registry);
    if (m_registry->add(session)) {
        session->run();
    }
    do_accept();
}

Server::Server(const Router& router, const std::string& address, unsigned short port, unsigned threads,
               ServerOptions options)
    : m_threads(threads == 0 ? 1 : threads),
      m_options(std::move(options)),
      m_ioc(static_cast<int>(m_threads)),
      m_workers(m_options.workers),
      m_registry(std::make_shared<SessionRegistry>()),
      m_signals(m_ioc),
      m_shutdown_timer(m_ioc)
{
    beast::error_code ec;
    const auto ip = net::ip::make_address(address, ec);
    if (ec) {
        throw input_error("'" + address + "' is not an IP address");
    }
    m_listener = std::make_shared<Listener>(m_ioc, tcp::endpoint{ip, port}, router, m_workers, m_options.limits,
                                            m_registry);
    m_port = m_listener->local_endpoint().port();
    if (m_options.handle_signals) {
        m_signals.add(SIGINT);
        m_signals.add(SIGTERM);
    }
}

Server::~Server() = default;

void Server::run()
{
    if (m_options.handle_signals) {
        m_signals.async_wait([this](beast::error_code ec, int signal) {
            if (!ec) {
                spdlog::info("signal {}: stopping", signal);
                stop();
            }
        });
    }
    m_listener->run();
    spdlog::info("listening on {} with {} I/O thread(s) and {} worker(s)", to_string(m_listener->local_endpoint()),
                 m_threads, m_options.workers.workers + m_options.workers.cheap_workers);

    std::vector<std::thread> io_threads;
    io_threads.reserve(m_threads - 1);
    for (unsigned i = 1; i < m_threads; ++i) {
        io_threads.emplace_back([this] { m_ioc.run(); });
    }
    m_ioc.run();
    for (auto& thread : io_threads) {
        thread.join();
    }
    m_workers.stop();
    spdlog::info("stopped");
}

void Server::stop()
{
    if (m_stopping.exchange(true)) {
        return;
    }
    net::post(m_ioc, [this] { begin_shutdown(); });
}

void Server::begin_shutdown()
{
    beast::error_code ec;
    m_signals.cancel(ec);
    m_listener->stop();
    m_registry->close_all();
    wait_for_sessions(std::chrono::steady_clock::now() + m_options.shutdown_grace);
}

// Polls rather than being told, so no session needs to know about the server.
void Server::wait_for_sessions(std::chrono::steady_clock::time_point deadline)
{
    if (m_registry->size() == 0) {
        return;  // nothing keeps the io_context busy any more: run() returns
    }
    if (std::chrono::steady_clock::now() >= deadline) {
        spdlog::warn("{} connection(s) still busy after the shutdown grace period: cutting them off",
                     m_registry->size());
        m_ioc.stop();
        return;
    }
    m_shutdown_timer.expires_after(std::chrono::milliseconds(20));
    m_shutdown_timer.async_wait([this, deadline](beast::error_code ec) {
        if (!ec) {
            wait_for_sessions(deadline);
        }
    });
}

} // namespace sitmap::server
