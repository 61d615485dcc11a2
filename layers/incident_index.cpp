#include "layers/incident_index.hpp"

#include "geo/error.hpp"
#include "layers/changes.hpp"
#include "layers/features.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>

namespace sitmap::layers {

/// Points as arrays, one entry per point; dead ones (removed by a change) stay until the next sort.
struct IncidentIndex::Points {
    std::size_t columns = 0;                // dictionary indexes per point
    std::vector<std::uint32_t> keys;        // Morton key of the point's cell
    std::vector<geo::LonLat> positions;
    std::vector<std::int64_t> fids;
    std::vector<std::uint32_t> values;      // point * columns + column
    std::vector<std::uint8_t> dead;

    std::size_t size() const noexcept { return fids.size(); }
    const std::uint32_t* row(std::size_t i) const noexcept { return values.data() + i * columns; }
};

/// The dictionaries (id, then the layer's columns), the points sorted by cell, and the points
/// added since they were sorted (few; scanned whole by every tile).
struct IncidentIndex::Store {
    std::vector<ValueDictionary> dictionaries;
    Points sorted;
    std::vector<std::uint32_t> sorted_by_fid;  // positions in `sorted`, by fid
    Points recent;
};

namespace {

using Points = IncidentIndex::Points;
using Store = IncidentIndex::Store;

constexpr std::uint32_t cells_per_side = 1U << static_cast<unsigned>(incident_index_level);

const Layer& incidents_layer() {
    static const Layer& layer = find_layer("incidents");
    return layer;
}

/// Spreads the 16 low bits of v to the even bits.
std::uint32_t spread(std::uint32_t v) noexcept {
    v &= 0xFFFFU;
    v = (v | (v << 8U)) & 0x00FF00FFU;
    v = (v | (v << 4U)) & 0x0F0F0F0FU;
    v = (v | (v << 2U)) & 0x33333333U;
    v = (v | (v << 1U)) & 0x55555555U;
    return v;
}

std::uint32_t morton(std::uint32_t x, std::uint32_t y) noexcept { return spread(x) | (spread(y) << 1U); }

std::uint32_t clamp_cell(double cell) noexcept {
    if (!(cell >= 0)) return 0;
    return static_cast<std::uint32_t>(std::min(cell, static_cast<double>(cells_per_side - 1)));
}

/// The key of the cell holding a point (cells numbered like tiles: x east, y south).
std::uint32_t cell_key(const geo::LonLat& p) noexcept {
    const geo::Mercator m = geo::lonlat_to_mercator(p.lon, p.lat);
    const double scale = cells_per_side / (2 * geo::mercator_half_size);
    return morton(clamp_cell(std::floor((m.x + geo::mercator_half_size) * scale)),
                  clamp_cell(std::floor((geo::mercator_half_size - m.y) * scale)));
}

/// Cells [x0, x1] x [y0, y1] (inclusive).
struct CellBox {
    std::uint32_t x0, y0, x1, y1;
};

/// The key ranges [first, second) of the cells in `box`, ascending: whole quads as one range,
/// the quads the box edge crosses split down to cells.
void key_ranges(const CellBox& box, int level, std::uint32_t qx, std::uint32_t qy, std::uint64_t prefix,
                std::vector<std::pair<std::uint64_t, std::uint64_t>>& out) {
    const unsigned shift = static_cast<unsigned>(incident_index_level - level);
    const std::uint32_t x0 = qx << shift, y0 = qy << shift;
    const std::uint32_t x1 = x0 + (1U << shift) - 1, y1 = y0 + (1U << shift) - 1;
    if (x1 < box.x0 || x0 > box.x1 || y1 < box.y0 || y0 > box.y1) return;
    if ((x0 >= box.x0 && x1 <= box.x1 && y0 >= box.y0 && y1 <= box.y1) || level == incident_index_level) {
        const std::uint64_t first = prefix << (2 * shift), last = (prefix + 1) << (2 * shift);
        if (!out.empty() && out.back().second == first) {
            out.back().second = last;
        } else {
            out.emplace_back(first, last);
        }
        return;
    }
    for (std::uint32_t child = 0; child < 4; ++child) {  // Morton order: x is the low bit
        key_ranges(box, level + 1, 2 * qx + (child & 1U), 2 * qy + (child >> 1U), prefix * 4 + child, out);
    }
}

/// The cells a tile plus `buffer` covers, with one cell more on each side (rounding).
CellBox tile_cells(const geo::TileId& tile, const TileOptions& options) {
    const double cells = std::ldexp(1.0, incident_index_level - tile.z);  // cells across a tile
    const double margin = cells * options.buffer / options.extent;
    return {clamp_cell(std::floor(tile.x * cells - margin) - 1), clamp_cell(std::floor(tile.y * cells - margin) - 1),
            clamp_cell(std::floor((tile.x + 1) * cells + margin) + 1),
            clamp_cell(std::floor((tile.y + 1) * cells + margin) + 1)};
}

/// "SELECT t.fid, t.id, <columns>, t.geom" as the rows are read.
std::string row_select(const Layer& layer) {
    std::string sql = "SELECT t.fid, t.id";
    for (const auto& c : layer.columns) sql += ", t." + c.name;
    return sql + ", t.geom";
}

IncidentIndex::Row read_row(const geo::Statement& stmt, const Layer& layer) {
    IncidentIndex::Row row;
    row.fid = stmt.column_int64(0);
    row.values.reserve(layer.columns.size() + 1);
    row.values.push_back(read_row_value(stmt, 1, true));  // the tile's `id` is always text
    for (std::size_t c = 0; c < layer.columns.size(); ++c) row.values.push_back(read_row_value(stmt, static_cast<int>(c) + 2));
    row.position = point_from_blob(stmt.column_blob(static_cast<int>(layer.columns.size()) + 2));
    return row;
}

void add_point(Store& store, Points& points, const IncidentIndex::Row& row) {
    points.keys.push_back(cell_key(row.position));
    points.positions.push_back(row.position);
    points.fids.push_back(row.fid);
    for (std::size_t c = 0; c < row.values.size(); ++c) points.values.push_back(store.dictionaries[c].add(row.values[c]));
    points.dead.push_back(0);
}

/// Moves every live point (sorted and recent) into `sorted`, ordered by key then fid.
void sort_points(Store& store) {
    const std::size_t columns = store.sorted.columns;
    std::vector<std::pair<const Points*, std::uint32_t>> live;
    live.reserve(store.sorted.size() + store.recent.size());
    for (const Points* points : {&store.sorted, &store.recent}) {
        for (std::size_t i = 0; i < points->size(); ++i) {
            if (!points->dead[i]) live.emplace_back(points, static_cast<std::uint32_t>(i));
        }
    }
    std::sort(live.begin(), live.end(), [](const auto& a, const auto& b) {
        const auto ka = a.first->keys[a.second], kb = b.first->keys[b.second];
        return ka != kb ? ka < kb : a.first->fids[a.second] < b.first->fids[b.second];
    });
    Points sorted;
    sorted.columns = columns;
    sorted.keys.reserve(live.size());
    sorted.positions.reserve(live.size());
    sorted.fids.reserve(live.size());
    sorted.values.reserve(live.size() * columns);
    for (const auto& [points, i] : live) {
        sorted.keys.push_back(points->keys[i]);
        sorted.positions.push_back(points->positions[i]);
        sorted.fids.push_back(points->fids[i]);
        sorted.values.insert(sorted.values.end(), points->row(i), points->row(i) + columns);
    }
    sorted.dead.assign(live.size(), 0);
    // Columns of unique values (ids, times) laid out again in the points' order: a tile then
    // reads them from consecutive memory rather than from wherever each was met (cache misses
    // were a third of a big tile's time). Values no point holds any more go with the old layout.
    for (std::size_t c = 0; c < columns; ++c) {
        const auto& old = store.dictionaries[c];
        if (old.deduplicated()) continue;
        auto fresh = ValueDictionary::unique();
        for (std::size_t i = 0; i < sorted.size(); ++i) {
            auto& v = sorted.values[i * columns + c];
            v = fresh.append_from(old, v);
        }
        store.dictionaries[c] = std::move(fresh);
    }
    store.sorted = std::move(sorted);
    store.recent = Points{};
    store.recent.columns = columns;
    store.sorted_by_fid.resize(store.sorted.size());
    std::iota(store.sorted_by_fid.begin(), store.sorted_by_fid.end(), 0U);
    std::sort(store.sorted_by_fid.begin(), store.sorted_by_fid.end(),
              [&](std::uint32_t a, std::uint32_t b) { return store.sorted.fids[a] < store.sorted.fids[b]; });
}

/// Calls visit(i) for every point of `sorted` whose cell is in `box`.
template <typename Visit>
void for_each_in_cells(const Points& sorted, const CellBox& box, Visit&& visit) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
    key_ranges(box, 0, 0, 0, 0, ranges);
    auto it = sorted.keys.begin();
    for (const auto& [first, last] : ranges) {
        it = std::lower_bound(it, sorted.keys.end(), first);
        for (; it != sorted.keys.end() && *it < last; ++it) visit(static_cast<std::size_t>(it - sorted.keys.begin()));
    }
}

/// The cells of a lon/lat box.
CellBox lonlat_cells(const geo::BBox& box) {
    const auto low = cell_key({box.min_x, box.max_y}), high = cell_key({box.max_x, box.min_y});
    auto unspread = [](std::uint32_t v) {
        v &= 0x55555555U;
        v = (v | (v >> 1U)) & 0x33333333U;
        v = (v | (v >> 2U)) & 0x0F0F0F0FU;
        v = (v | (v >> 4U)) & 0x00FF00FFU;
        v = (v | (v >> 8U)) & 0x0000FFFFU;
        return v;
    };
    return {unspread(low), unspread(low >> 1U), unspread(high), unspread(high >> 1U)};
}

/// Marks dead every point lying in one of `boxes` or holding one of `fids`.
void remove_points(Store& store, const std::vector<geo::BBox>& boxes, const std::unordered_set<std::int64_t>& fids) {
    for (const auto& box : boxes) {
        for_each_in_cells(store.sorted, lonlat_cells(box), [&](std::size_t i) {
            if (box.contains(store.sorted.positions[i].lon, store.sorted.positions[i].lat)) store.sorted.dead[i] = 1;
        });
    }
    for (const std::int64_t fid : fids) {
        const auto found = std::lower_bound(store.sorted_by_fid.begin(), store.sorted_by_fid.end(), fid,
                                            [&](std::uint32_t i, std::int64_t f) { return store.sorted.fids[i] < f; });
        if (found != store.sorted_by_fid.end() && store.sorted.fids[*found] == fid) store.sorted.dead[*found] = 1;
    }
    auto& recent = store.recent;
    for (std::size_t i = 0; i < recent.size(); ++i) {
        if (fids.contains(recent.fids[i])) recent.dead[i] = 1;
        for (const auto& box : boxes) {
            if (box.contains(recent.positions[i].lon, recent.positions[i].lat)) recent.dead[i] = 1;
        }
    }
}

/// The incidents whose position lies in one of `boxes`, each once.
std::vector<IncidentIndex::Row> read_boxes(geo::Database& db, const std::vector<geo::BBox>& boxes) {
    const Layer& layer = incidents_layer();
    auto stmt = db.prepare(row_select(layer) + " FROM idx_incidents_geom r CROSS JOIN incidents t ON t.fid = r.pkid"
                                               " WHERE r.xmin <= ? AND r.xmax >= ? AND r.ymin <= ? AND r.ymax >= ?"
                                               " AND t.geom IS NOT NULL");
    std::vector<IncidentIndex::Row> rows;
    std::unordered_set<std::int64_t> seen;
    for (const auto& box : boxes) {
        stmt.reset();
        stmt.bind(1, box.max_x);
        stmt.bind(2, box.min_x);
        stmt.bind(3, box.max_y);
        stmt.bind(4, box.min_y);
        while (stmt.step()) {
            auto row = read_row(stmt, layer);
            if (box.contains(row.position.lon, row.position.lat) && seen.insert(row.fid).second) rows.push_back(std::move(row));
        }
    }
    return rows;
}

/// A read transaction: what is read inside it is one state of the database.
class ReadTransaction {
public:
    explicit ReadTransaction(geo::Database& db) : m_db(db) { m_db.exec("BEGIN"); }
    ~ReadTransaction() {
        try {
            m_db.exec("COMMIT");
        } catch (...) {
            // nothing was written: ending the read cannot lose anything
        }
    }
    ReadTransaction(const ReadTransaction&) = delete;
    ReadTransaction& operator=(const ReadTransaction&) = delete;

private:
    geo::Database& m_db;
};

/// The filter's attribute conditions, as filter_sql puts them, on dictionary indexes.
class Match {
public:
    Match(const Store& store, const Layer& layer, const Filter& filter)
        : m_store(store), m_from(filter.from), m_to(filter.to) {
        m_time = column(layer, "occurred_at");
        add_list(layer, "type", filter.types);
        add_list(layer, "target", filter.targets);
        add_list(layer, "status", filter.statuses);
    }

