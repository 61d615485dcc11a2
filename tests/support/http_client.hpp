#pragma once
/// A tiny blocking HTTP/1.1 client for tests: one connection to 127.0.0.1, requests in turn,
/// every operation bounded by a timeout so a broken server fails a test instead of hanging it.
/// The Asio and Beast operations live in http_client.cpp, compiled once for every test program.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace sitmap::test {

namespace http = boost::beast::http;

class HttpClient {
public:
    using Response = http::response<http::string_body>;

    /// Connects to 127.0.0.1:`port`. Throws boost::system::system_error if it cannot.
    explicit HttpClient(unsigned short port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    /// Sends a request and reads the response. Throws boost::system::system_error on failure.
    Response send(http::request<http::string_body> request);

    /// A request without a body.
    Response request(http::verb method, std::string_view target,
                     std::initializer_list<std::pair<http::field, std::string>> fields = {});

    /// GET `target`.
    Response get(std::string_view target) { return request(http::verb::get, target); }

    /// Writes bytes as they are (for malformed requests).
    void write_raw(std::string_view bytes);

    /// Reads one response. Throws boost::system::system_error on failure (e.g. end_of_stream).
    Response read(bool head = false);

    /// Waits for the server to close the connection; returns the error that ended the wait
    /// (end_of_stream or connection_reset if it closed, timeout if it did not).
    boost::system::error_code wait_for_close();

private:
    struct Connection;
    std::unique_ptr<Connection> m_connection;
};

} // namespace sitmap::test
