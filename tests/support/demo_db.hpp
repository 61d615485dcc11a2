#pragma once
/// The default dataset in a temporary SpatiaLite file, imported once per test program.

#include "layers/demo.hpp"
#include "layers/schema.hpp"
#include "temp_dir.hpp"

namespace sitmap::test {

inline geo::Database& demo_db() {
    static TempDir dir;
    static geo::Database db = [] {
        auto created = layers::open_database(dir.file("demo.db"), geo::Database::Mode::create);
        layers::import_default_dataset(created);
        return created;
    }();
    return db;
}

} // namespace sitmap::test
