// Incident counts grouped by the nearest open base, checked against a brute-force ranking of every
// base for every incident of the default dataset.
#include "layers/features.hpp"
#include "layers/queries.hpp"
#include "support/demo_db.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <tuple>

using namespace sitmap;

namespace {

struct BaseRow {
    std::string id, name, opened, closed;
    geo::LonLat at;
};

std::vector<BaseRow> all_bases(geo::Database& db) {
    auto stmt = db.prepare("SELECT id, name, coalesce(opened, ''), coalesce(closed, ''), X(geom), Y(geom) FROM bases "
                           "ORDER BY fid");
    std::vector<BaseRow> bases;
    while (stmt.step()) {
        bases.push_back({std::string(stmt.column_text(0)), std::string(stmt.column_text(1)),
                         std::string(stmt.column_text(2)), std::string(stmt.column_text(3)),
                         {stmt.column_double(4), stmt.column_double(5)}});
    }
    return bases;
}

} // namespace

TEST_CASE("stats: incidents by nearest open base equal a brute-force ranking of every base", "[db]") {
    auto& db = test::demo_db();
    const auto bases = all_bases(db);
    REQUIRE(bases.size() >= 2);
    std::map<std::tuple<std::string, std::string, std::string>, std::int64_t> expected;  // type, base id, name
    auto stmt = db.prepare("SELECT type, substr(occurred_at, 1, 10), X(geom), Y(geom) FROM incidents "
                           "WHERE occurred_at >= '2019-01-01'");
    std::int64_t total = 0;
    while (stmt.step()) {
        const std::string day(stmt.column_text(1));
        const geo::LonLat at{stmt.column_double(2), stmt.column_double(3)};
        const BaseRow* best = nullptr;
        double best_km = 0;
        for (const auto& b : bases) {
            if ((!b.opened.empty() && b.opened > day) || (!b.closed.empty() && day > b.closed)) continue;
            const double km = geo::geodesic_distance_km(at, b.at);
            if (!best || km < best_km) {
                best = &b;
                best_km = km;
            }
        }
        ++expected[{std::string(stmt.column_text(0)), best ? best->id : "", best ? best->name : ""}];
        ++total;
    }
    REQUIRE(total > 100);

    layers::FeatureQuery query;
    query.filter.from = "2019-01-01T00:00:00Z";
    const auto table = layers::count_incidents(db, {"type", "base"}, query);
    REQUIRE(table.columns == std::vector<std::string>{"type", "base_id", "base_name", "count"});
    std::map<std::tuple<std::string, std::string, std::string>, std::int64_t> got;
    for (const auto& row : table.rows) got[{row[0], row[1], row[2]}] = std::stoll(row[3]);
    CHECK(got == expected);
    CHECK(std::is_sorted(table.rows.begin(), table.rows.end()));
}

TEST_CASE("stats: base can be combined with other groups and an unknown group names base", "[db]") {
    auto& db = test::demo_db();
    const auto by_base = layers::count_incidents(db, {"base"}, {});
    const auto by_month_base = layers::count_incidents(db, {"month", "base"}, {});
    std::map<std::string, std::int64_t> summed;
    for (const auto& row : by_month_base.rows) summed[row[1]] += std::stoll(row[3]);
    std::int64_t total = 0;
    for (const auto& row : by_base.rows) {
        CHECK(summed[row[0]] == std::stoll(row[2]));
        total += std::stoll(row[2]);
    }
    CHECK(total == layers::count_features(db, layers::find_layer("incidents"), layers::Filter{}));
    try {
        layers::count_incidents(db, {"bases"}, {});
        FAIL("no error for an unknown group");
    } catch (const std::exception& e) {
        CHECK(std::string(e.what()).find("month, base)") != std::string::npos);
    }
}
