#include "http/compression.hpp"

#include "geo/error.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <optional>
#include <utility>

namespace sitmap::server {

namespace {

// deflateInit2/inflateInit2 are macros with C casts; call their functions with the struct size.
constexpr int zstream_size = static_cast<int>(sizeof(z_stream));
constexpr int gzip_window_bits = 15 + 16;  // 32 KiB window, gzip header and trailer
constexpr int gzip_level = 6;

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// The q value of one Accept-Encoding item's parameters ("q=0.5"); 1 when there is none.
double quality(std::string_view parameters) {
    while (!parameters.empty()) {
        const auto semicolon = parameters.find(';');
        const auto parameter = trim(parameters.substr(0, semicolon));
        if (parameter.size() > 2 && (parameter[0] == 'q' || parameter[0] == 'Q') && parameter[1] == '=') {
            return std::strtod(std::string(parameter.substr(2)).c_str(), nullptr);
        }
        parameters = semicolon == std::string_view::npos ? std::string_view{} : parameters.substr(semicolon + 1);
    }
    return 1;
}

/// One deflate stream writing gzip, fed piece by piece.
class GzipWriter {
public:
    GzipWriter() {
        if (deflateInit2_(&m_stream, gzip_level, Z_DEFLATED, gzip_window_bits, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                          zstream_size) != Z_OK) {
            throw internal_error("gzip: deflateInit2 failed (out of memory?)");
        }
    }
    ~GzipWriter() { deflateEnd(&m_stream); }
    GzipWriter(const GzipWriter&) = delete;
    GzipWriter& operator=(const GzipWriter&) = delete;

    /// Compresses `in`, appending to `out` whatever zlib lets go of now.
    void write(std::string_view in, std::string& out) { deflate_into(in, out, Z_NO_FLUSH); }

    /// Ends the stream (the last block and the gzip trailer), appending it to `out`.
    void finish(std::string& out) { deflate_into({}, out, Z_FINISH); }

private:
    void deflate_into(std::string_view in, std::string& out, int flush) {
        m_stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        m_stream.avail_in = static_cast<uInt>(in.size());
        while (true) {
            const std::size_t before = out.size();
            const std::size_t room = std::max<std::size_t>(deflateBound(&m_stream, m_stream.avail_in), 4096);
            out.resize(before + room);
            m_stream.next_out = reinterpret_cast<Bytef*>(out.data() + before);
            m_stream.avail_out = static_cast<uInt>(room);
            const int rc = deflate(&m_stream, flush);
            out.resize(before + room - m_stream.avail_out);
            if (rc == Z_STREAM_END) return;
            // Z_BUF_ERROR: nothing to do now (no input and no flush), which is no error.
            if (rc != Z_OK && rc != Z_BUF_ERROR) throw internal_error("gzip: deflate failed");
            // Room left over means zlib took all the input and let go of all it would; Z_FINISH
            // goes on until the stream's end.
            if (flush != Z_FINISH && m_stream.avail_out != 0) return;
        }
    }

    z_stream m_stream{};
};

// The state behind gzip_chunks: the inner producer, the zlib stream and a reused input buffer.
struct GzipChunks {
    ChunkProducer inner;
    GzipWriter writer;
    std::string piece;
    bool finished = false;

