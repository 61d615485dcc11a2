#pragma once
/// The tile cache: tiles kept in memory, least recently used first out, bounded in bytes, each
/// stored once uncompressed and once gzipped with its strong ETag. It watches the database's
/// change log (layers/changes.hpp), written by importers in other processes, and drops exactly
/// the tiles a change touches.

#include "geo/error.hpp"
#include "geo/sqlite.hpp"
#include "geo/tile.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sitmap::server {

/// One tile as served: its MVT bytes (empty for an empty tile), their gzip (empty when not made),
/// and the strong ETag (quoted) of each representation.
struct CachedTile {
    std::string bytes;
    std::string gzip;
    std::string etag;
    std::string gzip_etag;

    /// Hashes the bytes once for both ETags, and compresses them when `compress` is set (a tile
    /// nobody keeps and the client takes uncompressed is not worth compressing).
    static std::shared_ptr<const CachedTile> make(std::string bytes, bool compress = true);

    /// A copy with its gzip made (when it had none).
    std::shared_ptr<const CachedTile> with_gzip() const;
};

/// What the cache has done since it started.
struct TileCacheStats {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::uint64_t invalidated = 0;  ///< tiles dropped because a change touched them
    std::uint64_t evicted = 0;      ///< tiles dropped to stay within the budget
    std::uint64_t builds = 0;       ///< tiles made by find_or_build
    std::uint64_t shared = 0;       ///< misses answered by another thread's build in progress
    std::size_t entries = 0;
    std::size_t bytes = 0;
};

/// A thread-safe LRU of tiles bounded in bytes (both representations, key and bookkeeping count).
/// A budget of 0 caches nothing.
///
/// Use per request: `sync(db)`, remember `sequence()`, `find(key)`; on a miss build the tile and
/// `insert(key, ..., sequence)`. An insert is dropped when a change applied in between touches
/// the tile (or is too old to tell), so a tile read before a change can never outlive it, while
/// a slow tile is still kept under a steady stream of writes elsewhere.
class TileCache {
public:
    explicit TileCache(std::size_t budget_bytes);
    ~TileCache();
    TileCache(const TileCache&) = delete;
    TileCache& operator=(const TileCache&) = delete;

    /// Applies the changes committed since the last call (by any connection or process): cheap
    /// when nothing changed (one `PRAGMA data_version` on this thread's connection). Every cached
    /// tile holding a changed layer whose bounds meet the change's box is dropped.
    void sync(geo::Database& db);

    /// The sequence number of the last change applied.
    std::int64_t sequence() const;

    /// The tile under `key`, or null; counts a hit or a miss.
    std::shared_ptr<const CachedTile> find(const std::string& key);

    /// Stores a tile built from the database at change `sequence`. `layers`: the layer names the
    /// tile holds; `bounds`: the lon/lat box the tile reads (tile plus buffer, or more).
    void insert(const std::string& key, std::vector<std::string> layers, const geo::BBox& bounds,
                std::shared_ptr<const CachedTile> tile, std::int64_t sequence);

    /// Makes a tile on a miss (called without the cache's lock held). A tile built without its
    /// gzip is answered as built, then compressed on the same thread and kept compressed: no
    /// answer waits for a compression it does not use.
    using Builder = std::function<std::shared_ptr<const CachedTile>()>;

    /// What a lookup answers: the tile, or the exception its build threw (Refused when the
    /// build could not be started); `hit` when the tile came from the cache.
    struct Result {
        std::shared_ptr<const CachedTile> tile;
        std::exception_ptr error;
        bool hit = false;
    };

    /// Receives a lookup's Result, once: on the asking thread for a hit, else on the thread
    /// that ran the build, when it ends.
    using Done = std::function<void(Result)>;

    /// Runs a build now or hands it to another thread (a worker); false when it cannot.
    using Start = std::function<bool(std::function<void()> build)>;

    /// The error of every miss waiting for a build that `start` refused (a full queue) or that
    /// was dropped unrun (the server stopping).
    class Refused : public sitmap::error {
    public:
        using sitmap::error::error;
    };

    /// The tile under `key` from the cache (then `done` is called at once), or else made by
    /// `build` and inserted as insert() does. Misses for the same key at the same `sequence`
    /// that overlap in time share one build: the first hands the build to `start`; the others
    /// only leave their `done`, which the build calls when it ends (with its tile or its
    /// exception), so no thread waits for another's build. Under writes, low-zoom tiles are
    /// dropped often and many clients ask for the same one at once. The cache must outlive the
    /// builds it starts.
    void find_or_build(const std::string& key, std::vector<std::string> layers, const geo::BBox& bounds,
                       std::int64_t sequence, Builder build, Done done, const Start& start);

    /// The same, waiting for the tile on this thread and building it here on a miss (for tools
    /// and tests): returns the tile or throws the build's exception.
    std::shared_ptr<const CachedTile> find_or_build(const std::string& key, std::vector<std::string> layers,
                                                    const geo::BBox& bounds, std::int64_t sequence,
                                                    const Builder& build, bool* hit = nullptr);

    TileCacheStats stats() const;

    /// The budget in bytes given to the constructor (0: nothing is kept).
    std::size_t budget() const noexcept { return m_budget; }

private:
    struct Entry {
        std::string key;
        std::vector<std::string> layers;
        geo::BBox bounds;
        std::shared_ptr<const CachedTile> tile;
        std::size_t size = 0;
    };
    using List = std::list<Entry>;

    void erase(List::iterator it);

    // The last changes applied, so an insert can tell whether one touched its tile.
    struct Applied {
        std::int64_t sequence = 0;
        std::string layer;
        geo::BBox box;
    };
    static constexpr std::size_t max_applied = 256;
    std::deque<Applied> m_applied;    // oldest first
    std::int64_t m_applied_from = -1;  // m_applied holds every change after this one

    // A build in progress by find_or_build, with the sequence it reads at and the misses
    // waiting for it (under m_mutex).
    struct Flight {
        std::int64_t sequence = 0;
        std::vector<Done> waiters;
    };
    class Ticket;
    std::unordered_map<std::string, std::shared_ptr<Flight>> m_building;  // the newest build of each key

    void land(const std::string& key, const std::shared_ptr<Flight>& flight, const Result& result);

    const std::size_t m_budget;
    mutable std::mutex m_mutex;
    List m_lru;  // most recently used first
    std::unordered_map<std::string_view, List::iterator> m_index;  // views into the entries' keys
    std::size_t m_bytes = 0;
    std::int64_t m_sequence = -1;  // -1: not read yet
    TileCacheStats m_stats;
};

} // namespace sitmap::server
