#include "layers/demo.hpp"

#include "data/embedded_data.hpp"
#include "geo/gdal.hpp"

namespace sitmap::layers {

std::vector<ImportSummary> import_default_dataset(geo::Database& db) {
    std::vector<ImportSummary> summaries;
    for (const char* layer : {"regions", "cercles", "routes", "bases", "incidents"}) {
        for (const auto& file : data::embedded_files()) {
            if (file.name.substr(0, file.name.find('.')) != layer) continue;
            geo::MemoryFile memory("/vsimem/sitmap-default/" + std::string(file.name), file.bytes);
            ImportOptions options;
            options.layer = layer;
            options.source = memory.path();
            summaries.push_back(import_layer(db, options));
        }
    }
    return summaries;
}

} // namespace sitmap::layers
