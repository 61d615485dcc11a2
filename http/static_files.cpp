#include "http/static_files.hpp"

#include "geo/error.hpp"
#include "http/query.hpp"
#include "http/compression.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>

namespace sitmap::server {

namespace fs = std::filesystem;

namespace {

struct TypeByExtension {
    std::string_view extension;
    std::string_view type;
};

constexpr std::array<TypeByExtension, 22> content_types{{
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json"},
    {"geojson", "application/geo+json"},
    {"map", "application/json"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"webp", "image/webp"},
    {"gif", "image/gif"},
    {"svg", "image/svg+xml"},
    {"ico", "image/x-icon"},
    {"pbf", "application/x-protobuf"},
    {"mvt", "application/vnd.mapbox-vector-tile"},
    {"woff2", "font/woff2"},
    {"woff", "font/woff"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain; charset=utf-8"},
    {"wasm", "application/wasm"},
}};

// Is `path` equal to `directory` or below it? Both are canonical.
bool is_within(const fs::path& path, const fs::path& directory)
{
    auto p = path.begin();
    for (auto d = directory.begin(); d != directory.end(); ++d, ++p) {
        if (p == path.end() || *p != *d) {
            return false;
        }
    }
    return true;
}

fs::path canonical_directory(const fs::path& directory)
{
    std::error_code ec;
    auto canonical = fs::canonical(directory, ec);
    if (ec || !fs::is_directory(canonical, ec)) {
        throw input_error("static files: '" + directory.string() + "' is not a directory");
    }
    return canonical;
}

std::string hex(std::uintmax_t value)
{
    std::ostringstream out;
    out << std::hex << value;
    return out.str();
}

std::string_view trim(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return text;
}

// Text formats shrink several times under gzip; images and fonts are compressed already.
bool is_compressible(std::string_view type)
{
    return type.substr(0, 5) == "text/" || type == "application/json" || type == "application/geo+json" ||
           type == "image/svg+xml" || type == "application/x-protobuf" || type == "application/wasm";
}

std::string read_file(const fs::path& file)
{
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        throw internal_error("cannot open " + file.string());
    }
    std::string body{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) {
        throw internal_error("cannot read " + file.string());
    }
    return body;
}

// True when `match` holds for one trimmed item of a comma-separated header value.
template <typename Match>
bool any_list_item(std::string_view header, Match&& match)
{
    std::size_t pos = 0;
    while (pos < header.size()) {
        auto comma = header.find(',', pos);
        if (comma == std::string_view::npos) {
            comma = header.size();
        }
        if (match(trim(header.substr(pos, comma - pos)))) {
            return true;
        }
        pos = comma + 1;
    }
    return false;
}

// If-None-Match: "a", W/"b", * -> does any entry name `etag`?
bool none_match_hits(std::string_view header, std::string_view etag)
{
    return any_list_item(header, [etag](std::string_view item) {
        if (item.substr(0, 2) == "W/") {
            item.remove_prefix(2);
        }
        return item == "*" || item == etag;
    });
}

} // namespace

std::string_view content_type_for(std::string_view filename) noexcept
{
    const auto dot = filename.rfind('.');
    if (dot == std::string_view::npos || filename.find('/', dot) != std::string_view::npos) {
        return "application/octet-stream";
    }
    const auto extension = filename.substr(dot + 1);
    for (const auto& entry : content_types) {
        const bool same = std::equal(extension.begin(), extension.end(), entry.extension.begin(),
                                     entry.extension.end(), [](char a, char b) {
                                         return std::tolower(static_cast<unsigned char>(a)) == b;
                                     });
        if (same) {
            return entry.type;
        }
    }
    return "application/octet-stream";
}

StaticFiles::StaticFiles(const fs::path& root, std::string cache_control)
{
    m_mounts.push_back({"/", canonical_directory(root), std::move(cache_control)});
}

void StaticFiles::mount(std::string url_prefix, const fs::path& directory, std::string cache_control)
{
    if (url_prefix.size() < 2 || url_prefix.front() != '/' || url_prefix.back() != '/' ||
        url_prefix.find("..") != std::string::npos || url_prefix.find('\\') != std::string::npos) {
        throw input_error("static files: mount prefix '" + url_prefix + "' must look like /name/");
    }
    Mount mount{std::move(url_prefix), canonical_directory(directory), std::move(cache_control)};
    const auto at = std::find_if(m_mounts.begin(), m_mounts.end(),
                                 [&](const Mount& m) { return m.prefix.size() <= mount.prefix.size(); });
    m_mounts.insert(at, std::move(mount));
}

StringResponse StaticFiles::serve(const Request& request) const
{
    const std::string_view target{request.target().data(), request.target().size()};
    const auto raw_path = target_path(target);
    if (raw_path.empty() || raw_path.front() != '/') {
        throw input_error("the request target must be a path starting with '/'");
    }
    if (raw_path.find('\\') != std::string_view::npos) {
        throw input_error("a file path may not contain a backslash");
    }
    const std::string path = percent_decode(raw_path);  // refuses %00 and malformed escapes
    if (path.find('\\') != std::string::npos || path.find('%') != std::string::npos ||
        path.find('\0') != std::string::npos) {
        throw input_error("a file path may not contain a backslash, a '%' or a NUL byte");
    }

    const auto mount = std::find_if(m_mounts.begin(), m_mounts.end(), [&](const Mount& m) {
        return path.compare(0, m.prefix.size(), m.prefix) == 0;
    });
    if (mount == m_mounts.end()) {
        throw not_found_error("no file at " + path);
    }

    fs::path relative;
    std::string_view rest{path};
    rest.remove_prefix(mount->prefix.size());
    while (!rest.empty()) {
        const auto slash = rest.find('/');
        const auto segment = rest.substr(0, slash);
        rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
        if (segment.empty()) {
            continue;
        }
        if (segment == "." || segment == "..") {
            throw input_error("a file path may not contain '.' or '..' segments");
        }
        if (segment.front() == '.') {
            throw not_found_error("no file at " + path);  // hidden files are not served
        }
        relative /= fs::path(std::string(segment));
    }

    std::error_code ec;
    auto file = fs::canonical(mount->directory / relative, ec);
    if (!ec && fs::is_directory(file, ec)) {
        file = fs::canonical(file / "index.html", ec);
    }
    if (ec || !is_within(file, mount->directory) || !fs::is_regular_file(file, ec)) {
        throw not_found_error("no file at " + path);
    }
    const auto size = fs::file_size(file, ec);
    const auto modified = fs::last_write_time(file, ec);
    if (ec) {
        throw not_found_error("no file at " + path);
    }
    const auto type = content_type_for(file.filename().string());
    const bool compressible = is_compressible(type);
    const bool gzip = compressible && accepts_gzip(request);
    // Each representation has its own strong ETag, so a cache never mixes them up.
    const std::string version = hex(size) + "-" + hex(static_cast<std::uintmax_t>(modified.time_since_epoch().count()));
    const std::string etag = "\"" + version + (gzip ? "-gzip" : "") + "\"";
    const auto set_headers = [&](StringResponse& response) {
        response.set(http::field::etag, etag);
        response.set(http::field::cache_control, mount->cache_control);
        if (compressible) {
            response.set(http::field::vary, "Accept-Encoding");
        }
    };

    const auto if_none_match = request[http::field::if_none_match];
    if (!if_none_match.empty() && none_match_hits({if_none_match.data(), if_none_match.size()}, etag)) {
        StringResponse response{http::status::not_modified, 11};
        set_headers(response);
        return response;
    }

    auto response = make_response(http::status::ok, gzip ? *gzipped(file, version) : read_file(file), type);
    if (gzip) {
        response.set(http::field::content_encoding, "gzip");
    }
    set_headers(response);
    response.set("X-Content-Type-Options", "nosniff");
    return response;
}

std::shared_ptr<const std::string> StaticFiles::gzipped(const fs::path& file, const std::string& version) const
{
    const auto key = file.string();
    {
        const std::lock_guard lock{m_gzip_mutex};
        const auto found = m_gzip.find(key);
        if (found != m_gzip.end() && found->second.version == version) {
            return found->second.bytes;
        }
    }
    // Compressed outside the lock: two threads may both compress a changed file once; both
    // results are the same bytes.
    auto bytes = std::make_shared<const std::string>(gzip_compress(read_file(file)));
    const std::lock_guard lock{m_gzip_mutex};
    m_gzip[key] = {version, bytes};
    return bytes;
}

} // namespace sitmap::server
