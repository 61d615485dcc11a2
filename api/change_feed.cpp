#include "api/change_feed.hpp"

#include <utility>

namespace sitmap::server {

ChangeFeed::ChangeFeed(ServerConfig config, std::chrono::milliseconds interval, std::size_t window)
    : m_config(std::move(config)), m_interval(interval), m_window(window == 0 ? 1 : window)
{
}

std::vector<layers::Change> ChangeFeed::since(std::int64_t after)
{
    poll_if_due();
    {
        const std::lock_guard lock{m_mutex};
        if (m_base >= 0 && after >= m_base) {
            std::vector<layers::Change> newer;
            for (auto it = m_changes.rbegin(); it != m_changes.rend() && it->sequence > after; ++it) {
                newer.push_back(*it);
            }
            return {newer.rbegin(), newer.rend()};
        }
    }
    // Older than what is kept (a stream resuming from far back): from the log, this once.
    return layers::changes_since(connection(m_config), after);
}

std::uint64_t ChangeFeed::reads() const
{
    const std::lock_guard lock{m_mutex};
    return m_reads;
}

void ChangeFeed::poll_if_due()
{
    std::unique_lock polling{m_polling, std::try_to_lock};
    if (!polling) {
        return;  // another stream's worker is reading the log for everyone
    }
    const auto now = std::chrono::steady_clock::now();
    std::int64_t last = 0;
    {
        const std::lock_guard lock{m_mutex};
        if (m_base >= 0 && now - m_polled < m_interval) {
            return;
        }
        m_polled = now;
        ++m_reads;
        last = m_last;
    }
    auto& db = connection(m_config);
    if (last < 0) {
        const auto newest = layers::last_change(db);
        const std::lock_guard lock{m_mutex};
        m_base = m_last = newest;
        return;
    }
    auto read = layers::changes_since(db, last);
    const std::lock_guard lock{m_mutex};
    for (auto& change : read) {
        m_last = change.sequence;
        m_changes.push_back(std::move(change));
    }
    while (m_changes.size() > m_window) {
        m_base = m_changes.front().sequence;
        m_changes.pop_front();
    }
}

} // namespace sitmap::server
