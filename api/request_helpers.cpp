#include "api/request_helpers.hpp"

#include "geo/error.hpp"
#include "layers/schema.hpp"

#include <charconv>
#include <memory>
#include <unordered_map>

namespace sitmap::server {

geo::Database& connection(const ServerConfig& config) {
    thread_local std::unordered_map<std::string, std::unique_ptr<geo::Database>> connections;
    auto& slot = connections[config.database];
    if (!slot) {
        slot = std::make_unique<geo::Database>(layers::open_database(config.database, geo::Database::Mode::read_only));
    }
    return *slot;
}

long long parse_integer(const std::string& text, const char* what) {
    long long value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
        throw input_error(std::string(what) + ": '" + text + "' is not a whole number");
    }
    return value;
}

layers::Filter filter_from(const Query& query, bool with_bbox) {
    return layers::parse_filter(with_bbox ? query.get("bbox").value_or("") : "", query.get("from").value_or(""),
                                query.get("to").value_or(""), query.get("type").value_or(""),
                                query.get("target").value_or(""), query.get("status").value_or(""));
}

std::string base_url(const ServerConfig& config, const Request& request) {
    if (!config.public_url.empty()) return config.public_url;
    const auto host = request[http::field::host];
    return "http://" + (host.empty() ? std::string("127.0.0.1") : std::string(host));
}

std::vector<const layers::Layer*> every_layer() {
    std::vector<const layers::Layer*> list;
    for (const auto& layer : layers::all_layers()) list.push_back(&layer);
    return list;
}

} // namespace sitmap::server
