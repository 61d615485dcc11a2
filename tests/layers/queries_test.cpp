#include "layers/queries.hpp"
#include "layers/queries_distance.hpp"

#include "geo/error.hpp"
#include "layers/demo.hpp"
#include "layers/schema.hpp"
#include "support/demo_db.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>

using namespace sitmap;
using sitmap::geo::LonLat;

namespace {

using test::demo_db;

// A database of `count` random incidents in and around Mali (no boundaries), and their positions.
struct RandomIncidents {
    test::TempDir dir;
    geo::Database db = layers::open_database(dir.file("random.db"), geo::Database::Mode::create);
    std::vector<std::pair<std::int64_t, LonLat>> points;

    RandomIncidents(int count, unsigned seed) {
        std::mt19937 rng(seed);
        std::uniform_real_distribution<double> lon(-12.5, 4.5), lat(10, 25.5);
        std::uniform_int_distribution<int> year(2013, 2023);
        geo::Transaction tx(db);
        auto insert = db.prepare("INSERT INTO incidents (id, occurred_at, type, geom) "
                                 "VALUES (?, ?, 'ambush', MakePoint(?, ?, 4326))");
        for (int i = 0; i < count; ++i) {
            const LonLat p{lon(rng), lat(rng)};
            insert.reset();
            insert.bind(1, "R" + std::to_string(i)).bind(2, std::to_string(year(rng)) + "-06-01T00:00:00Z");
            insert.bind(3, p.lon).bind(4, p.lat).run();
            points.emplace_back(db.last_insert_rowid(), p);
        }
        tx.commit();
    }
};

} // namespace

TEST_CASE("queries: radius results equal a brute-force scan on random data", "[db]") {
    RandomIncidents data(20000, 42);
    const auto& incidents = layers::find_layer("incidents");
    std::mt19937 rng(1);
    std::uniform_real_distribution<double> lon(-12, 4), lat(10.5, 25), radius(1, 400);
    layers::FeatureQuery none;
    layers::FeatureQuery filtered;  // the same set through the path that reads the rows
    filtered.filter = layers::parse_filter("", "2000-01-01", "", "", "");
    for (int trial = 0; trial < 40; ++trial) {
        const LonLat centre{lon(rng), lat(rng)};
        const double r = radius(rng);
        std::map<std::int64_t, double> expected;
        for (const auto& [fid, p] : data.points) {
            const double d = geo::geodesic_distance_km(centre, p);
            if (d <= r) expected[fid] = d;
        }
        for (const auto* query : {&none, &filtered}) {
            const auto hits = layers::within_radius(data.db, incidents, centre, r, *query);
            INFO("centre " << centre.lon << "," << centre.lat << " radius " << r << (query == &filtered ? " filtered" : ""));
            CHECK(std::is_sorted(hits.begin(), hits.end(),
                                 [](const auto& a, const auto& b) { return a.distance_km < b.distance_km; }));
            std::map<std::int64_t, double> got;
            double worst = 0;
            for (const auto& h : hits) {
                got[h.fid] = h.distance_km;
                if (expected.count(h.fid)) worst = std::max(worst, std::abs(h.distance_km - expected[h.fid]));
            }
            CHECK(got.size() == expected.size());
            CHECK(std::equal(got.begin(), got.end(), expected.begin(), expected.end(),
                             [](const auto& a, const auto& b) { return a.first == b.first; }));
            CHECK(worst < 0.0003);  // 0.3 m: distances from the float32 boxes of the R*Tree (0.21 m seen)
        }
    }
}

