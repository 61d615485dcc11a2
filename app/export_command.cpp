// `sitmap export --db F --layer L OUT`: a layer, filtered, to a file through GDAL.
#include "app/command.hpp"

#include "layers/export.hpp"
#include "layers/schema.hpp"

#include <cstdio>
#include <memory>
#include <string>

namespace sitmap::app {

namespace {

struct ExportArguments {
    std::string db_path;
    layers::ExportOptions options;
    std::string format = "GeoJSON";
    std::string bbox, from, to, type, target;
};

int run_export(ExportArguments& a) {
    a.options.format = layers::parse_export_format(a.format);
    a.options.filter = layers::parse_filter(a.bbox, a.from, a.to, a.type, a.target);
    auto db = layers::open_database(a.db_path, geo::Database::Mode::read_only);
    const auto written = layers::export_layer(db, a.options);
    std::printf("%s: %lld features written to %s\n", a.options.layer.c_str(), static_cast<long long>(written),
                a.options.path.c_str());
    return 0;
}

} // namespace

Command add_export_command(CLI::App& app) {
    auto arguments = std::make_shared<ExportArguments>();
    auto& a = *arguments;
    auto* command = app.add_subcommand("export", "Write a layer to a file through GDAL");
    command->add_option("--db", a.db_path, "SpatiaLite file")->required()->check(CLI::ExistingFile);
    command->add_option("--layer", a.options.layer, "Layer to export")
        ->required()
        ->check(CLI::IsMember({"regions", "cercles", "bases", "incidents", "routes"}));
    command->add_option("--format", a.format, "GeoJSON, GPKG, CSV, KML or Shapefile")->capture_default_str();
    command->add_option("--bbox", a.bbox, "min_lon,min_lat,max_lon,max_lat");
    command->add_option("--from", a.from, "Incidents on or after (ISO 8601)");
    command->add_option("--to", a.to, "Incidents on or before (ISO 8601)");
    command->add_option("--type", a.type, "Incident types, comma-separated");
    command->add_option("--target", a.target, "Incident targets, comma-separated");
    command->add_option("out", a.options.path, "File to create")->required();
    return {command, [arguments] { return run_export(*arguments); }};
}

} // namespace sitmap::app
