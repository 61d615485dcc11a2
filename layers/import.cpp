#include "layers/import.hpp"

#include "geo/error.hpp"
#include "geo/gdal.hpp"
#include "geo/geos.hpp"
#include "layers/changes.hpp"
#include "layers/layer.hpp"
#include "layers/values.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
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
    std::vector<int> extra_fields;          // kept in props
};

int find_field(OGRFeatureDefnH defn, std::string_view name) {
    const int n = OGR_FD_GetFieldCount(defn);
    for (int i = 0; i < n; ++i) {
        if (iequals(OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, i)), name)) return i;
    }
    return -1;
}

FieldPlan plan_fields(const Layer& layer, OGRFeatureDefnH defn, const ImportOptions& options) {
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
            const int field = find_field(defn, name);
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
        if (!(options_is_csv(options) && coordinate)) plan.extra_fields.push_back(i);
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
                             std::optional<std::array<double, 4>>& changed) {
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
        std::string wkb(static_cast<std::size_t>(OGR_G_WkbSize(g)), '\0');
        OGR_G_ExportToIsoWkb(g, wkbNDR, reinterpret_cast<unsigned char*>(wkb.data()));
        auto geometry = geo::Geometry::from_wkb(wkb);
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
            return geo::Geometry(GEOSGeom_clone_r(geo::geos_context(), geometry.part(0)), "point").wkb();
        }
        return geometry.wkb();
    }

    /// Checks and converts one attribute value; empty text means NULL.
    void bind_value(geo::Statement& insert, int parameter, const Column& column, std::string value,
                    json& props, std::int64_t index, const std::string& source_field) {
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

    std::string insert_sql() const {
        std::string names = "id";
        std::string values = "?";
        std::string updates;
        for (const auto& c : layer.columns) {
            if (c.derived) continue;
            names += ", " + c.name;
            values += ", ?";
            updates += c.name + "=excluded." + c.name + ", ";
        }
        const std::string geometry = layer.geometry == GeometryKind::point ? "GeomFromWKB(?, 4326)"
                                                                            : "CastToMulti(GeomFromWKB(?, 4326))";
        std::string sql = "INSERT INTO " + layer.name + " (" + names + ", props, geom) VALUES (" + values +
                          ", ?, " + geometry + ")";
        if (options.mode == ImportMode::upsert) {
            sql += " ON CONFLICT(id) DO UPDATE SET " + updates + "props=excluded.props, geom=excluded.geom";
        }
        return sql + " RETURNING fid";
    }

    ImportSummary run() {
        const auto started = std::chrono::steady_clock::now();
        std::vector<std::string> open_options;
        const bool csv = options_is_csv(options);
        if (csv) {
            open_options = {"X_POSSIBLE_NAMES=lon,longitude,long,lng,x", "Y_POSSIBLE_NAMES=lat,latitude,y",
                            "GEOM_POSSIBLE_NAMES=wkt,geometry,geom,the_geom", "KEEP_GEOM_COLUMNS=YES"};
        }
        auto dataset = geo::Dataset::open(options.source, open_options);
        OGRLayerH source = dataset.layer(options.source_layer);
        OGRFeatureDefnH defn = OGR_L_GetLayerDefn(source);

        // Coordinates come in the source's CRS; sitmap stores EPSG:4326, lon/lat.
        geo::SpatialReference assumed;
        OGRSpatialReferenceH source_srs = OGR_L_GetSpatialRef(source);
        if (!options.assume_crs.empty()) {
            assumed = geo::make_srs(options.assume_crs);
            source_srs = assumed.get();
        } else if (!source_srs) {
            const bool lonlat_columns = csv && (find_field(defn, "lon") >= 0 || find_field(defn, "longitude") >= 0 ||
                                                find_field(defn, "long") >= 0 || find_field(defn, "lng") >= 0);
            if (!lonlat_columns) {
                throw input_error(options.source + " declares no coordinate reference system: give one with "
                                  "--assume-crs (for example --assume-crs EPSG:4326 or EPSG:32630)");
            }
            assumed = geo::make_srs("EPSG:4326");  // columns named lon/lat are WGS84 degrees
            source_srs = assumed.get();
        }
        auto wgs84 = geo::make_srs("EPSG:4326");
        geo::CoordinateTransform ct;
        if (!OSRIsSame(source_srs, wgs84.get())) ct = geo::make_transform(source_srs, wgs84.get());

        const FieldPlan plan = plan_fields(layer, defn, options);
        geo::Transaction tx(db);
        std::optional<std::array<double, 4>> changed;  // what the import touches, for the change log
        if (options.mode == ImportMode::replace) {
            if (auto old = layer_extent(db, layer.name)) extend(changed, *old);
            db.exec("DELETE FROM " + layer.name);
        }
        auto insert = db.prepare(insert_sql());
        std::vector<std::int64_t> written_fids;
        const std::int64_t total = OGR_L_GetFeatureCount(source, 0);
        const int sub_event_field = find_field(defn, "sub_event_type");

        OGR_L_ResetReading(source);
        std::int64_t index = 0;
        while (geo::Feature feature{OGR_L_GetNextFeature(source)}) {
            ++index;
            ++summary.read;
            if (options.progress && summary.read % 5000 == 0) options.progress(summary.read, total);
            try {
                json props = json::object();
                int parameter = 1;
                std::string id = field_text(feature.get(), plan.id_field);
                if (id.empty()) {
                    if (plan.id_field >= 0) fail(index, "field '" + field_name(defn, plan.id_field) + "' (id) is empty");
                    id = layer.name + "-" + std::to_string(OGR_F_GetFID(feature.get()) >= 0 ? OGR_F_GetFID(feature.get()) : index);
                }
                insert.bind(parameter++, id);
                for (std::size_t c = 0; c < layer.columns.size(); ++c) {
                    const Column& column = layer.columns[c];
                    if (column.derived) continue;
                    const int field = plan.column_field[c];
                    std::string value = field_text(feature.get(), field);
                    if (column.name == "type" && layer.name == "incidents" && !value.empty()) {
                        const std::string token = normalise_token(value);
                        if (std::find(column.allowed.begin(), column.allowed.end(), token) == column.allowed.end()) {
                            if (auto mapped = incident_type_from_acled(value, field_text(feature.get(), sub_event_field))) {
                                props["type_original"] = value;
                                value = *mapped;
                            }
                        }
                    }
                    bind_value(insert, parameter++, column, std::move(value), props, index,
                               field >= 0 ? field_name(defn, field) : column.name);
                }
                for (int field : plan.extra_fields) {
                    if (!OGR_F_IsFieldSetAndNotNull(feature.get(), field)) continue;
                    const OGRFieldType type = OGR_Fld_GetType(OGR_FD_GetFieldDefn(defn, field));
                    if (type == OFTInteger || type == OFTInteger64) {
                        props[field_name(defn, field)] = OGR_F_GetFieldAsInteger64(feature.get(), field);
                    } else if (type == OFTReal) {
                        props[field_name(defn, field)] = OGR_F_GetFieldAsDouble(feature.get(), field);
                    } else {
                        props[field_name(defn, field)] = OGR_F_GetFieldAsString(feature.get(), field);
                    }
                }
                if (props.empty()) {
                    insert.bind_null(parameter++);
                } else {
                    insert.bind(parameter++, props.dump(-1, ' ', false, json::error_handler_t::replace));
                }
                const std::string wkb = geometry_wkb(feature.get(), ct.get(), index, changed);
                insert.bind_blob(parameter++, wkb.data(), wkb.size());
                try {
                    if (insert.step()) written_fids.push_back(insert.column_int64(0));
                } catch (const input_error& e) {
                    fail(index, std::string(e.what()) + (options.mode == ImportMode::append
                                                              ? " (is the id '" + id + "' there already? use --mode upsert)"
                                                              : " (id '" + id + "' twice in the source?)"));
                }
                insert.reset();
                ++summary.written;
            } catch (const FeatureError& e) {
                insert.reset();
                if (!options.skip_invalid) throw;
                ++summary.skipped;
                if (summary.skipped_reasons.size() < 100) summary.skipped_reasons.emplace_back(e.what());
            }
        }
        if (options.progress) options.progress(summary.read, total);

        if (changed) record_change(db, layer.name, *changed);
        if (layer.name == "incidents") {
            summary.joined = join_incidents(written_fids);
        } else if (layer.name == "cercles" || layer.name == "regions") {
            summary.joined = join_incidents_to_boundaries(db);
        }
        tx.commit();
        summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        return summary;
    }

    std::int64_t join_incidents(const std::vector<std::int64_t>& fids) {
        auto update = db.prepare(join_sql() + " WHERE fid = ?");
        for (auto fid : fids) {
            update.bind(1, fid).run();
            update.reset();
        }
        return count_joined();
    }

    std::int64_t count_joined() {
        auto count = db.prepare("SELECT count(*) FROM incidents WHERE cercle_id IS NOT NULL");
        count.step();
        return count.column_int64(0);
    }

public:
    static std::string join_sql() {
        // The R*Tree of each boundary layer prefilters by bounding box; ST_Intersects decides.
        auto lookup = [](const char* table, const char* column) {
            return std::string("(SELECT b.") + column + " FROM " + table + " b JOIN idx_" + table +
                   "_geom r ON r.pkid = b.fid WHERE r.xmin <= ST_X(incidents.geom) AND r.xmax >= ST_X(incidents.geom)"
                   " AND r.ymin <= ST_Y(incidents.geom) AND r.ymax >= ST_Y(incidents.geom)"
                   " AND ST_Intersects(b.geom, incidents.geom) ORDER BY b.fid LIMIT 1)";
        };
        return "UPDATE incidents SET cercle_id = " + lookup("cercles", "id") + ", region_id = COALESCE(" +
               lookup("regions", "id") + ", " + lookup("cercles", "region_id") + ")";
    }
};

} // namespace

std::int64_t join_incidents_to_boundaries(geo::Database& db) {
    db.exec(Importer::join_sql());
    auto count = db.prepare("SELECT count(*) FROM incidents WHERE cercle_id IS NOT NULL");
    count.step();
    return count.column_int64(0);
}

ImportSummary import_layer(geo::Database& db, const ImportOptions& options) {
    const Layer& layer = find_layer(options.layer);
    Importer importer{db, options, layer, {}};
    return importer.run();
}

} // namespace sitmap::layers
