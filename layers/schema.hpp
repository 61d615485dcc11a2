#pragma once
/// The database schema: the five layer tables, their spatial indexes and the schema version.

#include "geo/sqlite.hpp"

#include <string>

namespace sitmap::layers {

/// The schema version this build writes; older databases are migrated on open for writing.
constexpr int schema_version = 5;

/// Opens a sitmap database. For Mode::create and read_write the schema is created or migrated
/// in one transaction; for read_only it must already be a sitmap database of a version this build
/// reads. Throws sitmap::error naming the file and what to do.
geo::Database open_database(const std::string& path, geo::Database::Mode mode);

/// The schema version stored in the database, 0 for a file that is not a sitmap database.
int stored_schema_version(geo::Database& db);

} // namespace sitmap::layers
