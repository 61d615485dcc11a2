#pragma once
/// The default dataset: the files of data/, compiled into the binary, imported like any user file.

#include "geo/sqlite.hpp"
#include "layers/import.hpp"

#include <vector>

namespace sitmap::layers {

/// Imports every layer of the embedded default dataset (replacing what the layers held) through
/// import_layer(), incidents last so that the spatial join sees the boundaries.
std::vector<ImportSummary> import_default_dataset(geo::Database& db);

} // namespace sitmap::layers
