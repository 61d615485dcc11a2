#include "http/static_files.hpp"

#include "geo/error.hpp"
#include "http/compression.hpp"
#include "http/router.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

using namespace sitmap::server;
namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& path, std::string_view content)
{
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out << content;
}

/// A web root, a vendor directory and a secret next to them, removed at the end of the test.
struct Tree {
    fs::path base;
    fs::path root;
    fs::path vendor;

    Tree()
    {
        static std::atomic<int> counter{0};
        base = fs::temp_directory_path() /
               ("sitmap-static-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        root = base / "web";
        vendor = base / "vendor";
        write_file(root / "index.html", "<!doctype html><title>sitmap</title>");
        write_file(root / "app.js", "console.log('app');");
        write_file(root / "style.css", "body{}");
        write_file(root / "fonts" / "Noto Sans Regular" / "0-255.pbf", std::string("\x0a\x03\x61\x62\x63", 5));
        write_file(root / "docs" / "index.html", "<p>docs</p>");
        write_file(root / ".env", "SECRET=1");
        write_file(vendor / "maplibre-gl.js", "/* maplibre */");
        write_file(vendor / "maplibre-gl.css", ".maplibregl-map{}");
        write_file(base / "secret.txt", "TOP SECRET");
        fs::create_directory_symlink(base, root / "escape");          // a directory outside the root
        fs::create_symlink(base / "secret.txt", root / "secret.txt");  // a file outside the root
        fs::create_symlink(root / "app.js", root / "alias.js");        // inside: allowed
    }
    ~Tree()
    {
        std::error_code ec;
        fs::remove_all(base, ec);
    }
    Tree(const Tree&) = delete;
    Tree& operator=(const Tree&) = delete;
};

Request make_request(std::string_view target, http::verb method = http::verb::get)
{
    Request request{method, beast::string_view{target.data(), target.size()}, 11};
    request.set(http::field::host, "localhost");
    return request;
}

StringResponse fetch(const Router& router, std::string_view target, http::verb method = http::verb::get)
{
    auto response = router.handle(make_request(target, method));
    REQUIRE(std::holds_alternative<StringResponse>(response));
    return std::get<StringResponse>(std::move(response));
}

Router router_for(const StaticFiles& files)
{
    Router router;
    router.set_fallback([&files](const RouteContext& context) { return Response{files.serve(context.request)}; });
    return router;
}

} // namespace

TEST_CASE("static files: content types by extension", "[http]")
{
    CHECK(content_type_for("index.html") == "text/html; charset=utf-8");
    CHECK(content_type_for("app.js") == "text/javascript; charset=utf-8");
    CHECK(content_type_for("worker.mjs") == "text/javascript; charset=utf-8");
    CHECK(content_type_for("style.css") == "text/css; charset=utf-8");
    CHECK(content_type_for("tiles.json") == "application/json");
    CHECK(content_type_for("maplibre-gl.js.map") == "application/json");
    CHECK(content_type_for("logo.PNG") == "image/png");
    CHECK(content_type_for("icon.svg") == "image/svg+xml");
    CHECK(content_type_for("0-255.pbf") == "application/x-protobuf");
    CHECK(content_type_for("font.woff2") == "font/woff2");
    CHECK(content_type_for("favicon.ico") == "image/x-icon");
    CHECK(content_type_for("README") == "application/octet-stream");
    CHECK(content_type_for("archive.tar.xz") == "application/octet-stream");
}

