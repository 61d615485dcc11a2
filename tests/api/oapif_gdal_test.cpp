// A real OGC API - Features client: GDAL's OAPIF driver against the server over loopback.

#include "ogc_fixture.hpp"

#include <catch2/catch.hpp>
#include <gdal.h>
#include <ogr_api.h>

#include <memory>
#include <set>
#include <string>

using sitmap::test::OgcServer;

namespace {

struct CloseDataset {
    void operator()(GDALDatasetH dataset) const noexcept { GDALClose(dataset); }
};
using Dataset = std::unique_ptr<void, CloseDataset>;

Dataset open_oapif(unsigned short port, const char* page_size) {
    GDALAllRegister();
    const std::string url = "OAPIF:http://127.0.0.1:" + std::to_string(port);
    const char* options[] = {page_size, nullptr};
    return Dataset(GDALOpenEx(url.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, nullptr, options, nullptr));
}

std::int64_t db_count(const OgcServer& server, const std::string& sql) {
    auto db = server.db();
    auto stmt = db.prepare(sql);
    stmt.step();
    return stmt.column_int64(0);
}

// Reads every feature of the layer (GDAL follows the next links), returning their ids.
std::set<std::string> read_ids(OGRLayerH layer) {
    std::set<std::string> ids;
    OGR_L_ResetReading(layer);
    const int id_field = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(layer), "id");
    while (OGRFeatureH feature = OGR_L_GetNextFeature(layer)) {
        if (id_field >= 0) ids.insert(OGR_F_GetFieldAsString(feature, id_field));
        OGR_F_Destroy(feature);
    }
    return ids;
}

} // namespace

TEST_CASE("oapif: GDAL lists every collection, pages through all incidents and reads a bbox", "[http][db][gdal]") {
    OgcServer server;
    auto dataset = open_oapif(server.port(), "PAGE_SIZE=250");
    REQUIRE(dataset);
    std::set<std::string> names;
    for (int i = 0; i < GDALDatasetGetLayerCount(dataset.get()); ++i) {
        names.insert(OGR_L_GetName(GDALDatasetGetLayer(dataset.get(), i)));
    }
    CHECK(names == std::set<std::string>{"regions", "cercles", "routes", "bases", "incidents"});

    OGRLayerH incidents = GDALDatasetGetLayerByName(dataset.get(), "incidents");
    REQUIRE(incidents);
    const auto ids = read_ids(incidents);
    CHECK(static_cast<std::int64_t>(ids.size()) == db_count(server, "SELECT count(*) FROM incidents"));
    CHECK(ids.count("INC-000001") == 1);
    CHECK(OGR_L_GetFeatureCount(incidents, 1) == 3000);

    for (const char* layer : {"regions", "cercles", "routes", "bases"}) {
        INFO(layer);
        CHECK(static_cast<std::int64_t>(read_ids(GDALDatasetGetLayerByName(dataset.get(), layer)).size()) ==
              db_count(server, std::string("SELECT count(*) FROM ") + layer));
    }

    OGR_L_SetSpatialFilterRect(incidents, -1, 15, 1, 17);
    const auto in_box = read_ids(incidents);
    CHECK(static_cast<std::int64_t>(in_box.size()) ==
          db_count(server, "SELECT count(*) FROM incidents WHERE X(geom) BETWEEN -1 AND 1 AND Y(geom) BETWEEN 15 AND 17"));
    CHECK(!in_box.empty());
    OGR_L_SetSpatialFilter(incidents, nullptr);

    OGR_L_SetAttributeFilter(incidents, "type = 'ambush'");
    CHECK(static_cast<std::int64_t>(read_ids(incidents).size()) ==
          db_count(server, "SELECT count(*) FROM incidents WHERE type = 'ambush'"));
}
