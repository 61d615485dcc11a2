#include "layers/layer.hpp"

#include "geo/error.hpp"

namespace sitmap::layers {

namespace {

Column text(std::string name, std::vector<std::string> aliases = {}, std::string description = {}) {
    Column c;
    c.name = std::move(name);
    c.aliases = std::move(aliases);
    c.description = std::move(description);
    return c;
}

Column typed(std::string name, ColumnType type, std::vector<std::string> aliases = {}, std::string description = {}) {
    Column c = text(std::move(name), std::move(aliases), std::move(description));
    c.type = type;
    return c;
}

Column required(Column c) {
    c.required = true;
    return c;
}

Column one_of(Column c, std::vector<std::string> allowed) {
    c.allowed = std::move(allowed);
    return c;
}

Column derived(Column c) {
    c.derived = true;
    return c;
}

Column with_default(Column c, std::string value) {
    c.default_value = std::move(value);
    return c;
}

std::vector<Layer> make_layers() {
    const Column approximate = typed("approximate", ColumnType::boolean, {},
                                     "1 when the geometry is an approximation, not an official or surveyed one");
    const Column source = text("source", {"source_name", "sources"}, "where the record comes from");
    std::vector<Layer> layers;
    layers.push_back(Layer{
        "regions", "Regions", "Admin-1: Mali's regions and the District of Bamako", GeometryKind::polygon,
        {required(text("name", {"adm1_fr", "adm1_name", "adm1", "name_1", "shapename", "region", "nom"})),
         approximate, source},
        {"pcode", "adm1_pcode", "rowcacode1", "gid_1", "shapeid", "code"}});
    layers.push_back(Layer{
        "cercles", "Cercles", "Admin-2: Mali's cercles", GeometryKind::polygon,
        {required(text("name", {"adm2_fr", "adm2_name", "adm2", "name_2", "shapename", "cercle", "nom"})),
         text("region_id", {"adm1_pcode", "adm1_code", "gid_1", "region_pcode"}, "P-code of the region"),
         approximate, source},
        {"pcode", "adm2_pcode", "gid_2", "shapeid", "code"}});
    layers.push_back(Layer{
        "routes", "Main supply routes", "Roads the mission's convoys use", GeometryKind::line,
        {required(text("name", {"route", "road", "nom"})), approximate, source},
        {"route_id", "code"}});
    layers.push_back(Layer{
        "bases", "Bases", "Mission HQ, sector HQs, camps and temporary operating bases", GeometryKind::point,
        {required(text("name", {"base", "base_name", "location", "nom"})),
         one_of(required(text("kind", {"base_type", "category"})),
                {"mission_hq", "sector_hq", "camp", "temporary_operating_base", "police", "other"}),
         text("unit", {"contingent", "units"}),
         typed("opened", ColumnType::date, {"opened_at", "open_date"}),
         typed("closed", ColumnType::date, {"closed_at", "close_date"}),
         approximate, source},
        {"base_id", "code"}});
    layers.push_back(Layer{
        "incidents", "Incidents", "Security incidents: IEDs, direct and indirect fire, ambushes, attacks on civilians",
        GeometryKind::point,
        {required(typed("occurred_at", ColumnType::datetime, {"event_date", "date", "datetime", "time"},
                        "UTC, ISO 8601")),
         one_of(required(text("type", {"event_type", "incident_type"})),
                {"ied_detonated", "ied_neutralized", "direct_fire", "indirect_fire", "ambush",
                 "attack_on_civilians", "other"}),
         one_of(text("target", {"target_type"}), {"un_mission", "national_forces", "civilians", "other"}),
         typed("fatalities", ColumnType::integer, {"killed", "deaths"}),
         typed("injuries", ColumnType::integer, {"injured", "wounded"}),
         text("description", {"notes", "summary"}),
         source,
         typed("synthetic", ColumnType::boolean, {}, "1 for made-up incidents (the default dataset)"),
         derived(text("cercle_id", {}, "P-code of the cercle the incident lies in (spatial join)")),
         derived(text("region_id", {}, "P-code of the region the incident lies in (spatial join)")),
         with_default(one_of(required(text("status", {"verification"},
                                           "reported (not yet checked), verified or rejected by a second person")),
                             {"reported", "verified", "rejected"}),
                      "verified"),
         derived(text("reported_by", {}, "name of the token that reported the incident through the API")),
         derived(text("verified_by", {}, "name of the token that verified or rejected it"))},
        {"event_id_cnty", "event_id", "incident_id"}});
    return layers;
}

} // namespace

const Column* Layer::column(std::string_view column_name) const {
    for (const auto& c : columns) {
        if (c.name == column_name) return &c;
    }
    return nullptr;
}

const char* Layer::spatialite_type() const {
    switch (geometry) {
        case GeometryKind::point: return "POINT";
        case GeometryKind::line: return "MULTILINESTRING";
        case GeometryKind::polygon: return "MULTIPOLYGON";
    }
    return "GEOMETRY";
}

std::string Layer::column_list() const {
    std::string list;
    for (const auto& c : columns) {
        if (!list.empty()) list += ", ";
        list += c.name;
    }
    return list;
}

const std::vector<Layer>& all_layers() {
    static const std::vector<Layer> layers = make_layers();
    return layers;
}

const Layer& find_layer(std::string_view name) {
    std::string names;
    for (const auto& layer : all_layers()) {
        if (layer.name == name) return layer;
        names += names.empty() ? "" : ", ";
        names += layer.name;
    }
    throw not_found_error("no layer named '" + std::string(name) + "' (there are: " + names + ")");
}

} // namespace sitmap::layers
