#pragma once
/// The worker threads that answer requests off the I/O threads, and their admission by kind
/// of work: each lane (cheap, tiles, heavy) has its own queue and limit.

#include "http/http.hpp"
#include "http/work.hpp"

#include <array>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

namespace sitmap::server {

namespace metrics {
class Gauge;
class Counter;
} // namespace metrics

/// max(2, the hardware threads): the default number of workers.
unsigned default_workers() noexcept;

/// How many workers there are and how many jobs each lane may hold waiting.
struct WorkerOptions {
    /// Threads for tile builds and heavy work (they also take cheap work when they are free).
    unsigned workers = default_workers();
    /// Of those, how many may run heavy work at once (0: workers - 1, at least 1), so that a
    /// tile is never stuck behind heavy work when there are two workers or more.
    unsigned heavy_workers = 0;
    /// Threads that take only cheap work, so that it never waits behind tiles or heavy work.
    unsigned cheap_workers = 1;
    /// Jobs waiting in each lane (not counting those running); one more is refused (503).
    std::size_t cheap_queue = 256;
    std::size_t tile_queue = 128;
    /// 64 refused items pages in `scripts/bench load` (64 connections, 1M incidents): a browser
    /// map and a few analysts fill that; 128 as for tiles.
    std::size_t heavy_queue = 128;
    /// Added to the Linux nice of the workers that build tiles and run heavy work (cheap workers and the I/O
    /// threads keep the process's): when they fill the cores, the scheduler still lets a cheap
    /// answer or a socket write in at once rather than after their time slices. 0: unchanged.
    int busy_nice = 5;
};

/// 503 with Retry-After (seconds) and a JSON reason {"error":"overloaded","message":...}: the
/// server is full and the client may come back.
StringResponse overloaded(std::string_view message, std::string_view retry_after = "1");

/// A bounded pool of worker threads with one queue per lane (Work::cheap, tiles, heavy).
///
/// Cheap workers take only cheap jobs. The other workers take a cheap job first when one waits,
/// else the oldest tile or heavy job, a heavy one only while fewer than `heavy_workers` run.
/// Each worker thread keeps its own SQLite connection (request_helpers.hpp: connection()), as
/// every thread does. Jobs must not throw (one that does is logged and dropped). Thread-safe.
/// Metrics: sitmap_work_queued{lane} (jobs waiting) and sitmap_work_refused_total{lane}.
class Workers {
public:
    /// Starts the threads. Throws std::invalid_argument when `workers` is 0.
    explicit Workers(WorkerOptions options = {});

    /// stop().
    ~Workers();

    Workers(const Workers&) = delete;
    Workers& operator=(const Workers&) = delete;

    /// Admits `job` into `work`'s lane; false (`job` dropped) when the lane already holds its
    /// limit of waiting jobs, or the pool is stopping: the caller answers 503 (overloaded()).
    /// Work::io is not a lane: such work runs where it is, never here (std::invalid_argument).
    bool submit(Work work, Job job);

    /// Queues the next step of work admitted already (the next chunk of a streamed response):
    /// never refused for a full queue, since the request holds its place already. Dropped only
    /// when the pool is stopping.
    void resume(Work work, Job job);

    /// Finishes the jobs running, drops those waiting (destroying them on this thread) and joins
    /// the threads. Idempotent.
    void stop() noexcept;

    /// The limit of waiting jobs of `work`'s lane.
    std::size_t queue_limit(Work work) const;

    /// submit() as a Schedule, for handlers' follow-up work (RouteContext::run_on).
    const Schedule& schedule() const noexcept { return m_schedule; }

private:
    struct Queued {
        std::uint64_t order = 0;
        Job job;
    };
    struct Lane {
        std::deque<Queued> jobs;
        std::size_t limit = 0;
        std::size_t running = 0;
        metrics::Gauge* queued = nullptr;
        metrics::Counter* refused = nullptr;
    };

    bool push(Work work, Job job, bool admit);
    Lane& lane(Work work);
    const Lane& lane(Work work) const;
    Lane* next_lane(bool cheap_only);
    void run(bool cheap_only) noexcept;

    WorkerOptions m_options;
    unsigned m_heavy_cap = 1;
    mutable std::mutex m_mutex;
    std::condition_variable m_cheap_ready;  // for the cheap workers
    std::condition_variable m_any_ready;    // for the others
    std::array<Lane, 3> m_lanes;            // cheap, tiles, heavy
    std::uint64_t m_order = 0;
    bool m_stopping = false;
    std::vector<std::thread> m_threads;
    Schedule m_schedule;
};

} // namespace sitmap::server
