#pragma once
/// Filters shared by tiles, GeoJSON items and exports: a bounding box and, for incidents,
/// a time window, types, targets and statuses. Turned into SQL with parameters, never with values in the text.

#include "geo/sqlite.hpp"
#include "layers/layer.hpp"

#include <array>
#include <optional>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace sitmap::layers {

/// A value bound to an SQL parameter.
using SqlValue = std::variant<std::string, double, std::int64_t>;

struct Filter {
    std::optional<std::array<double, 4>> bbox;  ///< lon/lat: min_lon, min_lat, max_lon, max_lat
    std::optional<std::string> from;             ///< occurred_at >= from (UTC, normalised)
    std::optional<std::string> to;               ///< occurred_at <= to; a bare date includes that whole day
    std::vector<std::string> types;              ///< incident types, any of
    std::vector<std::string> targets;            ///< incident targets, any of
    std::vector<std::string> statuses;           ///< incident statuses (reported, verified, rejected), any of

    /// True when no attribute filter is set (a bbox alone does not count).
    bool attributes_empty() const { return !from && !to && types.empty() && targets.empty() && statuses.empty(); }
    /// A short stable text of the attribute filters, for cache keys.
    std::string key() const;
};

/// Builds a filter from query-parameter text ("2020-07-01", "ied_detonated,ambush", "-4,14,1,17").
/// Throws sitmap::input_error naming the parameter and what is expected.
Filter parse_filter(const std::string& bbox, const std::string& from, const std::string& to,
                    const std::string& types, const std::string& targets, const std::string& statuses = {});

/// SQL condition on table alias `t` (" AND ..."), with its parameters appended to `params`.
/// The attribute filters apply to incidents only; other layers ignore them.
std::string filter_sql(const Layer& layer, const Filter& filter, std::vector<SqlValue>& params);

/// Binds parameters from `first` on; returns the next free index.
int bind_all(geo::Statement& stmt, const std::vector<SqlValue>& params, int first = 1);

} // namespace sitmap::layers
