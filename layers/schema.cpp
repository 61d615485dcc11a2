#include "layers/schema.hpp"

#include "geo/error.hpp"
#include "layers/layer.hpp"

#include <functional>
#include <vector>

namespace sitmap::layers {

namespace {

const char* sql_type(ColumnType type) {
    switch (type) {
        case ColumnType::integer:
        case ColumnType::boolean: return "INTEGER";
        case ColumnType::real: return "REAL";
        default: return "TEXT";
    }
}

/// A column's definition for CREATE TABLE and ALTER TABLE ADD COLUMN (enum values and defaults
/// come from the Layer definitions, never from input).
std::string column_sql(const Column& c) {
    std::string sql = c.name + " " + sql_type(c.type);
    if (c.required) sql += " NOT NULL";
    if (!c.default_value.empty()) sql += " DEFAULT '" + c.default_value + "'";
    if (!c.allowed.empty()) {
        sql += " CHECK (" + c.name + " IN (";
        for (std::size_t i = 0; i < c.allowed.size(); ++i) sql += (i ? ",'" : "'") + c.allowed[i] + "'";
        sql += "))";
    }
    if (c.type == ColumnType::boolean) sql += " CHECK (" + c.name + " IN (0,1))";
    return sql;
}

std::string create_table_sql(const Layer& layer) {
    std::string sql = "CREATE TABLE " + layer.name +
                      " (fid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE";
    for (const auto& c : layer.columns) sql += ", " + column_sql(c);
    // Attributes of the source that the schema has no column for, kept as a JSON object.
    sql += ", props TEXT)";
    return sql;
}

bool has_column(geo::Database& db, const std::string& table, const std::string& column) {
    auto stmt = db.prepare("SELECT 1 FROM pragma_table_info(?) WHERE name = ?");
    stmt.bind(1, table).bind(2, column);
    return stmt.step();
}

// Version 1: the five layers with spatial indexes.
void migrate_to_1(geo::Database& db) {
    db.exec("SELECT InitSpatialMetadata(0, 'WGS84')");
    for (const auto& layer : all_layers()) {
        db.exec(create_table_sql(layer));
        db.exec("SELECT AddGeometryColumn('" + layer.name + "', 'geom', 4326, '" + layer.spatialite_type() +
                "', 'XY', 1)");
        db.exec("SELECT CreateSpatialIndex('" + layer.name + "', 'geom')");
    }
    db.exec("CREATE INDEX incidents_occurred_at ON incidents (occurred_at)");
    db.exec("CREATE INDEX incidents_type ON incidents (type, occurred_at)");
    db.exec("CREATE INDEX cercles_region ON cercles (region_id)");
}

// Version 2: the change log read by running servers to invalidate cached tiles.
void migrate_to_2(geo::Database& db) {
    db.exec("CREATE TABLE sitmap_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, layer TEXT NOT NULL, "
            "min_lon REAL NOT NULL, min_lat REAL NOT NULL, max_lon REAL NOT NULL, max_lat REAL NOT NULL, "
            "changed_at TEXT NOT NULL)");
}

// Version 3: counts per cercle or region over a time window read this index alone, never the rows.
void migrate_to_3(geo::Database& db) {
    db.exec("CREATE INDEX incidents_window ON incidents (occurred_at, type, target, cercle_id, region_id)");
}

// Version 4: the write API. Incidents get a verification status (rows already there were
// imported: verified) and who reported and verified them; API tokens (hashes only); the audit log;
// the change log says what happened to which feature.
void migrate_to_4(geo::Database& db) {
    const Layer& incidents = find_layer("incidents");
    for (const char* name : {"status", "reported_by", "verified_by"}) {
        // A database created by this build has them from version 1 (made from the current definitions).
        if (!has_column(db, "incidents", name)) db.exec("ALTER TABLE incidents ADD COLUMN " + column_sql(*incidents.column(name)));
    }
    db.exec("CREATE TABLE sitmap_tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
            "role TEXT NOT NULL CHECK (role IN ('viewer','editor','verifier','admin')), secret_hash BLOB NOT NULL, "
            "created_at TEXT NOT NULL, revoked_at TEXT)");
    db.exec("CREATE TABLE sitmap_audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, "
            "action TEXT NOT NULL, layer TEXT NOT NULL, feature_id TEXT NOT NULL, before TEXT, after TEXT)");
    db.exec("CREATE INDEX sitmap_audit_feature ON sitmap_audit (layer, feature_id)");
    db.exec("ALTER TABLE sitmap_changes ADD COLUMN action TEXT NOT NULL DEFAULT 'import'");
    db.exec("ALTER TABLE sitmap_changes ADD COLUMN feature_id TEXT");
}

// Version 5: incident positions and the attributes tiles filter and cluster on, in one covering
// index: low-zoom clustered tiles scan it instead of visiting a million rows through the R*Tree.
void migrate_to_5(geo::Database& db) {
    db.exec("CREATE INDEX IF NOT EXISTS incidents_points ON incidents (type, occurred_at, target, status, geom)");
}

const std::vector<std::function<void(geo::Database&)>>& migrations() {
    static const std::vector<std::function<void(geo::Database&)>> list = {migrate_to_1, migrate_to_2,
                                                                          migrate_to_3, migrate_to_4, migrate_to_5};
    return list;
}

bool has_table(geo::Database& db, const char* name) {
    auto stmt = db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?");
    stmt.bind(1, name);
    return stmt.step();
}

} // namespace

int stored_schema_version(geo::Database& db) {
    if (!has_table(db, "sitmap_meta")) return 0;
    auto stmt = db.prepare("SELECT value FROM sitmap_meta WHERE key='schema_version'");
    return stmt.step() ? std::stoi(std::string(stmt.column_text(0))) : 0;
}

geo::Database open_database(const std::string& path, geo::Database::Mode mode) {
    auto db = geo::Database::open(path, mode);
    int version = stored_schema_version(db);
    if (version > schema_version) {
        throw error(path + " has schema version " + std::to_string(version) + ", newer than this sitmap (" +
                    std::to_string(schema_version) + "): upgrade sitmap");
    }
    if (version == schema_version) return db;
    if (mode == geo::Database::Mode::read_only) {
        throw error(path + (version == 0 ? " is not a sitmap database" : " needs a schema migration") +
                    ": run `sitmap demo --db " + path + "` or `sitmap import --db " + path + " ...` first");
    }
    if (version == 0 && has_table(db, "geometry_columns")) {
        throw error(path + " is a SpatiaLite database but not a sitmap one: use a new file");
    }
    geo::Transaction tx(db);
    if (version == 0) db.exec("CREATE TABLE sitmap_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    for (int v = version; v < schema_version; ++v) migrations()[static_cast<std::size_t>(v)](db);
    auto stmt = db.prepare("INSERT OR REPLACE INTO sitmap_meta (key, value) VALUES ('schema_version', ?)");
    stmt.bind(1, std::to_string(schema_version)).run();
    tx.commit();
    return db;
}

} // namespace sitmap::layers
