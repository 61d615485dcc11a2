#pragma once
/// Where the server's log (spdlog's default logger, access log included) goes: standard output,
/// through a buffer. spdlog's console sinks flush every line, one write(2) per request; under
/// load that is a system call per response for a line nobody reads at once.

#include <chrono>

namespace sitmap::app {

/// Replaces spdlog's default logger with one that writes the same lines (same pattern, same
/// level) to standard output through a buffer. The buffer goes out when 64 KiB have gathered,
/// every `every`, at once after a warning or worse, and on flush_log().
void buffer_log_output(std::chrono::seconds every = std::chrono::seconds(1));

/// Writes out what the default logger holds (call before the process ends).
void flush_log() noexcept;

} // namespace sitmap::app
