#include "http/metrics.hpp"

#include "http/router.hpp"

#include "geo/sqlite.hpp"

#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

namespace sitmap::server::metrics {

namespace {

bool valid_name(std::string_view name, bool colon_allowed)
{
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
        return false;
    }
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                        (colon_allowed && c == ':');
        if (!ok) {
            return false;
        }
    }
    return true;
}

std::string escape(std::string_view value, bool quote)
{
    std::string out;
    for (const char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '"' && quote) {
            out += "\\\"";
        } else {
            out += c;
        }
    }
    return out;
}

// {a="x",b="y"} (empty without labels), checked and escaped: the key of a series.
std::string label_text(const Labels& labels)
{
    if (labels.empty()) {
        return {};
    }
    std::string text = "{";
    for (const auto& [name, value] : labels) {
        if (!valid_name(name, false) || name.rfind("__", 0) == 0 || name == "le") {
            throw std::invalid_argument("metrics: '" + name + "' is not a label name");
        }
        text += (text.size() > 1 ? "," : "") + name + "=\"" + escape(value, true) + "\"";
    }
    return text + "}";
}

std::string number(double value)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.9g", value);
    return text;
}

enum class Kind { counter, gauge, histogram };

const char* kind_name(Kind kind)
{
    switch (kind) {
    case Kind::counter: return "counter";
    case Kind::gauge: return "gauge";
    case Kind::histogram: return "histogram";
    }
    return "untyped";
}

struct Family {
    Kind kind = Kind::counter;
    std::string help;
    std::map<std::string, std::unique_ptr<Counter>> counters;      // by label text
    std::map<std::string, std::unique_ptr<Gauge>> gauges;          // by label text
    std::map<std::string, std::unique_ptr<Histogram>> histograms;  // by label text
};

// One registry for the process: metrics are counted wherever they happen (sessions, the tile
// cache) without every constructor having to carry a registry along.
struct Registry {
    std::mutex mutex;
    std::map<std::string, Family, std::less<>> families;

    Family& family(std::string_view name, Kind kind, std::string_view help)
    {
        if (!valid_name(name, true)) {
            throw std::invalid_argument("metrics: '" + std::string(name) + "' is not a metric name");
        }
        auto found = families.find(name);
        if (found == families.end()) {
            found = families.emplace(std::string(name), Family{kind, {}, {}, {}, {}}).first;
        }
        if (found->second.kind != kind) {
            throw std::invalid_argument("metrics: '" + std::string(name) + "' is already a " +
                                        kind_name(found->second.kind));
        }
        if (found->second.help.empty()) {
            found->second.help = std::string(help);
        }
        return found->second;
    }
};

Registry& registry()
{
    static Registry instance;
    return instance;
}

// Sets each gauge to the bytes on its line of /proc/self/status ("VmRSS:  57344 kB"), read in
// one pass; where there is no such file the gauges keep their value.
void read_status(std::initializer_list<std::pair<std::string_view, Gauge*>> lines)
{
    std::FILE* file = std::fopen("/proc/self/status", "r");
    if (file == nullptr) {
        return;
    }
    char line[256];
    while (std::fgets(line, sizeof line, file) != nullptr) {
        const std::string_view text(line);
        for (const auto& [key, gauge] : lines) {
            if (text.size() > key.size() && text.substr(0, key.size()) == key && text[key.size()] == ':') {
                gauge->set(std::strtoll(line + key.size() + 1, nullptr, 10) * 1024);
            }
        }
    }
    std::fclose(file);
}

std::vector<double> latency_bounds()
{
    return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

void read_process_gauges()
{
    static auto& resident = gauge("process_resident_memory_bytes", {}, "Resident memory size in bytes (VmRSS)");
    static auto& anonymous = gauge("process_resident_anonymous_bytes", {},
                                   "The anonymous part of the resident memory in bytes (heap, stacks; not mapped files)");
    static auto& sqlite = gauge("sitmap_sqlite_memory_bytes", {}, "Bytes SQLite has allocated (page caches, statements)");
    read_status({{"VmRSS", &resident}, {"RssAnon", &anonymous}});
    sqlite.set(geo::sqlite_memory_used());
}

} // namespace

Histogram::Histogram(std::vector<double> bounds)
    : m_bounds(std::move(bounds)), m_buckets(m_bounds.size() + 1)
{
    for (std::size_t i = 1; i < m_bounds.size(); ++i) {
        if (!(m_bounds[i - 1] < m_bounds[i])) {
            throw std::invalid_argument("metrics: histogram bounds must increase");
        }
    }
}

