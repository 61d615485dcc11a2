#pragma once
/// Readiness: the start-up work a server still does before it answers at full speed, and the
/// /readyz route that reports it (for a load balancer or an orchestrator; /healthz says "alive").

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sitmap::server {

class Router;

/// The start-up tasks under way. Thread-safe. Ready when none is.
class Readiness {
public:
    /// One task under way; its destructor marks it done (also when its work failed or stopped:
    /// the server then does that work on demand, slower but correctly).
    class Task {
    public:
        Task(std::shared_ptr<Readiness> owner, std::string name);
        ~Task();
        Task(Task&&) noexcept = default;
        Task& operator=(Task&&) = delete;
        Task(const Task&) = delete;
        Task& operator=(const Task&) = delete;

    private:
        std::shared_ptr<Readiness> m_owner;  // null once moved from
        std::string m_name;
    };

    /// Marks `name` ("simplified borders") as under way until the returned Task is destroyed.
    [[nodiscard]] static Task begin(const std::shared_ptr<Readiness>& readiness, std::string name);

    /// The names of the tasks under way, oldest first; empty when ready.
    std::vector<std::string> pending() const;

private:
    void done(const std::string& name) noexcept;

    mutable std::mutex m_mutex;
    std::vector<std::string> m_pending;
};

/// Registers GET /readyz: 200 `{"status":"ready"}` when nothing is pending, else 503
/// `{"status":"starting","waiting_for":[...]}` with `Retry-After: 1`.
void register_readiness_route(Router& router, std::shared_ptr<const Readiness> readiness);

} // namespace sitmap::server
