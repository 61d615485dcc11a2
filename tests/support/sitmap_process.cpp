#include "sitmap_process.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace sitmap::test {

CommandResult run_sitmap(const std::vector<std::string>& args) {
    std::string command = "'" + env_or_throw("SITMAP_BINARY") + "'";
    for (const auto& a : args) {
        std::string quoted;
        for (char c : a) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
        command += " '" + quoted + "'";
    }
    command += " 2>&1";
    CommandResult result;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) throw std::runtime_error("popen failed");
    char buffer[4096];
    std::size_t n = 0;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

unsigned short free_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

ServeProcess::ServeProcess(const std::string& db, std::vector<std::string> extra, std::string output_file) {
    for (int attempt = 0; attempt < 5; ++attempt) {
        if (start(db, extra, output_file)) return;
    }
    throw std::runtime_error("sitmap serve did not answer /healthz");
}

bool ServeProcess::start(const std::string& db, const std::vector<std::string>& extra, const std::string& output_file) {
    m_port = free_port();
    std::vector<std::string> args = {env_or_throw("SITMAP_BINARY"), "serve", "--db", db, "--host", "127.0.0.1",
                                     "--port", std::to_string(m_port), "--threads", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (!output_file.empty()) {
        posix_spawn_file_actions_addopen(&actions, 1, output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
    }
    const int spawned = posix_spawn(&m_pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
        throw std::runtime_error("cannot start " + args[0]);
    }
    if (wait_ready()) return true;
    stop();
    return false;
}

int ServeProcess::stop() {
    if (m_pid <= 0) return -1;
    kill(m_pid, SIGTERM);
    int status = 0;
    waitpid(m_pid, &status, 0);
    m_pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool ServeProcess::wait_ready() {
    namespace http = boost::beast::http;
    for (int i = 0; i < 100; ++i) {
        int status = 0;
        if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
            m_pid = -1;
            return false;  // exited (port taken?)
        }
        try {
            boost::asio::io_context io;
            boost::beast::tcp_stream stream(io);
            stream.connect({boost::asio::ip::make_address("127.0.0.1"), m_port});
            http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
            req.set(http::field::host, "127.0.0.1");
            http::write(stream, req);
            boost::beast::flat_buffer buffer;
            http::response<http::string_body> res;
            http::read(stream, buffer, res);
            if (res.result() == http::status::ok) return true;
        } catch (const std::exception&) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

} // namespace sitmap::test
