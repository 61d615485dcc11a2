#pragma once
/// Runs the real `sitmap` binary: one-shot commands with their exit code and output, and
/// `sitmap serve` as a child process on a free loopback port, stopped with SIGTERM at the end.
/// The implementation is in sitmap_process.cpp, compiled once for every test program.

#include "temp_dir.hpp"

#include <string>
#include <sys/types.h>
#include <vector>

namespace sitmap::test {

struct CommandResult {
    int exit_code = -1;
    std::string output;  ///< stdout and stderr together
};

/// Runs `sitmap ARGS...` to completion.
CommandResult run_sitmap(const std::vector<std::string>& args);

/// A port that was free a moment ago on 127.0.0.1.
unsigned short free_port();

/// `sitmap serve --db DB` on a free port, ready when constructed, stopped when destroyed.
/// With `output_file`, the server's stdout and stderr are appended to that file.
class ServeProcess {
public:
    explicit ServeProcess(const std::string& db, std::vector<std::string> extra = {}, std::string output_file = {});
    ~ServeProcess() { stop(); }
    ServeProcess(const ServeProcess&) = delete;
    ServeProcess& operator=(const ServeProcess&) = delete;

    unsigned short port() const { return m_port; }
    pid_t pid() const { return m_pid; }

    /// SIGTERM and wait; returns the exit status (or -1 when it was not running).
    int stop();

private:
    bool start(const std::string& db, const std::vector<std::string>& extra, const std::string& output_file);
    bool wait_ready();

    unsigned short m_port = 0;
    pid_t m_pid = -1;
};

} // namespace sitmap::test
