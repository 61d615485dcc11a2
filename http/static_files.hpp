#pragma once
/// Static files: the web map (web/) and extra mounts such as MapLibre from node_modules.

#include "http/http.hpp"

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <string_view>
#include <vector>

namespace sitmap::server {

/// The Content-Type for a file name, by extension (case-insensitive):
/// "index.html" -> "text/html; charset=utf-8", "x.pbf" -> "application/x-protobuf";
/// unknown extensions -> "application/octet-stream".
std::string_view content_type_for(std::string_view filename) noexcept;

/// Serves files below a root directory and below mounted directories, read-only.
///
/// A request path is percent-decoded once and refused (sitmap::input_error, 400) if it holds a
/// backslash, a NUL, a '%' after decoding (double encoding), or a "." or ".." segment; a
/// segment starting with '.' (hidden files) is not served (404). The resolved file must lie
/// inside its directory after symlinks are resolved (std::filesystem::canonical), else 404.
/// "/" and any directory serve their index.html. Responses carry Content-Type by extension,
/// an ETag made of size and modification time (If-None-Match -> 304) and Cache-Control.
/// Files are read whole into memory: fine for a web app and MapLibre (< 2 MB a file).
/// Text formats (HTML, JS, CSS, JSON, SVG, glyph PBF) are sent gzipped when Accept-Encoding
/// allows it, with `Vary: Accept-Encoding` and an ETag of their own; each file is compressed
/// once per size and modification time and kept in memory (a handful of files).
class StaticFiles {
public:
    /// Serves `root` at "/". Throws sitmap::input_error if it is not a directory.
    /// `cache_control` is sent with every file of the root ("no-cache": always revalidate
    /// by ETag, so an updated app is picked up at once).
    explicit StaticFiles(const std::filesystem::path& root, std::string cache_control = "no-cache");

    /// Serves `directory` at `url_prefix` (e.g. "/vendor/maplibre-gl/" -> node_modules/maplibre-gl/dist).
    /// The prefix must start and end with '/'. The longest matching prefix wins over the root.
    /// Throws sitmap::input_error if `directory` is not a directory or the prefix is malformed.
    void mount(std::string url_prefix, const std::filesystem::path& directory,
               std::string cache_control = "public, max-age=86400");

    /// Answers a GET or HEAD request (the router drops the body for HEAD).
    /// Throws sitmap::input_error (400) for an unsafe path, sitmap::not_found_error (404) for
    /// a file that does not exist or lies outside its directory, sitmap::internal_error if a
    /// file cannot be read.
    StringResponse serve(const Request& request) const;

private:
    struct Mount {
        std::string prefix;          // "/" for the root
        std::filesystem::path directory;  // canonical
        std::string cache_control;
    };

    struct Gzipped {
        std::string version;  // size and modification time of the file compressed
        std::shared_ptr<const std::string> bytes;
    };

    /// The gzip of `file` at `version`, from the cache or compressed now.
    std::shared_ptr<const std::string> gzipped(const std::filesystem::path& file, const std::string& version) const;

    std::vector<Mount> m_mounts;  // longest prefix first
    mutable std::mutex m_gzip_mutex;  // serve() runs on every server thread
    mutable std::unordered_map<std::string, Gzipped> m_gzip;  // canonical path -> gzip
};

} // namespace sitmap::server
