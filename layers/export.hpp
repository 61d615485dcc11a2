#pragma once
/// Writing a layer (or the part a filter selects) to a file in a format other tools read, through GDAL.

#include "geo/sqlite.hpp"
#include "layers/filter.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace sitmap::layers {

enum class ExportFormat { geojson, gpkg, csv, kml, shapefile };

/// "GeoJSON", "GPKG", "CSV", "KML" or "Shapefile" (any case). Throws sitmap::input_error listing them.
ExportFormat parse_export_format(std::string_view name);

/// What to export and where.
struct ExportOptions {
    std::string layer;   ///< layer name
    ExportFormat format = ExportFormat::geojson;
    std::string path;    ///< the file to create (a .shp for Shapefile, with its .dbf, .shx, .prj, .cpg)
    Filter filter;       ///< the same filters as the API (bbox; from, to, type, target for incidents)
};

/// Writes the layer's matching features, ordered by fid, in EPSG:4326. Fields: id, the layer's
/// columns (dates and date-times as ISO 8601 text, booleans as 0/1), then every extra attribute
/// kept from the sources (typed: integer, real or text). CSV holds points as lon and lat columns
/// and other geometries as a WKT column; Shapefile truncates field names to 10 characters (the
/// import recognises them). Returns the number of features written.
/// Throws sitmap::input_error when the file exists, sitmap::not_found_error for an unknown layer.
std::int64_t export_layer(geo::Database& db, const ExportOptions& options);

} // namespace sitmap::layers
