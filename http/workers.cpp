#include "http/workers.hpp"

#include "http/json_error.hpp"
#include "http/metrics.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

namespace sitmap::server {

namespace {

constexpr std::size_t index_of(Work work)
{
    return work == Work::cheap ? 0 : work == Work::tiles ? 1 : 2;
}

} // namespace

unsigned default_workers() noexcept
{
    return std::max(2u, std::thread::hardware_concurrency());
}

StringResponse overloaded(std::string_view message, std::string_view retry_after)
{
    auto response = json_error(http::status::service_unavailable, "overloaded", message);
    response.set(http::field::retry_after, beast::string_view{retry_after.data(), retry_after.size()});
    return response;
}

Workers::Workers(WorkerOptions options)
    : m_options(options), m_schedule([this](Work work, Job job) { return submit(work, std::move(job)); })
{
    if (m_options.workers == 0) {
        throw std::invalid_argument("workers: at least one worker is needed");
    }
    m_heavy_cap = m_options.heavy_workers != 0 ? std::min(m_options.heavy_workers, m_options.workers)
                                               : std::max(1u, m_options.workers - 1);
    const std::size_t limits[] = {m_options.cheap_queue, m_options.tile_queue, m_options.heavy_queue};
    for (const Work work : {Work::cheap, Work::tiles, Work::heavy}) {
        auto& l = lane(work);
        l.limit = limits[index_of(work)];
        const metrics::Labels labels{{"lane", std::string(work_name(work))}};
        l.queued = &metrics::gauge("sitmap_work_queued", labels, "Jobs waiting for a worker, by lane");
        l.refused = &metrics::counter("sitmap_work_refused_total", labels,
                                      "Requests refused with 503 because their lane's queue was full");
    }
    m_threads.reserve(m_options.workers + m_options.cheap_workers);
    for (unsigned i = 0; i < m_options.cheap_workers; ++i) {
        m_threads.emplace_back([this] { run(true); });
    }
    for (unsigned i = 0; i < m_options.workers; ++i) {
        m_threads.emplace_back([this] { run(false); });
    }
}

Workers::~Workers()
{
    stop();
}

bool Workers::submit(Work work, Job job)
{
    return push(work, std::move(job), true);
}

void Workers::resume(Work work, Job job)
{
    push(work, std::move(job), false);
}

std::size_t Workers::queue_limit(Work work) const
{
    return lane(work).limit;
}

Workers::Lane& Workers::lane(Work work)
{
    if (work == Work::io) {
        throw std::invalid_argument("Work::io runs on the I/O thread, not on a worker");
    }
    return m_lanes[index_of(work)];
}

const Workers::Lane& Workers::lane(Work work) const
{
    return const_cast<Workers*>(this)->lane(work);
}

bool Workers::push(Work work, Job job, bool admit)
{
    auto& into = lane(work);
    {
        const std::lock_guard lock{m_mutex};
        if (m_stopping) {
            return false;
        }
        if (admit && into.jobs.size() >= into.limit) {
            into.refused->inc();
            return false;
        }
        into.jobs.push_back({m_order++, std::move(job)});
        into.queued->add(1);
    }
    if (work == Work::cheap) {
        m_cheap_ready.notify_one();
    }
    m_any_ready.notify_one();
    return true;
}

// Under the lock. Cheap work first; then the oldest of tiles and heavy, heavy within its cap.
Workers::Lane* Workers::next_lane(bool cheap_only)
{
    auto& cheap = lane(Work::cheap);
    if (!cheap.jobs.empty()) {
        return &cheap;
    }
    if (cheap_only) {
        return nullptr;
    }
    auto& tiles = lane(Work::tiles);
    auto& heavy = lane(Work::heavy);
    const bool heavy_ok = !heavy.jobs.empty() && heavy.running < m_heavy_cap;
    if (tiles.jobs.empty()) {
        return heavy_ok ? &heavy : nullptr;
    }
    return heavy_ok && heavy.jobs.front().order < tiles.jobs.front().order ? &heavy : &tiles;
}

void Workers::run(bool cheap_only) noexcept
{
    if (!cheap_only && m_options.busy_nice > 0) {
        const int process = ::getpriority(PRIO_PROCESS, 0);
        ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), std::min(process + m_options.busy_nice, 19));
    }
    auto& ready = cheap_only ? m_cheap_ready : m_any_ready;
    std::unique_lock lock{m_mutex};
    while (true) {
        Lane* from = nullptr;
        ready.wait(lock, [&] { return m_stopping || (from = next_lane(cheap_only)) != nullptr; });
        if (m_stopping) {
            return;
        }
        Job job = std::move(from->jobs.front().job);
        from->jobs.pop_front();
        from->queued->add(-1);
        ++from->running;
        lock.unlock();
        try {
            job();
        } catch (const std::exception& e) {
            spdlog::error("a worker's job failed: {}", e.what());
        } catch (...) {
            spdlog::error("a worker's job failed");
        }
        job = nullptr;  // what it holds goes now, not when the next job comes
        lock.lock();
        --from->running;
        if (from == &lane(Work::heavy)) {
            m_any_ready.notify_one();  // a heavy job waiting for the cap may go now
        }
    }
}

void Workers::stop() noexcept
{
    std::array<std::deque<Queued>, 3> dropped;
    {
        const std::lock_guard lock{m_mutex};
        if (m_stopping && m_threads.empty()) {
            return;
        }
        m_stopping = true;
        for (std::size_t i = 0; i < m_lanes.size(); ++i) {
            m_lanes[i].queued->add(-static_cast<std::int64_t>(m_lanes[i].jobs.size()));
            dropped[i].swap(m_lanes[i].jobs);
        }
    }
    m_cheap_ready.notify_all();
    m_any_ready.notify_all();
    for (auto& thread : m_threads) {
        if (thread.get_id() == std::this_thread::get_id()) {
            thread.detach();  // stopped by one of its own jobs: it ends after this job
        } else if (thread.joinable()) {
            thread.join();
        }
    }
    m_threads.clear();
    // `dropped` goes here, outside the lock: a job may hold the last reference to a session.
}

} // namespace sitmap::server