    bool operator()(const std::uint32_t* row) const {
        if (m_from || m_to) {
            const auto& times = m_store.dictionaries[m_time];
            const std::uint32_t v = row[m_time];
            const auto kind = times.kind(v);
            if (kind == ValueDictionary::Kind::null) return false;
            // SQLite orders numbers before text: a number is before any `from` and `to`.
            const bool text = kind == ValueDictionary::Kind::text;
            if (m_from && (!text || times.text(v) < *m_from)) return false;
            if (m_to && text && times.text(v) > *m_to) return false;
        }
        for (const auto& [c, allowed] : m_lists) {
            if (!allowed[row[c]]) return false;
        }
        return true;
    }

private:
    static std::size_t column(const Layer& layer, std::string_view name) {
        for (std::size_t c = 0; c < layer.columns.size(); ++c) {
            if (layer.columns[c].name == name) return c + 1;  // dictionary 0 is the id
        }
        throw internal_error("incident index: the incidents have no column " + std::string(name));
    }

    void add_list(const Layer& layer, std::string_view name, const std::vector<std::string>& values) {
        if (values.empty()) return;
        const std::size_t c = column(layer, name);
        const auto& dictionary = m_store.dictionaries[c];
        std::vector<char> allowed(dictionary.size(), 0);
        for (std::uint32_t v = 0; v < dictionary.size(); ++v) {
            allowed[v] = dictionary.kind(v) == ValueDictionary::Kind::text &&
                         std::find(values.begin(), values.end(), dictionary.text(v)) != values.end();
        }
        m_lists.emplace_back(c, std::move(allowed));
    }

