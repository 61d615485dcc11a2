// count_features and count_features_bounded on the default dataset, against SQL that reads the rows.

#include "layers/features.hpp"

#include "support/demo_db.hpp"

#include <catch2/catch.hpp>

using namespace sitmap;

namespace {

std::int64_t sql_count(const std::string& where) {
    auto stmt = test::demo_db().prepare("SELECT count(*) FROM incidents t WHERE " + where);
    stmt.step();
    return stmt.column_int64(0);
}

// The bbox as the items route reads it: the features whose R*Tree box meets it.
constexpr const char* in_box = "t.fid IN (SELECT pkid FROM idx_incidents_geom WHERE xmin <= 1 AND xmax >= -1 "
                               "AND ymin <= 17 AND ymax >= 15)";

} // namespace

TEST_CASE("count_features: a bbox alone, from the R*Tree, equals reading the rows", "[db]") {
    auto& db = test::demo_db();
    const auto& incidents = layers::find_layer("incidents");
    layers::FeatureQuery query;
    query.filter.bbox = {{-1, 15, 1, 17}};
    const std::int64_t expected = sql_count(in_box);
    REQUIRE(expected > 100);
    CHECK(layers::count_features(db, incidents, query) == expected);
    CHECK(layers::count_features_bounded(db, incidents, query, 10) == expected);  // no row to read: always counted
    // Attribute filters do not apply to bases: their bbox is still counted from the R*Tree alone.
    query.filter.types = {"ambush"};
    auto bases = db.prepare("SELECT count(*) FROM bases WHERE X(geom) BETWEEN -1 AND 1 AND Y(geom) BETWEEN 15 AND 17");
    bases.step();
    CHECK(layers::count_features_bounded(db, layers::find_layer("bases"), query, 0) == bases.column_int64(0));
}

TEST_CASE("count_features_bounded: a bbox with filters is counted only up to the rows it may read", "[db]") {
    auto& db = test::demo_db();
    const auto& incidents = layers::find_layer("incidents");
    layers::FeatureQuery query;
    query.filter.bbox = {{-1, 15, 1, 17}};
    query.filter.types = {"ambush", "ied_detonated"};
    const std::int64_t in_box_count = sql_count(in_box);
    const std::int64_t expected = sql_count(std::string(in_box).append(" AND t.type IN ('ambush', 'ied_detonated')"));
    REQUIRE(expected > 0);
    REQUIRE(expected < in_box_count);
    CHECK(layers::count_features(db, incidents, query) == expected);
    CHECK(layers::count_features_bounded(db, incidents, query, in_box_count) == expected);
    CHECK(layers::count_features_bounded(db, incidents, query, in_box_count - 1) == std::nullopt);
    CHECK(layers::count_features_bounded(db, incidents, query, expected) == std::nullopt);

    // A condition in `where` makes rows to read too.
    layers::FeatureQuery where;
    where.filter.bbox = query.filter.bbox;
    where.where.sql = " AND t.fatalities > ?";
    where.where.params.emplace_back(std::int64_t{0});
    CHECK(layers::count_features_bounded(db, incidents, where, in_box_count - 1) == std::nullopt);
    CHECK(layers::count_features_bounded(db, incidents, where, in_box_count) ==
          sql_count(std::string(in_box).append(" AND t.fatalities > 0")));

    // Without a bbox the indexes count: always answered.
    query.filter.bbox.reset();
    CHECK(layers::count_features_bounded(db, incidents, query, 0) ==
          sql_count("t.type IN ('ambush', 'ied_detonated')"));
}
