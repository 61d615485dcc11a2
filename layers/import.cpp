#include "layers/import.hpp"

#include "geo/error.hpp"
#include "geo/gdal.hpp"
#include "geo/geos.hpp"
#include "layers/boundary_index.hpp"
#include "layers/changes.hpp"
#include "layers/layer.hpp"
#include "layers/values.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_set>

namespace sitmap::layers {

namespace {

using nlohmann::json;

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

bool ends_with_ci(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() && iequals(text.substr(text.size() - suffix.size()), suffix);
}

constexpr const char* csv_geometry_columns[] = {"lon", "longitude", "long", "lng", "x", "lat", "latitude", "y",
                                                "wkt", "geometry", "geom", "the_geom"};

bool options_is_csv(const ImportOptions& options) {
    return ends_with_ci(options.source, ".csv") || options.source.rfind("CSV:", 0) == 0;
}

/// Which source field feeds which attribute.
struct FieldPlan {
    int id_field = -1;
    std::vector<int> column_field;          // per layer column, -1 when absent
    std::vector<std::string> column_source; // per layer column, the source field's name (for errors)
    std::vector<int> extra_fields;          // kept in props
    std::vector<std::string> extra_names;
};

/// True when a source field name stands for `name`: the same without case, or, for a dBase
/// file (Shapefile), its first 10 characters, since dBase truncates longer names.
bool field_matches(std::string_view field, std::string_view name, bool dbase) {
    if (iequals(field, name)) return true;
    return dbase && field.size() == 10 && name.size() > 10 && iequals(field, name.substr(0, 10));
}

int find_field(OGRFeatureDefnH defn, std::string_view name, bool dbase = false) {
    const int n = OGR_FD_GetFieldCount(defn);
    for (int i = 0; i < n; ++i) {
        if (field_matches(OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, i)), name, dbase)) return i;
    }
    return -1;
}

// Fields the LIBKML driver adds to every layer: KML's own properties, not the data's.
constexpr const char* kml_housekeeping_fields[] = {"timestamp", "begin", "end", "altitudeMode", "tessellate",
                                                   "extrude", "visibility", "drawOrder", "icon", "snippet"};

FieldPlan plan_fields(const Layer& layer, OGRFeatureDefnH defn, const ImportOptions& options, std::string_view driver) {
    const bool dbase = driver == "ESRI Shapefile";
    const bool kml = driver == "LIBKML" || driver == "KML";
    FieldPlan plan;
    plan.column_field.assign(layer.columns.size(), -1);
    std::unordered_set<int> used;
    auto assign = [&](const std::string& attribute, int field) {
        if (attribute == "id") {
            plan.id_field = field;
        } else {
            bool found = false;
            for (std::size_t c = 0; c < layer.columns.size(); ++c) {
                if (layer.columns[c].name == attribute && !layer.columns[c].derived) {
                    plan.column_field[c] = field;
                    found = true;
                }
            }
            if (!found) {
                throw input_error("--map " + std::string(OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, field))) +
                                  "=" + attribute + ": layer " + layer.name + " has no attribute '" + attribute +
                                  "' (it has: id, " + layer.column_list() + ")");
            }
        }
        used.insert(field);
    };
    for (const auto& [source_field, attribute] : options.field_map) {
        const int field = find_field(defn, source_field);
        if (field < 0) throw input_error(options.source + " has no field '" + source_field + "' (--map)");
        assign(attribute, field);
    }
    auto take = [&](const std::vector<std::string>& names) {
        for (const auto& name : names) {
            const int field = find_field(defn, name, dbase);
            if (field >= 0 && !used.count(field)) return field;
        }
        return -1;
    };
    if (plan.id_field < 0) {
        std::vector<std::string> names = {"id"};
        names.insert(names.end(), layer.id_aliases.begin(), layer.id_aliases.end());
        if ((plan.id_field = take(names)) >= 0) used.insert(plan.id_field);
    }
    for (std::size_t c = 0; c < layer.columns.size(); ++c) {
        const Column& column = layer.columns[c];
        if (column.derived || plan.column_field[c] >= 0) continue;
        std::vector<std::string> names = {column.name};
        names.insert(names.end(), column.aliases.begin(), column.aliases.end());
        if ((plan.column_field[c] = take(names)) >= 0) used.insert(plan.column_field[c]);
    }
    const int n = OGR_FD_GetFieldCount(defn);
    for (int i = 0; i < n; ++i) {
        if (used.count(i)) continue;
        // The columns a CSV's geometry was read from are the geometry, not attributes.
        const std::string_view name = OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, i));
        bool coordinate = false;
        for (const char* c : csv_geometry_columns) coordinate = coordinate || iequals(name, c);
        if (options_is_csv(options) && coordinate) continue;
        bool housekeeping = false;
        for (const char* k : kml_housekeeping_fields) housekeeping = housekeeping || (kml && iequals(name, k));
        if (housekeeping) continue;
        // Derived columns (an export's cercle_id, region_id) are recomputed, not kept.
        bool derived = false;
        for (const auto& c : layer.columns) derived = derived || (c.derived && field_matches(name, c.name, dbase));
        if (derived) continue;
        plan.extra_fields.push_back(i);
        plan.extra_names.emplace_back(name);
    }
    for (std::size_t c = 0; c < layer.columns.size(); ++c) {
        const int field = plan.column_field[c];
        plan.column_source.push_back(field >= 0 ? OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, field))
                                                : layer.columns[c].name);
    }
    return plan;
}

