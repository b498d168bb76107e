#pragma once
// The PostgreSQL connection pool, behind a pimpl so that no SOCI header leaks out of db/.
// Callers outside db/ only open it, ask about it, and hand it to stores and migrations.

#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace scimbridge::scim {
class Clock;
}

namespace scimbridge::db {

// The database cannot be reached, or no connection was free within the lease timeout.
// The dispatcher renders it as 503; it is never a client error.
class DatabaseUnavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct PoolOptions {
    std::size_t size = 8;
    std::chrono::milliseconds lease_timeout{5000};
    std::chrono::milliseconds statement_timeout{30000};
    // The lifecycle's and the scheduler's clock (SQL scim_bridge_now(), migration 0022): each
    // connection lent out first reads this clock's time. Absent (production), it is
    // PostgreSQL's now(). Tests inject a manual clock, or a clock they move from outside the
    // process (server::OffsetFileClock); either costs one statement per borrow the time changed.
    std::shared_ptr<const scim::Clock> clock;
};

class Database {
public:
    // Opens every connection of the pool; throws DatabaseUnavailable with a one-line reason.
    static std::unique_ptr<Database> open(const std::string& dsn, const PoolOptions& options);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    std::size_t pool_size() const;
    std::size_t in_use() const;

    // Reachable and fully migrated: what /readyz reports.
    bool ready();

    // The server's settings under which a commit it acknowledged can be lost or a page torn by a
    // crash ("fsync = off", "synchronous_commit = off", "full_page_writes = off"), as a
    // connection of this pool sees them; empty when durable. Throws DatabaseUnavailable.
    std::vector<std::string> durability_hazards();

    class Impl;
    Impl& impl() { return *impl_; }

private:
    explicit Database(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// The DSN with any password removed, for messages and logs.
std::string redact_dsn(const std::string& dsn);

}  // namespace scimbridge::db