TEST_CASE("queries: points a millimetre either side of the circle are settled exactly", "[db]") {
    RandomIncidents data(0, 1);
    auto insert = data.db.prepare("INSERT INTO incidents (id, occurred_at, type, geom) "
                                  "VALUES (?, '2020-01-01T00:00:00Z', 'ambush', MakePoint(?, ?, 4326))");
    const LonLat centre{-0.0442, 16.2717};  // Gao
    layers::FeatureQuery none;
    layers::FeatureQuery filtered;  // through the path that reads the rows
    filtered.filter = layers::parse_filter("", "2000-01-01", "", "", "");
    std::mt19937 rng(3);
    std::uniform_real_distribution<double> azimuth(0, 360);
    for (const double r : {5.0, 25.0, 100.0, 399.0, 650.0}) {
        std::map<std::int64_t, bool> on_circle;  // this radius's points: fid -> inside
        for (int i = 0; i < 40; ++i) {
            const LonLat p = geo::geodesic_destination(centre, azimuth(rng), r + (i % 2 ? 0.000001 : -0.000001));
            insert.reset();
            insert.bind(1, "E" + std::to_string(r) + "-" + std::to_string(i)).bind(2, p.lon).bind(3, p.lat).run();
            on_circle[data.db.last_insert_rowid()] = geo::geodesic_distance_km(centre, p) <= r;
        }
        for (const auto* query : {&none, &filtered}) {
            std::set<std::int64_t> got;
            for (const auto& h : layers::within_radius(data.db, layers::find_layer("incidents"), centre, r, *query)) {
                got.insert(h.fid);
            }
            INFO("radius " << r << (query == &filtered ? " filtered" : ""));
            int inside = 0;
            for (const auto& [fid, in] : on_circle) {
                CHECK(got.count(fid) == (in ? 1U : 0U));
                inside += in;
            }
            CHECK(inside >= 15);  // both sides are really exercised
            CHECK(inside <= 25);
        }
    }
}

TEST_CASE("queries: fast distances from a centre are within a centimetre of PROJ's geodesic", "[geodesy]") {
    std::mt19937 rng(11);
    std::uniform_real_distribution<double> azimuth(0, 360), unit(0, 1);
    for (const bool world : {false, true}) {
        std::uniform_real_distribution<double> lon(world ? -180 : -13, world ? 180 : 5);
        std::uniform_real_distribution<double> lat(world ? -80 : 9, world ? 80 : 26);
        double worst_100 = 0, worst_400 = 0, worst_far = 0;
        for (int i = 0; i < 20000; ++i) {
            const LonLat centre{lon(rng), lat(rng)};
            const layers::DistanceFrom from(centre);
            const double r = (i % 3 == 2 ? 5000 : i % 3 ? 400 : 100) * std::sqrt(unit(rng));
            const LonLat p = geo::geodesic_destination(centre, azimuth(rng), r);
            const double error = std::abs(from.km(p) - geo::geodesic_distance_km(centre, p));
            double& worst = i % 3 == 2 ? worst_far : i % 3 ? worst_400 : worst_100;
            worst = std::max(worst, error);
        }
        INFO((world ? "world" : "Mali") << ": worst error " << worst_100 * 1e6 << " mm within 100 km, "
                                         << worst_400 * 1e6 << " mm within 400 km, " << worst_far * 1e6 << " mm farther");
        CHECK(worst_100 < 0.000001);  // 1 mm
        CHECK(worst_400 < 0.00002);   // 2 cm
        CHECK(worst_far < 0.00002);
        CHECK(std::max({worst_100, worst_400, worst_far}) < layers::DistanceFrom::error_km / 10);
    }
}

TEST_CASE("queries: the k nearest equal a brute-force ranking", "[db]") {
    RandomIncidents data(5000, 9);
    const auto& incidents = layers::find_layer("incidents");
    std::mt19937 rng(2);
    std::uniform_real_distribution<double> lon(-12, 4), lat(10.5, 25);
    for (int trial = 0; trial < 20; ++trial) {
        const LonLat centre{lon(rng), lat(rng)};
        auto ranked = data.points;
        std::sort(ranked.begin(), ranked.end(), [&](const auto& a, const auto& b) {
            return geo::geodesic_distance_km(centre, a.second) < geo::geodesic_distance_km(centre, b.second);
        });
        const auto hits = layers::nearest(data.db, incidents, centre, 7, {});
        REQUIRE(hits.size() == 7);
        for (std::size_t i = 0; i < 7; ++i) CHECK(hits[i].fid == ranked[i].first);
    }
}

