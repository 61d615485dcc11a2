// The worker pool's admission: each lane's own queue and limit, cheap work on a thread of its
// own, and heavy work that never takes the last worker from tiles.

#include "http/workers.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>

#include <sys/resource.h>
#include <unistd.h>

using namespace sitmap::server;
using namespace std::chrono_literals;

namespace {

/// A job that says when it starts and then waits for `release`.
Job blocking(std::promise<void>& started, std::shared_future<void> release)
{
    return [&started, release] {
        started.set_value();
        release.wait();
    };
}

/// A job that says when it has run.
Job signalling(std::promise<void>& ran)
{
    return [&ran] { ran.set_value(); };
}

} // namespace

TEST_CASE("workers: heavy work never takes the last worker from tiles", "[http]")
{
    Workers workers({.workers = 2});
    std::promise<void> release_promise, first, second, tile;
    const auto release = release_promise.get_future().share();
    REQUIRE(workers.submit(Work::heavy, blocking(first, release)));
    REQUIRE(workers.submit(Work::heavy, blocking(second, release)));
    REQUIRE(first.get_future().wait_for(5s) == std::future_status::ready);

    REQUIRE(workers.submit(Work::tiles, signalling(tile)));
    CHECK(tile.get_future().wait_for(5s) == std::future_status::ready);  // on the worker heavy may not take
    auto second_started = second.get_future();
    CHECK(second_started.wait_for(0s) == std::future_status::timeout);   // the first heavy job still runs
    release_promise.set_value();
    CHECK(second_started.wait_for(5s) == std::future_status::ready);
}

TEST_CASE("workers: a full lane refuses at once while the others still admit", "[http]")
{
    Workers workers({.workers = 1, .heavy_queue = 1});
    std::promise<void> release_promise, running, queued_ran, cheap_ran, resumed_ran;
    const auto release = release_promise.get_future().share();
    REQUIRE(workers.submit(Work::heavy, blocking(running, release)));
    REQUIRE(running.get_future().wait_for(5s) == std::future_status::ready);
    REQUIRE(workers.submit(Work::heavy, signalling(queued_ran)));

    std::atomic<bool> refused_ran{false};
    CHECK_FALSE(workers.submit(Work::heavy, [&refused_ran] { refused_ran = true; }));
    CHECK(workers.queue_limit(Work::heavy) == 1);
    REQUIRE(workers.submit(Work::cheap, signalling(cheap_ran)));
    CHECK(cheap_ran.get_future().wait_for(5s) == std::future_status::ready);  // its own thread
    workers.resume(Work::heavy, signalling(resumed_ran));  // admitted work goes on, full or not
    CHECK_THROWS_AS(workers.submit(Work::io, [] {}), std::invalid_argument);

    release_promise.set_value();
    CHECK(queued_ran.get_future().wait_for(5s) == std::future_status::ready);
    CHECK(resumed_ran.get_future().wait_for(5s) == std::future_status::ready);
    workers.stop();
    CHECK_FALSE(refused_ran);
}

TEST_CASE("workers: stop finishes the job running and drops those waiting", "[http]")
{
    Workers workers({.workers = 1, .cheap_workers = 0});
    std::promise<void> release_promise, running;
    const auto release = release_promise.get_future().share();
    REQUIRE(workers.submit(Work::heavy, blocking(running, release)));
    REQUIRE(running.get_future().wait_for(5s) == std::future_status::ready);
    auto held = std::make_shared<int>(0);
    std::atomic<bool> dropped_ran{false};
    REQUIRE(workers.submit(Work::heavy, [held, &dropped_ran] { dropped_ran = true; }));
    std::weak_ptr<int> watch = held;
    held.reset();

    auto stopped = std::async(std::launch::async, [&] { workers.stop(); });
    CHECK(stopped.wait_for(100ms) == std::future_status::timeout);  // it waits for the running job
    release_promise.set_value();
    CHECK(stopped.wait_for(5s) == std::future_status::ready);
    CHECK(watch.expired());  // the waiting job was destroyed, unrun
    CHECK_FALSE(dropped_ran);
    CHECK_FALSE(workers.submit(Work::cheap, [] {}));
}

TEST_CASE("workers: tile and heavy work run at a lower priority than cheap work", "[http]")
{
    Workers workers({.workers = 1, .busy_nice = 5});
    const auto nice_of = [&](Work work) {
        std::promise<int> nice;
        auto got = nice.get_future();
        REQUIRE(workers.submit(work, [&nice] {
            errno = 0;
            nice.set_value(::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())));
        }));
        REQUIRE(got.wait_for(5s) == std::future_status::ready);
        return got.get();
    };
    const int process = ::getpriority(PRIO_PROCESS, 0);
    CHECK(nice_of(Work::heavy) == std::min(process + 5, 19));
    CHECK(nice_of(Work::tiles) == std::min(process + 5, 19));
    // With the only other worker busy, a cheap job runs on the cheap worker.
    std::promise<void> release_promise, busy;
    REQUIRE(workers.submit(Work::heavy, blocking(busy, release_promise.get_future().share())));
    REQUIRE(busy.get_future().wait_for(5s) == std::future_status::ready);
    CHECK(nice_of(Work::cheap) == process);
    release_promise.set_value();
}