    bool next(std::string& chunk) {
        if (finished) return false;
        while (chunk.size() < gzip_chunk_bytes) {
            piece.clear();
            if (!inner || !inner(piece)) {
                writer.finish(chunk);
                finished = true;
                break;
            }
            writer.write(piece, chunk);
        }
        return true;
    }
};

// A status whose answer has a body worth compressing: 2xx but 204 No Content.
bool successful_with_body(const http::response_header<>& header) {
    const unsigned status = header.result_int();
    return status >= 200 && status < 300 && status != 204;
}

void add_vary_accept_encoding(http::response_header<>& header) {
    const auto vary = to_std(header[http::field::vary]);
    if (vary.find("Accept-Encoding") != std::string_view::npos) return;
    header.set(http::field::vary,
               vary.empty() ? std::string("Accept-Encoding") : std::string(vary) + ", Accept-Encoding");
}

} // namespace

bool accepts_gzip(const Request& request) {
    // An explicit gzip (or x-gzip) item decides by its q; otherwise "*" does; otherwise no.
    std::optional<double> gzip;
    std::optional<double> any;
    std::string_view header = to_std(request[http::field::accept_encoding]);
    while (!header.empty()) {
        const auto comma = header.find(',');
        const auto item = trim(header.substr(0, comma));
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
        const auto semicolon = item.find(';');
        const auto coding = trim(item.substr(0, semicolon));
        const double q = semicolon == std::string_view::npos ? 1.0 : quality(item.substr(semicolon + 1));
        if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
            gzip = std::max(gzip.value_or(0.0), q);
        } else if (coding == "*") {
            any = q;
        }
    }
    return gzip ? *gzip > 0 : any.value_or(0.0) > 0;
}

std::string gzip_compress(std::string_view bytes) {
    GzipWriter writer;
    std::string out;
    out.reserve(bytes.size() / 4 + 64);
    writer.write(bytes, out);
    writer.finish(out);
    return out;
}

std::string gzip_decompress(std::string_view bytes) {
    z_stream stream{};
    if (inflateInit2_(&stream, gzip_window_bits, ZLIB_VERSION, zstream_size) != Z_OK) {
        throw internal_error("gzip: inflateInit2 failed (out of memory?)");
    }
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    stream.avail_in = static_cast<uInt>(bytes.size());
    std::string out;
    char buffer[16384];
    int rc = Z_OK;
    while (rc == Z_OK) {
        stream.next_out = reinterpret_cast<Bytef*>(buffer);
        stream.avail_out = sizeof buffer;
        rc = inflate(&stream, Z_NO_FLUSH);
        out.append(buffer, sizeof buffer - stream.avail_out);
    }
    const bool trailing = stream.avail_in != 0;
    inflateEnd(&stream);
    if (rc != Z_STREAM_END) throw input_error("gzip: the data is not a complete gzip stream");
    if (trailing) throw input_error("gzip: bytes follow the end of the gzip stream");
    return out;
}

ChunkProducer gzip_chunks(ChunkProducer inner) {
    auto state = std::make_shared<GzipChunks>();
    state->inner = std::move(inner);
    return [state](std::string& chunk) { return state->next(chunk); };
}

bool is_compressible_answer(std::string_view content_type) noexcept {
    auto type = trim(content_type.substr(0, content_type.find(';')));
    const auto is = [&](std::string_view name) { return iequals(type, name); };
    const bool plus_json = type.size() > 17 && iequals(type.substr(0, 12), "application/") &&
                           iequals(type.substr(type.size() - 5), "+json");
    return is("application/json") || plus_json || is("text/csv") || is("text/html");
}

void compress_response(Response& response, const Request& request) {
    if (std::holds_alternative<SharedResponse>(response)) return;
    auto* streamed = std::get_if<StreamedResponse>(&response);
    if (streamed != nullptr && streamed->poll_interval.count() > 0) return;
    auto& header = header_of(response);
    if (!successful_with_body(header) || !is_compressible_answer(to_std(header[http::field::content_type])) ||
        header.count(http::field::content_encoding) != 0 || header.count(http::field::etag) != 0) {
        return;
    }
    add_vary_accept_encoding(header);
    if (!accepts_gzip(request)) return;
    if (streamed != nullptr) {
        streamed->next_chunk = gzip_chunks(std::move(streamed->next_chunk));
    } else {
        auto& whole = std::get<StringResponse>(response);
        if (whole.body().size() < gzip_min_body_bytes) return;
        whole.body() = gzip_compress(whole.body());
    }
    header.set(http::field::content_encoding, "gzip");
    header.erase(http::field::content_length);
}

} // namespace sitmap::server
