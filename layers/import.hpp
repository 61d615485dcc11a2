#pragma once
/// Importing any OGR-readable source into a layer: reprojection, geometry checks and repair,
/// attribute mapping, spatial join, all in one transaction.

#include "geo/sqlite.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sitmap::layers {

enum class ImportMode { replace, append, upsert };

/// What to import and how.
struct ImportOptions {
    std::string layer;           ///< target layer name
    std::string source;          ///< any path GDAL opens ("/vsizip/..." too)
    std::string source_layer;    ///< layer of a multi-layer source; the first when empty
    /// SQL (SQLite dialect, as `ogr2ogr -sql`) run on the source; its result is imported instead
    /// of a layer. For renaming or recoding fields: "SELECT 'ML' || substr(rowcacode1, 5) AS pcode, * FROM sahel".
    std::string sql;
    std::string assume_crs;      ///< CRS for a source that declares none ("EPSG:32630")
    std::vector<std::pair<std::string, std::string>> field_map;  ///< source field -> attribute
    ImportMode mode = ImportMode::replace;
    bool skip_invalid = false;   ///< skip bad features (and report them) instead of failing
    /// Called every few thousand features with the number read so far and the total (-1 if unknown).
    std::function<void(std::int64_t read, std::int64_t total)> progress;
};

/// What an import did.
struct ImportSummary {
    std::int64_t read = 0;
    std::int64_t written = 0;
    std::int64_t repaired = 0;         ///< invalid geometries made valid
    std::int64_t dropped_parts = 0;    ///< parts of the wrong dimension removed
    std::int64_t skipped = 0;
    std::vector<std::string> skipped_reasons;  ///< one line per skipped feature (first 100)
    std::int64_t joined = 0;           ///< incidents given a cercle by the spatial join
    double seconds = 0;
};

/// Imports in one transaction: on any error nothing is written and sitmap::input_error says
/// which file, which feature and which field. Throws sitmap::not_found_error for an unknown layer.
ImportSummary import_layer(geo::Database& db, const ImportOptions& options);

/// Recomputes cercle_id and region_id of every incident (after boundaries change), inside the
/// caller's transaction: the first cercle (by fid) holding the point, the region holding it (or,
/// when no region does, the cercle's region_id). Returns the number of incidents that lie in a cercle.
std::int64_t join_incidents_to_boundaries(geo::Database& db);

/// cercle_id and region_id of one point (lon/lat), by the same rules as the join above (for an
/// incident written through the API); nullopt where no cercle or region holds it.
std::pair<std::optional<std::string>, std::optional<std::string>> boundaries_at(geo::Database& db, double lon,
                                                                                double lat);

} // namespace sitmap::layers
