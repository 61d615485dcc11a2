// Crash safety of imports: `sitmap import` killed with SIGKILL in the middle of a large append
// leaves the data that was there intact and nothing of the import behind; the database passes
// PRAGMA integrity_check, and the same import run again succeeds.

#include "geo/sqlite.hpp"
#include "layers/schema.hpp"
#include "support/sitmap_process.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

using sitmap::test::run_sitmap;
using sitmap::test::TempDir;

namespace {

/// What a reader sees of the incidents: enough to notice any row added, lost or changed.
struct Snapshot {
    long long rows = 0;
    long long indexed = 0;    // rows in the R*Tree
    double fatalities = 0;
    std::string ids_digest;   // the ids in order, hashed by SQLite's own means
    long long last_change = 0;
    long long imported = 0;   // rows of the killed import

    bool operator==(const Snapshot&) const = default;
};

Snapshot snapshot(const std::string& path)
{
    auto db = sitmap::layers::open_database(path, sitmap::geo::Database::Mode::read_only);
    const auto integer = [&](const std::string& sql) {
        auto stmt = db.prepare(sql);
        stmt.step();
        return stmt.column_int64(0);
    };
    Snapshot s;
    s.rows = integer("SELECT count(*) FROM incidents");
    s.indexed = integer("SELECT count(*) FROM idx_incidents_geom");
    auto sum = db.prepare("SELECT total(fatalities), group_concat(id || ':' || occurred_at, ',') FROM "
                          "(SELECT id, fatalities, occurred_at FROM incidents ORDER BY fid)");
    sum.step();
    s.fatalities = sum.column_double(0);
    s.ids_digest = std::to_string(std::hash<std::string_view>{}(sum.column_text(1)));
    s.last_change = integer("SELECT coalesce(max(seq), 0) FROM sitmap_changes");
    s.imported = integer("SELECT count(*) FROM incidents WHERE id LIKE 'CRASH-%'");
    return s;
}

std::string integrity(const std::string& path)
{
    auto db = sitmap::layers::open_database(path, sitmap::geo::Database::Mode::read_only);
    auto stmt = db.prepare("PRAGMA integrity_check");
    std::string result;
    while (stmt.step()) result += std::string(stmt.column_text(0));
    return result;
}

/// Starts `sitmap import --mode append` of `csv`, waits until `ready()` (polled every 2 ms) or
/// `limit`, then SIGKILLs it. Fails the test when the import ended before the kill.
template <typename Ready>
void kill_import(const std::string& db, const std::string& csv, std::chrono::seconds limit, Ready ready)
{
    const auto binary = sitmap::test::env_or_throw("SITMAP_BINARY");
    std::vector<std::string> args = {binary, "import", "--db", db, "--layer", "incidents", "--mode", "append", csv};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    REQUIRE(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    const auto started = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - started < limit && !ready()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    int status = 0;
    const bool running = waitpid(pid, &status, WNOHANG) == 0;
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    INFO("killed after " << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() << " s");
    REQUIRE(running);  // else the file is too small for this machine: the kill came too late
}

std::uintmax_t size_of(const std::string& path)
{
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    return ec ? 0 : size;
}

} // namespace

TEST_CASE("import crash: kill -9 in the middle of an append leaves the old data whole and nothing half-written",
          "[cli][db][gdal][slow][large]") {
    TempDir dir;
    const auto db = dir.file("map.sqlite");
    REQUIRE(run_sitmap({"demo", "--db", db}).exit_code == 0);
    const auto before = snapshot(db);
    REQUIRE(before.rows > 0);
    REQUIRE(before.imported == 0);

    const int rows = 60000;
    const auto csv = dir.file("large.csv");
    {
        std::ofstream out(csv);
        out << "id,occurred_at,type,target,fatalities,injuries,description,source,synthetic,lon,lat\n";
        for (int i = 0; i < rows; ++i) {
            out << "CRASH-" << i << ",2024-0" << 1 + i % 9 << "-1" << i % 10 << "T0" << i % 10
                << ":00:00Z,ambush,un_mission," << i % 4 << ",1,generated for the crash test,test,1,"
                << -4.0 + (i % 500) * 0.01 << "," << 14.0 + (i % 300) * 0.01 << "\n";
        }
    }
    const auto wal = db + "-wal";
    auto rerun_mode = "append";

    SECTION("killed while it reads, repairs and joins, before its commit") {
        kill_import(db, csv, std::chrono::seconds(1), [] { return false; });
        CHECK(snapshot(db) == before);  // opening recovers from the log: as it was, to the row
    }
    SECTION("killed while it writes its commit to the write-ahead log") {
        // The import keeps its pages in a 128 MiB cache: the log grows only when it commits.
        kill_import(db, csv, std::chrono::seconds(120), [&] { return size_of(wal) > 0; });
        // All or nothing: the commit frame is the last one written.
        const auto after = snapshot(db);
        INFO("the kill came " << (after == before ? "before" : "after") << " the commit was whole");
        if (!(after == before)) {
            CHECK(after.rows == before.rows + rows);
            CHECK(after.imported == rows);
            CHECK(after.indexed == after.rows);
            rerun_mode = "upsert";  // the rows are there: the same ids again would be refused
        }
    }
    CHECK(integrity(db) == "ok");

    // And the same import, run again, goes through.
    const auto again = run_sitmap({"import", "--db", db, "--layer", "incidents", "--mode", rerun_mode, csv});
    INFO(again.output);
    REQUIRE(again.exit_code == 0);
    const auto after = snapshot(db);
    CHECK(after.rows == before.rows + rows);
    CHECK(after.imported == rows);
    CHECK(after.indexed == after.rows);
    CHECK(after.last_change > before.last_change);
    CHECK(integrity(db) == "ok");
}
