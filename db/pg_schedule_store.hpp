#pragma once
// PostgreSQL implementation of mappers::ScheduleStore. Leadership is a session advisory lock on
// a dedicated libpq connection (not a pooled one: the lock must live exactly as long as this
// process's claim to it, and die with the connection).

#include "db/database.hpp"
#include "mappers/schedule.hpp"

#include <mutex>
#include <string>

struct pg_conn;

namespace scimbridge::db {

class PgScheduleStore final : public mappers::ScheduleStore {
public:
    PgScheduleStore(Database& db, std::string dsn) : db_(db), dsn_(std::move(dsn)) {}
    ~PgScheduleStore() override;

    bool try_lead() override;
    void resign() override;
    void ensure_jobs(std::chrono::milliseconds lifecycle_period, std::chrono::milliseconds default_period) override;
    std::vector<mappers::ScheduleEntry> jobs(const std::optional<std::string>& tenant_id) override;
    std::vector<mappers::ScheduleRun> interrupted_runs() override;
    void mark_resumed(std::int64_t run_id) override;
    std::optional<mappers::ScheduleRun> start_run(const std::string& key, bool force) override;
    void save_checkpoint(std::int64_t run_id, const boost::json::object& checkpoint) override;
    void finish_run(std::int64_t run_id, bool succeeded, const boost::json::object& report,
                    const std::string& error) override;
    mappers::RowPage runs(const std::string& tenant_id, const mappers::RunQuery& query) override;
    void configure_tenant(const std::string& tenant_id, std::chrono::milliseconds period,
                          const std::string& actor) override;
    std::optional<std::chrono::milliseconds> tenant_period(const std::string& tenant_id) override;
    scim::Result<void> configure(const std::string& tenant_id, const std::string& key,
                                 std::optional<std::chrono::milliseconds> period, std::optional<bool> enabled,
                                 const std::string& actor) override;
    scim::Result<void> request_run(const std::string& tenant_id, const std::string& key, bool dry_run,
                                   const std::string& actor) override;

private:
    Database& db_;
    std::string dsn_;
    std::mutex mutex_;
    pg_conn* leader_conn_ = nullptr;  // holds the advisory lock while we lead
};

}  // namespace scimbridge::db
