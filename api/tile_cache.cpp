#include "api/tile_cache.hpp"

#include "geo/error.hpp"
#include "layers/changes.hpp"
#include "http/compression.hpp"
#include "http/metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <future>

namespace sitmap::server {

namespace {

/// The ETag is a 64-bit hash of the bytes and their length, which tells tiles apart in practice.
/// libstdc++ hashes strings with a fixed-seed MurmurHash (the same in every run) a word at a
/// time: several times faster than hashing byte by byte, which showed on multi-megabyte tiles.
std::string strong_etag(std::size_t hash, std::size_t size, const char* suffix) {
    char text[64];
    std::snprintf(text, sizeof text, "\"%016llx-%zx%s\"", static_cast<unsigned long long>(hash), size, suffix);
    return text;
}

constexpr std::size_t entry_overhead = 256;  // list node, index node, vectors: a fair estimate

} // namespace

std::shared_ptr<const CachedTile> CachedTile::make(std::string bytes, bool compress) {
    auto tile = std::make_shared<CachedTile>();
    const std::size_t hash = std::hash<std::string_view>{}(bytes);
    tile->etag = strong_etag(hash, bytes.size(), "");
    if (!bytes.empty()) {
        if (compress) tile->gzip = gzip_compress(bytes);
        tile->gzip_etag = strong_etag(hash, bytes.size(), "-gzip");
    }
    tile->bytes = std::move(bytes);
    // A built tile's buffer grew by doubling: kept for minutes, it should hold no more than its
    // bytes (the cache's budget counts sizes, and up to half of each buffer would be slack).
    tile->bytes.shrink_to_fit();
    tile->gzip.shrink_to_fit();
    return tile;
}

std::shared_ptr<const CachedTile> CachedTile::with_gzip() const {
    auto tile = std::make_shared<CachedTile>(*this);
    if (tile->gzip.empty() && !tile->bytes.empty()) tile->gzip = gzip_compress(tile->bytes);
    return tile;
}

namespace {

// Every cache of the process adds its own to these, and takes it back when it goes.
metrics::Gauge& bytes_gauge() {
    static auto& gauge = metrics::gauge("sitmap_tile_cache_bytes", {}, "Bytes the tile cache holds (tiles, gzip, keys)");
    return gauge;
}

metrics::Gauge& entries_gauge() {
    static auto& gauge = metrics::gauge("sitmap_tile_cache_entries", {}, "Tiles the tile cache holds");
    return gauge;
}

} // namespace

TileCache::TileCache(std::size_t budget_bytes) : m_budget(budget_bytes) {}

TileCache::~TileCache() {
    bytes_gauge().add(-static_cast<std::int64_t>(m_bytes));
    entries_gauge().add(-static_cast<std::int64_t>(m_lru.size()));
}

void TileCache::sync(geo::Database& db) {
    // data_version changes on this connection whenever another connection has committed. It is
    // asked on every request, so the statement is prepared once per connection and kept. A kept
    // statement also keeps its connection's handle allocated (Database closes with
    // sqlite3_close_v2, which waits for the last statement), so a handle here is never reused by
    // another connection while its entry lives.
    struct Seen {
        geo::Statement version;
        std::int64_t value = 0;
        bool read = false;
    };
    thread_local std::unordered_map<const void*, Seen> seen_versions;
    auto seen = seen_versions.find(db.handle());
    if (seen == seen_versions.end()) seen = seen_versions.emplace(db.handle(), Seen{db.prepare("PRAGMA data_version")}).first;
    auto& version = seen->second.version;
    version.step();
    const std::int64_t now = version.column_int64(0);
    version.reset();
    const bool first = !seen->second.read;
    seen->second.read = true;
    if (!first && seen->second.value == now) return;
    seen->second.value = now;

    std::lock_guard lock(m_mutex);
    if (m_sequence < 0) {
        m_sequence = layers::last_change(db);
        m_applied_from = m_sequence;
        return;
    }
    for (const auto& change : layers::changes_since(db, m_sequence)) {
        const geo::BBox box{change.bbox[0], change.bbox[1], change.bbox[2], change.bbox[3]};
        for (auto it = m_lru.begin(); it != m_lru.end();) {
            const auto next = std::next(it);
            if (box.intersects(it->bounds) &&
                std::find(it->layers.begin(), it->layers.end(), change.layer) != it->layers.end()) {
                erase(it);
                ++m_stats.invalidated;
            }
            it = next;
        }
        m_sequence = change.sequence;
        m_applied.push_back({change.sequence, change.layer, box});
        if (m_applied.size() > max_applied) {
            m_applied_from = m_applied.front().sequence;
            m_applied.pop_front();
        }
    }
}

std::int64_t TileCache::sequence() const {
    std::lock_guard lock(m_mutex);
    return m_sequence;
}

std::shared_ptr<const CachedTile> TileCache::find(const std::string& key) {
    std::lock_guard lock(m_mutex);
    const auto found = m_index.find(key);
    if (found == m_index.end()) {
        ++m_stats.misses;
        static auto& misses = metrics::counter("sitmap_tile_cache_misses_total", {}, "Tiles not found in the cache");
        misses.inc();
        return nullptr;
    }
    ++m_stats.hits;
    static auto& hits = metrics::counter("sitmap_tile_cache_hits_total", {}, "Tiles served from the cache");
    hits.inc();
    m_lru.splice(m_lru.begin(), m_lru, found->second);
    return found->second->tile;
}

void TileCache::insert(const std::string& key, std::vector<std::string> layers, const geo::BBox& bounds,
                       std::shared_ptr<const CachedTile> tile, std::int64_t sequence) {
    std::size_t size = key.size() + tile->bytes.size() + tile->gzip.size() + entry_overhead;
    for (const auto& name : layers) size += name.size();
    std::lock_guard lock(m_mutex);
    if (size > m_budget || sequence < m_applied_from) return;  // too big, or too old to tell what changed since
    for (const auto& change : m_applied) {
        if (change.sequence > sequence && change.box.intersects(bounds) &&
            std::find(layers.begin(), layers.end(), change.layer) != layers.end()) {
            return;  // a change came in between and touches the tile: it may be stale
        }
    }
    if (const auto found = m_index.find(key); found != m_index.end()) erase(found->second);
    m_lru.push_front(Entry{key, std::move(layers), bounds, std::move(tile), size});
    m_index.emplace(m_lru.front().key, m_lru.begin());
    m_bytes += size;
    bytes_gauge().add(static_cast<std::int64_t>(size));
    entries_gauge().add(1);
    while (m_bytes > m_budget) {
        erase(std::prev(m_lru.end()));
        ++m_stats.evicted;
    }
}

// A build's promise to its waiters: it lands once, with the tile, the build's exception, or
// (dropped unrun) Refused.
class TileCache::Ticket {
public:
    Ticket(TileCache& cache, std::string key, std::shared_ptr<Flight> flight)
        : m_cache(cache), m_key(std::move(key)), m_flight(std::move(flight)) {}
    ~Ticket() {
        if (!m_landed) land({nullptr, std::make_exception_ptr(Refused("the tile was not built: the server is stopping")), false});
    }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;

