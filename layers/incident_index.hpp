#pragma once
/// The incidents in memory for tiles: a compact point index that answers an unclustered incidents
/// tile without SQL. Points are kept in arrays sorted by the Morton key of their cell at
/// incident_index_level (so a tile is a few contiguous ranges), each with its position, fid and
/// one dictionary index per property column (layers/value_dictionary.hpp). Built once from the
/// database, then kept current from the change log (layers/changes.hpp): every change re-reads
/// the incidents in its box, so a write shows in the next tile as it does from SQLite.

#include "geo/lonlat.hpp"
#include "geo/sqlite.hpp"
#include "geo/tile.hpp"
#include "layers/tiles.hpp"
#include "layers/value_dictionary.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <stop_token>
#include <vector>

namespace sitmap::layers {

/// The zoom of the grid cells points are sorted by (2^14 cells a side: 2.4 km at the equator).
inline constexpr int incident_index_level = 14;

class IncidentIndex final : public TilePointSource {
public:
    IncidentIndex();
    ~IncidentIndex() override;
    IncidentIndex(const IncidentIndex&) = delete;
    IncidentIndex& operator=(const IncidentIndex&) = delete;

    /// Reads every incident and the change log's position in one read transaction, and replaces
    /// what the index held; ready() from then on. Returns early (not ready) when `stop` is asked.
    void build(geo::Database& db, std::stop_token stop = {});

    /// Applies the changes committed after sequence(), when sequence() < `at_least` (cheap
    /// otherwise): the incidents in each changed box are read again (one read transaction).
    /// Several threads may call it; one applies, the others find it done.
    void sync(geo::Database& db, std::int64_t at_least);

    bool ready() const noexcept { return m_ready.load(std::memory_order_acquire); }

    /// The change the index holds the data of (-1 before build()).
    std::int64_t sequence() const noexcept { return m_sequence.load(std::memory_order_acquire); }

    /// The incidents held (with a position).
    std::size_t size() const;

    /// Bytes the index holds allocated (arrays, dictionaries).
    std::size_t memory_bytes() const;

    /// Answers for the incidents layer once built (TilePointSource).
    bool add_points(geo::mvt::LayerBuilder& out, const geo::TileId& tile, const Layer& layer, const Filter& filter,
                    const TileOptions& options) const override;

    /// One incident as read from the database; the index's rows (struct of arrays) hold these.
    struct Row {
        std::int64_t fid = 0;
        geo::LonLat position;
        std::vector<RowValue> values;  // id, then the layer's columns
    };
    struct Points;
    struct Store;

private:
    std::unique_ptr<Store> m_store;
    mutable std::shared_mutex m_mutex;  // readers share m_store; build and sync replace or change it
    std::mutex m_syncing;               // one build or sync at a time
    std::atomic<bool> m_ready{false};
    std::atomic<std::int64_t> m_sequence{-1};
};

} // namespace sitmap::layers
