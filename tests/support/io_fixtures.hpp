#pragma once
/// Helpers of the import and export tests: fixtures, shell commands (ogr2ogr, zip), SQL scalars,
/// and generated files.

#include "geo/sqlite.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

namespace sitmap::test {

/// A file of tests/data.
inline std::string fixture(const std::string& name) {
    return env_or_throw("SITMAP_TEST_DATA") + "/" + name;
}

/// Runs a shell command (ogr2ogr, zip...) and requires it to succeed.
inline void run(const std::string& command) {
    INFO(command);
    REQUIRE(std::system((command + " >/dev/null 2>&1").c_str()) == 0);
}

/// The standard output of a shell command.
inline std::string run_output(const std::string& command) {
    std::string output;
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe);
    char buffer[4096];
    std::size_t n = 0;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
    pclose(pipe);
    return output;
}

inline std::int64_t scalar(geo::Database& db, const std::string& sql) {
    auto stmt = db.prepare(sql);
    REQUIRE(stmt.step());
    return stmt.column_int64(0);
}

inline double real(geo::Database& db, const std::string& sql) {
    auto stmt = db.prepare(sql);
    REQUIRE(stmt.step());
    return stmt.column_double(0);
}

/// The first column of the first row as text ("" for NULL).
inline std::string text(geo::Database& db, const std::string& sql) {
    auto stmt = db.prepare(sql);
    REQUIRE(stmt.step());
    return stmt.is_null(0) ? std::string() : std::string(stmt.column_text(0));
}

inline void write_file(const std::string& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary);
    out << content;
    REQUIRE(out.good());
}

/// A CSV of `count` valid incidents (ids BIG-1...) spread over Mali, in data/incidents.csv's columns.
inline void write_incidents_csv(const std::string& path, int count) {
    std::ofstream out(path);
    out << "id,occurred_at,type,target,fatalities,injuries,description,source,synthetic,lon,lat\n";
    for (int i = 1; i <= count; ++i) {
        const double lon = -11.0 + (i % 1500) * 0.01;
        const double lat = 11.0 + (i / 1500 % 1300) * 0.01;
        out << "BIG-" << i << ",2020-01-" << (10 + i % 20) << "T10:00:00Z,ambush,civilians," << i % 4
            << ",0,generated row " << i << ",test,1," << lon << ',' << lat << '\n';
    }
    REQUIRE(out.good());
}

} // namespace sitmap::test
