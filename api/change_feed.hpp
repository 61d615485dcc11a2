#pragma once
/// The change log read once for every event stream of a server (GET /events, events.hpp).

#include "layers/changes.hpp"
#include "api/request_helpers.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

namespace sitmap::server {

/// One poller of the change log per server, fanning its changes out to the open streams.
///
/// Streams ask since() at each of their turns; the first to ask once `interval` has passed
/// reads the log (on its worker's connection) for all of them, and every stream takes what it
/// has not seen from the changes kept in memory. So the log is read at most once per interval
/// whatever the number of streams, where each stream used to read it on its own timer. The
/// newest `window` changes are kept; a stream resuming from older ones (Last-Event-ID) reads
/// those from the log itself, once. Thread-safe.
class ChangeFeed {
public:
    /// Reads `config.database` (through connection()) at most once per `interval`.
    ChangeFeed(ServerConfig config, std::chrono::milliseconds interval, std::size_t window = 4096);

    /// The changes after sequence `after`, oldest first: those read so far, after reading the
    /// log if it is due. Throws sitmap::error when the database cannot be read.
    std::vector<layers::Change> since(std::int64_t after);

    /// How many times the log has been read (tests: one read serves every stream).
    std::uint64_t reads() const;

private:
    void poll_if_due();

    const ServerConfig m_config;
    const std::chrono::milliseconds m_interval;
    const std::size_t m_window;
    std::mutex m_polling;  // held by the one thread reading the log
    mutable std::mutex m_mutex;  // guards what follows
    std::deque<layers::Change> m_changes;  // oldest first
    std::int64_t m_base = -1;  // m_changes holds every change after this one (-1: nothing read yet)
    std::int64_t m_last = -1;  // the newest change read
    std::chrono::steady_clock::time_point m_polled{};
    std::uint64_t m_reads = 0;
};

} // namespace sitmap::server
