#pragma once
/// Metrics in the Prometheus text exposition format (version 0.0.4), served at GET /metrics.
///
/// A process-wide registry of counters, gauges and histograms, each a family (one name, one HELP line)
/// of series told apart by their labels. Any thread may create and update them:
///
///     static auto& hits = metrics::counter("sitmap_tile_cache_hits_total", {}, "Tiles served from the cache");
///     hits.inc();
///
/// Label values must come from a small, fixed set (a route pattern, a layer name, a status):
/// never a raw path, a query value or anything a client chose, which would leak data into the
/// metrics and let a client grow the registry without bound.

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sitmap::server {

class Router;

namespace metrics {

/// Label name and value pairs, in the order they are printed.
using Labels = std::vector<std::pair<std::string, std::string>>;

/// A count that only goes up. Thread-safe, lock-free.
class Counter {
public:
    /// Adds `n`.
    void inc(std::uint64_t n = 1) noexcept { m_value.fetch_add(n, std::memory_order_relaxed); }

    /// The current count.
    std::uint64_t value() const noexcept { return m_value.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> m_value{0};
};

/// A value that goes up and down (bytes held, entries). Thread-safe, lock-free.
class Gauge {
public:
    /// Adds `n`, which may be negative.
    void add(std::int64_t n) noexcept { m_value.fetch_add(n, std::memory_order_relaxed); }

    /// Replaces the value.
    void set(std::int64_t n) noexcept { m_value.store(n, std::memory_order_relaxed); }

    /// The current value.
    std::int64_t value() const noexcept { return m_value.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> m_value{0};
};

/// Observations counted into buckets by upper bound (le), with their sum. Thread-safe, lock-free.
class Histogram {
public:
    /// `bounds`: the finite upper bounds, increasing; +Inf is implied.
    explicit Histogram(std::vector<double> bounds);

    /// Counts one observation (seconds for latencies).
    void observe(double value) noexcept;

    /// The finite upper bounds.
    const std::vector<double>& bounds() const noexcept { return m_bounds; }

    /// Observations up to each bound, cumulative, then the total (the +Inf bucket).
    std::vector<std::uint64_t> cumulative_counts() const;

    /// The sum of every observation.
    double sum() const noexcept { return m_sum.load(std::memory_order_relaxed); }

private:
    std::vector<double> m_bounds;
    std::vector<std::atomic<std::uint64_t>> m_buckets;  // one per bound, plus +Inf; not cumulative
    std::atomic<double> m_sum{0.0};
};

/// The counter `name` with `labels`, created on first use; the reference stays valid for the
/// life of the process. `help` is kept from the first call of the family that gives one.
/// Throws std::invalid_argument for a malformed metric or label name, or a name already used
/// by a histogram.
Counter& counter(std::string_view name, const Labels& labels = {}, std::string_view help = {});

/// The gauge `name` with `labels`, created on first use. Same rules as counter().
Gauge& gauge(std::string_view name, const Labels& labels = {}, std::string_view help = {});

/// The histogram `name` with `labels`, created on first use with `bounds` (latency buckets in
/// seconds from 1 ms to 10 s when empty). Same rules as counter().
Histogram& histogram(std::string_view name, const Labels& labels = {}, std::string_view help = {},
                     std::vector<double> bounds = {});

/// Every family, in the Prometheus text format: HELP, TYPE, then one line per series (for a
/// histogram: cumulative _bucket lines ending with le="+Inf", then _sum and _count). Before
/// that, the process gauges are read: process_resident_memory_bytes (VmRSS),
/// process_resident_anonymous_bytes (its anonymous part: heap and stacks, not mapped files) and
/// sitmap_sqlite_memory_bytes (what SQLite has allocated: page caches, statements).
std::string render();

/// Records one answered request: sitmap_http_requests_total{method,route,status},
/// sitmap_http_request_duration_seconds{route} and, of that time, the seconds spent in SQLite
/// in sitmap_http_request_database_seconds{route}. `route` is the route pattern that answered,
/// never the path; an unknown method is counted as "OTHER".
void record_request(std::string_view method, std::string_view route, unsigned status, double seconds,
                    double database_seconds = 0);

/// Registers GET /metrics on `router`.
void register_route(Router& router);

} // namespace metrics
} // namespace sitmap::server
