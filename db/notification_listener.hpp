#pragma once
// LISTEN on PostgreSQL channels from a dedicated connection and thread (libpq directly: SOCI has
// no API for notifications). The callback gets (channel, payload); an empty channel, sent each
// time LISTEN (re)starts, means "anything cached before now may be stale". Reconnects with a
// one-second pause.

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace scimbridge::db {

class NotificationListener {
public:
    using Callback = std::function<void(const std::string& channel, const std::string& payload)>;
    NotificationListener(std::string dsn, std::vector<std::string> channels, Callback callback);
    ~NotificationListener();  // stops and joins
    NotificationListener(const NotificationListener&) = delete;
    NotificationListener& operator=(const NotificationListener&) = delete;

    bool connected() const { return connected_.load(); }
    // Waits up to `timeout` for the first LISTEN; false when it did not happen in time.
    bool wait_connected(std::chrono::milliseconds timeout) const;

private:
    void run();

    std::string dsn_;
    std::vector<std::string> channels_;
    Callback callback_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> connected_{false};
    int wake_[2] = {-1, -1};  // self-pipe to interrupt poll() on shutdown
    std::thread thread_;
};

}  // namespace scimbridge::db
