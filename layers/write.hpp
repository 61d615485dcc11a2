#pragma once
/// Writing single features through the API (OGC API – Features Part 4): a GeoJSON Feature read
/// into a checked FeatureInput, then create, replace, update (merge patch) and delete, each one
/// transaction that also writes the audit log (sitmap_audit) and the change log (changes.hpp).
///
/// Incidents carry a verification status: created `reported`; only a verifier who did not report
/// an incident may change its status (to verified or rejected, or back to reported).

#include "geo/sqlite.hpp"
#include "layers/layer.hpp"
#include "layers/tokens.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace sitmap::layers {

/// Mali's extent plus a 1° margin (lon/lat): written coordinates must lie inside.
constexpr std::array<double, 4> write_extent = {-13.25, 9.15, 5.25, 26.0};
constexpr std::size_t max_vertices = 100000;      ///< per feature
constexpr std::size_t max_text_chars = 4000;      ///< per text value (bytes of UTF-8)
constexpr std::size_t max_id_chars = 200;
constexpr std::size_t max_extra_bytes = 64 * 1024;  ///< the other properties, as JSON
constexpr int max_json_depth = 32;

/// A feature read from a request, checked against its layer.
struct FeatureInput {
    std::string id;  ///< the Feature's "id" (a string, or a whole number as text); empty when absent
    /// Column -> value, typed and normalised (enum values lower-case, dates "YYYY-MM-DDTHH:MM:SSZ"),
    /// null for an explicit null. Only the columns the request gave; never a derived column.
    nlohmann::json values = nlohmann::json::object();
    nlohmann::json extra = nlohmann::json::object();  ///< the other properties, stored in props
    std::string wkb;                 ///< ISO WKB, lon/lat, the layer's type (MULTI* for lines and polygons)
    std::array<double, 4> bbox{};    ///< min_lon, min_lat, max_lon, max_lat
};

/// Who writes: a token's holder.
struct Actor {
    std::string name;
    Role role = Role::viewer;
};

/// True for the layers the API writes: incidents, bases and routes (boundaries are imported).
bool writable(const Layer& layer);

/// Reads a GeoJSON Feature for `layer`: geometry of the layer's kind inside write_extent, finite
/// coordinates, at most max_vertices; property values of the right type, enum values among the
/// allowed ones, dates in ISO 8601, sizes within the limits above; every required column there
/// (derived columns and "id" in properties are ignored). Throws sitmap::input_error naming the
/// field ("properties.type: unknown value 'bomb' (one of: ...)").
FeatureInput parse_feature(const Layer& layer, std::string_view geojson);

/// Stores a new feature (an id is made when the input has none) and returns it as GeoJSON.
/// Throws sitmap::conflict_error when the id exists, input_error for a layer that is not writable.
std::string create_feature(geo::Database& db, const Layer& layer, const FeatureInput& input, const Actor& actor);

/// Replaces feature `id` (all its attributes and geometry; an incident's status stays unless the
/// input gives one). Returns it as stored. Throws not_found_error, input_error when the input's id
/// differs, forbidden_error when the status change is not the actor's to make.
std::string replace_feature(geo::Database& db, const Layer& layer, const std::string& id, const FeatureInput& input,
                            const Actor& actor);

/// Applies an RFC 7396 merge patch ({"properties": {...}, "geometry": {...}}) to feature `id` and
/// returns it as stored. Throws as replace_feature.
std::string update_feature(geo::Database& db, const Layer& layer, const std::string& id, std::string_view patch,
                           const Actor& actor);

/// Deletes feature `id`. Throws not_found_error.
void delete_feature(geo::Database& db, const Layer& layer, const std::string& id, const Actor& actor);

/// What to read from the audit log.
struct AuditQuery {
    std::string layer;       ///< empty: every layer
    std::string feature_id;  ///< empty: every feature
    std::int64_t limit = 100;
};

/// The audit log, newest first: [{"seq","at","actor","action","layer","feature_id","before","after"}],
/// before/after as GeoJSON Features (null for a create's before and a delete's after).
nlohmann::json audit_log(geo::Database& db, const AuditQuery& query);

} // namespace sitmap::layers
