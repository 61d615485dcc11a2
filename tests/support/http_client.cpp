#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace sitmap::test {

namespace beast = boost::beast;
namespace net = boost::asio;

struct HttpClient::Connection {
    explicit Connection(std::chrono::milliseconds deadline) : stream(ioc), timeout(deadline) {}

    /// Runs the pending operation to its end (or its deadline); throws what it failed with.
    void run(const char* what, const beast::error_code& ec)
    {
        ioc.restart();
        ioc.run();
        if (ec) {
            throw boost::system::system_error(ec, what);
        }
    }

    net::io_context ioc;
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    std::chrono::milliseconds timeout;
};

HttpClient::HttpClient(unsigned short port, std::chrono::milliseconds timeout)
    : m_connection(std::make_unique<Connection>(timeout))
{
    auto& c = *m_connection;
    beast::error_code ec;
    c.stream.expires_after(c.timeout);
    c.stream.async_connect(net::ip::tcp::endpoint{net::ip::make_address("127.0.0.1"), port},
                           [&](beast::error_code e) { ec = e; });
    c.run("connect", ec);
}

HttpClient::~HttpClient() = default;

HttpClient::Response HttpClient::send(http::request<http::string_body> request)
{
    request.version(11);
    request.set(http::field::host, "127.0.0.1");
    request.prepare_payload();
    auto& c = *m_connection;
    beast::error_code ec;
    c.stream.expires_after(c.timeout);
    http::async_write(c.stream, request, [&](beast::error_code e, std::size_t) { ec = e; });
    c.run("write", ec);
    return read(request.method() == http::verb::head);
}

HttpClient::Response HttpClient::request(http::verb method, std::string_view target,
                                         std::initializer_list<std::pair<http::field, std::string>> fields)
{
    http::request<http::string_body> request{method, beast::string_view{target.data(), target.size()}, 11};
    for (const auto& [name, value] : fields) {
        request.set(name, value);
    }
    return send(std::move(request));
}

void HttpClient::write_raw(std::string_view bytes)
{
    auto& c = *m_connection;
    beast::error_code ec;
    c.stream.expires_after(c.timeout);
    net::async_write(c.stream, net::buffer(bytes.data(), bytes.size()), [&](beast::error_code e, std::size_t) { ec = e; });
    c.run("write", ec);
}

HttpClient::Response HttpClient::read(bool head)
{
    auto& c = *m_connection;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    parser.skip(head);
    beast::error_code ec;
    c.stream.expires_after(c.timeout);
    http::async_read(c.stream, c.buffer, parser, [&](beast::error_code e, std::size_t) { ec = e; });
    c.run("read", ec);
    return parser.release();
}

boost::system::error_code HttpClient::wait_for_close()
{
    auto& c = *m_connection;
    beast::error_code ec;
    char byte = 0;
    c.stream.expires_after(c.timeout);
    c.stream.async_read_some(net::buffer(&byte, 1), [&](beast::error_code e, std::size_t) { ec = e; });
    c.ioc.restart();
    c.ioc.run();
    return ec;
}

} // namespace sitmap::test