    const Store& m_store;
    std::optional<std::string> m_from;
    std::optional<std::string> m_to;
    std::size_t m_time = 0;
    std::vector<std::pair<std::size_t, std::vector<char>>> m_lists;
};

/// Writes a point's `id` and columns as build_tile's SQLite path does. A column of few values
/// remembers the layer's index of each value it has written, so a value is encoded and looked up
/// once per tile rather than once per feature.
class PropertyWriter {
public:
    PropertyWriter(geo::mvt::LayerBuilder& out, const Layer& layer, const Store& store)
        : m_layer(layer), m_store(store) {
        m_keys.push_back(out.key("id"));
        for (const auto& c : layer.columns) m_keys.push_back(out.key(c.name));
        m_known.resize(m_keys.size());
        for (std::size_t c = 1; c < m_keys.size(); ++c) {
            const auto& dictionary = store.dictionaries[c];
            if (dictionary.deduplicated() && dictionary.size() <= max_known) m_known[c].assign(dictionary.size(), unknown);
        }
    }

    void write(geo::mvt::FeatureBuilder& feature, const std::uint32_t* row) {
        feature.property(m_keys[0], m_store.dictionaries[0].text(row[0]));
        for (std::size_t c = 1; c < m_keys.size(); ++c) {
            if (m_known[c].empty()) {
                write_value(feature, c, row[c]);
                continue;
            }
            auto& known = m_known[c][row[c]];
            if (known != unknown) {
                feature.property_at(m_keys[c], known);
            } else if (write_value(feature, c, row[c])) {
                known = feature.last_value_index();
            }
        }
    }

private:
    static constexpr std::size_t max_known = 4096;
    static constexpr std::uint32_t unknown = UINT32_MAX;

