// `sitmap demo --db F`: a database holding the embedded default dataset.
#include "app/command.hpp"

#include "layers/demo.hpp"
#include "layers/schema.hpp"

#include <cstdio>
#include <memory>
#include <string>

namespace sitmap::app {

namespace {

int create_demo(const std::string& db_path) {
    auto db = layers::open_database(db_path, geo::Database::Mode::create);
    layers::import_default_dataset(db);
    auto count = [&](const char* layer) {
        auto stmt = db.prepare(std::string("SELECT count(*) FROM ") + layer);
        stmt.step();
        return static_cast<long long>(stmt.column_int64(0));
    };
    std::printf("%s: default dataset: %lld regions, %lld cercles, %lld routes, %lld bases, %lld incidents (synthetic)\n",
                db_path.c_str(), count("regions"), count("cercles"), count("routes"), count("bases"),
                count("incidents"));
    return 0;
}

} // namespace

Command add_demo_command(CLI::App& app) {
    auto db_path = std::make_shared<std::string>();
    auto* demo = app.add_subcommand("demo", "Create a database holding the embedded default dataset");
    demo->add_option("--db", *db_path, "SpatiaLite file to create or fill")->required();
    return {demo, [db_path] { return create_demo(*db_path); }};
}

} // namespace sitmap::app