    void land(const Result& result) noexcept {
        m_landed = true;
        m_cache.land(m_key, m_flight, result);
    }

private:
    TileCache& m_cache;
    std::string m_key;
    std::shared_ptr<Flight> m_flight;
    bool m_landed = false;
};

void TileCache::find_or_build(const std::string& key, std::vector<std::string> layers, const geo::BBox& bounds,
                              std::int64_t sequence, Builder build, Done done, const Start& start) {
    if (auto cached = find(key)) {
        done({std::move(cached), nullptr, true});
        return;
    }
    auto flight = std::make_shared<Flight>();
    {
        std::lock_guard lock(m_mutex);
        auto& building = m_building[key];
        if (building && building->sequence == sequence) {
            // Another request builds this tile from the same state of the data: its build answers.
            ++m_stats.shared;
            building->waiters.push_back(std::move(done));
            return;
        }
        // The first, or a build from an older state (a change came in since): this one builds
        // and later askers wait for it; the older build still answers its own waiters.
        flight->sequence = sequence;
        flight->waiters.push_back(std::move(done));
        building = flight;
        ++m_stats.builds;
    }
    auto ticket = std::make_shared<Ticket>(*this, key, flight);
    auto job = [this, ticket, key, layers = std::move(layers), bounds, sequence, build = std::move(build)]() mutable {
        std::shared_ptr<const CachedTile> tile;
        try {
            tile = build();
            insert(key, layers, bounds, tile, sequence);
        } catch (...) {
            ticket->land({nullptr, std::current_exception(), false});
            return;
        }
        ticket->land({tile, nullptr, false});
        // The answers have gone with the bytes as built: compress what the cache keeps now.
        if (m_budget > 0 && tile->gzip.empty() && !tile->bytes.empty()) {
            try {
                insert(key, std::move(layers), bounds, tile->with_gzip(), sequence);
            } catch (...) {
                // the raw tile stays cached; gzip clients get it uncompressed
            }
        }
    };
    if (!start(std::move(job))) {
        ticket->land({nullptr, std::make_exception_ptr(Refused("too many tiles are being built; retry in a second")), false});
    }
}

void TileCache::land(const std::string& key, const std::shared_ptr<Flight>& flight, const Result& result) {
    std::vector<Done> waiters;
    {
        std::lock_guard lock(m_mutex);
        const auto found = m_building.find(key);
        if (found != m_building.end() && found->second == flight) m_building.erase(found);
        waiters.swap(flight->waiters);
    }
    for (auto& done : waiters) {
        try {
            done(result);
        } catch (...) {
            // One waiter's failure must not keep the others from their answer.
        }
    }
}

std::shared_ptr<const CachedTile> TileCache::find_or_build(const std::string& key, std::vector<std::string> layers,
                                                           const geo::BBox& bounds, std::int64_t sequence,
                                                           const Builder& build, bool* hit) {
    std::promise<Result> promise;
    auto answer = promise.get_future();
    find_or_build(key, std::move(layers), bounds, sequence, build,
                  [&promise](Result result) { promise.set_value(std::move(result)); },
                  [](std::function<void()> job) {
                      job();
                      return true;
                  });
    auto result = answer.get();
    if (hit) *hit = result.hit;
    if (result.error) std::rethrow_exception(result.error);
    return result.tile;
}

TileCacheStats TileCache::stats() const {
    std::lock_guard lock(m_mutex);
    TileCacheStats s = m_stats;
    s.entries = m_lru.size();
    s.bytes = m_bytes;
    return s;
}

void TileCache::erase(List::iterator it) {
    m_bytes -= it->size;
    bytes_gauge().add(-static_cast<std::int64_t>(it->size));
    entries_gauge().add(-1);
    m_index.erase(it->key);
    m_lru.erase(it);
}

} // namespace sitmap::server
