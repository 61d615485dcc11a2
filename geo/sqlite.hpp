#pragma once
/// RAII wrappers for SQLite with SpatiaLite: Database, Statement, Transaction.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace sitmap::geo {

class Statement;

/// One SQLite connection with mod_spatialite loaded. Not shared between threads.
class Database {
public:
    enum class Mode { read_only, read_write, create };

    /// Opens (or creates) the file, loads mod_spatialite, turns on WAL and foreign keys.
    /// Throws sitmap::error naming the file when it cannot be opened or SpatiaLite cannot be loaded.
    static Database open(const std::string& path, Mode mode);

    /// Runs one or more statements that take no parameters (schema, pragmas).
    void exec(std::string_view sql);

    /// Prepares one statement; throws sitmap::internal_error with the SQLite message.
    Statement prepare(std::string_view sql);

    /// The rowid of the last successful INSERT on this connection.
    std::int64_t last_insert_rowid() const;

    /// Rows changed by the last statement.
    int changes() const;

    const std::string& path() const { return m_path; }
    sqlite3* handle() const { return m_db.get(); }

private:
    struct Close {
        void operator()(sqlite3* db) const noexcept;
    };
    Database(std::unique_ptr<sqlite3, Close> db, std::string path);

    std::unique_ptr<sqlite3, Close> m_db;
    std::string m_path;
};

/// A prepared statement. Parameters are 1-based, columns 0-based, as in SQLite.
class Statement {
public:
    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
    Statement& bind(int index, double value);
    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
    Statement& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
    Statement& bind_blob(int index, const void* data, std::size_t size);
    Statement& bind_null(int index);
    template <typename T>
    Statement& bind(int index, const std::optional<T>& value) {
        return value ? bind(index, *value) : bind_null(index);
    }

    /// Steps once; true when a row is ready, false when done. Throws on error.
    bool step();
    /// Steps to the end, for statements that return no rows.
    void run();
    /// Resets for re-execution and clears the bindings.
    void reset();

    bool is_null(int column) const;
    std::int64_t column_int64(int column) const;
    double column_double(int column) const;
    std::string_view column_text(int column) const;
    std::string_view column_blob(int column) const;
    int column_type(int column) const;
    int column_count() const;
    std::string_view column_name(int column) const;

    sqlite3_stmt* handle() const { return m_stmt.get(); }

private:
    friend class Database;
    struct Finalize {
        void operator()(sqlite3_stmt* stmt) const noexcept;
    };
    Statement(sqlite3_stmt* stmt, sqlite3* db);
    void check(int rc, const char* what) const;

    std::unique_ptr<sqlite3_stmt, Finalize> m_stmt;
    sqlite3* m_db;
};

/// Seconds of statements this thread has finished (as SQLite measures them) since it started: read it before and
/// after some work to know how much of it was database time (the server's metrics do).
double step_seconds() noexcept;

/// Bytes SQLite holds allocated in this process, every connection's page cache included.
std::int64_t sqlite_memory_used() noexcept;

/// BEGIN IMMEDIATE on construction; rolls back in the destructor unless commit() ran.
class Transaction {
public:
    explicit Transaction(Database& db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    void commit();

private:
    Database& m_db;
    bool m_done = false;
};

} // namespace sitmap::geo
