#pragma once
/// The kind of work a route does, declared when the route is registered (Router::add): it
/// decides where the route runs and which queue admits it (server/workers.hpp).

#include <functional>
#include <string_view>

namespace sitmap::server {

/// Where a route's handler runs. I/O threads only read and write sockets; everything that may
/// block (SQLite, files, long computations) runs on a worker, in the lane of its kind, so a
/// kind of work never queues behind another.
enum class Work {
    io,     ///< trivial and non-blocking (no database, no file): answered on the I/O thread
    cheap,  ///< quick lookups and small documents: a lane of its own, never behind tiles or heavy work
    tiles,  ///< tile builds
    heavy,  ///< item pages, queries, statistics, exports, writes: what may take seconds
};

/// The name of a kind of work, for metrics and messages ("cheap", "tiles", ...).
constexpr std::string_view work_name(Work work) noexcept
{
    switch (work) {
    case Work::io: return "io";
    case Work::cheap: return "cheap";
    case Work::tiles: return "tiles";
    case Work::heavy: return "heavy";
    }
    return "heavy";
}

/// A piece of work handed to a worker.
using Job = std::function<void()>;

/// Hands `job` to a worker of `work`'s lane; returns false (and drops `job`) when that lane's
/// queue is full. Safe to call from any thread.
using Schedule = std::function<bool(Work work, Job job)>;

} // namespace sitmap::server
