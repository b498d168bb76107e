#pragma once
// db/-internal: the pool itself and the one way to borrow a session from it.

#include "db/database.hpp"

#include <soci/connection-pool.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include <atomic>
#include <string>
#include <utility>

namespace scimbridge::db {

class Database::Impl {
public:
    Impl(std::string dsn, const PoolOptions& options)
        : dsn_(std::move(dsn)), options_(options), pool_(options.size) {}

    void open_all();

    // Borrows a connection for the duration of `fn(soci::session&)`. Lease timeout and lost
    // connections become DatabaseUnavailable; other SOCI errors propagate unchanged.
    template <class Fn>
    auto with_session(Fn&& fn) {
        std::size_t pos = 0;
        if (!pool_.try_lease(pos, static_cast<int>(options_.lease_timeout.count()))) {
            throw DatabaseUnavailable("no database connection free within the lease timeout");
        }
        in_use_.fetch_add(1);
        struct GiveBack {
            Impl* self;
            std::size_t pos;
            ~GiveBack() {
                self->in_use_.fetch_sub(1);
                self->pool_.give_back(pos);
            }
        } give_back{this, pos};
        soci::session& session = pool_.at(pos);
        try {
            // A local check: SOCI's is_connected() costs a round trip ("/* ping */").
            if (!connected(session)) {
                reconnect(session);
            }
            return fn(session);
        } catch (const soci::soci_error& e) {
            if (e.get_error_category() == soci::soci_error::connection_error ||
                !connected(session)) {
                throw DatabaseUnavailable(std::string("database connection lost: ") + e.what());
            }
            throw;
        }
    }

    std::size_t size() const { return options_.size; }
    std::size_t in_use() const { return in_use_.load(); }

private:
    static bool connected(soci::session& session);
    void connect(soci::session& session);
    void reconnect(soci::session& session);

    std::string dsn_;
    PoolOptions options_;
    soci::connection_pool pool_;
    std::atomic<std::size_t> in_use_{0};
};

// The libpq connection under a SOCI session, for what SOCI has no API for (multi-statement
// scripts, LISTEN/NOTIFY, COPY).
inline PGconn* native_connection(soci::session& session) {
    return static_cast<soci::postgresql_session_backend*>(session.get_backend())->conn_;
}

// SQLSTATE of a PostgreSQL error ("23505" = unique_violation), or "" for other errors.
inline std::string sqlstate_of(const soci::soci_error& e) {
    if (const auto* pg = dynamic_cast<const soci::postgresql_soci_error*>(&e)) {
        return pg->sqlstate();
    }
    return {};
}

}  // namespace scimbridge::db
