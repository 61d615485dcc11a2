#pragma once
/// The change log: every committed write records which layer changed where, so that a running
/// server (another process) can invalidate exactly the tiles a change touches.

#include "geo/sqlite.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sitmap::layers {

/// One change: a layer and the lon/lat box of what was written or removed.
struct Change {
    std::int64_t sequence = 0;
    std::string layer;
    std::array<double, 4> bbox{};  ///< min_lon, min_lat, max_lon, max_lat
    std::string action;            ///< "import", "create", "replace", "update" or "delete"
    std::string feature_id;        ///< the feature written through the API; empty for imports
};

/// Grows a lon/lat box to hold another; an empty optional is the empty box.
void extend(std::optional<std::array<double, 4>>& box, const std::array<double, 4>& other);

/// Records a change inside the caller's transaction (so it commits or rolls back with the data).
/// `bbox` covers the feature before and after (a moved point invalidates both places).
void record_change(geo::Database& db, const std::string& layer, const std::array<double, 4>& bbox,
                   const std::string& action = "import", const std::string& feature_id = {});

/// The extent of a whole layer, or nothing when it is empty (for replace and delete-all).
std::optional<std::array<double, 4>> layer_extent(geo::Database& db, const std::string& layer);

/// The changes after `sequence`, oldest first.
std::vector<Change> changes_since(geo::Database& db, std::int64_t sequence);

/// The sequence number of the newest change (0 when none).
std::int64_t last_change(geo::Database& db);

} // namespace sitmap::layers
