#pragma once
/// A tiny blocking HTTP/1.1 client for tests: one connection to 127.0.0.1, requests in turn,
/// every operation bounded by a timeout so a broken server fails a test instead of hanging it.

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

namespace sitmap::test {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;

class HttpClient {
public:
    using Response = http::response<http::string_body>;

    /// Connects to 127.0.0.1:`port`. Throws boost::system::system_error if it cannot.
    explicit HttpClient(unsigned short port, std::chrono::milliseconds timeout = std::chrono::seconds(10))
        : m_stream(m_ioc), m_timeout(timeout)
    {
        beast::error_code ec;
        m_stream.expires_after(m_timeout);
        m_stream.async_connect(net::ip::tcp::endpoint{net::ip::make_address("127.0.0.1"), port},
                               [&](beast::error_code e) { ec = e; });
        run();
        if (ec) {
            throw boost::system::system_error(ec, "connect");
        }
    }

    /// Sends a request and reads the response. Throws boost::system::system_error on failure.
    Response send(http::request<http::string_body> request)
    {
        request.version(11);
        request.set(http::field::host, "127.0.0.1");
        request.prepare_payload();
        write(request);
        return read(request.method() == http::verb::head);
    }

    /// A request without a body.
    Response request(http::verb method, std::string_view target,
                     std::initializer_list<std::pair<http::field, std::string>> fields = {})
    {
        http::request<http::string_body> request{method, beast::string_view{target.data(), target.size()}, 11};
        for (const auto& [name, value] : fields) {
            request.set(name, value);
        }
        return send(std::move(request));
    }

    /// GET `target`.
    Response get(std::string_view target) { return request(http::verb::get, target); }

    /// Writes bytes as they are (for malformed requests).
    void write_raw(std::string_view bytes)
    {
        beast::error_code ec;
        m_stream.expires_after(m_timeout);
        net::async_write(m_stream, net::buffer(bytes.data(), bytes.size()),
                         [&](beast::error_code e, std::size_t) { ec = e; });
        run();
        if (ec) {
            throw boost::system::system_error(ec, "write");
        }
    }

    /// Reads one response. Throws boost::system::system_error on failure (e.g. end_of_stream).
    Response read(bool head = false)
    {
        http::response_parser<http::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        parser.skip(head);
        beast::error_code ec;
        m_stream.expires_after(m_timeout);
        http::async_read(m_stream, m_buffer, parser, [&](beast::error_code e, std::size_t) { ec = e; });
        run();
        if (ec) {
            throw boost::system::system_error(ec, "read");
        }
        return parser.release();
    }

    /// Waits for the server to close the connection; returns the error that ended the wait
    /// (end_of_stream or connection_reset if it closed, timeout if it did not).
    beast::error_code wait_for_close()
    {
        beast::error_code ec;
        char byte = 0;
        m_stream.expires_after(m_timeout);
        m_stream.async_read_some(net::buffer(&byte, 1), [&](beast::error_code e, std::size_t) { ec = e; });
        run();
        return ec;
    }

private:
    void run()
    {
        m_ioc.restart();
        m_ioc.run();
    }

    template <class Message>
    void write(Message& message)
    {
        beast::error_code ec;
        m_stream.expires_after(m_timeout);
        http::async_write(m_stream, message, [&](beast::error_code e, std::size_t) { ec = e; });
        run();
        if (ec) {
            throw boost::system::system_error(ec, "write");
        }
    }

    net::io_context m_ioc;
    beast::tcp_stream m_stream;
    beast::flat_buffer m_buffer;
    std::chrono::milliseconds m_timeout;
};

} // namespace sitmap::test
