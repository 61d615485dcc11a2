#include "sitmap_process.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using sitmap::test::run_sitmap;

TEST_CASE("cli: --help works on every command", "[cli]") {
    for (const auto& command : std::vector<std::vector<std::string>>{
             {"--help"}, {"demo", "--help"}, {"import", "--help"}, {"serve", "--help"}}) {
        const auto result = run_sitmap(command);
        INFO(result.output);
        CHECK(result.exit_code == 0);
        CHECK(result.output.find(command.size() == 1 ? "serve" : "--db") != std::string::npos);
    }
}

TEST_CASE("cli: a wrong argument is one line on stderr and exit code 2", "[cli]") {
    for (const auto& command : std::vector<std::vector<std::string>>{
             {}, {"fly"}, {"serve"}, {"serve", "--db", "x.sqlite", "--port", "http"}, {"import", "--db", "x.sqlite", "--layer", "towns", "a.csv"},
             {"demo", "--db"}}) {
        const auto result = run_sitmap(command);
        INFO(result.output);
        CHECK(result.exit_code == 2);
        CHECK(std::count(result.output.begin(), result.output.end(), '\n') == 1);
    }
}

TEST_CASE("cli: serving a database that does not exist says how to create it", "[cli]") {
    const auto result = run_sitmap({"serve", "--db", "/nonexistent/none.sqlite"});
    CHECK(result.exit_code == 2);
    CHECK(result.output.find("sitmap demo --db") != std::string::npos);
}

TEST_CASE("cli: an import error names the file, the feature and the field, and writes nothing", "[cli][gdal]") {
    sitmap::test::TempDir dir;
    const auto db = dir.file("cli.sqlite");
    REQUIRE(run_sitmap({"demo", "--db", db}).exit_code == 0);
    const auto csv = dir.file("bad.csv");
    std::ofstream(csv) << "id,occurred_at,type,target,fatalities,lon,lat\n"
                          "A1,2021-01-02,ambush,un_mission,1,-0.05,16.27\n"
                          "A2,2021-13-45,ambush,un_mission,1,-0.05,16.27\n";
    const auto result = run_sitmap({"import", "--db", db, "--layer", "incidents", "--mode", "append", csv});
    INFO(result.output);
    CHECK(result.exit_code == 2);
    CHECK(result.output.find("bad.csv") != std::string::npos);
    CHECK(result.output.find("feature 2") != std::string::npos);
    CHECK(result.output.find("occurred_at") != std::string::npos);
    const auto after = run_sitmap({"import", "--db", db, "--layer", "incidents", "--mode", "append", "--skip-invalid", csv});
    INFO(after.output);
    CHECK(after.exit_code == 0);
    CHECK(after.output.find("written 1") != std::string::npos);
    CHECK(after.output.find("skipped 1") != std::string::npos);
}