void Histogram::observe(double value) noexcept
{
    std::size_t i = 0;
    while (i < m_bounds.size() && value > m_bounds[i]) {
        ++i;
    }
    m_buckets[i].fetch_add(1, std::memory_order_relaxed);
    m_sum.fetch_add(value, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative_counts() const
{
    std::vector<std::uint64_t> counts;
    std::uint64_t total = 0;
    for (const auto& bucket : m_buckets) {
        total += bucket.load(std::memory_order_relaxed);
        counts.push_back(total);
    }
    return counts;
}

namespace {

// The series `labels` of the family `name`, made by `make` on first use.
template <class Metric, class Make>
Metric& series(std::string_view name, Kind kind, std::map<std::string, std::unique_ptr<Metric>> Family::*member,
               const Labels& labels, std::string_view help, Make make)
{
    auto key = label_text(labels);
    auto& r = registry();
    const std::lock_guard lock{r.mutex};
    auto& slot = (r.family(name, kind, help).*member)[std::move(key)];
    if (!slot) {
        slot = make();
    }
    return *slot;
}

} // namespace

Counter& counter(std::string_view name, const Labels& labels, std::string_view help)
{
    return series(name, Kind::counter, &Family::counters, labels, help, [] { return std::make_unique<Counter>(); });
}

Gauge& gauge(std::string_view name, const Labels& labels, std::string_view help)
{
    return series(name, Kind::gauge, &Family::gauges, labels, help, [] { return std::make_unique<Gauge>(); });
}

Histogram& histogram(std::string_view name, const Labels& labels, std::string_view help, std::vector<double> bounds)
{
    return series(name, Kind::histogram, &Family::histograms, labels, help, [&bounds] {
        return std::make_unique<Histogram>(bounds.empty() ? latency_bounds() : std::move(bounds));
    });
}

std::string render()
{
    read_process_gauges();
    auto& r = registry();
    const std::lock_guard lock{r.mutex};
    std::string out;
    for (const auto& [name, family] : r.families) {
        if (!family.help.empty()) {
            out += "# HELP " + name + " " + escape(family.help, false) + "\n";
        }
        out += "# TYPE " + name + " " + kind_name(family.kind) + "\n";
        for (const auto& [labels, value] : family.counters) {
            out += name + labels + " " + std::to_string(value->value()) + "\n";
        }
        for (const auto& [labels, value] : family.gauges) {
            out += name + labels + " " + std::to_string(value->value()) + "\n";
        }
        for (const auto& [labels, value] : family.histograms) {
            // le goes last among the labels: "{a="x"}" -> "{a="x",le="0.5"}".
            const auto with_le = [&labels = labels](const std::string& le) {
                return labels.empty() ? "{le=\"" + le + "\"}"
                                      : labels.substr(0, labels.size() - 1) + ",le=\"" + le + "\"}";
            };
            const auto counts = value->cumulative_counts();
            for (std::size_t i = 0; i < value->bounds().size(); ++i) {
                out += name + "_bucket" + with_le(number(value->bounds()[i])) + " " + std::to_string(counts[i]) + "\n";
            }
            out += name + "_bucket" + with_le("+Inf") + " " + std::to_string(counts.back()) + "\n";
            out += name + "_sum" + labels + " " + number(value->sum()) + "\n";
            out += name + "_count" + labels + " " + std::to_string(counts.back()) + "\n";
        }
    }
    return out;
}

namespace {

/// The series one route's requests are counted in, found once per thread.
struct RouteSeries {
    Histogram* duration = nullptr;
    Histogram* database = nullptr;
    // (method, status) -> counter: a route answers with few of each, a short list is fastest.
    std::vector<std::tuple<std::string, unsigned, Counter*>> requests;
};

/// Hashes std::string and std::string_view alike, so a lookup by view allocates nothing.
struct TransparentHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
};

} // namespace

void record_request(std::string_view method, std::string_view route, unsigned status, double seconds,
                    double database_seconds)
{
    // Every request passes here: each thread keeps the series it has used, so the registry's
    // lock and the label strings are paid once per thread and series, not per request. The
    // series themselves are atomics and live as long as the process.
    thread_local std::unordered_map<std::string, RouteSeries, TransparentHash, std::equal_to<>> routes;
    auto found = routes.find(route);
    if (found == routes.end()) {
        const std::string name(route);
        RouteSeries series;
        series.duration = &histogram("sitmap_http_request_duration_seconds", {{"route", name}},
                                     "Time from a whole request read to its response written, by route pattern");
        series.database = &histogram("sitmap_http_request_database_seconds", {{"route", name}},
                                     "Time spent in SQLite (statement steps) answering a request, by route pattern");
        found = routes.emplace(name, std::move(series)).first;
    }
    auto& series = found->second;
    // Any token is a method to the parser: those HTTP does not know share one label, and one slot.
    const bool known = http::string_to_verb(beast::string_view{method.data(), method.size()}) != http::verb::unknown;
    const std::string_view label = known ? method : std::string_view("OTHER");
    Counter* requests = nullptr;
    for (const auto& [m, s, c] : series.requests) {
        if (s == status && m == label) {
            requests = c;
            break;
        }
    }
    if (requests == nullptr) {
        requests = &counter("sitmap_http_requests_total",
                            {{"method", std::string(label)}, {"route", std::string(route)}, {"status", std::to_string(status)}},
                            "HTTP requests answered, by method, route pattern and status");
        series.requests.emplace_back(std::string(label), status, requests);
    }
    requests->inc();
    series.duration->observe(seconds);
    series.database->observe(database_seconds);
}

void register_route(Router& router)
{
    router.get("/metrics", [](const RouteContext&) -> Response {
        auto response = make_response(http::status::ok, render(), "text/plain; version=0.0.4; charset=utf-8");
        response.set(http::field::cache_control, "no-store");
        return response;
    }, Work::io);  // atomics and /proc/self/status: answered on the I/O thread, even when every worker is busy
}

} // namespace sitmap::server::metrics
