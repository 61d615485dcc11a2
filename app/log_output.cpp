#include "app/log_output.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cerrno>
#include <memory>
#include <mutex>
#include <string>

namespace sitmap::app {

namespace {

/// Formats lines into memory and writes them to standard output in large pieces.
class BufferedStdoutSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    ~BufferedStdoutSink() override { write_out(); }

protected:
    void sink_it_(const spdlog::details::log_msg& message) override
    {
        spdlog::memory_buf_t line;
        formatter_->format(message, line);
        m_buffer.append(line.data(), line.size());
        if (m_buffer.size() >= flush_size) {
            write_out();
        }
    }

    void flush_() override { write_out(); }

private:
    static constexpr std::size_t flush_size = 64 * 1024;

    void write_out() noexcept
    {
        std::size_t done = 0;
        while (done < m_buffer.size()) {
            const auto n = ::write(STDOUT_FILENO, m_buffer.data() + done, m_buffer.size() - done);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                break;  // standard output is gone: the lines are dropped, as a console sink would
            }
            done += static_cast<std::size_t>(n);
        }
        m_buffer.clear();
    }

    std::string m_buffer;
};

} // namespace

void buffer_log_output(std::chrono::seconds every)
{
    const auto previous = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>(previous->name(), std::make_shared<BufferedStdoutSink>());
    logger->set_level(previous->level());
    logger->flush_on(spdlog::level::warn);
    previous->flush();
    spdlog::set_default_logger(logger);
    spdlog::flush_every(every);
}

void flush_log() noexcept
{
    try {
        spdlog::default_logger()->flush();
    } catch (...) {
        // Nothing is left to report a failing log to.
    }
}

} // namespace sitmap::app
