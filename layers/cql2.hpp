#pragma once
/// OGC CQL2 text filters (OGC API - Features Part 3): a hand-written recursive-descent parser
/// into a typed syntax tree, then parameterised SQL. Property names are looked up in the
/// layer's columns (never evaluated as SQL); every literal is bound as a parameter.
///
/// Supported: = <> < > <= >=, AND, OR, NOT, parentheses, [NOT] LIKE, [NOT] BETWEEN, [NOT] IN (...),
/// IS [NOT] NULL, TRUE/FALSE, DATE('...'), TIMESTAMP('...'), S_INTERSECTS(geometry, <geometry>)
/// and S_DWITHIN(geometry, <geometry>, distance[, meters|kilometers]) with WKT literals
/// (POINT, LINESTRING, POLYGON, MULTI*) or BBOX(minlon, minlat, maxlon, maxlat) in lon/lat.
/// LIKE uses % and _ and ignores ASCII case (SQLite's LIKE). S_DWITHIN is geodesic on WGS84.

#include "layers/features.hpp"
#include "layers/layer.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sitmap::layers::cql2 {

/// A literal: NULL, boolean, integer, real, or text (dates already normalised to ISO 8601).
using Literal = std::variant<std::monostate, bool, std::int64_t, double, std::string>;

/// One node of the syntax tree.
struct Node {
    enum class Kind { and_, or_, not_, compare, like, between, in, is_null, s_intersects, s_dwithin };
    Kind kind = Kind::compare;
    std::vector<Node> children;    ///< and_, or_: two or more; not_: one
    std::string property;          ///< a column of the layer, or "id"; "geom" for spatial nodes
    bool negated = false;          ///< NOT LIKE, NOT BETWEEN, NOT IN, IS NOT NULL
    bool date_only = false;        ///< compare the date part of a date-time column (a DATE literal)
    std::string op;                ///< compare: =, <>, <, >, <=, >=
    std::vector<Literal> values;   ///< compare, like: one; between: two; in: one or more
    std::string wkt;               ///< spatial: the geometry literal as WKT (BBOX as a POLYGON)
    std::array<double, 4> envelope{};  ///< spatial: the literal's lon/lat box
    bool point = false;            ///< spatial: the literal is a POINT
    double distance_km = 0;        ///< s_dwithin
    std::size_t position = 0;      ///< 1-based character where the node starts
};

/// Parses a CQL2 text filter for `layer`. Throws sitmap::input_error
/// "filter: at character N: ..." for bad syntax, an unknown property (naming the queryables),
/// a literal of the wrong type or an enumerated value that does not exist.
Node parse(std::string_view text, const Layer& layer);

/// The SQL condition (" AND (...)") for a parsed filter on table alias `t`.
Condition to_sql(const Node& node, const Layer& layer);

/// parse() then to_sql().
Condition filter_condition(std::string_view text, const Layer& layer);

} // namespace sitmap::layers::cql2
