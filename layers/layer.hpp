#pragma once
/// The five layers of sitmap: their names, geometry and attributes. One place describes them;
/// the schema, import, export, GeoJSON, tiles and the catalog are all driven from here.

#include <string>
#include <string_view>
#include <vector>

namespace sitmap::layers {

enum class ColumnType { text, integer, real, date, datetime, boolean };
enum class GeometryKind { point, line, polygon };

/// One attribute of a layer.
struct Column {
    std::string name;
    ColumnType type = ColumnType::text;
    bool required = false;
    /// When not empty, the only values allowed (stored lower-case).
    std::vector<std::string> allowed;
    /// Field names in source files recognised as this column (compared without case).
    std::vector<std::string> aliases;
    /// Filled by sitmap itself (spatial join, the write API), never imported nor taken from a request.
    bool derived = false;
    /// Stored when a source or a request gives no value (also the column's SQL DEFAULT); empty: none.
    std::string default_value;
    std::string description;
};

/// One layer: a table in the database and a collection in the API.
struct Layer {
    std::string name;         ///< table, collection and tile layer name
    std::string title;
    std::string description;
    GeometryKind geometry;
    std::vector<Column> columns;  ///< after the text `id`, which every layer has
    /// Field names in source files recognised as the id (after `id` itself), compared without case.
    std::vector<std::string> id_aliases;

    /// The column with that name, or nullptr.
    const Column* column(std::string_view column_name) const;
    /// SpatiaLite geometry type for AddGeometryColumn: POINT, MULTILINESTRING, MULTIPOLYGON.
    const char* spatialite_type() const;
    /// The names of the columns, comma-separated, for SELECT lists.
    std::string column_list() const;
};

/// The five layers, in drawing order (regions, cercles, routes, bases, incidents... see .cpp).
const std::vector<Layer>& all_layers();

/// The layer with that name. Throws sitmap::not_found_error naming the layers there are.
const Layer& find_layer(std::string_view name);

} // namespace sitmap::layers
