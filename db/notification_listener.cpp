#include "db/notification_listener.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <chrono>

namespace scimbridge::db {

NotificationListener::NotificationListener(std::string dsn, std::vector<std::string> channels,
                                           Callback callback)
    : dsn_(std::move(dsn)), channels_(std::move(channels)), callback_(std::move(callback)) {
    if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
        wake_[0] = wake_[1] = -1;
    }
    thread_ = std::thread([this] {
        ::pthread_setname_np(::pthread_self(), "sb-listen");
        run();
    });
}

NotificationListener::~NotificationListener() {
    stop_ = true;
    if (wake_[1] >= 0) {
        const char byte = 1;
        [[maybe_unused]] const auto n = write(wake_[1], &byte, 1);
    }
    thread_.join();
    for (const int fd : wake_) {
        if (fd >= 0) {
            close(fd);
        }
    }
}

void NotificationListener::notify_soon(const std::string& channel) {
    {
        std::lock_guard lock(mutex_);
        if (!to_notify_.insert(channel).second) {
            return;  // already asked for: the next NOTIFY covers this request too
        }
    }
    if (wake_[1] >= 0) {
        const char byte = 0;
        [[maybe_unused]] const auto n = write(wake_[1], &byte, 1);
    }
}

bool NotificationListener::wait_connected(std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!connected_ && std::chrono::steady_clock::now() < deadline) {
        usleep(10'000);
    }
    return connected_;
}

void NotificationListener::run() {
    while (!stop_) {
        PGconn* conn = PQconnectdb(dsn_.c_str());
        bool ok = PQstatus(conn) == CONNECTION_OK;
        for (const std::string& channel : channels_) {
            if (!ok) {
                break;
            }
            char* quoted = PQescapeIdentifier(conn, channel.c_str(), channel.size());
            PGresult* res = PQexec(conn, ("LISTEN " + std::string(quoted)).c_str());
            PQfreemem(quoted);
            ok = PQresultStatus(res) == PGRES_COMMAND_OK;
            PQclear(res);
        }
        if (ok) {
            // Our NOTIFYs are wake-up calls: their commits need not wait for the disk.
            PGresult* res = PQexec(conn, "SET synchronous_commit = off");
            ok = PQresultStatus(res) == PGRES_COMMAND_OK;
            PQclear(res);
        }
        if (ok) {
            // Listening from now on; anything cached before this point may have missed a
            // notification (first start, or the gap while reconnecting).
            callback_("", "");
        }
        connected_ = ok;
        // Hands received notifications to the callback, except those this connection sent
        // itself (notify_soon): whoever asked for them has already acted in this process.
        const int own_pid = ok ? PQbackendPID(conn) : 0;
        const auto hand_on = [&] {
            while (PGnotify* n = PQnotifies(conn)) {
                if (n->be_pid != own_pid) {
                    callback_(n->relname != nullptr ? n->relname : "",
                              n->extra != nullptr ? n->extra : "");
                }
                PQfreemem(n);
            }
        };
        auto next_send = std::chrono::steady_clock::now();
        while (ok && !stop_) {
            bool asked = false;
            {
                std::lock_guard lock(mutex_);
                asked = !to_notify_.empty();
            }
            const auto now = std::chrono::steady_clock::now();
            if (asked && now >= next_send) {
                std::set<std::string> channels;
                {
                    std::lock_guard lock(mutex_);
                    channels.swap(to_notify_);
                }
                std::string sql;
                for (const std::string& channel : channels) {
                    char* quoted = PQescapeIdentifier(conn, channel.c_str(), channel.size());
                    sql += "NOTIFY " + std::string(quoted) + ";";
                    PQfreemem(quoted);
                }
                PGresult* res = PQexec(conn, sql.c_str());
                ok = PQresultStatus(res) == PGRES_COMMAND_OK;
                PQclear(res);
                if (!ok) {
                    std::lock_guard lock(mutex_);
                    to_notify_.insert(channels.begin(), channels.end());  // sent after reconnecting
                    break;
                }
                next_send = std::chrono::steady_clock::now() + std::chrono::milliseconds(5);
                asked = false;
                hand_on();  // what arrived meanwhile was read by PQexec
            }
            const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_send - now);
            const int timeout_ms = asked ? static_cast<int>(wait.count()) : 1000;
            pollfd fds[2] = {{PQsocket(conn), POLLIN, 0}, {wake_[0], POLLIN, 0}};
            if (poll(fds, wake_[0] >= 0 ? 2 : 1, timeout_ms) < 0) {
                continue;
            }
            if (wake_[0] >= 0 && (fds[1].revents & POLLIN) != 0) {
                char drain[64];
                while (read(wake_[0], drain, sizeof drain) > 0) {
                }
            }
            if (PQconsumeInput(conn) != 1) {
                ok = false;
                break;
            }
            hand_on();
        }
        PQfinish(conn);
        connected_ = false;
        for (int i = 0; i < 10 && !stop_; ++i) {
            usleep(100'000);
        }
    }
}

}  // namespace scimbridge::db
