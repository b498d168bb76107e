#include "db/notification_listener.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

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
            // Listening from now on; anything cached before this point may have missed a
            // notification (first start, or the gap while reconnecting).
            callback_("", "");
        }
        connected_ = ok;
        while (ok && !stop_) {
            pollfd fds[2] = {{PQsocket(conn), POLLIN, 0}, {wake_[0], POLLIN, 0}};
            if (poll(fds, wake_[0] >= 0 ? 2 : 1, 1000) < 0) {
                continue;
            }
            if (PQconsumeInput(conn) != 1) {
                ok = false;
                break;
            }
            while (PGnotify* n = PQnotifies(conn)) {
                callback_(n->relname != nullptr ? n->relname : "", n->extra != nullptr ? n->extra : "");
                PQfreemem(n);
            }
        }
        PQfinish(conn);
        connected_ = false;
        for (int i = 0; i < 10 && !stop_; ++i) {
            usleep(100'000);
        }
    }
}

}  // namespace scimbridge::db