TEST_CASE("static files: serves the root, index.html, mounts and files with spaces", "[http]")
{
    const Tree tree;
    StaticFiles files{tree.root};
    files.mount("/vendor/maplibre-gl/", tree.vendor);
    const auto router = router_for(files);

    auto response = fetch(router, "/");
    CHECK(response.result() == http::status::ok);
    CHECK(response.body() == "<!doctype html><title>sitmap</title>");
    CHECK(response[http::field::content_type] == "text/html; charset=utf-8");
    CHECK(response[http::field::cache_control] == "no-cache");
    CHECK_FALSE(response[http::field::etag].empty());

    CHECK(fetch(router, "/index.html?v=3").body() == "<!doctype html><title>sitmap</title>");
    CHECK(fetch(router, "/docs/").body() == "<p>docs</p>");
    CHECK(fetch(router, "/docs").body() == "<p>docs</p>");

    response = fetch(router, "/app.js");
    CHECK(response.body() == "console.log('app');");
    CHECK(response[http::field::content_type] == "text/javascript; charset=utf-8");

    response = fetch(router, "/fonts/Noto%20Sans%20Regular/0-255.pbf");
    CHECK(response.result() == http::status::ok);
    CHECK(response.body() == std::string("\x0a\x03\x61\x62\x63", 5));
    CHECK(response[http::field::content_type] == "application/x-protobuf");

    response = fetch(router, "/vendor/maplibre-gl/maplibre-gl.js");
    CHECK(response.body() == "/* maplibre */");
    CHECK(response[http::field::cache_control] == "public, max-age=86400");
    CHECK(fetch(router, "/vendor/maplibre-gl/maplibre-gl.css")[http::field::content_type] == "text/css; charset=utf-8");

    CHECK(fetch(router, "/alias.js").body() == "console.log('app');");  // a symlink inside the root

    response = fetch(router, "/app.js", http::verb::head);
    CHECK(response.result() == http::status::ok);
    CHECK(response.body().empty());
    CHECK(response[http::field::content_length] == "19");

    CHECK(fetch(router, "/missing.js").result() == http::status::not_found);
    CHECK(fetch(router, "/vendor/maplibre-gl/missing.js").result() == http::status::not_found);
}

TEST_CASE("static files: ETag and If-None-Match give 304", "[http]")
{
    const Tree tree;
    const StaticFiles files{tree.root};
    const auto router = router_for(files);

    const auto first = fetch(router, "/app.js");
    const std::string etag{first[http::field::etag]};
    REQUIRE(etag.size() > 2);
    CHECK(etag.front() == '"');
    CHECK(fetch(router, "/app.js")[http::field::etag] == etag);  // stable
    CHECK(fetch(router, "/style.css")[http::field::etag] != etag);

    for (const std::string& header : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
        INFO(header);
        auto request = make_request("/app.js");
        request.set(http::field::if_none_match, header);
        auto response = router.handle(request);
        auto& answer = std::get<StringResponse>(response);
        CHECK(answer.result() == http::status::not_modified);
        CHECK(answer.body().empty());
        CHECK(answer[http::field::etag] == etag);
        CHECK(answer[http::field::cache_control] == "no-cache");
    }

    auto request = make_request("/app.js");
    request.set(http::field::if_none_match, "\"stale\"");
    CHECK(std::get<StringResponse>(router.handle(request)).result() == http::status::ok);

    // A changed file gets a new ETag.
    write_file(tree.root / "app.js", "console.log('app v2, longer');");
    CHECK(fetch(router, "/app.js")[http::field::etag] != etag);
}

TEST_CASE("static files: every traversal attempt is refused", "[http]")
{
    const Tree tree;
    StaticFiles files{tree.root};
    files.mount("/vendor/maplibre-gl/", tree.vendor);
    const auto router = router_for(files);

    const char* attempts[] = {
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/%252e%252e/secret.txt",
        "/%25%32%65%25%32%65/secret.txt",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "/docs/..%2f..%2fsecret.txt",
        "/docs/../../secret.txt",
        "/./index.html",
        "/vendor/maplibre-gl/../../secret.txt",
        "/vendor/maplibre-gl/%2e%2e/%2e%2e/secret.txt",
        "/index.html%00.js",
        "/secret.txt%00",
        "/escape/secret.txt",
        "/secret.txt",
        "/.env",
        "/%2eenv",
        "/docs/%2e%2e",
        "/%c0%ae%c0%ae/secret.txt",
        "//secret.txt",
        "/%2fsecret.txt",
        "http://localhost/../secret.txt",
    };
    for (const auto* target : attempts) {
        INFO(target);
        const auto response = fetch(router, target);
        CHECK((response.result() == http::status::not_found || response.result() == http::status::bad_request));
        CHECK(response.body().find("TOP SECRET") == std::string::npos);
        CHECK(response.body().find("SECRET=1") == std::string::npos);
        CHECK(response[http::field::content_type] == "application/json");
        const auto body = nlohmann::json::parse(response.body());
        CHECK(body.contains("error"));
    }
    // Direct calls throw the error kinds the router maps.
    CHECK_THROWS_AS(files.serve(make_request("/%2e%2e/secret.txt")), sitmap::input_error);
    CHECK_THROWS_AS(files.serve(make_request("/escape/secret.txt")), sitmap::not_found_error);
}

