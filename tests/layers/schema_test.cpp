#include "layers/schema.hpp"

#include "geo/error.hpp"
#include "layers/layer.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace sitmap;
using geo::Database;

TEST_CASE("schema: a new database has the five layers, spatial indexes, WAL and the current version", "[db]") {
    test::TempDir dir;
    auto db = layers::open_database(dir.file("new.sqlite"), Database::Mode::create);
    CHECK(layers::stored_schema_version(db) == layers::schema_version);

    auto journal = db.prepare("PRAGMA journal_mode");
    REQUIRE(journal.step());
    CHECK(journal.column_text(0) == "wal");

    for (const auto& layer : layers::all_layers()) {
        auto stmt = db.prepare(
            "SELECT geometry_type, srid, spatial_index_enabled FROM geometry_columns WHERE f_table_name = ?");
        stmt.bind(1, layer.name);
        INFO(layer.name);
        REQUIRE(stmt.step());
        CHECK(stmt.column_int64(1) == 4326);
        CHECK(stmt.column_int64(2) == 1);
        auto index = db.prepare("SELECT count(*) FROM sqlite_master WHERE name = ?");
        index.bind(1, "idx_" + layer.name + "_geom");
        REQUIRE(index.step());
        CHECK(index.column_int64(0) == 1);
    }
}

TEST_CASE("schema: reading connections map the file, writing ones do not", "[db]") {
    test::TempDir dir;
    const auto path = dir.file("map.sqlite");
    const auto mmap_size = [](Database& db) {
        auto stmt = db.prepare("PRAGMA mmap_size");
        REQUIRE(stmt.step());
        return stmt.column_int64(0);
    };
    auto created = layers::open_database(path, Database::Mode::create);
    auto writer = layers::open_database(path, Database::Mode::read_write);
    auto reader = layers::open_database(path, Database::Mode::read_only);
    CHECK(mmap_size(created) == 0);
    CHECK(mmap_size(writer) == 0);
    CHECK(mmap_size(reader) >= std::int64_t{1} << 30);  // 2 GiB asked; SQLite caps it at its build's limit
}

TEST_CASE("schema: opening again keeps the data and does not migrate twice", "[db]") {
    test::TempDir dir;
    const auto path = dir.file("again.sqlite");
    {
        auto db = layers::open_database(path, Database::Mode::create);
        db.exec("INSERT INTO routes (id, name, geom) VALUES ('R1', 'Gao - Ansongo', "
                "CastToMulti(GeomFromText('LINESTRING(-0.04 16.27, 0.50 15.66)', 4326)))");
    }
    auto db = layers::open_database(path, Database::Mode::read_write);
    auto count = db.prepare("SELECT count(*) FROM routes");
    REQUIRE(count.step());
    CHECK(count.column_int64(0) == 1);
    CHECK(layers::stored_schema_version(db) == layers::schema_version);
}

TEST_CASE("schema: the database refuses values outside a layer's allowed set", "[db]") {
    test::TempDir dir;
    auto db = layers::open_database(dir.file("check.sqlite"), Database::Mode::create);
    CHECK_THROWS_AS(db.exec("INSERT INTO bases (id, name, kind, geom) VALUES ('B1', 'x', 'castle', "
                            "GeomFromText('POINT(-0.04 16.27)', 4326))"),
                    internal_error);
    CHECK_NOTHROW(db.exec("INSERT INTO bases (id, name, kind, geom) VALUES ('B1', 'x', 'camp', "
                          "GeomFromText('POINT(-0.04 16.27)', 4326))"));
}

TEST_CASE("schema: read-only opening refuses a file that is not a sitmap database", "[db]") {
    test::TempDir dir;
    const auto path = dir.file("plain.sqlite");
    { auto raw = Database::open(path, Database::Mode::create); raw.exec("CREATE TABLE t (x)"); }
    CHECK_THROWS_WITH(layers::open_database(path, Database::Mode::read_only),
                      Catch::Contains("is not a sitmap database"));
    CHECK_THROWS_WITH(layers::open_database(dir.file("missing.sqlite"), Database::Mode::read_only),
                      Catch::Contains("cannot open database"));
}

TEST_CASE("schema: a transaction not committed leaves nothing behind", "[db]") {
    test::TempDir dir;
    auto db = layers::open_database(dir.file("tx.sqlite"), Database::Mode::create);
    {
        geo::Transaction tx(db);
        db.exec("INSERT INTO routes (id, name, geom) VALUES ('R1', 'x', "
                "CastToMulti(GeomFromText('LINESTRING(0 15, 1 16)', 4326)))");
    }
    auto count = db.prepare("SELECT count(*) FROM routes");
    REQUIRE(count.step());
    CHECK(count.column_int64(0) == 0);
}

TEST_CASE("schema: a version 3 database migrates to 4, its incidents verified, tokens and audit added", "[db]") {
    test::TempDir dir;
    const auto path = dir.file("v3.sqlite");
    {
        // A database as version 3 left it: made now, then the version 4 and 5 additions taken away.
        auto db = layers::open_database(path, Database::Mode::create);
        db.exec("DROP INDEX incidents_points; ALTER TABLE incidents DROP COLUMN status; ALTER TABLE incidents DROP COLUMN reported_by; "
                "ALTER TABLE incidents DROP COLUMN verified_by; DROP TABLE sitmap_tokens; DROP TABLE sitmap_audit; "
                "ALTER TABLE sitmap_changes DROP COLUMN action; ALTER TABLE sitmap_changes DROP COLUMN feature_id; "
                "UPDATE sitmap_meta SET value = '3' WHERE key = 'schema_version'");
        db.exec("INSERT INTO incidents (id, occurred_at, type, geom) VALUES ('I1', '2020-01-01T00:00:00Z', 'ambush', "
                "MakePoint(-0.04, 16.27, 4326))");
        db.exec("INSERT INTO sitmap_changes (layer, min_lon, min_lat, max_lon, max_lat, changed_at) "
                "VALUES ('incidents', 0, 0, 1, 1, '2020-01-01T00:00:00Z')");
    }
    REQUIRE_THROWS_AS(layers::open_database(path, Database::Mode::read_only), error);
    auto db = layers::open_database(path, Database::Mode::read_write);
    CHECK(layers::stored_schema_version(db) == layers::schema_version);
    auto row = db.prepare("SELECT status, reported_by IS NULL FROM incidents WHERE id = 'I1'");
    REQUIRE(row.step());
    CHECK(row.column_text(0) == "verified");
    CHECK(row.column_int64(1) == 1);
    auto change = db.prepare("SELECT action, feature_id IS NULL FROM sitmap_changes");
    REQUIRE(change.step());
    CHECK(change.column_text(0) == "import");
    CHECK(change.column_int64(1) == 1);
    CHECK(db.prepare("SELECT count(*) FROM sitmap_tokens").step());
    CHECK(db.prepare("SELECT count(*) FROM sitmap_audit").step());
    REQUIRE_THROWS(db.exec("UPDATE incidents SET status = 'maybe'"));
}
