#include "http/readiness.hpp"

#include "http/json_error.hpp"
#include "http/router.hpp"

#include <algorithm>
#include <utility>

namespace sitmap::server {

Readiness::Task::Task(std::shared_ptr<Readiness> owner, std::string name)
    : m_owner(std::move(owner)), m_name(std::move(name)) {}

Readiness::Task::~Task() {
    if (m_owner) m_owner->done(m_name);
}

Readiness::Task Readiness::begin(const std::shared_ptr<Readiness>& readiness, std::string name) {
    {
        const std::lock_guard lock(readiness->m_mutex);
        readiness->m_pending.push_back(name);
    }
    return Task(readiness, std::move(name));
}

std::vector<std::string> Readiness::pending() const {
    const std::lock_guard lock(m_mutex);
    return m_pending;
}

void Readiness::done(const std::string& name) noexcept {
    const std::lock_guard lock(m_mutex);
    const auto found = std::find(m_pending.begin(), m_pending.end(), name);
    if (found != m_pending.end()) m_pending.erase(found);
}

void register_readiness_route(Router& router, std::shared_ptr<const Readiness> readiness) {
    router.get("/readyz", [readiness = std::move(readiness)](const RouteContext&) -> Response {
        const auto pending = readiness->pending();
        if (pending.empty()) return json_response(http::status::ok, {{"status", "ready"}});
        auto response = json_response(http::status::service_unavailable,
                                      {{"status", "starting"}, {"waiting_for", pending}});
        response.set(http::field::retry_after, "1");
        response.set(http::field::cache_control, "no-store");
        return response;
    }, Work::cheap);
}

} // namespace sitmap::server
