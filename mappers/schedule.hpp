#pragma once
// The scheduler's storage port (DESIGN §7): jobs with a period and a next run time, runs with a
// checkpoint and a report, and leadership (one scheduler among every bridge process, held through
// a PostgreSQL advisory lock). db/pg_schedule_store implements it; server/scheduler runs it.

#include "mappers/app_store.hpp"
#include "scim/result.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace scimbridge::mappers {

// Job kinds.
inline constexpr const char* kLifecycleJob = "lifecycle";    // reminders, expiry, invite now, purges, pruning
inline constexpr const char* kDirectoryJob = "directory";    // pull one directory source
inline constexpr const char* kReconcileJob = "reconcile";    // reconcile one app

struct ScheduleEntry {
    std::string key;  // "lifecycle", "directory:<source id>", "reconcile:<app id>"
    std::string kind;
    std::optional<std::string> tenant_id;
    std::optional<std::string> subject_id;
    std::chrono::milliseconds period{0};
    bool enabled = true;
    std::string next_run_at;  // RFC 3339
    bool due = false;
    bool dry_run_requested = false;
};

struct ScheduleRun {
    std::int64_t id = 0;
    std::string key;
    std::string kind;
    std::optional<std::string> tenant_id;
    std::optional<std::string> subject_id;
    bool dry_run = false;
    int resumed = 0;  // > 0: picked up after its leader died
    boost::json::object checkpoint;
};

struct RunQuery {
    std::optional<std::string> key;
    std::optional<std::int64_t> after;  // run id
    std::size_t limit = 100;
};

class ScheduleStore {
public:
    virtual ~ScheduleStore() = default;

    // Whether this process holds (or just took) the leadership. The lock lives on a dedicated
    // connection: when the process or its connection dies, another process takes over.
    virtual bool try_lead() = 0;
    virtual void resign() = 0;

    // Creates the rows of the jobs that should exist (the global ones, one per enabled app, one
    // per enabled directory source) with `default_period` for resyncs; removes rows whose app or
    // source is gone. Existing rows keep their (admin-set) period.
    virtual void ensure_jobs(std::chrono::milliseconds lifecycle_period,
                             std::chrono::milliseconds default_period) = 0;
    virtual std::vector<ScheduleEntry> jobs(const std::optional<std::string>& tenant_id) = 0;
    // Runs left `running` by a leader that died (their checkpoint tells where to go on).
    virtual std::vector<ScheduleRun> interrupted_runs() = 0;
    virtual void mark_resumed(std::int64_t run_id) = 0;
    // Starts a run when the job is due (or `force`): the run row, and next_run_at one period
    // from now. nullopt when not due, disabled or already running.
    virtual std::optional<ScheduleRun> start_run(const std::string& key, bool force) = 0;
    virtual void save_checkpoint(std::int64_t run_id, const boost::json::object& checkpoint) = 0;
    virtual void finish_run(std::int64_t run_id, bool succeeded, const boost::json::object& report,
                            const std::string& error) = 0;

    // Admin API (tenant-scoped): run history, a job's period or enabled flag, run now (dry).
    virtual RowPage runs(const std::string& tenant_id, const RunQuery& query) = 0;
    virtual scim::Result<void> configure(const std::string& tenant_id, const std::string& key,
                                         std::optional<std::chrono::milliseconds> period,
                                         std::optional<bool> enabled, const std::string& actor) = 0;
    // The tenant's resync period: every directory pull and app reconciliation it has, and those
    // it gets later. nullopt: the server's default.
    virtual void configure_tenant(const std::string& tenant_id, std::chrono::milliseconds period,
                                  const std::string& actor) = 0;
    virtual std::optional<std::chrono::milliseconds> tenant_period(const std::string& tenant_id) = 0;
    virtual scim::Result<void> request_run(const std::string& tenant_id, const std::string& key, bool dry_run,
                                           const std::string& actor) = 0;
};

}  // namespace scimbridge::mappers