/// ACLED's event and sub-event types, as sitmap incident types.
std::optional<std::string> incident_type_from_acled(std::string_view event_type, std::string_view sub_event) {
    const std::string sub = normalise_token(sub_event);
    const std::string event = normalise_token(event_type);
    if (sub.find("remote_explosive") != std::string::npos || sub.find("landmine") != std::string::npos) {
        return std::string("ied_detonated");
    }
    if (sub.find("shelling") != std::string::npos || sub.find("artillery") != std::string::npos ||
        sub.find("missile") != std::string::npos) {
        return std::string("indirect_fire");
    }
    if (sub == "attack" && event == "violence_against_civilians") return std::string("attack_on_civilians");
    if (event == "violence_against_civilians") return std::string("attack_on_civilians");
    if (sub == "armed_clash" || event == "battles") return std::string("direct_fire");
    return std::nullopt;
}

/// A bulk load into an empty layer, inside the import's transaction: the layer's triggers
/// (SpatiaLite's per-row R*Tree, geometry-constraint and timestamp triggers, which re-prepare SQL
/// for every row) and secondary indexes are dropped for the load; finish() fills the R*Tree in one
/// statement and recreates them. A rollback restores everything as it was.
class BulkLoad {
public:
    BulkLoad(geo::Database& db, const Layer& layer) : m_db(db), m_layer(layer) {
        auto stmt = db.prepare("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
                               "AND type IN ('trigger', 'index')");
        stmt.bind(1, layer.name);
        std::vector<std::pair<std::string, std::string>> dropped;  // type, name
        while (stmt.step()) {
            dropped.emplace_back(stmt.column_text(0), stmt.column_text(1));
            m_recreate.emplace_back(stmt.column_text(2));
        }
        for (const auto& [type, name] : dropped) db.exec("DROP " + type + " \"" + name + "\"");
    }

    void finish() {
        m_db.exec("DELETE FROM idx_" + m_layer.name + "_geom");
        m_db.exec("INSERT INTO idx_" + m_layer.name + "_geom (pkid, xmin, xmax, ymin, ymax) SELECT fid, MbrMinX(geom), "
                  "MbrMaxX(geom), MbrMinY(geom), MbrMaxY(geom) FROM " + m_layer.name + " WHERE geom IS NOT NULL");
        for (const auto& sql : m_recreate) m_db.exec(sql);
    }

private:
    geo::Database& m_db;
    const Layer& m_layer;
    std::vector<std::string> m_recreate;
};