    /// False when the value is NULL (no property).
    bool write_value(geo::mvt::FeatureBuilder& feature, std::size_t c, std::uint32_t v) const {
        const auto& dictionary = m_store.dictionaries[c];
        switch (dictionary.kind(v)) {
            case ValueDictionary::Kind::null: return false;
            case ValueDictionary::Kind::integer:
                if (m_layer.columns[c - 1].type == ColumnType::boolean) {
                    feature.property(m_keys[c], dictionary.integer(v) != 0);
                } else {
                    feature.property(m_keys[c], dictionary.integer(v));
                }
                return true;
            case ValueDictionary::Kind::real: feature.property(m_keys[c], dictionary.real(v)); return true;
            case ValueDictionary::Kind::text: feature.property(m_keys[c], dictionary.text(v)); return true;
        }
        return false;
    }

    const Layer& m_layer;
    const Store& m_store;
    std::vector<geo::mvt::PropertyKey> m_keys;
    std::vector<std::vector<std::uint32_t>> m_known;  // per column: dictionary index -> layer value index
};

Store empty_store() {
    Store store;
    store.dictionaries.resize(incidents_layer().columns.size() + 1);
    store.sorted.columns = store.recent.columns = store.dictionaries.size();
    return store;
}

} // namespace

IncidentIndex::IncidentIndex() : m_store(std::make_unique<Store>(empty_store())) {}

IncidentIndex::~IncidentIndex() = default;

