#include "layers/simplified.hpp"

#include "geo/geos.hpp"
#include "geo/simplify.hpp"
#include "geo/tile.hpp"
#include "layers/changes.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <map>
#include <mutex>
#include <vector>

namespace sitmap::layers {

namespace {

/// A cached layer and the change-log sequence up to which it is known to be current.
struct Slot {
    std::int64_t checked = 0;
    std::shared_ptr<const SimplifiedLayer> value;
};

// Shared by every thread (each has its own connection to the same file): a simplified layer is
// built once per process, not once per connection. Guarded by slots_mutex. Never destroyed, so
// a server thread still answering while the process exits finds them whole.
std::mutex& slots_mutex = *new std::mutex;
std::map<std::string, Slot>& slots = *new std::map<std::string, Slot>;  // "<file>#<dev>:<inode>|<layer>|<zoom>"
// Builds are CPU-bound: one at a time, and a second thread asking for the same layer waits for
// the first instead of building it again.
std::mutex& build_mutex = *new std::mutex;

/// Names the database file (the inode tells a file re-created under the same name apart).
std::string database_key(geo::Database& db) {
    const char* file = sqlite3_db_filename(db.handle(), "main");
    if (!file || !*file) return "memory:" + std::to_string(reinterpret_cast<std::uintptr_t>(db.handle()));
    struct stat info {};
    if (::stat(file, &info) != 0) return file;
    return std::string(file) + "#" + std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
}

std::shared_ptr<const SimplifiedLayer> build(geo::Database& db, const Layer& layer, int zoom) {
    auto stmt = db.prepare("SELECT fid, AsBinary(geom) FROM " + layer.name + " WHERE geom IS NOT NULL");
    std::vector<std::int64_t> fids;
    std::vector<geo::Geometry> geometries;
    while (stmt.step()) {
        fids.push_back(stmt.column_int64(0));
        auto g = geo::Geometry::from_wkb(stmt.column_blob(1));
        geo::transform_xy(g, [](double& x, double& y) {
            const geo::Mercator m = geo::lonlat_to_mercator(x, y);
            x = m.x;
            y = m.y;
        });
        geometries.push_back(std::move(g));
    }
    const double tolerance = simplify_tolerance(zoom);
    auto result = std::make_shared<SimplifiedLayer>();
    if (layer.geometry == GeometryKind::polygon) {
        const auto simple = geo::simplify_coverage(geometries, tolerance);
        for (std::size_t i = 0; i < fids.size(); ++i) {
            if (!simple[i].empty()) result->wkb.emplace(fids[i], simple[i].wkb());
        }
    } else {
        for (std::size_t i = 0; i < fids.size(); ++i) {
            result->wkb.emplace(fids[i], geo::simplify_line(geometries[i], tolerance).wkb());
        }
    }
    return result;
}

} // namespace

double simplify_tolerance(int zoom) {
    return geo::tile_size_mercator(zoom) / 512.0;
}

std::shared_ptr<const SimplifiedLayer> simplified_layer(geo::Database& db, const Layer& layer, int zoom) {
    const std::int64_t now = last_change(db);
    const std::string key = database_key(db) + "|" + layer.name + "|" + std::to_string(zoom);
    Slot seen;
    {
        std::lock_guard lock(slots_mutex);
        if (const auto it = slots.find(key); it != slots.end()) seen = it->second;
    }
    if (seen.value && seen.checked == now) return seen.value;
    if (seen.value && seen.checked < now) {
        // Changes came in: only those to this layer make it stale.
        bool touched = false;
        for (const auto& change : changes_since(db, seen.checked)) touched = touched || change.layer == layer.name;
        if (!touched) {
            std::lock_guard lock(slots_mutex);
            auto& slot = slots[key];
            if (slot.value == seen.value) slot.checked = now;
            return seen.value;
        }
    }
    std::lock_guard building(build_mutex);
    {
        std::lock_guard lock(slots_mutex);
        if (const auto it = slots.find(key); it != slots.end() && it->second.value && it->second.checked == now) {
            return it->second.value;  // built by another thread while this one waited
        }
    }
    auto value = build(db, layer, zoom);
    std::lock_guard lock(slots_mutex);
    slots[key] = Slot{now, value};
    return value;
}

void prepare_simplified_layers(geo::Database& db, std::stop_token stop) {
    for (int zoom = 0; zoom < simplify_below_zoom; ++zoom) {
        for (const auto& layer : all_layers()) {
            if (stop.stop_requested()) return;
            if (layer.geometry != GeometryKind::point) simplified_layer(db, layer, zoom);
        }
    }
}

} // namespace sitmap::layers
