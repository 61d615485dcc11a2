// gzip on the fly, without sockets: Accept-Encoding read as RFC 9110 says, streams compressed in
// bounded chunks that decompress to what was produced, and the router's one rule for what it
// compresses (successful JSON, GeoJSON, CSV and HTML answers; not errors, SSE, or what is
// compressed already).

#include "http/compression.hpp"

#include "geo/error.hpp"
#include "http/json_error.hpp"
#include "http/router.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace sitmap::server;

namespace {

Request request_accepting(std::string_view accept_encoding, http::verb method = http::verb::get,
                          std::string_view target = "/", unsigned version = 11) {
    Request request{method, beast::string_view{target.data(), target.size()}, version};
    request.set(http::field::host, "localhost");
    if (!accept_encoding.empty()) {
        request.set(http::field::accept_encoding, beast::string_view{accept_encoding.data(), accept_encoding.size()});
    }
    return request;
}

// Text that compresses as GeoJSON does: repeated keys, varying numbers.
std::string feature_text(int i) {
    return R"({"type":"Feature","id":"INC-)" + std::to_string(i) + R"(","geometry":{"type":"Point","coordinates":[)" +
           std::to_string(-3.0 + i * 0.0137) + "," + std::to_string(14.5 + i * 0.0071) +
           R"(]},"properties":{"type":"ied_detonated","fatalities":)" + std::to_string(i % 7) + "}}";
}

// A producer of `count` pieces, each one feature (with an empty piece now and then).
ChunkProducer features(int count, std::string* all) {
    auto next = std::make_shared<int>(0);
    return [next, count, all](std::string& chunk) {
        if (*next == count) return false;
        const int i = (*next)++;
        if (i % 50 != 7) chunk = feature_text(i) + ",";
        *all += chunk;
        return true;
    };
}

std::vector<std::string> drain(const ChunkProducer& producer) {
    std::vector<std::string> chunks;
    std::string chunk;
    for (int calls = 0; calls < 100000; ++calls) {
        chunk.clear();
        if (!producer(chunk)) return chunks;
        chunks.push_back(chunk);
    }
    FAIL("the producer never ended");
    return chunks;
}

std::string joined(const std::vector<std::string>& chunks) {
    std::string all;
    for (const auto& c : chunks) all += c;
    return all;
}

Router router_answering(std::string content_type, std::size_t bytes, http::status status = http::status::ok) {
    Router router;
    router.get("/answer", [=](const RouteContext&) -> Response {
        std::string body;
        for (int i = 0; body.size() < bytes; ++i) body += feature_text(i);
        body.resize(bytes);
        return make_response(status, body, content_type);
    });
    return router;
}

} // namespace

TEST_CASE("compression: Accept-Encoding allows gzip by name, x-gzip or *, never with q=0", "[http]") {
    for (const auto* yes : {"gzip", "GZIP", "x-gzip", "*", "gzip, deflate, br", "deflate;q=1, gzip;q=0.5",
                            "identity, *;q=0.1", "gzip ; q=1.0", "br;q=0, gzip;level=1"}) {
        INFO(yes);
        CHECK(accepts_gzip(request_accepting(yes)));
    }
    for (const auto* no : {"", "identity", "deflate, br", "gzip;q=0", "gzip; q=0.000", "*;q=0", "gzip;q=0, *",
                           "*, gzip;q=0", "gzipx", "compress"}) {
        INFO(no);
        CHECK_FALSE(accepts_gzip(request_accepting(no)));
    }
}

TEST_CASE("compression: gzip_compress and gzip_decompress round trip, and bad input is refused", "[http]") {
    std::string text;
    for (int i = 0; i < 2000; ++i) text += feature_text(i);
    const auto zipped = gzip_compress(text);
    CHECK(zipped.size() < text.size() / 4);
    CHECK(gzip_decompress(zipped) == text);
    CHECK(gzip_decompress(gzip_compress("")).empty());
    CHECK_THROWS_AS(gzip_decompress("not gzip at all"), sitmap::input_error);
    CHECK_THROWS_AS(gzip_decompress(zipped.substr(0, zipped.size() - 8)), sitmap::input_error);  // no trailer
    CHECK_THROWS_AS(gzip_decompress(zipped + "x"), sitmap::input_error);
}

TEST_CASE("compression: a stream is compressed in few bounded chunks that decompress to every byte", "[http]") {
    std::string produced;
    const auto chunks = drain(gzip_chunks(features(20000, &produced)));
    REQUIRE(!chunks.empty());
    CHECK(gzip_decompress(joined(chunks)) == produced);
    CHECK(joined(chunks).size() < produced.size() / 4);
    for (std::size_t i = 0; i + 1 < chunks.size(); ++i) {
        INFO("chunk " << i << " of " << chunks.size());
        CHECK(chunks[i].size() >= gzip_chunk_bytes);  // not tiny
        // nor the whole body: zlib lets go of at most its 64 KiB pending buffer per small piece
        CHECK(chunks[i].size() < gzip_chunk_bytes + 64 * 1024);
    }
    CHECK(chunks.size() > 3);
}