/// The ISO WKB of a 2D point.
std::string point_wkb(double x, double y) {
    std::string wkb(21, '\0');
    wkb[0] = 1;  // little-endian
    const std::uint32_t type = 1;
    std::memcpy(&wkb[1], &type, 4);
    std::memcpy(&wkb[5], &x, 8);
    std::memcpy(&wkb[13], &y, 8);
    return wkb;
}

/// Releases the result layer of GDALDatasetExecuteSQL.
struct ResultSet {
    GDALDatasetH dataset = nullptr;
    OGRLayerH layer = nullptr;
    ~ResultSet() {
        if (layer) GDALDatasetReleaseResultSet(dataset, layer);
    }
};

class FeatureError : public input_error {
public:
    using input_error::input_error;
};

struct Importer {
    geo::Database& db;
    const ImportOptions& options;
    const Layer& layer;
    ImportSummary summary;

    std::string context(std::int64_t index) const {
        return "importing " + options.source + " into " + layer.name + ", feature " + std::to_string(index);
    }

    [[noreturn]] void fail(std::int64_t index, const std::string& why) const {
        throw FeatureError(context(index) + ": " + why);
    }

    static std::string field_text(OGRFeatureH feature, int field) {
        if (field < 0 || !OGR_F_IsFieldSetAndNotNull(feature, field)) return {};
        return std::string(trim(OGR_F_GetFieldAsString(feature, field)));
    }