TEST_CASE("queries: bases are found by id or by a unique name", "[db]") {
    auto& db = demo_db();
    CHECK(layers::find_base(db, "BASE-002").name == "Sector East Headquarters, Gao");
    CHECK(layers::find_base(db, "gao").id == "BASE-002");
    CHECK(layers::find_base(db, "timbuktu").id == "BASE-003");
    CHECK_THROWS_AS(layers::find_base(db, "nowhere"), not_found_error);
}

TEST_CASE("queries: incidents near Gao carry distances within the radius, nearest first", "[db]") {
    auto& db = demo_db();
    const auto& incidents = layers::find_layer("incidents");
    const auto gao = layers::find_base(db, "BASE-002");
    layers::FeatureQuery query;
    query.filter = layers::parse_filter("", "2020-07-01", "", "", "");
    const auto hits = layers::within_radius(db, incidents, gao.position, 25, query);
    REQUIRE(!hits.empty());
    auto check = db.prepare("SELECT X(geom), Y(geom), occurred_at FROM incidents WHERE fid = ?");
    double previous = 0;
    for (const auto& h : hits) {
        check.reset();
        check.bind(1, h.fid);
        REQUIRE(check.step());
        CHECK(h.distance_km == Approx(geo::geodesic_distance_km(gao.position, {check.column_double(0), check.column_double(1)})));
        CHECK(h.distance_km <= 25);
        CHECK(h.distance_km >= previous);
        CHECK(check.column_text(2) >= "2020-07-01");
        previous = h.distance_km;
    }
    CHECK_THROWS_AS(layers::within_radius(db, layers::find_layer("cercles"), gao.position, 25, {}), input_error);
    CHECK_THROWS_AS(layers::within_radius(db, incidents, gao.position, -1, {}), input_error);
}

TEST_CASE("queries: within a cercle or a region matches the spatial join", "[db]") {
    auto& db = demo_db();
    const auto& incidents = layers::find_layer("incidents");
    layers::FeatureQuery query;
    query.where = layers::within_unit(db, incidents, "region:ML07");
    auto count = db.prepare("SELECT count(*) FROM incidents i JOIN regions r ON r.id = 'ML07' "
                            "WHERE ST_Within(i.geom, r.geom) = 1");
    count.step();
    CHECK(layers::count_features(db, incidents, query) == count.column_int64(0));
    // Bases by polygon: the Gao sector HQ lies in the region of Gao.
    layers::FeatureQuery bases;
    bases.where = layers::within_unit(db, layers::find_layer("bases"), "region:ML07");
    std::vector<std::string> ids;
    layers::write_features(db, layers::find_layer("bases"), bases, [&](std::string_view f) { ids.emplace_back(f); });
    CHECK(std::any_of(ids.begin(), ids.end(), [](const auto& f) { return f.find("BASE-002") != std::string::npos; }));
    CHECK_THROWS_AS(layers::within_unit(db, incidents, "cercle:XX99"), not_found_error);
    CHECK_THROWS_AS(layers::within_unit(db, incidents, "country:ML"), input_error);
}

TEST_CASE("queries: incidents along the Gao-Labbezanga axis are ordered by distance along it", "[db]") {
    auto& db = demo_db();
    const auto route = layers::find_route(db, "ROUTE-01");
    CHECK(route.line.length_km() > 100);
    const auto hits = layers::along_route(db, layers::find_layer("incidents"), route, 5, {});
    REQUIRE(!hits.empty());
    CHECK(std::is_sorted(hits.begin(), hits.end(), [](const auto& a, const auto& b) { return a.along_km < b.along_km; }));
    for (const auto& h : hits) {
        CHECK(h.distance_km <= 5);
        CHECK(h.along_km <= route.line.length_km() + 1e-9);
    }
    // The profile counts the same incidents, stretch by stretch.
    const auto profile = layers::route_profile(db, "ROUTE-01", 10, 5, {});
    std::int64_t total = 0;
    for (const auto& s : profile.segments) {
        total += s.count;
        std::int64_t by_type = 0;
        for (const auto& [type, n] : s.by_type) by_type += n;
        CHECK(by_type == s.count);
        CHECK(s.end_km - s.start_km <= 10 + 1e-9);
    }
    CHECK(total == static_cast<std::int64_t>(hits.size()));
    CHECK(profile.segments.back().end_km == Approx(route.line.length_km()));
    CHECK_THROWS_AS(layers::route_profile(db, "ROUTE-01", 0, 5, {}), input_error);
    CHECK_THROWS_AS(layers::find_route(db, "ROUTE-99"), not_found_error);
}

