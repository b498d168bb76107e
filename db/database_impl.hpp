#pragma once
// db/-internal: the pool itself and the one way to borrow a session from it.

#include "db/database.hpp"
#include "db/sql_text.hpp"

#include <soci/connection-pool.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace scimbridge::db {

// Server-side prepared statements of one pooled connection (they die with the connection).
struct PreparedSlot {
    struct Statement {
        std::string name;
        std::vector<std::string> params;  // parameter names in $1..$n order
    };
    PGconn* conn = nullptr;  // the connection the statements belong to
    std::unordered_map<std::string, Statement> statements;
    std::uint64_t next_name = 0;  // only grows: a name is never reused for another text
    // Statement texts can depend on client input (the shape of a filter); past this many the
    // rest run unprepared, so a client cannot grow the server's memory.
    static constexpr std::size_t kMaxStatements = 64;
    // The clock time last given to this connection's scim_bridge.now (PoolOptions::clock).
    std::string clock_value;
};

// A leased connection: the SOCI session and its prepared-statement cache.
struct Connection {
    soci::session& session;
    PreparedSlot& prepared;
};

class Database::Impl {
public:
    Impl(std::string dsn, const PoolOptions& options)
        : dsn_(std::move(dsn)), options_(options), pool_(options.size), slots_(options.size) {}

    void open_all();

    // Borrows a connection for the duration of `fn(soci::session&)`. Lease timeout and lost
    // connections become DatabaseUnavailable; other SOCI errors propagate unchanged.
    template <class Fn>
    auto with_session(Fn&& fn) {
        return with_connection([&](Connection& c) { return fn(c.session); });
    }

    template <class Fn>
    auto with_connection(Fn&& fn) {
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
            if (options_.clock) {
                set_clock(session, slots_[pos]);
            }
            Connection connection{session, slots_[pos]};
            return fn(connection);
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
    void set_clock(soci::session& session, PreparedSlot& slot);

    std::string dsn_;
    PoolOptions options_;
    soci::connection_pool pool_;
    std::vector<PreparedSlot> slots_;  // by pool position
    std::atomic<std::size_t> in_use_{0};
};

using Row = std::vector<std::optional<std::string>>;  // text columns; nullopt = SQL NULL
using Params = std::map<std::string, std::optional<std::string>, std::less<>>;

// Runs `sql` (SOCI-style :name parameters) as a cached server-side prepared statement on this
// connection: parsed and planned once per connection, then one round trip per call (unprepared
// once the per-connection cap is reached). Returns the first row, or nullopt when there is none.
// SQL errors throw DatabaseError (with SQLSTATE); a broken connection throws DatabaseUnavailable.
std::optional<Row> query_row(Connection& c, const std::string& sql, const Params& params);

// The same, planned for these very values each time (no prepared statement): for statements
// whose best plan depends on the literals, like filtered lists, where a prepared statement's
// generic plan would miss the selective index.
std::optional<Row> query_row_planned(Connection& c, const std::string& sql, const Params& params);

// Every row of a result, read in place (no copy per cell): for pages, where one row per resource
// costs PostgreSQL less than aggregating the page into one JSON text. Views die with the Rows.
class Rows {
public:
    explicit Rows(PGresult* res) : res_(res) {}
    Rows(Rows&& o) noexcept : res_(std::exchange(o.res_, nullptr)) {}
    Rows& operator=(Rows&&) = delete;
    Rows(const Rows&) = delete;
    ~Rows();
    int size() const;
    bool is_null(int row, int col) const;
    std::string_view text(int row, int col) const;  // "" for NULL
    std::optional<std::string_view> optional_text(int row, int col) const;

private:
    PGresult* res_;
};

// query_row and query_row_planned, keeping every row.
Rows query_rows(Connection& c, const std::string& sql, const Params& params);
Rows query_rows_planned(Connection& c, const std::string& sql, const Params& params);


class DatabaseError : public std::runtime_error {
public:
    DatabaseError(const std::string& message, std::string sqlstate)
        : std::runtime_error(message), sqlstate_(std::move(sqlstate)) {}
    const std::string& sqlstate() const { return sqlstate_; }

private:
    std::string sqlstate_;
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
