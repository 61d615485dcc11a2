#include "layers/cql2.hpp"

#include "geo/error.hpp"
#include "layers/demo.hpp"
#include "layers/queries.hpp"
#include "layers/schema.hpp"
#include "support/demo_db.hpp"

#include <catch2/catch.hpp>

using namespace sitmap;
namespace cql2 = sitmap::layers::cql2;

namespace {

using test::demo_db;

const layers::Layer& incidents() { return layers::find_layer("incidents"); }

std::int64_t count_cql(const std::string& filter, const std::string& layer = "incidents") {
    layers::FeatureQuery query;
    query.where = cql2::filter_condition(filter, layers::find_layer(layer));
    return layers::count_features(demo_db(), layers::find_layer(layer), query);
}

std::int64_t count_sql(const std::string& where, const std::string& layer = "incidents") {
    auto stmt = demo_db().prepare("SELECT count(*) FROM " + layer + " t WHERE " + where);
    stmt.step();
    return stmt.column_int64(0);
}

// The message of the input_error that parsing `filter` throws ("" if it does not throw).
std::string error_of(const std::string& filter, const std::string& layer = "incidents") {
    try {
        cql2::parse(filter, layers::find_layer(layer));
    } catch (const input_error& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("cql2: comparisons, logic and lists select what the same SQL selects", "[db]") {
    CHECK(count_cql("type = 'ambush'") == count_sql("type = 'ambush'"));
    CHECK(count_cql("fatalities >= 3 AND target <> 'civilians'") == count_sql("fatalities >= 3 AND target <> 'civilians'"));
    CHECK(count_cql("type = 'ambush' OR type = 'ied_detonated' AND fatalities > 2") ==
          count_sql("type = 'ambush' OR (type = 'ied_detonated' AND fatalities > 2)"));
    CHECK(count_cql("NOT (type = 'ambush' OR fatalities < 1)") == count_sql("NOT (type = 'ambush' OR fatalities < 1)"));
    CHECK(count_cql("type IN ('ambush', 'direct_fire')") == count_sql("type IN ('ambush', 'direct_fire')"));
    CHECK(count_cql("type NOT IN ('ambush')") == count_sql("type NOT IN ('ambush')"));
    CHECK(count_cql("fatalities BETWEEN 2 AND 5") == count_sql("fatalities BETWEEN 2 AND 5"));
    CHECK(count_cql("description LIKE '%Gao%'") == count_sql("description LIKE '%Gao%'"));
    CHECK(count_cql("cercle_id IS NULL") == count_sql("cercle_id IS NULL"));
    CHECK(count_cql("cercle_id IS NOT NULL") == count_sql("cercle_id IS NOT NULL"));
    CHECK(count_cql("synthetic = TRUE") == 3000);
    CHECK(count_cql("occurred_at >= TIMESTAMP('2020-07-01T00:00:00Z') AND occurred_at < '2021-01-01'") ==
          count_sql("occurred_at >= '2020-07-01T00:00:00Z' AND occurred_at < '2021-01-01T00:00:00Z'"));
    CHECK(count_cql("occurred_at = DATE('2020-07-01')") == count_sql("substr(occurred_at, 1, 10) = '2020-07-01'"));
    CHECK(count_cql("\"type\" = 'ambush' and id = 'INC-000001'") == count_sql("type = 'ambush' AND id = 'INC-000001'"));
    CHECK(count_cql("kind = 'sector_hq'", "bases") == count_sql("kind = 'sector_hq'", "bases"));
}

TEST_CASE("cql2: spatial predicates with WKT and BBOX literals", "[db]") {
    CHECK(count_cql("S_INTERSECTS(geometry, BBOX(-1, 15, 1, 17))") ==
          count_sql("X(geom) BETWEEN -1 AND 1 AND Y(geom) BETWEEN 15 AND 17"));
    CHECK(count_cql("S_INTERSECTS(geometry, POLYGON((-1 15, 1 15, 1 17, -1 17, -1 15))) AND type = 'ambush'") ==
          count_sql("X(geom) BETWEEN -1 AND 1 AND Y(geom) BETWEEN 15 AND 17 AND type = 'ambush'"));
    // 25 km around the Gao sector HQ, as the near-base query computes it.
    const auto gao = layers::find_base(demo_db(), "BASE-002");
    const auto near = layers::within_radius(demo_db(), incidents(), gao.position, 25, {});
    const std::string point = "POINT(" + std::to_string(gao.position.lon) + " " + std::to_string(gao.position.lat) + ")";
    CHECK(count_cql("S_DWITHIN(geometry, " + point + ", 25, kilometers)") == static_cast<std::int64_t>(near.size()));
    CHECK(count_cql("S_DWITHIN(geometry, " + point + ", 25000)") == static_cast<std::int64_t>(near.size()));
    CHECK(count_cql("S_INTERSECTS(geometry, POINT(0 16))", "cercles") == 1);
}

TEST_CASE("cql2: errors name the position and what was expected", "[db]") {
    CHECK(error_of("type = 'ambush'") == "");
    CHECK_THAT(error_of("colour = 'red'"), Catch::Contains("at character 1") && Catch::Contains("unknown property 'colour'"));
    CHECK_THAT(error_of("type = 'ambush' AND"), Catch::Contains("at character 20"));
    CHECK_THAT(error_of("type = "), Catch::Contains("expected a value"));
    CHECK_THAT(error_of("fatalities = 'many'"), Catch::Contains("at character 14") && Catch::Contains("not text"));
    CHECK_THAT(error_of("type = 'bombing'"), Catch::Contains("not a value of 'type'"));
    CHECK_THAT(error_of("type = 'ambush"), Catch::Contains("unterminated string"));
    CHECK_THAT(error_of("S_INTERSECTS(geometry, POLYGON((0 0, 1 1)))"), Catch::Contains("not a valid WKT"));
    CHECK_THAT(error_of("S_INTERSECTS(geometry, BBOX(0, 0, 1))"), Catch::Contains("expected ','"));
    CHECK_THAT(error_of("S_DWITHIN(geometry, POINT(0 0), 10, parsecs)"), Catch::Contains("meters or kilometers"));
    CHECK_THAT(error_of("occurred_at > '2020-13-45'"), Catch::Contains("not a date"));
    std::string deep(200, '(');
    deep.append("type = 'ambush'").append(200, ')');  // built in place: GCC 12 warns falsely on a + of temporaries
    CHECK_THAT(error_of(deep), Catch::Contains("too deeply"));
    CHECK_THAT(error_of("type = 'ambush' ) "), Catch::Contains("unexpected ')'"));
}

TEST_CASE("cql2: injection strings are values or errors, never SQL", "[db]") {
    // A quote inside a literal is data: the description simply does not match.
    CHECK(count_cql("description = 'x'' OR ''1''=''1'") == 0);
    CHECK(count_cql("description LIKE '%''; DROP TABLE incidents; --%'") == 0);
    CHECK(count_cql("id IN ('INC-000001''--', 'INC-000001')") == 1);
    // Property names are looked up, never pasted.
    CHECK_THAT(error_of("type;DROP TABLE incidents = 'x'"), Catch::Contains("unexpected character ';'"));
    CHECK_THAT(error_of("\"type = 'x' OR 1=1 --\" = 'a'"), Catch::Contains("unknown property"));
    CHECK_THAT(error_of("1 = 1"), Catch::Contains("expected a property name"));
    CHECK_THAT(error_of("type = 'ambush' OR sqlite_version() = '3'"), Catch::Contains("unknown property 'sqlite_version'"));
    CHECK_THAT(error_of("S_INTERSECTS(geometry, POINT(0 0) ) ; DELETE FROM incidents"), Catch::Contains("unexpected character"));
    CHECK_THAT(error_of("S_INTERSECTS(geometry, POINT(0 0)) OR GeomFromText('POINT(0 0)') IS NULL"),
               Catch::Contains("unknown property 'GeomFromText'"));
    CHECK(count_sql("1=1") == 3000);  // the table is intact
}

TEST_CASE("cql2: the SQL text holds no literal value", "[db]") {
    const auto c = cql2::filter_condition("description = 'secret words' AND fatalities > 41 AND "
                                          "S_INTERSECTS(geometry, POINT(1.25 15.5))",
                                          incidents());
    CHECK(c.sql.find("secret") == std::string::npos);
    CHECK(c.sql.find("41") == std::string::npos);
    CHECK(c.sql.find("1.25") == std::string::npos);
    CHECK(c.params.size() == 7);  // description, fatalities, four box corners, the WKT
}
