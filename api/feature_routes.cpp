#include "api/handlers.hpp"

#include "geo/error.hpp"
#include "layers/cql2.hpp"
#include "layers/features.hpp"
#include "layers/queries.hpp"
#include "layers/schema.hpp"
#include "layers/values.hpp"
#include "api/auth.hpp"
#include "http/json_error.hpp"
#include "api/ogc_api.hpp"
#include "api/ogc_html.hpp"
#include "http/static_files.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <memory>

namespace sitmap::server {

namespace {

using nlohmann::json;

// Pages larger than this are streamed (chunked) from a connection of their own; smaller ones are
// built in memory on the thread's connection.
constexpr std::int64_t stream_above = 1000;

// numberMatched is left out when counting would read more rows than this (a bbox holding more
// features, given with other filters) and the page is not the last one: OGC API Features makes
// it optional, and the page itself never needs it.
constexpr std::int64_t count_max_rows = 2000;

double parse_number(const std::string& text, const char* what) {
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(value)) {
        throw input_error(std::string(what) + ": '" + text + "' is not a number");
    }
    return value;
}

/// A query or path value with ',' and ':' kept readable (bbox and datetime lists).
std::string url_encode(std::string_view text) { return percent_encode(text, ",:"); }

std::string now_utc() {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

// The query string of `query` with `replace` set (added or replacing), the rest kept in order.
std::string query_with(const Query& query, const std::vector<std::pair<std::string, std::string>>& replace) {
    std::string out;
    auto add = [&](const std::string& k, const std::string& v) {
        out += (out.empty() ? "?" : "&") + url_encode(k) + "=" + url_encode(v);
    };
    for (const auto& item : query.items()) {
        const std::string& k = item.first;  // a named reference: clang 14 cannot capture a structured binding
        if (k == "access_token") continue;  // a link is copied and logged: never with a token in it
        if (std::none_of(replace.begin(), replace.end(), [&](const auto& r) { return r.first == k; })) add(k, item.second);
    }
    for (const auto& [k, v] : replace) add(k, v);
    return out;
}

// datetime: an instant or start/end with open ends ("..", or empty), as from/to on incidents.
void apply_datetime(const std::string& text, const layers::Layer& layer, layers::FeatureQuery& query) {
    const auto slash = text.find('/');
    auto instant = [&](std::string part, bool end) -> std::optional<std::string> {
        part = std::string(layers::trim(part));
        if (part.empty() || part == "..") return std::nullopt;
        auto value = layers::normalise_datetime(part);
        if (!value) {
            throw input_error("datetime: '" + part + "' is not an RFC 3339 date-time or date (expected an instant, "
                              "or start/end with '..' for an open end)");
        }
        if (part.size() == 10 && end) value = value->substr(0, 10) + "T23:59:59Z";  // the whole day
        return value;
    };
    std::optional<std::string> from, to;
    if (slash == std::string::npos) {
        if (text.empty() || text == "..") throw input_error("datetime: expected an instant or an interval");
        from = instant(text, false);
        to = instant(text, layers::trim(text).size() == 10);
    } else {
        if (text.find('/', slash + 1) != std::string::npos) throw input_error("datetime: more than one '/'");
        from = instant(text.substr(0, slash), false);
        to = instant(text.substr(slash + 1), true);
        if (from && to && *from > *to) throw input_error("datetime: the start is after the end");
    }
    if (layer.name == "incidents") {
        if (query.filter.from || query.filter.to) throw input_error("datetime: use either datetime or from/to");
        query.filter.from = from;
        query.filter.to = to;
    } else if (layer.name == "bases") {  // the bases open at some time in the interval
        if (to) {
            query.where.sql += " AND (t.opened IS NULL OR t.opened <= substr(?, 1, 10))";
            query.where.params.emplace_back(*to);
        }
        if (from) {
            query.where.sql += " AND (t.closed IS NULL OR t.closed >= substr(?, 1, 10))";
            query.where.params.emplace_back(*from);
        }
    }
}

// name=value[,value...] on a column: equal to any of the values, typed and checked.
layers::Condition property_condition(const layers::Layer& layer, const std::string& name, const std::string& text) {
    const layers::Column* column = layer.column(name);
    layers::Condition c;
    c.sql = " AND t." + (column ? column->name : std::string("id")) + " IN (";
    const auto values = layers::split_list(text);
    if (values.empty()) throw input_error(name + ": expected a value");
    for (std::size_t i = 0; i < values.size(); ++i) {
        c.sql += i ? ",?" : "?";
        const std::string& v = values[i];
        const auto type = column ? column->type : layers::ColumnType::text;
        if (type == layers::ColumnType::integer) {
            c.params.emplace_back(static_cast<std::int64_t>(parse_integer(v, name.c_str())));
        } else if (type == layers::ColumnType::real) {
            c.params.emplace_back(parse_number(v, name.c_str()));
        } else if (type == layers::ColumnType::boolean) {
            if (v != "true" && v != "false" && v != "1" && v != "0") throw input_error(name + ": expected true or false");
            c.params.emplace_back(std::int64_t{v == "true" || v == "1" ? 1 : 0});
        } else if (column && !column->allowed.empty()) {
            const auto token = layers::normalise_token(v);
            if (std::find(column->allowed.begin(), column->allowed.end(), token) == column->allowed.end()) {
                std::string allowed;
                for (const auto& a : column->allowed) allowed += (allowed.empty() ? "" : ", ") + a;
                throw input_error(name + ": unknown value '" + v + "' (one or more of: " + allowed + ")");
            }
            c.params.emplace_back(token);
        } else {
            c.params.emplace_back(v);
        }
    }
    c.sql += ")";
    return c;
}

/// The features a request for items asks for: the query, and for distance queries the ranked hits.
struct ItemsPlan {
    layers::FeatureQuery query;
    std::optional<std::vector<layers::Hit>> ranked;
    bool along = false;  ///< ranked along a route: the hits carry along_km
    std::optional<std::int64_t> matched;  ///< known from the start for distance queries only
};

// The limit parameter of items: a whole number from 1; above items_max_limit it is taken as the
// maximum (OGC API - Features: a larger limit is no error), even when too large for 64 bits.
std::int64_t page_limit(const std::string& text) {
    std::int64_t limit = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
    const bool whole = end == text.data() + text.size() && !text.empty();
    if (whole && ec == std::errc::result_out_of_range && text.front() != '-') return items_max_limit;
    if (!whole || ec != std::errc() || limit < 1) {
        throw input_error("limit: '" + text + "' is not a whole number from 1 (larger than " +
                          std::to_string(items_max_limit) + " gives " + std::to_string(items_max_limit) + ")");
    }
    return std::min(limit, items_max_limit);
}

ItemsPlan plan_items(geo::Database& db, const layers::Layer& layer, const Query& q) {
    check_parameters(q, items_parameters(layer));
    for (const auto& [key, value] : q.items()) {
        if (q.get_all(key).size() > 1) throw input_error(key + ": given more than once");
    }
    ItemsPlan plan;
    auto& query = plan.query;
    query.filter = filter_from(q, true);
    if (auto crs = q.get("bbox-crs"); crs && *crs != "http://www.opengis.net/def/crs/OGC/1.3/CRS84") {
        throw input_error("bbox-crs: only http://www.opengis.net/def/crs/OGC/1.3/CRS84 is supported");
    }
    if (auto crs = q.get("filter-crs"); crs && *crs != "http://www.opengis.net/def/crs/OGC/1.3/CRS84") {
        throw input_error("filter-crs: only http://www.opengis.net/def/crs/OGC/1.3/CRS84 is supported");
    }
    if (auto datetime = q.get("datetime")) apply_datetime(*datetime, layer, query);
    for (const auto& [key, value] : q.items()) {
        const bool in_filter = layer.name == "incidents" && (key == "type" || key == "target" || key == "status");
        if ((layer.column(key) || key == "id") && !in_filter) query.where += property_condition(layer, key, value);
    }
    if (auto within = q.get("within")) query.where += layers::within_unit(db, layer, *within);
    if (auto filter = q.get("filter")) {
        if (auto lang = q.get("filter-lang"); lang && *lang != "cql2-text") {
            throw input_error("filter-lang: only cql2-text is supported");
        }
        query.where += layers::cql2::filter_condition(*filter, layer);
    } else if (q.has("filter-lang")) {
        throw input_error("filter-lang: given without filter");
    }
    query.limit = items_default_limit;
    if (auto limit = q.get("limit")) query.limit = page_limit(*limit);
    if (auto offset = q.get("offset")) {
        query.offset = parse_integer(*offset, "offset");
        if (query.offset < 0) throw input_error("offset: expected 0 or more");
    }

    const int distance_queries = q.has("near_base") + q.has("along_route") + q.has("nearest_to");
    if (distance_queries > 1) throw input_error("near_base, along_route and nearest_to: use one at a time");
    auto only_with = [&](const char* param, const char* with) {
        if (q.has(param) && !q.has(with)) throw input_error(std::string(param) + ": only with " + with);
    };
    only_with("radius_km", "near_base");
    only_with("buffer_km", "along_route");
    only_with("k", "nearest_to");
    if (auto base = q.get("near_base")) {
        const auto radius = q.get("radius_km");
        if (!radius) throw input_error("near_base: radius_km is required");
        plan.ranked = layers::within_radius(db, layer, layers::find_base(db, *base).position,
                                            parse_number(*radius, "radius_km"), query);
    } else if (auto route = q.get("along_route")) {
        const double buffer = q.has("buffer_km") ? parse_number(*q.get("buffer_km"), "buffer_km") : 5.0;
        plan.ranked = layers::along_route(db, layer, layers::find_route(db, *route), buffer, query);
        plan.along = true;
    } else if (auto point = q.get("nearest_to")) {
        const auto parts = layers::split_list(*point);
        if (parts.size() != 2) throw input_error("nearest_to: expected lon,lat");
        const geo::LonLat at{parse_number(parts[0], "nearest_to"), parse_number(parts[1], "nearest_to")};
        if (std::abs(at.lon) > 180 || std::abs(at.lat) > 90) throw input_error("nearest_to: expected lon,lat in degrees");
        const std::int64_t k = q.has("k") ? parse_integer(*q.get("k"), "k") : 5;
        plan.ranked = layers::nearest(db, layer, at, k, query);
    }
    if (plan.ranked) plan.matched = static_cast<std::int64_t>(plan.ranked->size());
    return plan;
}

std::vector<layers::RankedFeature> page_of(const ItemsPlan& plan) {
    std::vector<layers::RankedFeature> page;
    const auto& hits = *plan.ranked;
    const auto first = static_cast<std::size_t>(std::min<std::int64_t>(plan.query.offset, *plan.matched));
    const auto last = static_cast<std::size_t>(std::min<std::int64_t>(plan.query.offset + plan.query.limit, *plan.matched));
    auto round3 = [](double v) { return std::round(v * 1000) / 1000; };
    for (std::size_t i = first; i < last; ++i) {
        json computed = {{"distance_km", round3(hits[i].distance_km)}};
        if (plan.along) computed["along_km"] = round3(hits[i].along_km);
        page.push_back({hits[i].fid, computed});
    }
    return page;
}

json items_links(const std::string& base, const layers::Layer& layer, const Query& q, const ItemsPlan& plan,
                 bool more) {
    const std::string path = base + "/collections/" + layer.name + "/items";
    const auto& query = plan.query;
    json links = json::array({{{"href", path + query_with(q, {})}, {"rel", "self"}, {"type", "application/geo+json"}},
                              {{"href", path + query_with(q, {{"f", "html"}})}, {"rel", "alternate"}, {"type", "text/html"}},
                              {{"href", base + "/collections/" + layer.name}, {"rel", "collection"},
                               {"type", "application/json"}}});
    const std::string limit = std::to_string(query.limit);
    if (more) {
        links.push_back({{"href", path + query_with(q, {{"offset", std::to_string(query.offset + query.limit)},
                                                        {"limit", limit}})},
                         {"rel", "next"},
                         {"type", "application/geo+json"}});
    }
    if (query.offset > 0) {
        links.push_back({{"href", path + query_with(q, {{"offset", std::to_string(std::max<std::int64_t>(
                                                                       0, query.offset - query.limit))},
                                                        {"limit", limit}})},
                         {"rel", "prev"},
                         {"type", "application/geo+json"}});
    }
    return links;
}

/// One page of items read through a cursor, with one feature more looked for after the page's
/// last: whether a next page exists is known without counting.
class ItemsPage {
public:
    ItemsPage(geo::Database& db, const layers::Layer& layer, std::shared_ptr<const ItemsPlan> plan)
        : m_layer(layer), m_plan(std::move(plan)), m_cursor([&] {
              if (m_plan->ranked) return layers::FeatureCursor(db, layer, page_of(*m_plan));
              auto query = m_plan->query;
              ++query.limit;
              return layers::FeatureCursor(db, layer, query);
          }()) {}

    /// Appends the page's next feature to `out`; false after its last.
    bool next(std::string& out) {
        if (m_done) return false;
        if (m_returned < m_plan->query.limit && m_cursor.next(out)) {
            ++m_returned;
            return true;
        }
        m_done = true;
        if (m_plan->matched) {
            m_more = m_plan->query.offset + m_returned < *m_plan->matched;
        } else if (m_returned == m_plan->query.limit) {
            std::string one_more;
            m_more = m_cursor.next(one_more);
        }
        return false;
    }

    std::int64_t returned() const { return m_returned; }
    /// Whether features follow the page (once next() has returned false).
    bool more() const { return m_more; }

    /// numberMatched, once next() has returned false: known for distance queries and on the last
    /// page, otherwise counted through `db` when that reads at most count_max_rows rows.
    std::optional<std::int64_t> matched(geo::Database& db) const {
        const auto& plan = *m_plan;
        if (plan.matched) return plan.matched;
        if (!m_more && (m_returned > 0 || plan.query.offset == 0)) return plan.query.offset + m_returned;
        return layers::count_features_bounded(db, m_layer, plan.query, count_max_rows);
    }

private:
    const layers::Layer& m_layer;
    std::shared_ptr<const ItemsPlan> m_plan;
    layers::FeatureCursor m_cursor;
    std::int64_t m_returned = 0;
    bool m_more = false;
    bool m_done = false;
};

/// The members of a FeatureCollection after its features: `],"numberMatched":...}`.
std::string collection_tail(geo::Database& db, const ItemsPage& page, const std::string& links_more,
                            const std::string& links_last) {
    std::string tail = "]";
    if (const auto matched = page.matched(db)) tail += R"(,"numberMatched":)" + std::to_string(*matched);
    tail += R"(,"numberReturned":)" + std::to_string(page.returned()) + R"(,"links":)" +
            (page.more() ? links_more : links_last) + "}";
    return tail;
}

Response items_response(const ServerConfig& config, const RouteContext& ctx) {
    const auto& layer = layers::find_layer(ctx.param("layer"));
    require_read(config, ctx, layer.name);
    const std::string format = requested_format(ctx, {"json", "geojson", "html"});
    auto& db = connection(config);
    const auto plan = std::make_shared<const ItemsPlan>(plan_items(db, layer, ctx.query));
    const std::string base = base_url(config, ctx.request);

    if (format == "html") {
        json features = json::array();
        ItemsPage page(db, layer, plan);
        std::string feature;
        while (page.next(feature)) {
            features.push_back(json::parse(feature));
            feature.clear();
        }
        json body = {{"numberReturned", page.returned()},
                     {"links", items_links(base, layer, ctx.query, *plan, page.more())},
                     {"features", features}};
        if (const auto matched = page.matched(db)) body["numberMatched"] = *matched;
        return html_response(layer.title, body);
    }
    const std::string head = R"({"type":"FeatureCollection","timeStamp":")" + now_utc() + R"(","features":[)";
    const std::string links_more = items_links(base, layer, ctx.query, *plan, true).dump();
    const std::string links_last = items_links(base, layer, ctx.query, *plan, false).dump();
    const std::int64_t at_most =
        plan->matched ? std::min(plan->query.limit, *plan->matched - plan->query.offset) : plan->query.limit;
    if (at_most <= stream_above) {
        std::string body = head;
        ItemsPage page(db, layer, plan);
        while (true) {
            if (page.returned()) body += ',';
            if (!page.next(body)) {
                if (page.returned()) body.pop_back();
                break;
            }
        }
        body += collection_tail(db, page, links_more, links_last);
        auto response = make_response(http::status::ok, std::move(body), "application/geo+json");
        response.set(http::field::cache_control, "no-cache");
        return response;
    }
    // A large page: its own connection, so the chunks may be produced on any server thread.
    struct Stream {
        geo::Database db;
        std::optional<ItemsPage> page;
        bool done = false;
        bool head_sent = false;
    };
    auto stream = std::make_shared<Stream>(
        Stream{layers::open_database(config.database, geo::Database::Mode::read_only), std::nullopt});
    stream->page.emplace(stream->db, layer, plan);
    auto response = make_streamed_response(
        http::status::ok, "application/geo+json", [stream, head, links_more, links_last](std::string& chunk) -> bool {
            if (stream->done) return false;
            if (!stream->head_sent) {
                chunk = head;
                stream->head_sent = true;
            }
            while (chunk.size() < 64 * 1024) {
                const auto before = chunk.size();
                if (stream->page->returned()) chunk += ',';
                if (!stream->page->next(chunk)) {
                    chunk.resize(before);
                    chunk += collection_tail(stream->db, *stream->page, links_more, links_last);
                    stream->done = true;
                    break;
                }
            }
            return true;
        });
    response.header.set(http::field::cache_control, "no-cache");
    return response;
}

Response item_response(const ServerConfig& config, const RouteContext& ctx) {
    const auto& layer = layers::find_layer(ctx.param("layer"));
    require_read(config, ctx, layer.name);
    check_parameters(ctx.query, {"f", "nearest_base"});
    const std::string format = requested_format(ctx, {"json", "geojson", "html"});
    auto& db = connection(config);
    json computed;
    if (auto nearest = ctx.query.get("nearest_base"); nearest && *nearest != "false") {
        if (*nearest != "true") throw input_error("nearest_base: expected true or false");
        if (layer.geometry != layers::GeometryKind::point) throw input_error("nearest_base: point layers only");
        auto stmt = db.prepare("SELECT X(geom), Y(geom) FROM " + layer.name + " WHERE id = ?");
        stmt.bind(1, ctx.param("id"));
        if (!stmt.step()) throw not_found_error("no feature '" + ctx.param("id") + "' in " + layer.name);
        const geo::LonLat at{stmt.column_double(0), stmt.column_double(1)};
        const auto& bases = layers::find_layer("bases");
        const auto hits = layers::nearest(db, bases, at, 1, {});
        if (!hits.empty()) {
            auto base = db.prepare("SELECT id, name FROM bases WHERE fid = ?");
            base.bind(1, hits[0].fid);
            base.step();
            computed["nearest_base"] = {{"id", std::string(base.column_text(0))},
                                        {"name", std::string(base.column_text(1))},
                                        {"distance_km", std::round(hits[0].distance_km * 1000) / 1000}};
        }
    }
    std::string feature = layers::feature_by_id(db, layer, ctx.param("id"), computed);
    if (format == "html") return html_response(layer.title + ": " + ctx.param("id"), json::parse(feature));
    auto parsed = json::parse(feature);
    const std::string base = base_url(config, ctx.request);
    parsed["links"] = {{{"href", base + "/collections/" + layer.name + "/items/" + url_encode(ctx.param("id"))},
                        {"rel", "self"},
                        {"type", "application/geo+json"}},
                       {{"href", base + "/collections/" + layer.name}, {"rel", "collection"},
                        {"type", "application/json"}}};
    return json_response(http::status::ok, parsed, "application/geo+json");
}

/// JSON, or the same document as an HTML page.
Response document(const RouteContext& ctx, std::string_view title, const json& body,
                  std::string_view content_type = "application/json") {
    check_parameters(ctx.query, {"f"});
    if (requested_format(ctx, {"json", "html"}) == "html") return html_response(title, body);
    return json_response(http::status::ok, body, content_type);
}

} // namespace

void register_feature_routes(Router& router, const ServerConfig& config) {
    // "/" is the web map for browsers and the landing page for API clients that ask for JSON.
    auto files = std::make_shared<StaticFiles>(config.web_root);
    router.get("/", [config, files](const RouteContext& ctx) -> Response {
        const auto f = ctx.query.get("f");
        const std::string accept(to_std(ctx.request[http::field::accept]));
        const bool wants_json = f ? *f == "json"
                                  : accept.find("json") != std::string::npos &&
                                        requested_format(ctx, {"json", "html"}) == "json";
        if (!wants_json) return files->serve(ctx.request);
        return json_response(http::status::ok, landing_page(base_url(config, ctx.request)));
    }, Work::cheap);
    router.get("/ogc", [config](const RouteContext& ctx) {
        return document(ctx, "sitmap", landing_page(base_url(config, ctx.request)));
    }, Work::cheap);
    router.get("/conformance", [](const RouteContext& ctx) { return document(ctx, "Conformance", conformance()); },
               Work::cheap);
    router.get("/api", [config](const RouteContext& ctx) {
        return document(ctx, "OpenAPI", openapi_document(base_url(config, ctx.request)),
                        "application/vnd.oai.openapi+json;version=3.0");
    }, Work::cheap);
    // The collections read each layer's extent (a scan of its R*Tree): heavy, as all else below
    // that is not marked cheap.
    router.get("/collections", [config](const RouteContext& ctx) -> Response {
        const std::string base = base_url(config, ctx.request);
        const auto principal = require_read(config, ctx);
        json collections = json::array();
        for (const auto& layer : layers::all_layers()) {
            if (!can_read(config, principal, layer.name)) continue;
            collections.push_back(collection_json(connection(config), base, layer));
        }
        return document(ctx, "Collections",
                        {{"links", {{{"href", base + "/collections"}, {"rel", "self"}, {"type", "application/json"}}}},
                         {"collections", collections}});
    });
    router.get("/collections/{layer}", [config](const RouteContext& ctx) -> Response {
        const auto& layer = layers::find_layer(ctx.param("layer"));
        require_read(config, ctx, layer.name);
        return document(ctx, layer.title, collection_json(connection(config), base_url(config, ctx.request), layer));
    });
    router.get("/collections/{layer}/queryables", [config](const RouteContext& ctx) -> Response {
        const auto& layer = layers::find_layer(ctx.param("layer"));
        require_read(config, ctx, layer.name);
        return document(ctx, layer.title + " queryables", queryables_json(base_url(config, ctx.request), layer),
                        "application/schema+json");
    }, Work::cheap);
    router.get("/collections/{layer}/items", [config](const RouteContext& ctx) { return items_response(config, ctx); });
    router.get("/collections/{layer}/items/{id}", [config](const RouteContext& ctx) { return item_response(config, ctx); },
               Work::cheap);  // one feature by its id
    register_situational_routes(router, config);
}

} // namespace sitmap::server
