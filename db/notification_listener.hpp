#pragma once
// LISTEN on a PostgreSQL channel from a dedicated connection and thread (libpq directly: SOCI has
// no API for notifications). The callback gets each payload; "" means "the listener was
// disconnected, anything cached may be stale". Reconnects with a one-second pause.

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace scimbridge::db {

class NotificationListener {
public:
    NotificationListener(std::string dsn, std::string channel,
                         std::function<void(const std::string& payload)> callback);
    ~NotificationListener();  // stops and joins
    NotificationListener(const NotificationListener&) = delete;
    NotificationListener& operator=(const NotificationListener&) = delete;

    bool connected() const { return connected_.load(); }

private:
    void run();

    std::string dsn_;
    std::string channel_;
    std::function<void(const std::string&)> callback_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> connected_{false};
    int wake_[2] = {-1, -1};  // self-pipe to interrupt poll() on shutdown
    std::thread thread_;
};

}  // namespace scimbridge::db