    std::string field_name(OGRFeatureDefnH defn, int field) const {
        return OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, field));
    }

    /// The WKB of the feature's geometry in EPSG:4326, checked and repaired, or an error.
    std::string geometry_wkb(OGRFeatureH feature, OGRCoordinateTransformationH ct, std::int64_t index,
                             std::optional<std::array<double, 4>>& changed, std::array<double, 2>& point) {
        OGRGeometryH g = OGR_F_GetGeometryRef(feature);
        if (!g || OGR_G_IsEmpty(g)) fail(index, "the feature has no geometry (empty geometries are refused)");
        if (ct && OGR_G_Transform(g, ct) != OGRERR_NONE) {
            fail(index, "cannot reproject the geometry to EPSG:4326: " + geo::gdal_last_error());
        }
        OGR_G_FlattenTo2D(g);
        OGREnvelope env;
        OGR_G_GetEnvelope(g, &env);
        if (!std::isfinite(env.MinX) || env.MinX < -180 || env.MaxX > 180 || env.MinY < -90 || env.MaxY > 90) {
            fail(index, "coordinates out of range for EPSG:4326 (" + std::to_string(env.MinX) + " " +
                            std::to_string(env.MinY) + "): is the source's CRS right? (--assume-crs)");
        }
        extend(changed, {env.MinX, env.MinY, env.MaxX, env.MaxY});
        if (layer.geometry == GeometryKind::point && wkbFlatten(OGR_G_GetGeometryType(g)) == wkbPoint) {
            point = {OGR_G_GetX(g, 0), OGR_G_GetY(g, 0)};
            return point_wkb(point[0], point[1]);  // a point is always valid: no need for GEOS
        }
        std::string wkb(static_cast<std::size_t>(OGR_G_WkbSize(g)), '\0');
        OGR_G_ExportToIsoWkb(g, wkbNDR, reinterpret_cast<unsigned char*>(wkb.data()));
        geo::Geometry geometry;
        try {
            geometry = geo::Geometry::from_wkb(wkb);
        } catch (const input_error& e) {
            fail(index, std::string("unreadable geometry: ") + e.what());  // an unclosed ring, too few points...
        }
        const int wanted = layer.geometry == GeometryKind::point ? 0 : layer.geometry == GeometryKind::line ? 1 : 2;
        int dropped = 0;
        if (layer.geometry != GeometryKind::point && !geometry.is_valid()) {
            const std::string reason = geometry.invalid_reason();
            geometry = geometry.make_valid();
            if (geometry.empty()) fail(index, "invalid geometry that cannot be repaired: " + reason);
            ++summary.repaired;
        }
        geometry = geometry.keep_dimension(wanted, dropped);
        summary.dropped_parts += dropped;
        if (geometry.empty()) {
            fail(index, std::string("no ") + (wanted == 0 ? "point" : wanted == 1 ? "line" : "polygon") +
                            " in the geometry, and layer " + layer.name + " needs one");
        }
        if (wanted == 0) {
            if (geometry.num_geometries() != 1) fail(index, "a multi-point where one point is expected");
            GEOSGeomGetX_r(geo::geos_context(), geometry.part(0), &point[0]);
            GEOSGeomGetY_r(geo::geos_context(), geometry.part(0), &point[1]);
            return point_wkb(point[0], point[1]);
        }
        return geometry.wkb();
    }

    /// Checks and converts one attribute value; empty text means NULL.
    void bind_value(geo::Statement& insert, int parameter, const Column& column, std::string value,
                    json& props, std::int64_t index, const std::string& source_field) {
        if (value.empty() && !column.default_value.empty()) value = column.default_value;
        if (value.empty()) {
            if (column.required) {
                fail(index, "field '" + (source_field.empty() ? column.name : source_field) + "' (" + column.name +
                                ") is required and empty");
            }
            insert.bind_null(parameter);
            return;
        }
        switch (column.type) {
            case ColumnType::integer: {
                char* end = nullptr;
                const double number = std::strtod(value.c_str(), &end);
                if (*end != '\0' || !std::isfinite(number) || number != std::floor(number) || number < 0) {
                    fail(index, "field '" + source_field + "' (" + column.name + "): '" + value +
                                    "' is not a whole number >= 0");
                }
                insert.bind(parameter, static_cast<std::int64_t>(number));
                return;
            }
            case ColumnType::real: {
                char* end = nullptr;
                const double number = std::strtod(value.c_str(), &end);
                if (*end != '\0' || !std::isfinite(number)) {
                    fail(index, "field '" + source_field + "' (" + column.name + "): '" + value + "' is not a number");
                }
                insert.bind(parameter, number);
                return;
            }
            case ColumnType::boolean: {
                const std::string token = normalise_token(value);
                if (token == "1" || token == "true" || token == "yes" || token == "y") {
                    insert.bind(parameter, 1);
                } else if (token == "0" || token == "false" || token == "no" || token == "n") {
                    insert.bind(parameter, 0);
                } else {
                    fail(index, "field '" + source_field + "' (" + column.name + "): '" + value + "' is not 1/0, true/false or yes/no");
                }
                return;
            }
            case ColumnType::date: {
                auto date = normalise_date(value);
                if (!date) fail(index, "field '" + source_field + "' (" + column.name + "): '" + value + "' is not a date (YYYY-MM-DD)");
                insert.bind(parameter, *date);
                return;
            }
            case ColumnType::datetime: {
                auto datetime = normalise_datetime(value);
                if (!datetime) {
                    fail(index, "field '" + source_field + "' (" + column.name + "): '" + value +
                                    "' is not an ISO 8601 date or date-time");
                }
                insert.bind(parameter, *datetime);
                return;
            }
            case ColumnType::text: break;
        }
        if (!column.allowed.empty()) {
            const std::string token = normalise_token(value);
            for (const auto& allowed : column.allowed) {
                if (allowed == token) {
                    insert.bind(parameter, token);
                    return;
                }
            }
            // Unknown values become 'other'; the original is kept with the feature.
            props[column.name + "_original"] = value;
            insert.bind(parameter, "other");
            return;
        }
        insert.bind(parameter, value);
    }

    /// The derived columns (cercle_id, region_id) are filled from the boundaries as rows go in.
    /// An upsert updates only what the source gives and the spatial join: a column the source
    /// lacks (an incident's status, who reported and verified it) keeps its stored value.
    std::string insert_sql(const FieldPlan& plan) const {
        std::string names = "id";
        std::string values = "?";
        std::string updates;
        for (std::size_t i = 0; i < layer.columns.size(); ++i) {
            const auto& c = layer.columns[i];
            names += ", " + c.name;
            values += ", ?";
            if (plan.column_field[i] >= 0 || c.name == "cercle_id" || c.name == "region_id") {
                updates += c.name + "=excluded." + c.name + ", ";
            }
        }
        const std::string geometry = layer.geometry == GeometryKind::point ? "GeomFromWKB(?, 4326)"
                                                                            : "CastToMulti(GeomFromWKB(?, 4326))";
        std::string sql = "INSERT INTO " + layer.name + " (" + names + ", props, geom) VALUES (" + values +
                          ", ?, " + geometry + ")";
        if (options.mode == ImportMode::upsert) {
            sql += " ON CONFLICT(id) DO UPDATE SET " + updates + "props=excluded.props, geom=excluded.geom";
        }
        return sql;
    }

    /// The source's layer (or the result of --sql), opened with the CSV options when it is a CSV.
    class Source {
    public:
        explicit Source(const ImportOptions& options)
            : csv(options_is_csv(options)),
              dataset(geo::Dataset::open(options.source, csv ? csv_open_options() : std::vector<std::string>{})),
              result{dataset.get(), nullptr} {
            if (!options.sql.empty()) {
                result.layer = GDALDatasetExecuteSQL(dataset.get(), options.sql.c_str(), nullptr, "SQLite");
                if (!result.layer) throw input_error("--sql on " + options.source + ": " + geo::gdal_last_error());
                layer = result.layer;
            } else {
                layer = dataset.layer(options.source_layer);
            }
            defn = OGR_L_GetLayerDefn(layer);
            driver = GDALGetDriverShortName(GDALGetDatasetDriver(dataset.get()));
        }

        const bool csv;
        geo::Dataset dataset;
        ResultSet result;
        OGRLayerH layer = nullptr;
        OGRFeatureDefnH defn = nullptr;
        std::string_view driver;

    private:
        static std::vector<std::string> csv_open_options() {
            return {"X_POSSIBLE_NAMES=lon,longitude,long,lng,x", "Y_POSSIBLE_NAMES=lat,latitude,y",
                    "GEOM_POSSIBLE_NAMES=wkt,geometry,geom,the_geom", "KEEP_GEOM_COLUMNS=YES"};
        }
    };

    /// The transformation from the source's CRS (or --assume-crs) to EPSG:4326 lon/lat; none when
    /// they are the same. A CSV with lon/lat columns and no CRS is taken as WGS84 degrees.
    geo::CoordinateTransform transform_to_wgs84(const Source& source) const {
        geo::SpatialReference assumed;
        OGRSpatialReferenceH source_srs = OGR_L_GetSpatialRef(source.layer);
        if (!options.assume_crs.empty()) {
            assumed = geo::make_srs(options.assume_crs);
            source_srs = assumed.get();
        } else if (!source_srs) {
            const auto has = [&](const char* name) { return find_field(source.defn, name) >= 0; };
            if (!(source.csv && (has("lon") || has("longitude") || has("long") || has("lng")))) {
                throw input_error(options.source + " declares no coordinate reference system: give one with "
                                  "--assume-crs (for example --assume-crs EPSG:4326 or EPSG:32630)");
            }
            assumed = geo::make_srs("EPSG:4326");
            source_srs = assumed.get();
        }
        auto wgs84 = geo::make_srs("EPSG:4326");
        if (OSRIsSame(source_srs, wgs84.get())) return {};
        return geo::make_transform(source_srs, wgs84.get());
    }

    /// Empties the layer for a replace, and bulk-loads when it is empty and not upserted into.
    std::optional<BulkLoad> prepare_layer(std::optional<std::array<double, 4>>& changed) {
        if (options.mode == ImportMode::replace) {
            if (auto old = layer_extent(db, layer.name)) extend(changed, *old);
            db.exec("DELETE FROM " + layer.name);
        }
        std::optional<BulkLoad> bulk;
        if (options.mode != ImportMode::upsert && !db.prepare("SELECT 1 FROM " + layer.name + " LIMIT 1").step()) {
            bulk.emplace(db, layer);
        }
        return bulk;
    }

    /// What importing one feature needs besides the feature.
    struct Row {
        const Source& source;
        const FieldPlan& plan;
        OGRCoordinateTransformationH ct;
        const std::optional<BoundaryIndex>& boundaries;
        int sub_event_field;
        geo::Statement& insert;
        std::optional<std::array<double, 4>>& changed;
    };

    /// The feature's id, or one made from the layer and the feature's number when the source has none.
    std::string feature_id(const Row& row, OGRFeatureH feature, std::int64_t index) const {
        std::string id = field_text(feature, row.plan.id_field);
        if (!id.empty()) return id;
        if (row.plan.id_field >= 0) fail(index, "field '" + field_name(row.source.defn, row.plan.id_field) + "' (id) is empty");
        return layer.name + "-" + std::to_string(OGR_F_GetFID(feature) >= 0 ? OGR_F_GetFID(feature) : index);
    }

    /// Binds the layer's columns from parameter `parameter` on: derived ones from the spatial join,
    /// the others from the source's fields (an ACLED incident type mapped to sitmap's).
    int bind_columns(const Row& row, OGRFeatureH feature, std::int64_t index, std::array<double, 2> point,
                     int parameter, json& props) {
        std::pair<const std::string*, const std::string*> joined{nullptr, nullptr};
        if (row.boundaries) joined = row.boundaries->lookup(point[0], point[1]);
        for (std::size_t c = 0; c < layer.columns.size(); ++c) {
            const Column& column = layer.columns[c];
            if (column.derived) {  // the spatial join's; the others are the write API's
                const std::string* derived = column.name == "cercle_id"   ? joined.first
                                             : column.name == "region_id" ? joined.second
                                                                          : nullptr;
                if (derived) {
                    row.insert.bind(parameter++, *derived);
                } else {
                    row.insert.bind_null(parameter++);
                }
                continue;
            }
            std::string value = field_text(feature, row.plan.column_field[c]);
            if (column.name == "type" && layer.name == "incidents" && !value.empty()) {
                const std::string token = normalise_token(value);
                if (std::find(column.allowed.begin(), column.allowed.end(), token) == column.allowed.end()) {
                    if (auto mapped = incident_type_from_acled(value, field_text(feature, row.sub_event_field))) {
                        props["type_original"] = value;
                        value = *mapped;
                    }
                }
            }
            bind_value(row.insert, parameter++, column, std::move(value), props, index, row.plan.column_source[c]);
        }
        return parameter;
    }

    /// The source's fields that are no column of the layer, typed, into `props`.
    void add_extra_fields(const Row& row, OGRFeatureH feature, json& props) const {
        for (std::size_t e = 0; e < row.plan.extra_fields.size(); ++e) {
            const int field = row.plan.extra_fields[e];
            if (!OGR_F_IsFieldSetAndNotNull(feature, field)) continue;
            const OGRFieldType type = OGR_Fld_GetType(OGR_FD_GetFieldDefn(row.source.defn, field));
            if (type == OFTInteger || type == OFTInteger64) {
                props[row.plan.extra_names[e]] = OGR_F_GetFieldAsInteger64(feature, field);
            } else if (type == OFTReal) {
                props[row.plan.extra_names[e]] = OGR_F_GetFieldAsDouble(feature, field);
            } else {
                // An empty text is no value, as for the columns (and as most formats write a null).
                const char* text = OGR_F_GetFieldAsString(feature, field);
                if (*text) props[row.plan.extra_names[e]] = text;
            }
        }
    }

    /// Checks, converts and inserts one feature. Throws FeatureError naming the feature and field.
    void import_feature(const Row& row, OGRFeatureH feature, std::int64_t index) {
        json props = json::object();
        const std::string id = feature_id(row, feature, index);
        row.insert.bind(1, id);
        std::array<double, 2> point{};
        const std::string wkb = geometry_wkb(feature, row.ct, index, row.changed, point);
        int parameter = bind_columns(row, feature, index, point, 2, props);
        add_extra_fields(row, feature, props);
        if (props.empty()) {
            row.insert.bind_null(parameter++);
        } else {
            row.insert.bind(parameter++, props.dump(-1, ' ', false, json::error_handler_t::replace));
        }
        row.insert.bind_blob(parameter++, wkb.data(), wkb.size());
        try {
            row.insert.run();
        } catch (const input_error& e) {
            fail(index, std::string(e.what()) + (options.mode == ImportMode::append
                                                      ? " (is the id '" + id + "' there already? use --mode upsert)"
                                                      : " (id '" + id + "' twice in the source?)"));
        }
    }

    /// Every feature of the source, each inserted or (with --skip-invalid) skipped with its reason.
    void import_features(const Row& row) {
        const std::int64_t total = OGR_L_GetFeatureCount(row.source.layer, 0);
        OGR_L_ResetReading(row.source.layer);
        std::int64_t index = 0;
        while (geo::Feature feature{OGR_L_GetNextFeature(row.source.layer)}) {
            ++index;
            ++summary.read;
            if (options.progress && summary.read % 5000 == 0) options.progress(summary.read, total);
            try {
                import_feature(row, feature.get(), index);
                row.insert.reset();
                ++summary.written;
            } catch (const FeatureError& e) {
                row.insert.reset();
                if (!options.skip_invalid) throw;
                ++summary.skipped;
                if (summary.skipped_reasons.size() < 100) summary.skipped_reasons.emplace_back(e.what());
            }
        }
        if (options.progress) options.progress(summary.read, total);
    }

    ImportSummary run() {
        const auto started = std::chrono::steady_clock::now();
        const Source source(options);
        const geo::CoordinateTransform ct = transform_to_wgs84(source);
        const FieldPlan plan = plan_fields(layer, source.defn, options, source.driver);
        // A bigger page cache for the bulk insert: the R*Tree and the indexes stay in memory.
        // temp_store: each INSERT fires the spatial index's triggers, so SQLite keeps a statement
        // journal for it; in memory rather than in a temporary file written for every row.
        db.exec("PRAGMA cache_size=-131072; PRAGMA temp_store=MEMORY");  // 128 MiB
        geo::Transaction tx(db);
        std::optional<std::array<double, 4>> changed;  // what the import touches, for the change log
        std::optional<BulkLoad> bulk = prepare_layer(changed);
        const bool joins = layer.name == "incidents";
        std::optional<BoundaryIndex> boundaries;
        if (joins) boundaries.emplace(db);
        auto insert = db.prepare(insert_sql(plan));
        import_features({source, plan, ct.get(), boundaries, find_field(source.defn, "sub_event_type"), insert, changed});

        if (bulk) bulk->finish();
        if (changed) record_change(db, layer.name, *changed);
        if (joins) {
            summary.joined = count_joined_incidents(db);
        } else if (layer.name == "cercles" || layer.name == "regions") {
            summary.joined = join_incidents_to_boundaries(db);
        }
        tx.commit();
        summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        return summary;
    }

};

} // namespace

ImportSummary import_layer(geo::Database& db, const ImportOptions& options) {
    const Layer& layer = find_layer(options.layer);
    Importer importer{db, options, layer, {}};
    return importer.run();
}

} // namespace sitmap::layers
