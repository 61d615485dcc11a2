#pragma once
/// Reading a layer's features as GeoJSON (RFC 7946, lon/lat).

#include "geo/sqlite.hpp"
#include "layers/filter.hpp"
#include "layers/layer.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace sitmap::layers {

struct FeatureQuery {
    Filter filter;
    std::int64_t limit = 100;
    std::int64_t offset = 0;
};

/// Calls `write` with each matching feature as one GeoJSON Feature object (no separators),
/// ordered by fid. Properties: the layer's columns, typed, then the source's extra attributes.
/// Returns the number of features written.
std::int64_t write_features(geo::Database& db, const Layer& layer, const FeatureQuery& query,
                            const std::function<void(std::string_view)>& write);

/// The number of features matching the filter (limit and offset ignored).
std::int64_t count_features(geo::Database& db, const Layer& layer, const Filter& filter);

/// One feature by its id as a GeoJSON Feature. Throws sitmap::not_found_error.
std::string feature_by_id(geo::Database& db, const Layer& layer, const std::string& id);

} // namespace sitmap::layers