TEST_CASE("queries: coverage splits every incident into within and beyond reach", "[db]") {
    auto& db = demo_db();
    const auto small = layers::coverage(db, 10, {});
    const auto large = layers::coverage(db, 200, {});
    CHECK(small.incidents == 3000);
    CHECK(small.covered < large.covered);
    std::int64_t sum = 0;
    for (const auto& row : large.cercles) sum += row.incidents;
    CHECK(sum == large.incidents);
    CHECK(static_cast<std::int64_t>(large.uncovered.size()) == large.incidents - large.covered);
}

TEST_CASE("queries: July to 23 December 2020 reads back the letter's IED figures", "[db]") {
    auto& db = demo_db();
    layers::FeatureQuery query;
    query.filter = layers::parse_filter("", "2020-07-01", "2020-12-23", "ied_detonated,ied_neutralized", "");
    const auto all = layers::count_incidents(db, {}, query);
    REQUIRE(all.rows.size() == 1);
    CHECK(all.rows[0][0] == "98");
    const auto by = layers::count_incidents(db, {"target", "type"}, query);
    std::map<std::string, std::string> un;
    for (const auto& row : by.rows) {
        if (row[0] == "un_mission") un[row[1]] = row[2];
    }
    CHECK(un["ied_neutralized"] == "19");
    CHECK(un["ied_detonated"] == "20");
    CHECK_THROWS_AS(layers::count_incidents(db, {"colour"}, query), input_error);
}

TEST_CASE("queries: counts by any groups equal SQL's GROUP BY, names and order included", "[db]") {
    auto& db = demo_db();
    const std::map<std::string, std::string> sql = {
        {"region", "coalesce(t.region_id, ''), coalesce((SELECT name FROM regions WHERE id = t.region_id), '')"},
        {"cercle", "coalesce(t.cercle_id, ''), coalesce((SELECT name FROM cercles WHERE id = t.cercle_id), '')"},
        {"type", "t.type"},
        {"target", "t.target"},
        {"year", "substr(t.occurred_at, 1, 4)"},
        {"month", "substr(t.occurred_at, 1, 7)"},
    };
    layers::FeatureQuery query;
    query.filter = layers::parse_filter("", "2019-03-01", "2021-06-30", "", "");
    for (const std::vector<std::string>& groups : std::vector<std::vector<std::string>>{
             {}, {"cercle"}, {"region"}, {"type", "target"}, {"month", "cercle"}, {"year", "region", "type"}}) {
        std::string keys;
        for (const auto& g : groups) keys += (keys.empty() ? "" : ", ") + sql.at(g);
        auto stmt = db.prepare("SELECT " + keys + (keys.empty() ? "" : ", ") +
                               "count(*) FROM incidents t WHERE t.occurred_at >= '2019-03-01' AND "
                               "t.occurred_at <= '2021-06-30T23:59:59Z'" +
                               (keys.empty() ? "" : " GROUP BY " + keys + " ORDER BY " + keys));
        std::vector<std::vector<std::string>> expected;
        while (stmt.step()) {
            auto& row = expected.emplace_back();
            for (int i = 0; i < stmt.column_count(); ++i) row.emplace_back(stmt.column_text(i));
        }
        const auto table = layers::count_incidents(db, groups, query);
        INFO("group_by " << keys);
        CHECK(table.columns.size() == (expected.empty() ? table.columns.size() : expected.front().size()));
        CHECK(table.rows == expected);
        CHECK(table.rows.size() > (groups.empty() ? 0U : 3U));
    }
}