TEST_CASE("static files: a root or mount that is not a directory is refused", "[http]")
{
    const Tree tree;
    CHECK_THROWS_AS(StaticFiles{tree.base / "nope"}, sitmap::input_error);
    CHECK_THROWS_AS(StaticFiles{tree.root / "index.html"}, sitmap::input_error);
    StaticFiles files{tree.root};
    CHECK_THROWS_AS(files.mount("/vendor/", tree.base / "nope"), sitmap::input_error);
    CHECK_THROWS_AS(files.mount("vendor/", tree.vendor), sitmap::input_error);
    CHECK_THROWS_AS(files.mount("/vendor", tree.vendor), sitmap::input_error);
}

TEST_CASE("static files: text is gzipped when accepted, compressed once per version, with Vary", "[http]")
{
    const Tree tree;
    const std::string script = "const message = 'sitmap';\n" + std::string(4000, ' ') + "console.log(message);\n";
    write_file(tree.root / "big.js", script);
    StaticFiles files{tree.root};
    files.mount("/vendor/maplibre-gl/", tree.vendor);
    const auto router = router_for(files);
    const auto fetch_with = [&](std::string_view target, std::string_view accept) {
        auto request = make_request(target);
        request.set(http::field::accept_encoding, std::string(accept));
        return std::get<StringResponse>(router.handle(request));
    };

    const auto plain = fetch(router, "/big.js");
    CHECK(plain.body() == script);
    CHECK(plain[http::field::content_encoding].empty());
    CHECK(plain[http::field::vary] == "Accept-Encoding");

    const auto zipped = fetch_with("/big.js", "gzip, deflate, br");
    CHECK(zipped.result() == http::status::ok);
    CHECK(zipped[http::field::content_encoding] == "gzip");
    CHECK(zipped[http::field::vary] == "Accept-Encoding");
    CHECK(zipped[http::field::content_type] == "text/javascript; charset=utf-8");
    CHECK(zipped.body().size() < script.size() / 10);
    CHECK(gzip_decompress(zipped.body()) == script);
    const std::string zipped_etag{zipped[http::field::etag]};
    CHECK(zipped_etag != std::string{plain[http::field::etag]});
    CHECK(fetch_with("/big.js", "gzip")[http::field::etag] == zipped_etag);  // the cached gzip

    // Each representation revalidates with its own ETag.
    auto request = make_request("/big.js");
    request.set(http::field::accept_encoding, "gzip");
    request.set(http::field::if_none_match, zipped_etag);
    const auto not_modified = std::get<StringResponse>(router.handle(request));
    CHECK(not_modified.result() == http::status::not_modified);
    CHECK(not_modified[http::field::vary] == "Accept-Encoding");
    request.set(http::field::accept_encoding, "identity");
    CHECK(std::get<StringResponse>(router.handle(request)).result() == http::status::ok);

    // Refusals and other codings get the file as it is; so do formats compressed already.
    for (const char* accept : {"gzip;q=0", "identity", "br", "deflate", "gzipper", ""}) {
        INFO(accept);
        const auto response = fetch_with("/big.js", accept);
        CHECK(response[http::field::content_encoding].empty());
        CHECK(response.body() == script);
    }
    CHECK(fetch_with("/big.js", "*")[http::field::content_encoding] == "gzip");
    CHECK(fetch_with("/big.js", "x-gzip;q=0.5")[http::field::content_encoding] == "gzip");
    write_file(tree.root / "icon.png", std::string("\x89PNG\r\n\x1a\n", 8) + std::string(2000, 'x'));
    const auto image = fetch_with("/icon.png", "gzip");
    CHECK(image[http::field::content_encoding].empty());
    CHECK(image[http::field::vary].empty());
    CHECK(fetch_with("/fonts/Noto%20Sans%20Regular/0-255.pbf", "gzip")[http::field::content_encoding] == "gzip");
    CHECK(gzip_decompress(fetch_with("/vendor/maplibre-gl/maplibre-gl.js", "gzip").body()) == "/* maplibre */");

    // A changed file is compressed again.
    const std::string changed = script + "console.log('v2');\n";
    write_file(tree.root / "big.js", changed);
    const auto again = fetch_with("/big.js", "gzip");
    CHECK(gzip_decompress(again.body()) == changed);
    CHECK(std::string{again[http::field::etag]} != zipped_etag);

    // HEAD gives the length of the gzip.
    auto head = make_request("/big.js", http::verb::head);
    head.set(http::field::accept_encoding, "gzip");
    const auto head_response = std::get<StringResponse>(router.handle(head));
    CHECK(head_response[http::field::content_encoding] == "gzip");
    CHECK(head_response[http::field::content_length] == std::to_string(again.body().size()));
}
