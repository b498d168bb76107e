#pragma once
// LISTEN on PostgreSQL channels from a dedicated connection and thread (libpq directly: SOCI has
// no API for notifications). The callback gets (channel, payload); an empty channel, sent each
// time LISTEN (re)starts, means "anything cached before now may be stale". Reconnects with a
// one-second pause.
//
// The same connection also sends NOTIFYs on behalf of the process (notify_soon), outside the
// writes they announce: a NOTIFY inside a write transaction holds PostgreSQL's global notify-queue
// lock through that transaction's commit, flush to disk included, so every write that notified
// committed one after another (with fan-out on, 16 IdP connections created ~700 users/s, most of
// their time waiting for that lock or the WAL). Sent from here, requests made while a NOTIFY is
// under way are folded into the next one, at most one every 5 ms, and the connection commits
// without waiting for the disk: a wake-up lost in a crash costs a poll interval, nothing more.

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
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
    // Sends NOTIFY on `channel` (empty payload) soon, from the listening connection, for the
    // other processes: this one's callback does not get it back. Requests for the same channel
    // are coalesced. Thread-safe; never blocks on the database.
    void notify_soon(const std::string& channel);
    // Waits up to `timeout` for the first LISTEN; false when it did not happen in time.
    bool wait_connected(std::chrono::milliseconds timeout) const;

private:
    void run();

    std::string dsn_;
    std::vector<std::string> channels_;
    Callback callback_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> connected_{false};
    std::mutex mutex_;
    std::set<std::string> to_notify_;  // guarded by mutex_
    int wake_[2] = {-1, -1};  // self-pipe to interrupt poll() on shutdown
    std::thread thread_;
};

}  // namespace scimbridge::db