void IncidentIndex::build(geo::Database& db, std::stop_token stop) {
    const std::lock_guard syncing(m_syncing);
    auto store = std::make_unique<Store>(empty_store());
    std::int64_t last = 0;
    {
        const ReadTransaction read(db);
        last = last_change(db);
        const Layer& layer = incidents_layer();
        auto stmt = db.prepare(row_select(layer) + " FROM incidents t WHERE t.geom IS NOT NULL");
        while (stmt.step()) {
            if (stop.stop_requested()) return;
            add_point(*store, store->recent, read_row(stmt, layer));
        }
    }
    sort_points(*store);
    {
        const std::unique_lock lock(m_mutex);
        m_store = std::move(store);
        m_sequence.store(last, std::memory_order_release);
    }
    m_ready.store(true, std::memory_order_release);
}

void IncidentIndex::sync(geo::Database& db, std::int64_t at_least) {
    if (!ready() || sequence() >= at_least) return;
    const std::lock_guard syncing(m_syncing);
    if (sequence() >= at_least) return;
    std::vector<geo::BBox> boxes;
    std::vector<Row> rows;
    std::int64_t last = 0;
    {
        const ReadTransaction read(db);
        const auto changes = changes_since(db, sequence());
        if (changes.empty()) return;
        last = changes.back().sequence;
        for (const auto& change : changes) {
            if (change.layer == "incidents") boxes.push_back({change.bbox[0], change.bbox[1], change.bbox[2], change.bbox[3]});
        }
        rows = read_boxes(db, boxes);
    }
    std::unordered_set<std::int64_t> fids;
    for (const auto& row : rows) fids.insert(row.fid);
    const std::unique_lock lock(m_mutex);
    Store& store = *m_store;
    remove_points(store, boxes, fids);
    for (const auto& row : rows) add_point(store, store.recent, row);
    // Every tile scans the recent points: sort them in once they are more than a few.
    if (store.recent.size() > std::max<std::size_t>(4096, store.sorted.size() / 64)) sort_points(store);
    m_sequence.store(last, std::memory_order_release);
}

std::size_t IncidentIndex::size() const {
    const std::shared_lock lock(m_mutex);
    std::size_t live = 0;
    for (const Points* points : {&m_store->sorted, &m_store->recent}) {
        live += static_cast<std::size_t>(std::count(points->dead.begin(), points->dead.end(), 0));
    }
    return live;
}

std::size_t IncidentIndex::memory_bytes() const {
    const std::shared_lock lock(m_mutex);
    std::size_t bytes = sizeof(Store) + m_store->sorted_by_fid.capacity() * sizeof(std::uint32_t);
    for (const auto& dictionary : m_store->dictionaries) bytes += dictionary.memory_bytes();
    for (const Points* points : {&m_store->sorted, &m_store->recent}) {
        bytes += points->keys.capacity() * sizeof(std::uint32_t) + points->positions.capacity() * sizeof(geo::LonLat) +
                 points->fids.capacity() * sizeof(std::int64_t) + points->values.capacity() * sizeof(std::uint32_t) +
                 points->dead.capacity();
    }
    return bytes;
}

bool IncidentIndex::add_points(geo::mvt::LayerBuilder& out, const geo::TileId& tile, const Layer& layer,
                               const Filter& filter, const TileOptions& options) const {
    if (layer.name != "incidents" || !ready()) return false;
    const std::shared_lock lock(m_mutex);
    const Store& store = *m_store;
    const Match match(store, layer, filter);
    const geo::TileTransform transform(tile, options.extent);
    const double low = -static_cast<double>(options.buffer);
    const double high = static_cast<double>(options.extent + options.buffer);
    PropertyWriter properties(out, layer, store);
    auto visit = [&](const Points& points, std::size_t i) {
        if (points.dead[i] || !match(points.row(i))) return;
        const geo::Mercator m = geo::lonlat_to_mercator(points.positions[i].lon, points.positions[i].lat);
        const double x = transform.tile_x(m.x);
        const double y = transform.tile_y(m.y);
        if (x < low || x > high || y < low || y > high) return;
        auto feature = out.feature(static_cast<std::uint64_t>(points.fids[i]), geo::mvt::GeomType::Point);
        feature.point(transform.from_mercator(m.x, m.y));
        properties.write(feature, points.row(i));
        feature.commit();  // a point feature always commits: the values it added stay valid
    };
    for_each_in_cells(store.sorted, tile_cells(tile, options), [&](std::size_t i) { visit(store.sorted, i); });
    for (std::size_t i = 0; i < store.recent.size(); ++i) visit(store.recent, i);
    return true;
}

} // namespace sitmap::layers
