#include "geo/sqlite.hpp"

#include "geo/error.hpp"

#include <sqlite3.h>

#include <string>

namespace sitmap::geo {

namespace {

thread_local double t_step_seconds = 0;

// SQLITE_TRACE_PROFILE callback: `elapsed` points to the statement's run time in nanoseconds.
int add_statement_time(unsigned type, void*, void*, void* elapsed) {
    if (type == SQLITE_TRACE_PROFILE) t_step_seconds += static_cast<double>(*static_cast<sqlite3_int64*>(elapsed)) * 1e-9;
    return 0;
}

} // namespace

void Database::Close::operator()(sqlite3* db) const noexcept {
    sqlite3_close_v2(db);
}

Database::Database(std::unique_ptr<sqlite3, Close> db, std::string path)
    : m_db(std::move(db)), m_path(std::move(path)) {}

Database Database::open(const std::string& path, Mode mode) {
    int flags = SQLITE_OPEN_NOMUTEX;  // one connection per thread, never shared
    switch (mode) {
        case Mode::read_only: flags |= SQLITE_OPEN_READONLY; break;
        case Mode::read_write: flags |= SQLITE_OPEN_READWRITE; break;
        case Mode::create: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE; break;
    }
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    std::unique_ptr<sqlite3, Close> db(raw);
    if (rc != SQLITE_OK) {
        throw error("cannot open database " + path + ": " +
                    (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)) +
                    (mode == Mode::create ? "" : " (create it with `sitmap demo --db FILE` or `sitmap import`)"));
    }
    sqlite3_busy_timeout(raw, 10000);
    sqlite3_extended_result_codes(raw, 1);
    // Database time is what SQLite itself reports once per finished statement, not a clock read
    // around every row's step (a tile or a near-base scan steps hundreds of thousands of rows).
    sqlite3_trace_v2(raw, SQLITE_TRACE_PROFILE, add_statement_time, nullptr);

    // SpatiaLite is loaded as an extension and the loader is switched off again at once,
    // so no SQL can load another library.
    sqlite3_db_config(raw, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, nullptr);
    char* message = nullptr;
    if (sqlite3_load_extension(raw, "mod_spatialite", nullptr, &message) != SQLITE_OK) {
        std::string why = message ? message : "unknown error";
        sqlite3_free(message);
        throw error("cannot load SpatiaLite (mod_spatialite) into " + path + ": " + why +
                    " (install libsqlite3-mod-spatialite, or run scripts/setup)");
    }
    sqlite3_db_config(raw, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);

    Database result(std::move(db), path);
    if (mode != Mode::read_only) {
        result.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
    }
    result.exec("PRAGMA foreign_keys=ON;");
    // A reader maps the file: pages are read in place from the OS page cache instead of copied
    // by pread into SQLite's 2 MB cache on every miss, the largest single cost of big tiles and
    // radius queries. A connection that writes maps nothing: it reads few pages, and its mapping
    // would only add the file's pages to the process's resident memory a second time.
    if (mode == Mode::read_only) {
        result.exec("PRAGMA mmap_size=2147483648;");
    }
    return result;
}

void Database::exec(std::string_view sql) {
    char* message = nullptr;
    const std::string text(sql);
    if (sqlite3_exec(m_db.get(), text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
        std::string why = message ? message : sqlite3_errmsg(m_db.get());
        sqlite3_free(message);
        throw internal_error("database " + m_path + ": " + why);
    }
}

Statement Database::prepare(std::string_view sql) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(m_db.get(), sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
        throw internal_error("database " + m_path + ": cannot prepare statement: " +
                             sqlite3_errmsg(m_db.get()));
    }
    return Statement(stmt, m_db.get());
}

std::int64_t Database::last_insert_rowid() const {
    return sqlite3_last_insert_rowid(m_db.get());
}

int Database::changes() const {
    return sqlite3_changes(m_db.get());
}

void Statement::Finalize::operator()(sqlite3_stmt* stmt) const noexcept {
    sqlite3_finalize(stmt);
}

Statement::Statement(sqlite3_stmt* stmt, sqlite3* db) : m_stmt(stmt), m_db(db) {}

void Statement::check(int rc, const char* what) const {
    if (rc != SQLITE_OK) {
        throw internal_error(std::string("database: ") + what + ": " + sqlite3_errmsg(m_db));
    }
}

Statement& Statement::bind(int index, std::int64_t value) {
    check(sqlite3_bind_int64(m_stmt.get(), index, value), "bind");
    return *this;
}

Statement& Statement::bind(int index, double value) {
    check(sqlite3_bind_double(m_stmt.get(), index, value), "bind");
    return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
    check(sqlite3_bind_text64(m_stmt.get(), index, text.data(), text.size(), SQLITE_TRANSIENT,
                              SQLITE_UTF8),
          "bind");
    return *this;
}

Statement& Statement::bind_blob(int index, const void* data, std::size_t size) {
    check(sqlite3_bind_blob64(m_stmt.get(), index, data, size, SQLITE_TRANSIENT), "bind");
    return *this;
}

Statement& Statement::bind_null(int index) {
    check(sqlite3_bind_null(m_stmt.get(), index), "bind");
    return *this;
}

double step_seconds() noexcept { return t_step_seconds; }

std::int64_t sqlite_memory_used() noexcept { return sqlite3_memory_used(); }

bool Statement::step() {
    const int rc = sqlite3_step(m_stmt.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    const int primary = rc & 0xff;
    if (primary == SQLITE_CONSTRAINT) {
        throw input_error(std::string("constraint failed: ") + sqlite3_errmsg(m_db));
    }
    if (primary == SQLITE_FULL) {
        throw error("database or disk is full: nothing was written");
    }
    throw internal_error(std::string("database: ") + sqlite3_errmsg(m_db));
}

void Statement::run() {
    while (step()) {
    }
}

void Statement::reset() {
    sqlite3_reset(m_stmt.get());
    sqlite3_clear_bindings(m_stmt.get());
}

bool Statement::is_null(int column) const {
    return sqlite3_column_type(m_stmt.get(), column) == SQLITE_NULL;
}

std::int64_t Statement::column_int64(int column) const {
    return sqlite3_column_int64(m_stmt.get(), column);
}

double Statement::column_double(int column) const {
    return sqlite3_column_double(m_stmt.get(), column);
}

std::string_view Statement::column_text(int column) const {
    const auto* text = sqlite3_column_text(m_stmt.get(), column);
    if (!text) return {};
    return {reinterpret_cast<const char*>(text),
            static_cast<std::size_t>(sqlite3_column_bytes(m_stmt.get(), column))};
}

std::string_view Statement::column_blob(int column) const {
    const void* data = sqlite3_column_blob(m_stmt.get(), column);
    if (!data) return {};
    return {static_cast<const char*>(data),
            static_cast<std::size_t>(sqlite3_column_bytes(m_stmt.get(), column))};
}

int Statement::column_type(int column) const {
    return sqlite3_column_type(m_stmt.get(), column);
}

int Statement::column_count() const {
    return sqlite3_column_count(m_stmt.get());
}

std::string_view Statement::column_name(int column) const {
    const char* name = sqlite3_column_name(m_stmt.get(), column);
    return name ? std::string_view(name) : std::string_view();
}

Transaction::Transaction(Database& db) : m_db(db) {
    m_db.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
    if (!m_done) {
        char* message = nullptr;
        sqlite3_exec(m_db.handle(), "ROLLBACK", nullptr, nullptr, &message);
        sqlite3_free(message);
    }
}

void Transaction::commit() {
    m_db.exec("COMMIT");
    m_done = true;
}

} // namespace sitmap::geo