TEST_CASE("compression: an empty stream is still a complete gzip stream, and errors pass through", "[http]") {
    std::string produced;
    const auto chunks = drain(gzip_chunks(features(0, &produced)));
    REQUIRE(chunks.size() == 1);
    CHECK(gzip_decompress(chunks[0]).empty());
    CHECK(drain(gzip_chunks(nullptr)).size() == 1);

    const auto failing = gzip_chunks([](std::string&) -> bool { throw std::runtime_error("database gone"); });
    std::string chunk;
    CHECK_THROWS_WITH(failing(chunk), "database gone");
}

TEST_CASE("compression: the media types compressed on the fly", "[http]") {
    for (const auto* yes : {"application/json", "application/geo+json", "application/schema+json",
                            "application/vnd.oai.openapi+json;version=3.0", "text/csv; charset=utf-8",
                            "text/html; charset=utf-8", "Application/JSON"}) {
        INFO(yes);
        CHECK(is_compressible_answer(yes));
    }
    for (const auto* no : {"text/event-stream; charset=utf-8", "application/vnd.mapbox-vector-tile", "image/png",
                           "text/plain; version=0.0.4", "application/+json", "application/jsonx", ""}) {
        INFO(no);
        CHECK_FALSE(is_compressible_answer(no));
    }
}

TEST_CASE("compression: the router gzips a large JSON answer for a client that accepts it", "[http]") {
    const auto router = router_answering("application/geo+json", 20000);
    const auto plain = std::get<StringResponse>(router.handle(request_accepting("", http::verb::get, "/answer")));
    CHECK(plain.count(http::field::content_encoding) == 0);
    CHECK(plain[http::field::vary] == "Accept-Encoding");
    CHECK(plain.body().size() == 20000);

    const auto zipped = std::get<StringResponse>(router.handle(request_accepting("gzip", http::verb::get, "/answer")));
    CHECK(zipped[http::field::content_encoding] == "gzip");
    CHECK(zipped[http::field::vary] == "Accept-Encoding");
    CHECK(zipped[http::field::content_length] == std::to_string(zipped.body().size()));
    CHECK(gzip_decompress(zipped.body()) == plain.body());

    // HEAD announces what GET sends: the compressed length.
    const auto head = std::get<StringResponse>(router.handle(request_accepting("gzip", http::verb::head, "/answer")));
    CHECK(head.body().empty());
    CHECK(head[http::field::content_encoding] == "gzip");
    CHECK(head[http::field::content_length] == std::to_string(zipped.body().size()));
}

TEST_CASE("compression: small bodies, errors, other types and encoded answers are left as they are", "[http]") {
    const auto gzip = request_accepting("gzip", http::verb::get, "/answer");
    const auto answer = [&](const Router& router) { return std::get<StringResponse>(router.handle(gzip)); };

    const auto small = answer(router_answering("application/json", gzip_min_body_bytes - 1));
    CHECK(small.count(http::field::content_encoding) == 0);
    CHECK(small[http::field::vary] == "Accept-Encoding");  // a larger answer at this URL would be gzipped

    const auto error = answer(router_answering("application/json", 5000, http::status::bad_request));
    CHECK(error.count(http::field::content_encoding) == 0);
    CHECK(error.count(http::field::vary) == 0);
    CHECK(error.body().size() == 5000);

    const auto tile = answer(router_answering("application/vnd.mapbox-vector-tile", 5000));
    CHECK(tile.count(http::field::content_encoding) == 0);

    Router tagged;
    tagged.get("/answer", [](const RouteContext&) -> Response {
        auto response = make_response(http::status::ok, std::string(5000, 'x'), "text/html; charset=utf-8");
        response.set(http::field::etag, "\"v1\"");  // a handler with its own representations
        return response;
    });
    const auto kept = answer(tagged);
    CHECK(kept.count(http::field::content_encoding) == 0);
    CHECK(kept.body() == std::string(5000, 'x'));
}

TEST_CASE("compression: a streamed answer is wrapped, an event stream is not", "[http]") {
    std::string produced;
    std::string events_produced;
    Router router;
    router.get("/items", [&](const RouteContext&) -> Response {
        return make_streamed_response(http::status::ok, "application/geo+json", features(3000, &produced));
    });
    router.get("/events", [&](const RouteContext&) -> Response {
        auto response = make_streamed_response(http::status::ok, "text/event-stream; charset=utf-8",
                                               features(3, &events_produced));
        response.poll_interval = std::chrono::milliseconds(50);
        return response;
    });

    auto items = std::get<StreamedResponse>(router.handle(request_accepting("gzip", http::verb::get, "/items")));
    CHECK(items.header[http::field::content_encoding] == "gzip");
    CHECK(items.header[http::field::vary] == "Accept-Encoding");
    CHECK(items.header.chunked());
    CHECK(gzip_decompress(joined(drain(items.next_chunk))) == produced);

    auto events = std::get<StreamedResponse>(router.handle(request_accepting("gzip", http::verb::get, "/events")));
    CHECK(events.header.count(http::field::content_encoding) == 0);
    CHECK(events.header.count(http::field::vary) == 0);
    const auto chunks = drain(events.next_chunk);
    CHECK(chunks.size() == 3);  // one chunk per event, as produced
    CHECK(joined(chunks) == events_produced);

    // HTTP/1.0 has no chunks: the compressed stream is collected into one gzip body.
    produced.clear();
    const auto old = std::get<StringResponse>(router.handle(request_accepting("gzip", http::verb::get, "/items", 10)));
    CHECK(old[http::field::content_encoding] == "gzip");
    CHECK(gzip_decompress(old.body()) == produced);
}
