// The real Mali boundaries of ../shared/data/mali-admin (OCHA COD-AB lineage, see its SOURCE.md).
// Read when present, never copied into the repository; skipped with a visible warning when absent.
//
// The two files use two code systems for the regions: the cercles carry COD-AB P-codes
// (adm1_pcode ML01..ML09), the regions ROWCA codes (rowcacode1 MLI001..MLI009, the same order).
// sitmap's region ids are COD-AB P-codes, as in the default dataset, so the regions are imported
// with --sql recoding MLI00n to ML0n; the original code is kept with the feature:
//   sitmap import --db F --layer regions mli_adm1_regions_ocha_rowca.geojson
//     --sql "SELECT 'ML' || substr(rowcacode1, 5, 2) AS pcode, * FROM sahel"

#include "layers/demo.hpp"
#include "layers/import.hpp"
#include "layers/schema.hpp"
#include "io_fixtures.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

using namespace sitmap;
using namespace sitmap::test;

namespace {

/// The mali-admin folder, or empty (with a warning saying why) when this machine has none.
std::string mali_admin() {
    const char* shared = std::getenv("SITMAP_SHARED_DATA");
    const std::string dir = shared ? std::string(shared) + "/mali-admin" : std::string();
    if (dir.empty() || !std::filesystem::exists(dir + "/mli_adm2_cercles_ocha.geojson")) {
        WARN("SKIPPED: real Mali boundaries not found (SITMAP_SHARED_DATA=" << (shared ? shared : "unset")
                                                                            << "/mali-admin); nothing was checked");
        return {};
    }
    return dir;
}

} // namespace

TEST_CASE("real data: OCHA's regions and cercles of Mali import whole, and incidents join to them", "[db][gdal]") {
    const std::string dir = mali_admin();
    if (dir.empty()) return;
    TempDir tmp;
    auto db = layers::open_database(tmp.file("mali.sqlite"), geo::Database::Mode::create);
    layers::import_default_dataset(db);  // synthetic incidents, joined to the default boundaries

    layers::ImportOptions regions;
    regions.layer = "regions";
    regions.source = dir + "/mli_adm1_regions_ocha_rowca.geojson";
    regions.sql = "SELECT 'ML' || substr(rowcacode1, 5, 2) AS pcode, * FROM sahel";
    const auto r = layers::import_layer(db, regions);
    CHECK(r.read == 9);
    CHECK(r.written == 9);

    layers::ImportOptions cercles;
    cercles.layer = "cercles";
    cercles.source = dir + "/mli_adm2_cercles_ocha.geojson";
    const auto c = layers::import_layer(db, cercles);
    CHECK(c.read == 50);
    CHECK(c.written == 50);
    CHECK(c.skipped == 0);

    CHECK(scalar(db, "SELECT count(*) FROM regions WHERE ST_IsValid(geom) = 1") == 9);
    CHECK(scalar(db, "SELECT count(*) FROM cercles WHERE ST_IsValid(geom) = 1") == 50);
    // Names as the source spells them, codes as COD-AB's, every cercle in a known region.
    CHECK(text(db, "SELECT name || '|' || json_extract(props, '$.rowcacode1') FROM regions WHERE id = 'ML06'") ==
          "Tombouctou|MLI006");
    CHECK(text(db, "SELECT name || '|' || region_id FROM cercles WHERE id = 'ML0704'") == "Menaka|ML07");
    CHECK(text(db, "SELECT group_concat(name, ',') FROM (SELECT name FROM cercles WHERE region_id = 'ML08' ORDER BY name)") ==
          "Abeibara,Kidal,Tessalit,Tin-Essako");
    CHECK(scalar(db, "SELECT count(*) FROM cercles WHERE region_id NOT IN (SELECT id FROM regions)") == 0);
    // Each cercle's interior point lies in its own region.
    CHECK(scalar(db, "SELECT count(*) FROM cercles c JOIN regions r ON r.id = c.region_id "
                     "WHERE ST_Within(ST_PointOnSurface(c.geom), r.geom) = 0") == 0);

    // Replacing the boundaries re-joined the default incidents to the real cercles.
    const auto incidents = scalar(db, "SELECT count(*) FROM incidents");
    CHECK(c.joined == scalar(db, "SELECT count(*) FROM incidents WHERE cercle_id IS NOT NULL"));
    CHECK(c.joined > incidents * 99 / 100);  // the synthetic incidents all lie in Mali
    CHECK(scalar(db, "SELECT count(*) FROM incidents i JOIN cercles c ON c.id = i.cercle_id "
                     "WHERE ST_Intersects(c.geom, i.geom) = 0") == 0);
    CHECK(scalar(db, "SELECT count(*) FROM incidents i JOIN cercles c ON c.id = i.cercle_id "
                     "WHERE i.region_id <> c.region_id") < incidents / 100);  // the coarser region borders
}
