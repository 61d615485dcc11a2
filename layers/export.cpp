#include "layers/export.hpp"

#include "geo/error.hpp"
#include "geo/gdal.hpp"
#include "layers/layer.hpp"
#include "layers/values.hpp"

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <vector>

namespace sitmap::layers {

namespace {

using nlohmann::json;

struct FormatInfo {
    ExportFormat format;
    const char* name;    // as given on the command line
    const char* driver;  // GDAL's driver
};

constexpr FormatInfo formats[] = {{ExportFormat::geojson, "GeoJSON", "GeoJSON"},
                                  {ExportFormat::gpkg, "GPKG", "GPKG"},
                                  {ExportFormat::csv, "CSV", "CSV"},
                                  {ExportFormat::kml, "KML", "KML"},
                                  {ExportFormat::shapefile, "Shapefile", "ESRI Shapefile"}};

const FormatInfo& info(ExportFormat format) {
    for (const auto& f : formats) {
        if (f.format == format) return f;
    }
    return formats[0];
}

/// An extra attribute found in the rows' props, with the OGR type that holds all its values.
struct ExtraField {
    std::string name;
    OGRFieldType type;
    int index = -1;  // in the output layer
};

std::vector<ExtraField> extra_fields(geo::Database& db, const Layer& layer, const Filter& filter) {
    std::vector<SqlValue> params;
    auto stmt = db.prepare("SELECT j.key, group_concat(DISTINCT j.type) FROM " + layer.name +
                           " t, json_each(t.props) j WHERE t.props IS NOT NULL" + filter_sql(layer, filter, params) +
                           " GROUP BY j.key ORDER BY min(t.fid), j.key");
    bind_all(stmt, params);
    std::vector<ExtraField> fields;
    while (stmt.step()) {
        std::string name(stmt.column_text(0));
        if (name == "id" || layer.column(name)) continue;  // the API hides these too
        const std::string types(stmt.column_text(1));
        OGRFieldType type = OFTString;
        if (types == "integer") {
            type = OFTInteger64;
        } else if (types == "real" || types == "integer,real" || types == "real,integer") {
            type = OFTReal;
        }
        fields.push_back({std::move(name), type});
    }
    return fields;
}

/// The output field for `name` and its index: the driver's own field when it has one of that name
/// already (the KML driver starts every layer with Name and Description), else a new one.
int add_field(OGRLayerH out, const std::string& name, OGRFieldType type, OGRFieldSubType subtype = OFSTNone) {
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(out);
    if (const int existing = OGR_FD_GetFieldIndex(defn, name.c_str()); existing >= 0) return existing;
    OGRFieldDefnH field = OGR_Fld_Create(name.c_str(), type);
    OGR_Fld_SetSubType(field, subtype);
    const OGRErr err = OGR_L_CreateField(out, field, TRUE);
    OGR_Fld_Destroy(field);
    if (err != OGRERR_NONE) throw error("cannot create field " + name + ": " + geo::gdal_last_error());
    // By position, not by name: drivers may rename (Shapefile truncates to 10 characters).
    return OGR_FD_GetFieldCount(defn) - 1;
}

OGRwkbGeometryType geometry_type(const Layer& layer) {
    switch (layer.geometry) {
        case GeometryKind::point: return wkbPoint;
        case GeometryKind::line: return wkbMultiLineString;
        case GeometryKind::polygon: return wkbMultiPolygon;
    }
    return wkbUnknown;
}

} // namespace

ExportFormat parse_export_format(std::string_view name) {
    std::string list;
    for (const auto& f : formats) {
        if (normalise_token(name) == normalise_token(f.name)) return f.format;
        list += (list.empty() ? "" : ", ") + std::string(f.name);
    }
    throw input_error("--format: unknown format '" + std::string(name) + "' (one of: " + list + ")");
}

std::int64_t export_layer(geo::Database& db, const ExportOptions& options) {
    const Layer& layer = find_layer(options.layer);
    const FormatInfo& format = info(options.format);
    if (std::filesystem::exists(options.path)) {
        throw input_error(options.path + " exists already: remove it or choose another name");
    }
    const bool csv_points = options.format == ExportFormat::csv && layer.geometry == GeometryKind::point;

    auto dataset = geo::Dataset::create(format.driver, options.path);
    auto wgs84 = geo::make_srs("EPSG:4326");
    std::vector<std::string> layer_options;
    if (options.format == ExportFormat::shapefile) layer_options = {"ENCODING=UTF-8"};
    if (options.format == ExportFormat::csv && !csv_points) layer_options = {"GEOMETRY=AS_WKT"};
    if (options.format == ExportFormat::geojson) layer_options = {"RFC7946=YES", "ID_FIELD=id"};
    geo::StringList creation(layer_options);
    OGRLayerH out = GDALDatasetCreateLayer(dataset.get(), layer.name.c_str(), csv_points ? nullptr : wgs84.get(),
                                           csv_points ? wkbNone : geometry_type(layer), creation.get());
    if (!out) throw error("cannot create layer " + layer.name + " in " + options.path + ": " + geo::gdal_last_error());

    // The output field of each input column: the id, then the layer's columns.
    std::vector<int> field_of{add_field(out, "id", OFTString)};
    for (const auto& c : layer.columns) {
        switch (c.type) {
            case ColumnType::integer: field_of.push_back(add_field(out, c.name, OFTInteger64)); break;
            case ColumnType::real: field_of.push_back(add_field(out, c.name, OFTReal)); break;
            case ColumnType::boolean: field_of.push_back(add_field(out, c.name, OFTInteger, OFSTBoolean)); break;
            default: field_of.push_back(add_field(out, c.name, OFTString)); break;  // dates as ISO 8601 text
        }
    }
    auto extras = extra_fields(db, layer, options.filter);
    for (auto& extra : extras) extra.index = add_field(out, extra.name, extra.type);
    const int lon_field = csv_points ? add_field(out, "lon", OFTReal) : -1;
    const int lat_field = csv_points ? add_field(out, "lat", OFTReal) : -1;
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(out);
    const int first_extra = static_cast<int>(field_of.size());

    std::vector<SqlValue> params;
    auto stmt = db.prepare("SELECT t.id, " + [&] {
        std::string cols;
        for (const auto& c : layer.columns) cols += "t." + c.name + ", ";
        return cols;
    }() + "t.props, AsBinary(t.geom), ST_X(t.geom), ST_Y(t.geom) FROM " + layer.name + " t WHERE 1=1" +
                           filter_sql(layer, options.filter, params) + " ORDER BY t.fid");
    bind_all(stmt, params);
    const int props_column = first_extra;
    const int geom_column = props_column + 1;

    // GPKG writes much faster in one transaction; the other drivers have none and write directly.
    const bool transaction = GDALDatasetStartTransaction(dataset.get(), FALSE) == OGRERR_NONE;
    std::int64_t written = 0;
    while (stmt.step()) {
        geo::Feature feature(OGR_F_Create(defn));
        for (int i = 0; i < first_extra; ++i) {
            const int field = field_of[static_cast<std::size_t>(i)];
            switch (stmt.column_type(i)) {
                case SQLITE_NULL: OGR_F_SetFieldNull(feature.get(), field); break;
                case SQLITE_INTEGER: OGR_F_SetFieldInteger64(feature.get(), field, stmt.column_int64(i)); break;
                case SQLITE_FLOAT: OGR_F_SetFieldDouble(feature.get(), field, stmt.column_double(i)); break;
                default: OGR_F_SetFieldString(feature.get(), field, std::string(stmt.column_text(i)).c_str()); break;
            }
        }
        if (!stmt.is_null(props_column) && !extras.empty()) {
            const auto props = json::parse(stmt.column_text(props_column), nullptr, false);
            for (const auto& extra : extras) {
                if (!props.is_object()) break;
                auto found = props.find(extra.name);
                if (found == props.end() || found->is_null()) continue;
                if (found->is_number_integer()) {
                    OGR_F_SetFieldInteger64(feature.get(), extra.index, found->get<std::int64_t>());
                } else if (found->is_number()) {
                    OGR_F_SetFieldDouble(feature.get(), extra.index, found->get<double>());
                } else {
                    const std::string text = found->is_string() ? found->get<std::string>() : found->dump();
                    OGR_F_SetFieldString(feature.get(), extra.index, text.c_str());
                }
            }
        }
        if (csv_points) {
            OGR_F_SetFieldDouble(feature.get(), lon_field, stmt.column_double(geom_column + 1));
            OGR_F_SetFieldDouble(feature.get(), lat_field, stmt.column_double(geom_column + 2));
        } else if (!stmt.is_null(geom_column)) {
            const auto wkb = stmt.column_blob(geom_column);
            OGRGeometryH geometry = nullptr;
            if (OGR_G_CreateFromWkb(wkb.data(), nullptr, &geometry, static_cast<int>(wkb.size())) != OGRERR_NONE) {
                throw internal_error("feature " + std::string(stmt.column_text(0)) + " of " + layer.name +
                                     " has a geometry GDAL cannot read");
            }
            OGR_F_SetGeometryDirectly(feature.get(), geometry);
        }
        if (OGR_L_CreateFeature(out, feature.get()) != OGRERR_NONE) {
            throw error("writing " + options.path + ", feature " + std::string(stmt.column_text(0)) + ": " +
                        geo::gdal_last_error());
        }
        ++written;
    }
    if (transaction && GDALDatasetCommitTransaction(dataset.get()) != OGRERR_NONE) {
        throw error("writing " + options.path + ": " + geo::gdal_last_error());
    }
    dataset.close();
    return written;
}

} // namespace sitmap::layers
